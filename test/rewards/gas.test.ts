/**
 * Gas of the mining pool's main calls (docs/GAS.md, "Rewards"). Prints `receipt.gasUsed` and checks the budgets:
 * a report with 7 signatures ≤ 120k whatever the number of nodes; claims as measured (see docs/GAS.md for what
 * each one pays for).
 *
 *   npx hardhat test test/rewards/gas.test.ts
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Address, Hex } from "viem";
import type { ContractTransactionResponse } from "ethers";
import {
  SIGNATURE_WINDOW,
  electCommittee,
  endOfPeriod,
  first,
  nodeId,
  period,
  rewardsSystem,
  signQuorum,
} from "./fixtures";
import { ledgerFrom } from "../../offchain/protocol/ledger";
import { buildReport, type BuiltReport } from "../../offchain/protocol/report";
import { batchClaim, claimArgs, settlement, type ReportedPeriod } from "../../offchain/chain/rewards";
import { measurementsHash, sortBatch, type Measurement } from "../../offchain/protocol/contribution";
import { signTyped, domainOf } from "../../offchain/core/signing";
import { quorumArgs } from "../../offchain/protocol/quorum";
import { skipUnderCoverage } from "../helpers/coverage";

const GB = 10n ** 9n;
const rows: [string, bigint][] = [];

async function gas(label: string, tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  rows.push([label, receipt!.gasUsed]);
  return receipt!.gasUsed;
}

function ledger(p: bigint, nodes: number) {
  return ledgerFrom(
    p,
    Array.from({ length: nodes }, (_, i) => [nodeId(i), BigInt(1 + ((i * 7919) % 1000)) * GB] as const),
  );
}

describe("Rewards gas (docs/GAS.md)", () => {
  before(function () {
    skipUnderCoverage(this);
  });
  after(() => {
    console.log("\n    call                                                        gas");
    for (const [label, g] of rows) console.log(`    ${label.padEnd(58)} ${g.toString().padStart(9)}`);
  });

  it("submitReport: 7 signatures (7-of-7 and 7-of-10), 5-of-7, any number of nodes", async () => {
    const sys = await loadFixture(rewardsSystem);
    const seven = await electCommittee(sys, 0n, 7);
    let p = 0n;
    const report = async (label: string, c: typeof seven, who: number[], nodes: number) => {
      const built = buildReport(ledger(p, nodes), { epoch: c.epoch, topN: nodes, fromPeriod: p });
      await endOfPeriod(sys.pool, p);
      const q = await signQuorum(sys, c, built.report, who);
      p++;
      return gas(label, sys.pool.submitReport(built.report, q));
    };
    // The first report of a pool also warms nothing special: measure a steady-state one after it.
    await report("submitReport 5-of-7, first report", seven, first(5), 100);
    const g7 = await report("submitReport 7-of-7, 100 nodes", seven, first(7), 100);
    const g7big = await report("submitReport 7-of-7, 10,000 nodes", seven, first(7), 10_000);
    await report("submitReport 5-of-7, 100 nodes", seven, first(5), 100);
    const empty = buildReport(ledgerFrom(p, []), { epoch: 0n, topN: 1, fromPeriod: p });
    await endOfPeriod(sys.pool, p);
    await gas(
      "submitReport 5-of-7, empty period",
      sys.pool.submitReport(empty.report, await signQuorum(sys, seven, empty.report, first(5))),
    );
    p++;
    const ten = await electCommittee(sys, 0n, 10, 40);
    const g10 = await report("submitReport 7-of-10, 100 nodes", ten, first(7), 100);
    const g10all = await report("submitReport 10-of-10, 100 nodes", ten, first(10), 100);
    expect(g7).to.be.at.most(120_000n);
    expect(g7big - g7).to.be.lessThan(200n); // O(1) in the number of nodes
    expect(g10).to.be.at.most(120_000n);
    expect(g10all).to.be.greaterThan(g10);
  });

  it("claim: first in a bitmap word, subsequent, batch; settlement; reclaim", async () => {
    const sys = await loadFixture(rewardsSystem);
    const c = await electCommittee(sys, 0n, 7);
    const nodes = 100;
    for (let i = 0; i < nodes; i++) {
      // Payouts that already hold HMS (the common case: a node that has claimed before).
      const payout = hre.ethers.getAddress(hre.ethers.zeroPadValue(hre.ethers.toBeHex(0xa000 + i), 20));
      await sys.registry.setNode(nodeId(i), payout, 1, true);
    }
    await sys.allocation.release(0);
    for (let i = 0; i < 3; i++)
      await sys.token.connect(sys.ido).transfer(hre.ethers.zeroPadValue(hre.ethers.toBeHex(0xa000 + i), 20), 1n);
    const builts: BuiltReport[] = [];
    const periods: ReportedPeriod[] = [];
    for (let p = 0n; p < 10n; p++) {
      const built = buildReport(ledger(p, nodes), { epoch: 0n, topN: nodes, fromPeriod: p });
      await endOfPeriod(sys.pool, p);
      await sys.pool.submitReport(built.report, await signQuorum(sys, c, built.report, first(5)));
      builts.push(built);
      periods.push(await period(sys, p));
    }
    const claimOf = (k: number, node: Hex) => builts[k].claims.find((x) => x.nodeId === node)!;
    const g1 = await gas(
      "claim, first in its bitmap word (100-leaf tree, payout holds HMS)",
      sys.pool.claim(...claimArgs(periods[0], claimOf(0, nodeId(0)))),
    );
    const g2 = await gas(
      "claim, word already written",
      sys.pool.claim(...claimArgs(periods[0], claimOf(0, nodeId(1)))),
    );
    await gas("claim, payout address new to HMS", sys.pool.claim(...claimArgs(periods[0], claimOf(0, nodeId(50)))));
    const batch = (k0: number, k1: number, node: Hex) =>
      periods.slice(k0, k1).map((per, j) => batchClaim(per, claimOf(k0 + j, node)));
    const gb10 = await gas(
      "claimBatch, 1 node × 9 periods (each word first)",
      sys.pool.claimBatch(nodeId(2), batch(1, 10, nodeId(2))),
    );
    rows.push(["  … per claim", gb10 / 9n]);
    const gb2 = await gas(
      "claimBatch, 1 node × 9 periods (words already written)",
      sys.pool.claimBatch(nodeId(1), batch(1, 10, nodeId(1))),
    );
    rows.push(["  … per claim", gb2 / 9n]);
    await time.increase(SIGNATURE_WINDOW); // settlement waits for the signature window
    await gas(
      "settleBookkeepers, 1 period (5 credited, 2 missed)",
      sys.pool.settleBookkeepers([settlement(periods[0])]),
    );
    const g8 = await gas(
      "settleBookkeepers, 8 periods",
      sys.pool.settleBookkeepers(periods.slice(1, 9).map(settlement)),
    );
    rows.push(["  … per period", g8 / 8n]);
    expect(g2).to.be.lessThan(g1);
    // A single claim to a payee that already holds HMS: 70,069 before issue 16, ≤ 60,000 since (docs/GAS.md).
    expect(g2).to.be.at.most(60_000n);
    expect(gb2 / 9n).to.be.at.most(60_000n);
  });

  it("ContributionRegistry: batch of 16 and 64 measurements, coefficients", async () => {
    const sys = await loadFixture(rewardsSystem);
    const c = await electCommittee(sys, 0n, 7);
    for (let i = 0; i < 64; i++) await sys.registry.setNode(nodeId(i), sys.outsider.address, i % 3, true);
    const registry = (await sys.contribution.getAddress()) as Address;
    const domain = domainOf("contribution", sys.chainId, registry);
    let nonce = 0n;
    const post = async (label: string, n: number) => {
      const batch: Measurement[] = sortBatch(
        Array.from({ length: n }, (_, i) => ({
          nodeId: nodeId(i),
          cpuMhz: 8000 + i,
          memoryMiB: 16_384,
          uplinkMbps: 100,
          storageGiB: 4000,
          onlineSeconds: 3600,
          tasksCompleted: 10,
          tasksFailed: 1,
          chainParticipation: 0,
        })),
      );
      const message = { epoch: 0n, nonce, measurementsHash: measurementsHash(batch) };
      const signed = await Promise.all(
        first(5).map(async (i) => ({
          key: c.keys[i],
          signature: await signTyped(c.accounts[i], domain, "ContributionBatch", message),
        })),
      );
      await gas(label, sys.contribution.submitMeasurements(0n, nonce++, batch, quorumArgs(c.keys, signed)));
    };
    await post("submitMeasurements, 16 new nodes (5-of-7)", 16);
    await post("submitMeasurements, 16 known nodes", 16);
    await post("submitMeasurements, 64 nodes (16 known)", 64);
    const sigma = [10n ** 18n, 2n * 10n ** 18n, 5n * 10n ** 17n, 10n ** 18n] as const;
    const message = { epoch: 0n, nonce, cpu: sigma[0], memory: sigma[1], bandwidth: sigma[2], storage: sigma[3] };
    const signed = await Promise.all(
      first(5).map(async (i) => ({
        key: c.keys[i],
        signature: await signTyped(c.accounts[i], domain, "ContributionCoefficients", message),
      })),
    );
    await gas(
      "postCoefficients (5-of-7)",
      sys.contribution.postCoefficients(0n, nonce, [...sigma], quorumArgs(c.keys, signed)),
    );
  });
});
