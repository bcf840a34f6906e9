/**
 * The gas watch (offchain/validator/gas.ts): an unfunded validator key is visible at once (status with a
 * one-line reason), transactions are refused with VALIDATOR_NO_GAS instead of failing one by one, a funded
 * account resumes, a failed balance read keeps the last status, and chain errors are described in one line.
 */
import { expect } from "chai";
import { BaseError, InsufficientFundsError } from "viem";
import { isHmsError } from "../../offchain/core/errors";
import { EXIT_CODES, exitCodeOf } from "../../offchain/validator/errors";
import { GasWatch, describeChainError, isInsufficientFunds } from "../../offchain/validator/gas";

const ADDRESS = "0x00000000000000000000000000000000000000a1";

function watch(balances: Array<bigint | Error>) {
  let clock = 0;
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const logger = {
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: "warn", msg, fields }),
    info: (fields: Record<string, unknown>, msg: string) => lines.push({ level: "info", msg, fields }),
  } as unknown as import("pino").Logger;
  let reads = 0;
  const w = new GasWatch({
    address: ADDRESS,
    minBalanceWei: 1_000n,
    intervalMs: 10_000,
    logger,
    now: () => clock,
    balance: async () => {
      const b = balances[Math.min(reads++, balances.length - 1)];
      if (b instanceof Error) throw b;
      return b;
    },
  });
  return { w, lines, advance: (ms: number) => (clock += ms), reads: () => reads };
}

describe("validator/gas: the key's account must be able to pay", function () {
  it("reports an unfunded account with a one-line reason and refuses transactions (VALIDATOR_NO_GAS)", async function () {
    const { w, lines } = watch([0n]);
    const s = await w.check(true);
    expect(s.ok).to.equal(false);
    expect(s.balanceWei).to.equal("0");
    expect(s.reason).to.include(ADDRESS).and.include("below the minimum 1000 wei");
    expect(s.reason).to.not.include("\n");
    expect(lines).to.have.length(1);
    expect(lines[0].level).to.equal("warn");
    expect(lines[0].msg).to.equal(s.reason);
    let refused: unknown;
    try {
      await w.ensureCanPay("submitReport");
    } catch (err) {
      refused = err;
    }
    expect(isHmsError(refused, "VALIDATOR_NO_GAS")).to.equal(true);
    expect((refused as Error).message).to.match(/^submitReport not sent: account /);
    expect(exitCodeOf(refused)).to.equal(EXIT_CODES.conflict);
    // Still unfunded at the next check: no second log line.
    await w.check(true);
    expect(lines).to.have.length(1);
  });

  it("resumes once funded (one info line), and reads the balance at most every intervalMs", async function () {
    const { w, lines, advance, reads } = watch([0n, 5_000n]);
    expect((await w.check(true)).ok).to.equal(false);
    await w.check();
    expect(reads()).to.equal(1); // within the interval: the last status
    advance(10_000);
    const s = await w.check();
    expect(reads()).to.equal(2);
    expect(s).to.deep.equal({ ok: true, balanceWei: "5000" });
    expect(lines.map((l) => l.level)).to.deep.equal(["warn", "info"]);
    await w.ensureCanPay("elect");
  });

  it("keeps the last status when the balance cannot be read", async function () {
    const { w, lines } = watch([5_000n, new Error("connect ECONNREFUSED 127.0.0.1:8545\n  at stack")]);
    expect((await w.check(true)).ok).to.equal(true);
    const s = await w.check(true);
    expect(s.ok).to.equal(true);
    expect(lines).to.have.length(1);
    expect(lines[0].msg).to.equal("balance check failed");
    expect(lines[0].fields.error).to.equal("connect ECONNREFUSED 127.0.0.1:8545");
  });

  it("re-checks after an insufficient-funds failure, and only then", async function () {
    const { w, reads } = watch([5_000n, 0n]);
    await w.check(true);
    await w.noteFailure(new Error("execution reverted: StalePeriod"));
    expect(reads()).to.equal(1);
    await w.noteFailure(new InsufficientFundsError());
    expect(reads()).to.equal(2);
    expect(w.status.ok).to.equal(false);
  });

  it("describes a viem error in one short line, without the request dump", function () {
    const dump = new BaseError("The total cost of executing this transaction exceeds the balance of the account.", {
      details: "insufficient funds",
      metaMessages: ["Request Arguments:", `  data: 0x${"ab".repeat(700)}`],
    });
    const line = describeChainError(dump);
    expect(line).to.equal("The total cost of executing this transaction exceeds the balance of the account.");
    expect(dump.message.length).to.be.greaterThan(1_400);
    expect(isInsufficientFunds(dump)).to.equal(true);
    expect(describeChainError(new Error("x".repeat(1_000))).length).to.be.at.most(241);
    expect(isInsufficientFunds(new Error("nonce too low"))).to.equal(false);
  });
});
