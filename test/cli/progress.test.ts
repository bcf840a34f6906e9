/** The pure parts of the storage commands: progress and ETA formatting, the reporter's timing, `hms put`'s plan. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import {
  ProgressReporter,
  barLine,
  etaSeconds,
  formatBytes,
  formatEta,
  formatPercent,
  formatRate,
  plainLine,
  renderBar,
} from "../../offchain/cli/progress";
import { planPut } from "../../offchain/cli/commands/put";
import { HmsError } from "../../offchain/core/errors";

describe("storage CLI: progress formatting and the put plan", () => {
  it("formats bytes in binary units with three significant digits", () => {
    expect(formatBytes(0)).to.equal("0 B");
    expect(formatBytes(1023)).to.equal("1023 B");
    expect(formatBytes(1024)).to.equal("1.00 KiB");
    expect(formatBytes(1536)).to.equal("1.50 KiB");
    expect(formatBytes(600 * 1024)).to.equal("600 KiB");
    expect(formatBytes(10.25 * 1024 * 1024)).to.equal("10.3 MiB");
    expect(formatBytes(3n * 1024n ** 3n)).to.equal("3.00 GiB");
    expect(formatBytes(5n * 1024n ** 6n)).to.equal("5120 PiB");
    expect(formatBytes(-1)).to.equal("? B");
  });

  it("formats rates, percentages and ETAs, unknown ones as placeholders", () => {
    expect(formatRate(2 * 1024 * 1024)).to.equal("2.00 MiB/s");
    expect(formatRate(undefined)).to.equal("-");
    expect(formatRate(Infinity)).to.equal("-");
    expect(formatPercent(1, 3)).to.equal("33.3%");
    expect(formatPercent(5, 4)).to.equal("100.0%");
    expect(formatPercent(0, 0)).to.equal("100.0%");
    expect(formatEta(0)).to.equal("0s");
    expect(formatEta(0.2)).to.equal("1s");
    expect(formatEta(59)).to.equal("59s");
    expect(formatEta(60)).to.equal("1m00s");
    expect(formatEta(187)).to.equal("3m07s");
    expect(formatEta(3600 * 2 + 5 * 60 + 1)).to.equal("2h05m");
    expect(formatEta(3600 * 150)).to.equal("150h");
    expect(formatEta(undefined)).to.equal("--");
    expect(formatEta(-1)).to.equal("--");
  });

  it("computes the ETA from the rate: done → 0, no rate → unknown", () => {
    expect(etaSeconds(50, 100, 10)).to.equal(5);
    expect(etaSeconds(100, 100, undefined)).to.equal(0);
    expect(etaSeconds(10, 100, 0)).to.equal(undefined);
    expect(etaSeconds(10, 100, undefined)).to.equal(undefined);
  });

  it("renders the bar and the lines", () => {
    expect(renderBar(0, 100, 10)).to.equal("[----------]");
    expect(renderBar(50, 100, 10)).to.equal("[#####-----]");
    expect(renderBar(200, 100, 10)).to.equal("[##########]");
    expect(renderBar(0, 0, 4)).to.equal("[----]");
    const snap = {
      label: "put a.bin",
      done: 1.5 * 1024 * 1024,
      total: 3 * 1024 * 1024,
      rate: 1024 * 1024,
      elapsedMs: 1,
    };
    expect(barLine(snap, 8)).to.equal("put a.bin [####----] 1.50 MiB / 3.00 MiB  50.0%  1.00 MiB/s  ETA 2s");
    expect(plainLine(snap)).to.equal("put a.bin: 1.50 MiB of 3.00 MiB (50.0%), 1.00 MiB/s, ETA 2s");
    expect(plainLine({ ...snap, rate: undefined })).to.equal("put a.bin: 1.50 MiB of 3.00 MiB (50.0%), -, ETA --");
  });

  it("the reporter measures over a sliding window, throttles its writes, redraws in place on a terminal", () => {
    let now = 0;
    const tty: string[] = [];
    const r = new ProgressReporter({
      label: "get x",
      total: 1000,
      mode: "tty",
      write: (t) => tty.push(t),
      now: () => now,
      windowMs: 2_000,
      ttyIntervalMs: 100,
      width: 10,
    });
    now = 1_000;
    r.update(100); // 100 B/s over the first second
    expect(tty).to.have.length(1);
    expect(tty[0]).to.equal("\rget x [#---------] 100 B / 1000 B  10.0%  100 B/s  ETA 9s\u001b[K");
    now = 1_050;
    r.update(150); // within 100 ms of the last write: not drawn
    expect(tty).to.have.length(1);
    now = 5_000;
    r.update(900); // the window forgets the start: (900 - 150) B over 3.95 s
    expect(r.rate()).to.be.closeTo((750 * 1000) / 3_950, 1e-9);
    expect(tty).to.have.length(2);
    now = 6_000;
    r.update(1000);
    r.finish();
    expect(tty[tty.length - 1]).to.equal("\rget x: 1000 B in 6.0s (167 B/s)\u001b[K\n");

    const plain: string[] = [];
    now = 0;
    const p = new ProgressReporter({
      label: "put y",
      total: 10,
      mode: "plain",
      write: (t) => plain.push(t),
      now: () => now,
      plainIntervalMs: 2_000,
    });
    for (now = 500; now <= 4_500; now += 500) p.update(now / 500);
    // Plain lines every 2 s (at 0.5 s, 2.5 s and 4.5 s), no carriage returns.
    expect(plain).to.have.length(3);
    expect(plain.every((l) => l.endsWith("\n") && !l.includes("\r"))).to.equal(true);

    const silent: string[] = [];
    const s = new ProgressReporter({ label: "z", total: 1, mode: "silent", write: (t) => silent.push(t) });
    s.update(1);
    s.finish();
    expect(silent).to.deep.equal([]);
  });

  it("plans a put: a file's target, a directory's files and empty directories, refusals", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-plan-"));
    try {
      const file = path.join(dir, "a.bin");
      fs.writeFileSync(file, "12345");
      expect(planPut(file, undefined).items).to.deep.equal([{ local: file, target: "/a.bin", size: 5 }]);
      expect(planPut(file, "/x/").items[0].target).to.equal("/x/a.bin");
      expect(planPut(file, "/x/b.bin").items[0].target).to.equal("/x/b.bin");
      const tree = path.join(dir, "tree");
      fs.mkdirSync(path.join(tree, "b", "empty"), { recursive: true });
      fs.writeFileSync(path.join(tree, "z.txt"), "z");
      fs.writeFileSync(path.join(tree, "b", "c.txt"), "cc");
      const plan = planPut(tree, "/dst/");
      expect(plan.root).to.equal("/dst");
      expect(plan.items.map((i) => [i.target, i.size])).to.deep.equal([
        ["/dst/b/c.txt", 2],
        ["/dst/z.txt", 1],
      ]);
      expect(plan.dirs).to.deep.equal(["/dst/b/empty"]);
      expect(planPut(tree, undefined).root).to.equal("/tree");
      const missing = (() => {
        try {
          planPut(path.join(dir, "nope"), undefined);
        } catch (e) {
          return e;
        }
      })();
      expect(missing).to.be.instanceOf(HmsError);
      expect((missing as HmsError).code).to.equal("CLI_FILE");
      expect((missing as HmsError).exitCode).to.equal(7);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
