/**
 * The on-chain lease gate (offchain/storage/lease.ts) against the deployed ResourceMarket on Hardhat's chain:
 * a write is admitted only under an Active Storage lease of this node taken by the grant's owner, within its
 * units; and a worker running the gate answers 403 STORAGE_NO_LEASE before reading a byte otherwise.
 */
import { expect } from "chai";
import hre from "hardhat";
import { randomBytes } from "node:crypto";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { getAddress, keccak256, toHex, type Hex, type PublicClient } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { hmsContracts } from "../../offchain/chain";
import { ResourceKind, leaseStarted, offerPosted, orderCreated } from "../../offchain/chain/market";
import { keyRegistrationProof } from "../../offchain/chain/staking";
import { demoNodeId } from "../../offchain/devnet/accounts";
import { STORAGE_HEADERS, leasesToHeader } from "../../offchain/protocol/storage-wire";
import { ChainLeaseGate } from "../../offchain/storage/lease";
import { HMS, deploySystemFixture } from "../helpers/fixtures";
import { ownerGrant, putRaw, sliceCid, startWorker } from "./helpers";

const GWEI = 10n ** 9n;
const MNEMONIC = "test test test test test test test test test test test junk";
const userKey = (i: number) =>
  `0x${Buffer.from(mnemonicToAccount(MNEMONIC, { addressIndex: i }).getHdKey().privateKey!).toString("hex")}` as Hex;

async function leasedNode() {
  const system = await deploySystemFixture();
  const publicClient = await hre.viem.getPublicClient();
  const wallets = await hre.viem.getWalletClients();
  const as = (i: number) => hmsContracts({ public: publicClient, wallet: wallets[i] }, system.deployment);
  const wait = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });
  await wait(await as(0).TokenAllocation.write.release([0]));
  await wait(await as(2).HMSToken.write.transfer([getAddress(wallets[16].account.address), HMS(10_000)]));
  const nodeId = demoNodeId(50);
  const nodeKey = privateKeyToAccount(keccak256(toHex("hms-test/lease-node-key")));
  const proof = await keyRegistrationProof(nodeKey, {
    chainId: await publicClient.getChainId(),
    registry: system.deployment.contracts.NodeRegistry.address,
    registrant: getAddress(wallets[12].account.address),
    subject: nodeId,
  });
  await wait(
    await as(12).NodeRegistry.write.registerNode([
      {
        nodeId,
        kind: 0,
        tier: 1,
        region: 276,
        capacity: 4096n,
        signingKey: nodeKey.address,
        payout: getAddress(wallets[12].account.address),
        endpoint: "http://127.0.0.1:7550",
      },
      proof,
    ]),
  );
  const offer = {
    kind: ResourceKind.Storage,
    units: 64n,
    pricePerUnitSecond: GWEI,
    minDuration: 3600n,
    maxDuration: 30n * 86_400n,
  };
  const { offerId } = offerPosted(await wait(await as(12).ResourceMarket.write.postOffer([nodeId, offer])));
  const market = system.deployment.contracts.ResourceMarket.address;
  const terms = {
    kind: ResourceKind.Storage,
    units: 1n,
    maxPricePerUnitSecond: 2n * GWEI,
    duration: 86_400n,
    region: 0,
    minTier: 0,
    expiresAt: BigInt(await time.latest()) + 3600n,
  };
  await wait(await as(16).HMSToken.write.approve([market, HMS(1000)]));
  const { orderId } = orderCreated(await wait(await as(16).ResourceMarket.write.createOrder([terms])));
  const { leaseId } = leaseStarted(
    await wait(await as(16).ResourceMarket.write.takeOffer([orderId, offerId, 2n * GWEI])),
  );
  return {
    publicClient: publicClient as unknown as PublicClient,
    market,
    nodeId,
    leaseId,
    as,
    wait,
    owner: getAddress(wallets[16].account.address),
  };
}

describe("storage: the lease gate reads ResourceMarket on chain", function () {
  this.timeout(180_000);

  it("admits a write under an active storage lease of this node and owner, within its units; refuses the rest", async function () {
    const s = await loadFixture(leasedNode);
    const chainNow = async () => Number(await time.latest()) * 1000;
    const nowMs = await chainNow();
    const gate = new ChainLeaseGate(s.publicClient, s.market, { cacheMs: 0, now: () => nowMs });
    const ok = { owner: s.owner, nodeId: s.nodeId, bytes: 1000, leaseId: s.leaseId };
    await gate.check(ok);
    const refused = async (req: Partial<typeof ok>, why: RegExp) => {
      const err = await gate.check({ ...ok, ...req }).catch((e) => e);
      expect(
        err,
        JSON.stringify(req, (_k, v) => (typeof v === "bigint" ? `${v}` : v)),
      ).to.have.property("code", "STORAGE_NO_LEASE");
      expect(err.message).to.match(why);
    };
    await refused({ leaseId: undefined }, /no lease named/);
    await refused({ owner: getAddress(`0x${"11".repeat(20)}`) }, /belongs to/);
    await refused({ nodeId: demoNodeId(51) }, /pays node/);
    await refused({ leaseId: 9999n }, /cannot be read/);
    await refused({ bytes: 2 ** 30 }, /covers 1 GiB/);
    await s.wait(await s.as(16).ResourceMarket.write.closeLease([s.leaseId]));
    await refused({}, /is not active/);
  });

  it("follows the market's events: a lease closed early stops admitting writes without waiting for the cache", async function () {
    const s = await loadFixture(leasedNode);
    const nowMs = Number(await time.latest()) * 1000;
    const gate = new ChainLeaseGate(s.publicClient, s.market, { cacheMs: 3_600_000, now: () => nowMs });
    const errors: Error[] = [];
    const stop = gate.follow({ pollingIntervalMs: 100, onError: (e) => errors.push(e) });
    try {
      const ok = { owner: s.owner, nodeId: s.nodeId, bytes: 1000, leaseId: s.leaseId };
      await gate.check(ok); // cached for an hour from here
      await new Promise((r) => setTimeout(r, 300)); // the watcher's filter is installed before the close
      await s.wait(await s.as(16).ResourceMarket.write.closeLease([s.leaseId]));
      const deadline = Date.now() + 60_000;
      let refusal: unknown;
      while (refusal === undefined && Date.now() < deadline) {
        refusal = await gate.check(ok).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (refusal === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(refusal, "still admitted a minute after the close").to.have.property("code", "STORAGE_NO_LEASE");
      expect((refusal as Error).message).to.match(/is not active/);
      expect(errors).to.deep.equal([]);
    } finally {
      stop();
    }
  });

  it("a worker running the gate answers 403 STORAGE_NO_LEASE before it reads the body", async function () {
    const s = await loadFixture(leasedNode);
    const nowMs = Number(await time.latest()) * 1000;
    const w = await startWorker(50, {
      lease: new ChainLeaseGate(s.publicClient, s.market, { cacheMs: 0, now: () => nowMs }),
    });
    try {
      const { grant } = ownerGrant({ privateKey: userKey(16) });
      const bytes = randomBytes(20_000);
      const cid = sliceCid(bytes).toString();
      const denied = await putRaw(w.url, cid, bytes, { grant });
      expect(denied.status).to.equal(403);
      expect((denied.json.error as Record<string, unknown>).code).to.equal("STORAGE_NO_LEASE");
      const leases = leasesToHeader(new Map([[s.nodeId, s.leaseId]]));
      const admitted = await putRaw(w.url, cid, bytes, { grant, headers: { [STORAGE_HEADERS.leases]: leases } });
      expect(admitted.status).to.equal(201);
    } finally {
      await w.stop();
    }
  });
});
