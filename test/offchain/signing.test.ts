import { expect } from "chai";
import hre from "hardhat";
import { privateKeyToAccount } from "viem/accounts";
import {
  SigningError,
  TYPES,
  domainOf,
  recoverTyped,
  signTyped,
  typeHash,
  typeString,
  typedDigest,
  type TypeName,
} from "../../offchain/core/signing";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // Hardhat account #1
const STAKING = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("offchain/core/signing: the one EIP-712 signing scheme", () => {
  it("type hashes equal the Solidity constants in HMSTypes", async () => {
    const harness = await hre.viem.deployContract("TypeHashHarness");
    const [names, hashes] = (await harness.read.all()) as readonly [readonly string[], readonly `0x${string}`[]];
    expect(names.length).to.be.greaterThan(0);
    for (const [i, name] of names.entries()) {
      expect(typeHash(name as TypeName), name).to.equal(hashes[i]);
    }
  });

  it("renders type strings in declaration order", () => {
    expect(typeString("Proposal")).to.equal("Proposal(uint64 epoch,uint64 period,uint32 round,bytes32 digest)");
    expect(Object.keys(TYPES)).to.include.members(["Proposal", "PeriodReport", "TrafficReceipt", "Envelope"]);
  });

  it("signs and recovers, and the signature is bound to the domain", async () => {
    const account = privateKeyToAccount(KEY);
    const domain = domainOf("staking", 31337, STAKING);
    const message = { epoch: 3n, period: 7n, round: 1, digest: `0x${"ab".repeat(32)}` as const };
    const signature = await signTyped(account, domain, "Proposal", message);
    expect(await recoverTyped(domain, "Proposal", message, signature)).to.equal(account.address);
    // Another chain, contract or message recovers someone else.
    expect(await recoverTyped(domainOf("staking", 1, STAKING), "Proposal", message, signature)).to.not.equal(
      account.address,
    );
    expect(await recoverTyped(domain, "Proposal", { ...message, round: 2 }, signature)).to.not.equal(account.address);
    expect(typedDigest(domain, "Proposal", message)).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("rejects a malformed signature and a contract domain without an address", async () => {
    const domain = domainOf("staking", 31337, STAKING);
    const message = { epoch: 0n, period: 0n, round: 0, digest: `0x${"00".repeat(32)}` as const };
    const error = await recoverTyped(domain, "Proposal", message, "0x1234").then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(SigningError);
    expect(() => domainOf("miningPool", 31337)).to.throw(SigningError, /miningPool/);
    expect(domainOf("transport", 31337).verifyingContract).to.equal(undefined);
  });
});
