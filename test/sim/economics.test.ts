/**
 * `npm run sim:economics` (scripts/sim/economics.ts, docs/ECONOMICS.md): deterministic for a seed; with the default
 * parameters every cheat loses against the same operator being honest; one-sided receipts add no traffic; the
 * break-even formulas agree with the simulated break-even, and the verdict flips there.
 */
import { expect } from "chai";
import { keccak256, toHex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { domainOf, signTypedSync } from "../../offchain/core/signing";
import { buildReportProposal } from "../../offchain/protocol/proposal";
import { ZERO_HASH } from "../../offchain/protocol/merkle";
import { downloadReceipt } from "../../offchain/protocol/transfer";
import { LatencyEstimator, orderReplicas } from "../../offchain/client/storage/replicas";
import { Prng } from "../../offchain/consensus/pbft/sim/prng";
import { GIB, netGain, simulate, table, type SimResult } from "../../scripts/sim/economics";

describe("sim:economics — cheating does not pay", function () {
  this.timeout(600_000);
  let result: SimResult;

  before(function () {
    result = simulate({ periods: 4 }); // the default parameters, fewer periods
  });

  it("routes with the same rule as the download client: orderReplicas is LatencyEstimator.order", function () {
    const replicas = Array.from({ length: 6 }, (_, i) => ({
      nodeId: keccak256(toHex(`replica ${i}`)),
      url: `http://r${i}`,
      region: "eu",
    }));
    const a = new Prng(5);
    const b = new Prng(5);
    const estimator = new LatencyEstimator({ random: (n) => Math.floor(a.next() * n) });
    const est = new Map<string, number>();
    for (const [i, r] of replicas.entries())
      if (i !== 3) {
        const ms = [1, 1.2, 5, 0, 1.4, 9][i];
        estimator.observe(r.nodeId, ms, 1 << 20);
        est.set(r.nodeId, estimator.estimate(r.nodeId)!);
      }
    for (let k = 0; k < 50; k++)
      expect(
        orderReplicas(
          replicas,
          (id) => est.get(id),
          1.5,
          (n) => Math.floor(b.next() * n),
        ).map((r) => r.nodeId),
      ).to.deep.equal(estimator.order(replicas).map((r) => r.nodeId));
  });

  it("is deterministic for a seed, and the seed matters", function () {
    const small = { periods: 2, readsPerPeriod: 120, files: 60, selfReadsPerPeriod: 30, fakeReadsPerPeriod: 30 };
    const a = table(simulate(small));
    expect(table(simulate(small))).to.equal(a);
    expect(table(simulate({ ...small, seed: 2 }))).to.not.equal(a);
  });

  it("with the default parameters every cheat's net gain is below the same operator's when honest", function () {
    const row = (s: string) => result.rows.find((r) => r.strategy === s)!;
    for (const s of ["self-download", "collusion", "sybil"]) {
      expect(row(s).marginal < 0n, `${s}: ${row(s).marginal}`).to.equal(true);
      expect(row(s).verdict).to.equal("loss");
    }
    // self-download and sybil even lose against an average honest node.
    expect(row("self-download").gain < row("self-download").honest).to.equal(true);
    expect(row("sybil").gain < row("sybil").honest).to.equal(true);
    expect(row("one-sided").marginal).to.equal(0n);
    expect(row("one-sided").verdict).to.equal("never counted");
  });

  it("one-sided receipts add 0 traffic: node-only ones are unpaired, forged client signatures are refused", function () {
    expect(result.oneSidedExtraTraffic).to.equal(0n);
    const one = result.scenarios.get("one-sided")!;
    expect(one.refused).to.equal((result.params.fakeReadsPerPeriod / 2) * result.params.periods);
    expect(one.forgedProposalProblem).to.equal("CLIENT_SIGNATURE");
    // Directly: a period of node-signed receipts only, through the real proposal builder.
    const key = keccak256(toHex("node key"));
    const nodeId = keccak256(toHex("node"));
    const pool = "0x00000000000000000000000000000000000000aa";
    const node = Array.from({ length: 5 }, (_, i) => {
      const receipt = downloadReceipt({
        client: privateKeyToAddress(keccak256(toHex("client"))),
        nodeId,
        sliceDigest: keccak256(toHex(`slice ${i}`)),
        nonce: keccak256(toHex(`nonce ${i}`)),
        bytes: GIB,
        period: 0n,
      });
      return { receipt, signature: signTypedSync(key, domainOf("traffic", 31337, pool), "TrafficReceipt", receipt) };
    });
    const { built } = buildReportProposal({
      chainId: 31337,
      pool,
      epoch: 1n,
      base: 0n,
      seq: 1,
      topN: 100,
      prev: { period: null, carryRoot: ZERO_HASH, carry: [] },
      traffic: [{ period: 0n, client: [], node }],
    });
    expect(built.report.totalTraffic).to.equal(0n);
    expect(built.claims).to.deep.equal([]);
  });

  it("the break-even formulas agree with the simulated break-even, and the verdict flips there", function () {
    const b = result.breakeven;
    const close = (x: bigint, y: bigint, pct: bigint) => (x > y ? x - y : y - x) * 100n <= y * pct;
    expect(close(b.collusionSim, b.collusionFormula, 1n), `${b.collusionSim} vs ${b.collusionFormula}`).to.equal(true);
    expect(close(b.selfSim, b.selfFormula, 5n), `${b.selfSim} vs ${b.selfFormula}`).to.equal(true);
    const p = result.params;
    const xBase = result.scenarios.get("baseline")!.flows.get("X")!;
    const margin = (s: "collusion" | "self-download", price: bigint) => {
      const q = { ...p, trafficPriceWei: price };
      return netGain(result.scenarios.get(s)!.flows.get("X")!, q) - netGain(xBase, q);
    };
    for (const [s, star] of [
      ["collusion", b.collusionSim],
      ["self-download", b.selfSim],
    ] as const) {
      expect(margin(s, (star * 99n) / 100n) > 0n, `${s} below break-even`).to.equal(true);
      expect(margin(s, (star * 101n) / 100n) < 0n, `${s} above break-even`).to.equal(true);
    }
    // The rule of thumb: collusion always loses once fee × price > E/T, because the fake bytes B add only
    // E·((t+B)/(T+B) − t/T) = E·B·(T−t)/(T·(T+B)) < E·B/T to the coalition's rewards.
    const base = result.scenarios.get("baseline")!;
    for (const q of base.periods)
      expect((b.collusionSim * p.feeBps) / 10_000n < (q.emission * GIB) / q.total).to.equal(true);
  });
});
