/**
 * The dApp path with viem only (no typechain, no ethers): read a reported period, verify a node's claim with
 * `previewClaim`, claim it, and read it back — using the `as const` ABI from offchain/chain/abis.ts and the
 * helpers in offchain/chain/rewards.ts.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { getAddress, getContract, type Address } from "viem";
import { hmsTokenAbi, miningPoolAbi } from "../../offchain/chain/abis";
import { RewardsError, claimArgs, readPeriod } from "../../offchain/chain/rewards";
import { ledgerFrom } from "../../offchain/protocol/ledger";
import { buildReport, claimAmount } from "../../offchain/protocol/report";
import { electCommittee, endOfPeriod, first, nodeId, rewardsSystem, signQuorum } from "./fixtures";

describe("MiningPool through viem (dApp)", () => {
  it("reads a period, verifies a node's claim and claims it", async () => {
    const sys = await loadFixture(rewardsSystem);
    const c = await electCommittee(sys, 0n, 4);
    const [, , , , , , , , , , , , nodeWallet] = await hre.viem.getWalletClients();
    const payout = nodeWallet.account.address;
    await sys.registry.setNode(nodeId(1), payout, 1, true);
    const built = buildReport(
      ledgerFrom(0n, [
        [nodeId(1), 300n],
        [nodeId(2), 700n],
      ]),
      { epoch: 0n, topN: 2, fromPeriod: 0n },
    );
    await endOfPeriod(sys.pool, 0n);
    await sys.pool.submitReport(built.report, await signQuorum(sys, c, built.report, first(3)));

    const publicClient = await hre.viem.getPublicClient();
    const address = (await sys.pool.getAddress()) as Address;
    const pool = getContract({ address, abi: miningPoolAbi, client: { public: publicClient, wallet: nodeWallet } });
    const period = await readPeriod(publicClient, address, 0n);
    expect(period.terms.totalTraffic).to.equal(1_000n);
    expect(period.attestation.dataCid).to.equal(built.report.dataCid);
    const claim = built.claims.find((x) => x.nodeId === nodeId(1))!;
    const [amount, to] = await pool.read.previewClaim(claimArgs(period, claim));
    expect(amount).to.equal(claimAmount(period.terms.nodeEmission, 300n, 1_000n));
    expect(to).to.equal(getAddress(payout));
    const before = await publicClient.readContract({
      address: (await sys.token.getAddress()) as Address,
      abi: hmsTokenAbi,
      functionName: "balanceOf",
      args: [payout],
    });
    const hash = await pool.write.claim(claimArgs(period, claim));
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    expect(await pool.read.isClaimed([0n, claim.index])).to.equal(true);
    const after = await publicClient.readContract({
      address: (await sys.token.getAddress()) as Address,
      abi: hmsTokenAbi,
      functionName: "balanceOf",
      args: [payout],
    });
    expect(after - before).to.equal(amount);
    expect((await readPeriod(publicClient, address, 0n)).claimed).to.equal(amount);
    try {
      await readPeriod(publicClient, address, 1n);
      expect.fail("period 1 was not reported");
    } catch (err) {
      expect(err).to.be.instanceOf(RewardsError);
    }
  });
});
