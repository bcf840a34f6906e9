import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { Address } from "viem";
import {
  REGISTRY_PARAMS,
  electCommittee,
  first,
  nodeId,
  rewardsSystem,
  type RewardsSystem,
  type TestCommittee,
} from "./fixtures";
import { ContributionRegistry__factory, type ContributionRegistry } from "../../typechain-types";
import {
  contributionOf,
  decayed,
  measurementsHash,
  signCoefficients,
  signMeasurementBatch,
  sortBatch,
  type GradientTable,
  type Measurement,
} from "../../offchain/protocol/contribution";
import { quorumArgs } from "../../offchain/protocol/quorum";

const WAD = 10n ** 18n;
const TABLES: [GradientTable, GradientTable, GradientTable, GradientTable] = [
  { thresholds: [2_000, 8_000, 16_000, 32_000, 64_000], points: [1, 2, 3, 4, 5] },
  { thresholds: [1_024, 4_096, 8_192, 16_384, 32_768], points: [1, 2, 3, 4, 5] },
  { thresholds: [10, 50, 100, 500, 1_000], points: [1, 2, 3, 4, 5] },
  { thresholds: [100, 500, 1_000, 4_000, 10_000], points: [1, 2, 3, 4, 5] },
];
const ONE: [bigint, bigint, bigint, bigint] = [WAD, WAD, WAD, WAD];

function measurement(i: number, overrides: Partial<Measurement> = {}): Measurement {
  return {
    nodeId: nodeId(i),
    cpuMhz: 16_000,
    memoryMiB: 8_192,
    uplinkMbps: 100,
    storageGiB: 4_000,
    onlineSeconds: 7_200,
    tasksCompleted: 10,
    tasksFailed: 2,
    chainParticipation: 3,
    ...overrides,
  };
}

async function signBatch(
  sys: RewardsSystem,
  c: TestCommittee,
  registry: ContributionRegistry,
  nonce: bigint,
  batch: Measurement[],
  who: number[],
  epoch = c.epoch,
) {
  const address = (await registry.getAddress()) as Address;
  const signed = await Promise.all(
    who.map(async (i) => ({
      key: c.keys[i],
      signature: await signMeasurementBatch(c.accounts[i], sys.chainId, address, { epoch, nonce, batch }),
    })),
  );
  return quorumArgs(c.keys, signed);
}

async function signSigma(
  sys: RewardsSystem,
  c: TestCommittee,
  registry: ContributionRegistry,
  nonce: bigint,
  sigma: [bigint, bigint, bigint, bigint],
  who: number[],
) {
  const address = (await registry.getAddress()) as Address;
  const signed = await Promise.all(
    who.map(async (i) => ({
      key: c.keys[i],
      signature: await signCoefficients(c.accounts[i], sys.chainId, address, { epoch: c.epoch, nonce, sigma }),
    })),
  );
  return quorumArgs(c.keys, signed);
}

describe("ContributionRegistry", () => {
  async function withNodes() {
    const sys = await rewardsSystem();
    const c = await electCommittee(sys, 0n, 7);
    // Nodes 0..5: tiers Lite, Normal, Super, Lite, …; node 5 inactive; node 6 unknown.
    for (let i = 0; i < 6; i++) await sys.registry.setNode(nodeId(i), sys.outsider.address, i % 3, i !== 5);
    return { sys, c, registry: sys.contribution };
  }

  it("deploys with default tables, σ = 1 and the given weights; rejects bad parameters", async () => {
    const { sys, registry } = await loadFixture(withNodes);
    for (const [r, table] of TABLES.entries()) {
      const [thresholds, points] = await registry.gradientTable(r);
      expect(thresholds.map(Number)).to.deep.equal(table.thresholds);
      expect(points.map(Number)).to.deep.equal(table.points);
    }
    expect(await registry.coefficients()).to.deep.equal(ONE);
    const w = await registry.weights();
    expect(w.tierPower).to.deep.equal(REGISTRY_PARAMS.weights.tierPower);
    expect(await registry.halvingBlocks()).to.equal(REGISTRY_PARAMS.halvingBlocks);
    expect(await registry.score(nodeId(9))).to.equal(0n);
    expect(await registry.gradientOf(0, 1_999)).to.equal(0n);
    expect(await registry.gradientOf(0, 2_000)).to.equal(1n);
    expect(await registry.gradientOf(0, 1_000_000)).to.equal(5n);

    const f = new ContributionRegistry__factory(sys.deployer);
    const zero = hre.ethers.ZeroAddress;
    await expect(f.deploy(zero, sys.registry, sys.deployer.address, REGISTRY_PARAMS)).to.be.revertedWithCustomError(
      f,
      "ZeroAddress",
    );
    await expect(f.deploy(sys.committee, sys.registry, sys.deployer.address, { ...REGISTRY_PARAMS, halvingBlocks: 0n }))
      .to.be.revertedWithCustomError(f, "ParameterOutOfBounds")
      .withArgs("halvingBlocks", 0, 1, 2n ** 64n - 1n);
    await expect(f.deploy(sys.committee, sys.registry, sys.deployer.address, { ...REGISTRY_PARAMS, maxBatchSize: 129 }))
      .to.be.revertedWithCustomError(f, "ParameterOutOfBounds")
      .withArgs("maxBatchSize", 129, 1, 128);
    const badTier = { ...REGISTRY_PARAMS.weights, tierPower: [0n, WAD, WAD] as [bigint, bigint, bigint] };
    await expect(f.deploy(sys.committee, sys.registry, sys.deployer.address, { ...REGISTRY_PARAMS, weights: badTier }))
      .to.be.revertedWithCustomError(f, "ParameterOutOfBounds")
      .withArgs("tierPower", 0, 1, 10n * WAD);
  });

  it("applies a quorum-signed batch: contribution = basic + service + chain, as the TS mirror computes", async () => {
    const { sys, c, registry } = await loadFixture(withNodes);
    const batch = sortBatch(
      [0, 1, 2, 3].map((i) => measurement(i, { onlineSeconds: 3600 * (i + 1), tasksFailed: i * 4 })),
    );
    const q = await signBatch(sys, c, registry, 0n, batch, first(5));
    const tx = await registry.submitMeasurements(0, 0, batch, q);
    await expect(tx).to.emit(registry, "MeasurementsPosted").withArgs(0, 0, 4, 4, q.signers);
    for (const m of batch) {
      const i = [0, 1, 2, 3].find((k) => nodeId(k) === m.nodeId)!;
      const tier = (i % 3) as 0 | 1 | 2;
      const expected = contributionOf(m, tier, TABLES, ONE, REGISTRY_PARAMS.weights);
      const [basic, service, chain, total] = await registry.previewContribution(m, tier);
      expect([basic, service, chain, total]).to.deep.equal([
        expected.basic,
        expected.service,
        expected.chain,
        expected.total,
      ]);
      expect(await registry.score(m.nodeId)).to.equal(expected.total);
      await expect(tx)
        .to.emit(registry, "NodeMeasured")
        .withArgs(m.nodeId, 0, anyValue, tier, expected.total, expected.total);
      const stored = await registry.measurementOf(m.nodeId);
      expect(stored.onlineSeconds).to.equal(BigInt(m.onlineSeconds));
      expect(stored.tasksFailed).to.equal(BigInt(m.tasksFailed));
    }
    // Hand-checked: node 1 (Normal), 2 h online, 4 failed of 10: capability 3+3+3+4 = 13 → basic 26; service
    // max(0, 10 − 8) = 2; chain 3.
    const one = batch.find((m) => m.nodeId === nodeId(1))!;
    expect(await registry.score(one.nodeId)).to.equal(31n * WAD);
    // More failures than completions give no negative service.
    const three = batch.find((m) => m.nodeId === nodeId(3))!;
    expect((await registry.previewContribution(three, 0))[1]).to.equal(0n);
    expect(await registry.nextNonce()).to.equal(1n);
    expect(await registry.batchDigest(0, 0, batch)).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("skips unknown and inactive nodes, requires sorted ids and bounded batches", async () => {
    const { sys, c, registry } = await loadFixture(withNodes);
    const batch = sortBatch([measurement(4), measurement(5), measurement(6)]);
    const tx = registry.submitMeasurements(0, 0, batch, await signBatch(sys, c, registry, 0n, batch, first(5)));
    await expect(tx).to.emit(registry, "MeasurementSkipped").withArgs(nodeId(5), 0);
    await expect(tx).to.emit(registry, "MeasurementSkipped").withArgs(nodeId(6), 0);
    await expect(tx).to.emit(registry, "MeasurementsPosted").withArgs(0, 0, 3, 1, anyValue);
    expect(await registry.score(nodeId(5))).to.equal(0n);
    expect(await registry.score(nodeId(4))).to.be.greaterThan(0n);

    const unsorted = [...sortBatch([measurement(0), measurement(1)])].reverse();
    await expect(registry.submitMeasurements(0, 1, unsorted, await signBatch(sys, c, registry, 1n, unsorted, first(5))))
      .to.be.revertedWithCustomError(registry, "UnsortedBatch")
      .withArgs(1);
    const twice = [measurement(0), measurement(0)];
    await expect(registry.submitMeasurements(0, 1, twice, await signBatch(sys, c, registry, 1n, twice, first(5))))
      .to.be.revertedWithCustomError(registry, "UnsortedBatch")
      .withArgs(1);
    await expect(registry.submitMeasurements(0, 1, [], await signBatch(sys, c, registry, 1n, [], first(5))))
      .to.be.revertedWithCustomError(registry, "BadBatchSize")
      .withArgs(0, 64);
    await registry.setMaxBatchSize(1);
    const two = sortBatch([measurement(0), measurement(1)]);
    await expect(registry.submitMeasurements(0, 1, two, await signBatch(sys, c, registry, 1n, two, first(5))))
      .to.be.revertedWithCustomError(registry, "BadBatchSize")
      .withArgs(2, 1);
  });

  it("rejects replays, tampered batches, short quorums, foreign domains and stale epochs", async () => {
    const { sys, c, registry } = await loadFixture(withNodes);
    const batch = [measurement(0)];
    const q = await signBatch(sys, c, registry, 0n, batch, first(5));
    await registry.submitMeasurements(0, 0, batch, q);
    await expect(registry.submitMeasurements(0, 0, batch, q))
      .to.be.revertedWithCustomError(registry, "BadNonce")
      .withArgs(0, 1);
    const q1 = await signBatch(sys, c, registry, 1n, batch, first(5));
    const tampered = [{ ...batch[0], onlineSeconds: 86_400 }];
    await expect(registry.submitMeasurements(0, 1, tampered, q1)).to.be.revertedWithCustomError(
      registry,
      "InvalidSignature",
    );
    await expect(registry.submitMeasurements(0, 1, batch, await signBatch(sys, c, registry, 1n, batch, first(4))))
      .to.be.revertedWithCustomError(registry, "QuorumNotReached")
      .withArgs(4, 5);
    // Signed for the mining pool's address (another contract's domain).
    const poolAddress = (await sys.pool.getAddress()) as Address;
    const foreign = quorumArgs(
      c.keys,
      await Promise.all(
        first(5).map(async (i) => ({
          key: c.keys[i],
          signature: await signMeasurementBatch(c.accounts[i], sys.chainId, poolAddress, {
            epoch: 0n,
            nonce: 1n,
            batch,
          }),
        })),
      ),
    );
    await expect(registry.submitMeasurements(0, 1, batch, foreign)).to.be.revertedWithCustomError(
      registry,
      "InvalidSignature",
    );
    // A new committee; after the grace, epoch 0 is out.
    const next = await electCommittee(sys, 1n, 4, 50);
    await time.increaseTo((await sys.committee.epochStart(1)) + 3600n);
    await expect(registry.submitMeasurements(0, 1, batch, q1))
      .to.be.revertedWithCustomError(registry, "EpochNotAccepted")
      .withArgs(0, 1, anyValue);
    await expect(
      registry.submitMeasurements(1, 1, batch, await signBatch(sys, next, registry, 1n, batch, first(3))),
    ).to.emit(registry, "MeasurementsPosted");
    expect(measurementsHash(batch)).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("halves the absolute contribution every T blocks, lazily", async () => {
    const { sys, c } = await loadFixture(withNodes);
    const registry = await new ContributionRegistry__factory(sys.deployer).deploy(
      sys.committee,
      sys.registry,
      sys.deployer.address,
      {
        ...REGISTRY_PARAMS,
        halvingBlocks: 50n,
      },
    );
    // Start at an era boundary so the arithmetic below is exact.
    const start = BigInt(await hre.ethers.provider.getBlockNumber());
    await mine(50n - ((start + 1n) % 50n));
    const batch = [measurement(1)];
    await registry.submitMeasurements(0, 0, batch, await signBatch(sys, c, registry, 0n, batch, first(5)));
    const inc = contributionOf(batch[0], 1, TABLES, ONE, REGISTRY_PARAMS.weights).total;
    const [acc0, era0] = await registry.nodeState(nodeId(1));
    expect(acc0).to.equal(inc);
    await mine(49);
    expect(await registry.score(nodeId(1))).to.equal(inc);
    await mine(1);
    expect(await registry.score(nodeId(1))).to.equal(inc >> 1n);
    await mine(100);
    expect(await registry.score(nodeId(1))).to.equal(inc >> 3n);
    // A new measurement adds to the decayed value.
    await registry.submitMeasurements(0, 1, batch, await signBatch(sys, c, registry, 1n, batch, first(5)));
    const era = await registry.currentEra();
    expect(await registry.score(nodeId(1))).to.equal(decayed(inc, era0, era) + inc);
    await mine(50n * 200n);
    expect(await registry.score(nodeId(1))).to.equal(0n);
  });

  it("takes coefficients σ from the quorum, within bounds, sharing the nonce with batches", async () => {
    const { sys, c, registry } = await loadFixture(withNodes);
    const sigma: [bigint, bigint, bigint, bigint] = [2n * WAD, WAD / 2n, WAD, 0n];
    const q = await signSigma(sys, c, registry, 0n, sigma, first(5));
    await expect(registry.postCoefficients(0, 0, sigma, q))
      .to.emit(registry, "CoefficientsPosted")
      .withArgs(0, 0, sigma, q.signers);
    expect(await registry.coefficients()).to.deep.equal(sigma);
    await expect(registry.postCoefficients(0, 0, sigma, q)).to.be.revertedWithCustomError(registry, "BadNonce");
    const m = measurement(1);
    expect((await registry.previewContribution(m, 1))[0]).to.equal(
      contributionOf(m, 1, TABLES, sigma, REGISTRY_PARAMS.weights).basic,
    );
    const tooBig: [bigint, bigint, bigint, bigint] = [17n * WAD, WAD, WAD, WAD];
    await expect(registry.postCoefficients(0, 1, tooBig, await signSigma(sys, c, registry, 1n, tooBig, first(5))))
      .to.be.revertedWithCustomError(registry, "ParameterOutOfBounds")
      .withArgs("sigma", 17n * WAD, 0, 16n * WAD);
    const zero: [bigint, bigint, bigint, bigint] = [0n, 0n, 0n, 0n];
    await expect(
      registry.postCoefficients(0, 1, zero, await signSigma(sys, c, registry, 1n, zero, first(5))),
    ).to.be.revertedWithCustomError(registry, "ZeroCoefficients");
    // A batch signed as nonce 1 works after the coefficients used nonce 0.
    const batch = [measurement(0)];
    await expect(
      registry.submitMeasurements(0, 1, batch, await signBatch(sys, c, registry, 1n, batch, first(5))),
    ).to.emit(registry, "MeasurementsPosted");
  });

  it("governance sets gradient tables, weights, batch bound and grace within bounds", async () => {
    const { sys, registry } = await loadFixture(withNodes);
    const role = await registry.DEFAULT_ADMIN_ROLE();
    await expect(registry.connect(sys.outsider).setGradientTable(0, [1], [1]))
      .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
      .withArgs(sys.outsider.address, role);
    await expect(registry.connect(sys.outsider).setWeights(REGISTRY_PARAMS.weights)).to.be.revertedWithCustomError(
      registry,
      "AccessControlUnauthorizedAccount",
    );
    await expect(registry.connect(sys.outsider).setMaxBatchSize(10)).to.be.revertedWithCustomError(
      registry,
      "AccessControlUnauthorizedAccount",
    );
    await expect(registry.connect(sys.outsider).setElectionGrace(10)).to.be.revertedWithCustomError(
      registry,
      "AccessControlUnauthorizedAccount",
    );
    await expect(registry.setGradientTable(2, [100, 1_000], [2, 7]))
      .to.emit(registry, "GradientTableSet")
      .withArgs(2, [100, 1_000], [2, 7]);
    expect(await registry.gradientOf(2, 999)).to.equal(2n);
    expect(await registry.gradientOf(2, 1_000)).to.equal(7n);
    expect(await registry.gradientOf(2, 99)).to.equal(0n);
    const [thresholds] = await registry.gradientTable(2);
    expect(thresholds.length).to.equal(2);
    for (const [t, p, at] of [
      [[], [], 0],
      [[1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 1, 1, 1, 1, 1, 1, 1], 9],
      [[1, 2], [1], 2],
      [[5, 5], [1, 2], 1],
      [[5, 6], [2, 1], 1],
      [[5], [1_001], 0],
    ] as [number[], number[], number][]) {
      await expect(registry.setGradientTable(1, t, p))
        .to.be.revertedWithCustomError(registry, "BadGradientTable")
        .withArgs(1, at);
    }
    const w = { ...REGISTRY_PARAMS.weights, chainPoints: 5n * WAD };
    await expect(registry.setWeights(w)).to.emit(registry, "WeightsSet");
    expect((await registry.weights()).chainPoints).to.equal(5n * WAD);
    await expect(registry.setWeights({ ...w, failedPenalty: 11n * WAD }))
      .to.be.revertedWithCustomError(registry, "ParameterOutOfBounds")
      .withArgs("failedPenalty", 11n * WAD, 0, 10n * WAD);
    await expect(registry.setMaxBatchSize(0)).to.be.revertedWithCustomError(registry, "ParameterOutOfBounds");
    await expect(registry.setMaxBatchSize(128)).to.emit(registry, "MaxBatchSizeSet").withArgs(128);
    await expect(registry.setMaxBatchSize(129)).to.be.revertedWithCustomError(registry, "ParameterOutOfBounds");
    await expect(registry.setElectionGrace(86_401)).to.be.revertedWithCustomError(registry, "ParameterOutOfBounds");
    await expect(registry.setElectionGrace(0)).to.emit(registry, "ElectionGraceSet").withArgs(0);
  });
});
