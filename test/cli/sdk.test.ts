/**
 * The SDK (offchain/client): its enums equal the Solidity declarations, and its actions work against a deployed
 * system on Hardhat's in-process chain — returning decoded ids, classifying reverts into the registry's codes.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { custom, keccak256, toHex, type Address } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { deploySystem, localDeployOptions, HARDHAT_MNEMONIC } from "../../offchain/chain";
import {
  Bucket,
  ENUMS,
  HmsSdkError,
  NodeKind,
  ResourceKind,
  Tier,
  createHmsClient,
  hmsActions,
  getTokenBalance,
  transferTokens,
} from "../../offchain/client";
import { EXIT_CODES } from "../../offchain/core/errors";

const HMS = (n: number | bigint) => BigInt(n) * 10n ** 18n;
const account = (i: number) => mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i });

/** Every `enum Name { A, B, … }` of the contracts, by `File.Name`. */
function solidityEnums(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith(".sol")) {
        const text = fs.readFileSync(full, "utf8").replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, "");
        for (const m of text.matchAll(/enum\s+(\w+)\s*\{([^}]*)\}/g))
          out.set(
            `${e.name.slice(0, -4)}.${m[1]}`,
            m[2]
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
          );
      }
    }
  };
  walk(path.join(__dirname, "..", "..", "contracts"));
  return out;
}

async function system() {
  const publicClient = await hre.viem.getPublicClient();
  const wallets = await hre.viem.getWalletClients();
  const deployment = await deploySystem(publicClient, wallets[0], hre.artifacts, {
    ...localDeployOptions(wallets.map((w) => w.account.address)),
    network: "hardhat",
  });
  const client = (i: number) =>
    createHmsClient({ deployment, transport: custom(hre.network.provider), account: account(i) }).extend(hmsActions);
  // The IDO beneficiary (#2) releases its bucket and funds account #10.
  await client(2).releaseAllocation({ bucket: Bucket.IDO });
  await client(2).transferTokens({ to: account(10).address, amount: HMS(100_000) });
  return { deployment, client };
}

describe("SDK (offchain/client)", function () {
  it("declares every Solidity enum with the same members in the same order", () => {
    const sol = solidityEnums();
    for (const [name, values] of Object.entries(ENUMS)) {
      const members = sol.get(name);
      expect(members, name).to.not.equal(undefined);
      expect(Object.keys(values), name).to.deep.equal(members);
      expect(Object.values(values), name).to.deep.equal(members!.map((_, i) => i));
    }
  });

  it("transfers, reads balances and rejects an overdraft with SDK_INSUFFICIENT_BALANCE before sending", async () => {
    const { client } = await loadFixture(system);
    const c = client(10);
    const to = account(11).address;
    const sent = await transferTokens(c, { to, amount: HMS(5) });
    expect(sent.gasUsed > 0n).to.equal(true);
    expect(sent.hash).to.match(/^0x[0-9a-f]{64}$/);
    expect((await getTokenBalance(c, { address: to })).balance).to.equal(HMS(5));
    const err = await c.transferTokens({ to, amount: HMS(10_000_000) }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HmsSdkError);
    expect((err as HmsSdkError).code).to.equal("SDK_INSUFFICIENT_BALANCE");
    expect((err as HmsSdkError).exitCode).to.equal(EXIT_CODES.conflict);
  });

  it("registers a node and a bookkeeper, returns decoded offer, order and lease ids", async () => {
    const { client } = await loadFixture(system);
    const op = client(10);
    const key = privateKeyToAccount(keccak256(toHex("sdk-test/node-key")));
    const node = await op.registerNode({
      kind: NodeKind.Storage,
      tier: Tier.Normal,
      region: 276,
      capacity: 1024n,
      signingKey: key,
      endpoint: "http://127.0.0.1:7401",
    });
    const info = await op.getNode({ nodeId: node.nodeId });
    expect(info.signingKey).to.equal(key.address);
    expect(info.kind).to.equal(NodeKind.Storage);
    const offer = await op.postOffer({
      nodeId: node.nodeId,
      kind: ResourceKind.Storage,
      units: 100n,
      pricePerUnitSecond: 10n ** 9n,
      minDuration: 60n,
      maxDuration: 86_400n,
    });
    expect(offer.offerId).to.equal(1n);
    const user = client(11);
    await op.transferTokens({ to: account(11).address, amount: HMS(1_000) });
    const now = BigInt(Math.floor(Date.now() / 1000)) + 10_000_000n;
    const order = await user.createOrder({
      kind: ResourceKind.Storage,
      units: 10n,
      maxPricePerUnitSecond: 2n * 10n ** 9n,
      duration: 3_600n,
      expiresAt: now,
    });
    expect(order.orderId).to.equal(1n);
    expect(order.escrow).to.equal(2n * 10n ** 9n * 10n * 3_600n);
    const lease = await user.takeOffer({ orderId: order.orderId, offerId: offer.offerId });
    expect(lease.leaseId).to.equal(order.orderId);
    expect(lease.excessRefund).to.equal(10n ** 9n * 10n * 3_600n);
    const leases = await user.getLeases({ user: account(11).address });
    expect(leases.map((l) => l.leaseId)).to.deep.equal([1n]);
    // A stranger cannot withdraw the provider's lease: NotOperator → SDK_NOT_REGISTERED (exit 4).
    const err = await user.withdrawLease({ leaseIds: [1n] }).catch((e: unknown) => e);
    expect((err as HmsSdkError).code).to.equal("SDK_NOT_REGISTERED");
    expect((err as HmsSdkError).errorName).to.equal("NotOperator");
    expect((err as HmsSdkError).exitCode).to.equal(EXIT_CODES.unauthorized);
    // Unknown node → SDK_NOT_FOUND.
    const missing = await op.getNode({ nodeId: keccak256(toHex("nope")) }).catch((e: unknown) => e);
    expect((missing as HmsSdkError).code).to.equal("SDK_NOT_FOUND");

    const bk = await op.registerBookkeeper({
      amount: HMS(10_000),
      commissionBps: 500,
      signingKey: privateKeyToAccount(keccak256(toHex("sdk-test/bk-key"))),
    });
    expect(bk.margin).to.equal(HMS(10_000));
    expect(bk.approval?.hash).to.match(/^0x/);
    const below = await op.unbondStake({ amount: HMS(1) }).catch((e: unknown) => e);
    expect((below as HmsSdkError).code).to.equal("SDK_STAKE_LOCKED");
    expect((below as HmsSdkError).errorName).to.equal("MarginBelowMinimum");
    const unbond = await op.unbondStake({ amount: HMS(10_000) });
    // 30 days of unbonding from now (the local default).
    expect(unbond.releaseAt - BigInt(Math.floor(Date.now() / 1000)) > 29n * 86_400n).to.equal(true);
    expect(unbond.amount).to.equal(HMS(10_000));
    const locked = await op.withdrawStake().catch((e: unknown) => e);
    expect((locked as HmsSdkError).code).to.equal("SDK_STAKE_LOCKED");
    expect((locked as HmsSdkError).exitCode).to.equal(EXIT_CODES.conflict);
  });

  it("refuses a client whose RPC serves another chain (SDK_WRONG_CHAIN, exit 3)", async () => {
    const { deployment } = await loadFixture(system);
    const c = createHmsClient({
      deployment: { ...deployment, chainId: 1 },
      transport: custom(hre.network.provider),
      account: account(10),
    });
    const err = await getTokenBalance(c, { address: account(10).address as Address }).catch((e: unknown) => e);
    expect((err as HmsSdkError).code).to.equal("SDK_WRONG_CHAIN");
    expect((err as HmsSdkError).exitCode).to.equal(EXIT_CODES.wrongChain);
  });
});
