/**
 * Every chain-side `hms` command in-process against a deployed system: the happy path with its decoded result, tx
 * hash and gas, and the rejection paths with the error registry's exit codes.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { EXIT_CODES } from "../../offchain/core/errors";
import { cliSystem, hardhatAddress, hardhatKey, json, HMS, type CliSystem } from "./helpers";

/** The IDO bucket released and HMS handed to the accounts the tests use. */
async function funded(): Promise<CliSystem> {
  const sys = await cliSystem();
  const r = await sys.as(2, ["allocation", "release", "ido", "--json"]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  for (const i of [10, 11, 12, 13])
    expect((await sys.as(2, ["transfer", hardhatAddress(i), "50000", "--json"])).exitCode).to.equal(0);
  return sys;
}

function keyFile(sys: CliSystem, label: string): { file: string; address: string } {
  const key = keccak256(toHex(`cli-test/${label}`));
  const file = path.join(sys.dir, `${label}.key`);
  fs.writeFileSync(file, key + "\n", { mode: 0o600 });
  return { file, address: privateKeyToAccount(key).address };
}

describe("hms chain-side commands (in-process)", function () {
  it("--version prints the package version; --help lists the commands", async () => {
    const sys = await loadFixture(cliSystem);
    const v = await sys.hms(["--version"]);
    expect(v.exitCode).to.equal(0);
    expect(v.stdout.trim()).to.equal(JSON.parse(fs.readFileSync("package.json", "utf8")).version);
    const unknown = await sys.hms(["balance", "--no-such-option"]);
    expect(unknown.exitCode).to.equal(EXIT_CODES.config);
  });

  it("balance and transfer, with insufficient balance, no key, no confirmation, bad amount and wrong chain", async () => {
    const sys = await loadFixture(funded);
    const b = json<{ balance: string }>(await sys.hms(["balance", hardhatAddress(10), "--json"]));
    expect(b.balance).to.equal(HMS(50_000).toString());
    const t = await sys.as(10, ["transfer", hardhatAddress(14), "1.5", "--json"]);
    expect(t.exitCode).to.equal(0);
    const tx = json<{ hash: string; gasUsed: string; amount: string }>(t);
    expect(tx.hash).to.match(/^0x[0-9a-f]{64}$/);
    expect(Number(tx.gasUsed)).to.be.greaterThan(21_000);
    expect(tx.amount).to.equal((15n * 10n ** 17n).toString());
    expect(t.stderr).to.contain(`transfer 1.5 HMS from ${hardhatAddress(10)} to ${hardhatAddress(14)}`);
    const human = await sys.as(10, ["transfer", hardhatAddress(14), "1"]);
    expect(human.stdout).to.match(/tx 0x[0-9a-f]{64} {2}gas [\d,]+ {2}block \d+/);

    const poor = await sys.as(14, ["transfer", hardhatAddress(10), "1000", "--json"]);
    expect(poor.exitCode).to.equal(EXIT_CODES.conflict);
    expect(json<{ error: { code: string } }>(poor).error.code).to.equal("SDK_INSUFFICIENT_BALANCE");

    const noKey = await sys.hms(["transfer", hardhatAddress(14), "1", "--yes"]);
    expect(noKey.exitCode).to.equal(EXIT_CODES.config);
    expect(noKey.stderr).to.contain("CLI_NO_KEY");

    const unconfirmed = await sys.hms(["transfer", hardhatAddress(14), "1"], { HMS_PRIVATE_KEY: hardhatKey(10) });
    expect(unconfirmed.exitCode).to.equal(EXIT_CODES.config);
    expect(unconfirmed.stderr).to.contain("CLI_NOT_CONFIRMED");
    const declined = await sys.hms(["transfer", hardhatAddress(14), "1"], { HMS_PRIVATE_KEY: hardhatKey(10) }, ["n"]);
    expect(declined.exitCode).to.equal(EXIT_CODES.config);
    expect(declined.stderr).to.contain("Send? [y/N]");
    const accepted = await sys.hms(["transfer", hardhatAddress(14), "1"], { HMS_PRIVATE_KEY: hardhatKey(10) }, ["y"]);
    expect(accepted.exitCode).to.equal(0);

    const bad = await sys.as(10, ["transfer", hardhatAddress(14), "lots"]);
    expect(bad.exitCode).to.equal(EXIT_CODES.invalidInput);
    expect(bad.stderr).to.contain("CLI_BAD_VALUE");

    const other = path.join(sys.dir, "other-chain.json");
    fs.writeFileSync(other, JSON.stringify({ ...sys.deployment, chainId: 5 }));
    const wrong = await sys.as(10, ["transfer", hardhatAddress(14), "1", "--deployment", other]);
    expect(wrong.exitCode).to.equal(EXIT_CODES.wrongChain);
    expect(wrong.stderr).to.contain("SDK_WRONG_CHAIN");
    const missing = await sys.hms(["balance", hardhatAddress(1), "--deployment", path.join(sys.dir, "none.json")]);
    expect(missing.exitCode).to.equal(EXIT_CODES.config);
    expect(missing.stderr).to.contain("CHAIN_DEPLOYMENT");
  });

  it("node register|show|payout|key, and an operator-only change by a stranger (exit 4)", async () => {
    const sys = await loadFixture(funded);
    const k = keyFile(sys, "node-key");
    const reg = await sys.as(12, [
      "node",
      "register",
      "--kind",
      "storage",
      "--capacity",
      "2048",
      "--region",
      "276",
      "--endpoint",
      "http://127.0.0.1:7401",
      "--signing-key-file",
      k.file,
      "--json",
    ]);
    expect(reg.exitCode, reg.stderr).to.equal(0);
    const { nodeId } = json<{ nodeId: string }>(reg);
    const show = json<{ signingKey: string; kind: number; capacity: string; payout: string }>(
      await sys.hms(["node", "show", nodeId, "--json"]),
    );
    expect(show.signingKey).to.equal(k.address);
    expect(show.capacity).to.equal("2048");
    expect(show.payout).to.equal(hardhatAddress(12));
    expect((await sys.as(12, ["node", "payout", nodeId, hardhatAddress(15)])).exitCode).to.equal(0);
    expect(json<{ payout: string }>(await sys.hms(["node", "show", nodeId, "--json"])).payout).to.equal(
      hardhatAddress(15),
    );
    const stranger = await sys.as(13, ["node", "payout", nodeId, hardhatAddress(13), "--json"]);
    expect(stranger.exitCode).to.equal(EXIT_CODES.unauthorized);
    expect(json<{ error: { errorName: string } }>(stranger).error.errorName).to.equal("NotOperator");
    const k2 = keyFile(sys, "node-key-2");
    expect((await sys.as(12, ["node", "key", nodeId, "--signing-key-file", k2.file])).exitCode).to.equal(0);
    expect(json<{ signingKey: string }>(await sys.hms(["node", "show", nodeId, "--json"])).signingKey).to.equal(
      k2.address,
    );
    const unknown = await sys.hms(["node", "show", keccak256(toHex("nobody"))]);
    expect(unknown.exitCode).to.equal(EXIT_CODES.notFound);
    const badKind = await sys.as(12, [
      "node",
      "register",
      "--kind",
      "toaster",
      "--endpoint",
      "x",
      "--signing-key-file",
      k.file,
    ]);
    expect(badKind.exitCode).to.equal(EXIT_CODES.invalidInput);
  });

  it("bookkeeper register|stake|unbond|withdraw|show, delegate and vote, with locked stake and not registered", async () => {
    const sys = await loadFixture(funded);
    const k = keyFile(sys, "bk-key");
    const reg = await sys.as(10, ["bookkeeper", "register", "10000", "--signing-key-file", k.file, "--json"]);
    expect(reg.exitCode, reg.stderr).to.equal(0);
    expect(json<{ margin: string; signingKey: string }>(reg).signingKey).to.equal(k.address);
    expect((await sys.as(10, ["bookkeeper", "stake", "500"])).exitCode).to.equal(0);
    const show = json<{ status: number; margin: string }>(
      await sys.hms(["bookkeeper", "show", hardhatAddress(10), "--json"]),
    );
    expect(show.status).to.equal(1);
    expect(show.margin).to.equal(HMS(10_500).toString());
    // Below the minimum margin: the stake is locked (exit 9).
    const below = await sys.as(10, ["bookkeeper", "unbond", "1000", "--json"]);
    expect(below.exitCode).to.equal(EXIT_CODES.conflict);
    expect(json<{ error: { code: string } }>(below).error.code).to.equal("SDK_STAKE_LOCKED");
    expect((await sys.as(10, ["bookkeeper", "unbond", "500"])).exitCode).to.equal(0);
    const early = await sys.as(10, ["bookkeeper", "withdraw", "--json"]);
    expect(early.exitCode).to.equal(EXIT_CODES.conflict);
    expect(json<{ error: { errorName: string } }>(early).error.errorName).to.equal("NothingToWithdraw");
    await time.increase(31 * 86_400);
    const paid = json<{ paid: string }>(await sys.as(10, ["bookkeeper", "withdraw", "--json"]));
    expect(paid.paid).to.equal(HMS(500).toString());

    const del = await sys.as(11, ["delegate", hardhatAddress(10), "2000", "--json"]);
    expect(del.exitCode, del.stderr).to.equal(0);
    expect(json<{ shares: string }>(del).shares).to.equal(HMS(2_000).toString());
    const notBk = await sys.as(11, ["delegate", hardhatAddress(13), "1", "--json"]);
    expect(notBk.exitCode).to.equal(EXIT_CODES.unauthorized);
    expect(json<{ error: { code: string } }>(notBk).error.code).to.equal("SDK_NOT_REGISTERED");

    const vote = json<{ votes: string }>(await sys.as(11, ["vote", hardhatAddress(10), "--json"]));
    expect(vote.votes).to.equal(HMS(48_000).toString());
  });

  it("market offers|offer|order|take|leases|withdraw|close", async () => {
    const sys = await loadFixture(funded);
    const k = keyFile(sys, "market-node");
    const { nodeId } = json<{ nodeId: string }>(
      await sys.as(12, [
        "node",
        "register",
        "--kind",
        "storage",
        "--capacity",
        "4096",
        "--endpoint",
        "http://n",
        "--signing-key-file",
        k.file,
        "--json",
      ]),
    );
    const posted = await sys.as(12, [
      "market",
      "offer",
      "--node",
      nodeId,
      "--units",
      "1024",
      "--price",
      "1gwei",
      "--json",
    ]);
    expect(posted.exitCode, posted.stderr).to.equal(0);
    const { offerId } = json<{ offerId: string }>(posted);
    expect(offerId).to.equal("1");
    const offers = json<{ offerId: string; nodeId: string }[]>(await sys.hms(["market", "offers", "--json"]));
    expect(offers.map((o) => o.offerId)).to.deep.equal(["1"]);
    expect(json<{ units: string }>(await sys.hms(["market", "offer", "1", "--json"])).units).to.equal("1024");
    const order = await sys.as(11, [
      "market",
      "order",
      "--units",
      "100",
      "--max-price",
      "2gwei",
      "--duration",
      "86400",
      "--json",
    ]);
    expect(order.exitCode, order.stderr).to.equal(0);
    const o = json<{ orderId: string; escrow: string }>(order);
    expect(o.escrow).to.equal((2n * 10n ** 9n * 100n * 86_400n).toString());
    const take = json<{ leaseId: string; excessRefund: string }>(
      await sys.as(11, ["market", "take", o.orderId, offerId, "--json"]),
    );
    expect(take.leaseId).to.equal(o.orderId);
    expect(take.excessRefund).to.equal((10n ** 9n * 100n * 86_400n).toString());
    const leases = json<{ leaseId: string; status: number }[]>(
      await sys.hms(["market", "leases", "--json"], { HMS_PRIVATE_KEY: hardhatKey(11) }),
    );
    expect(leases.map((l) => l.leaseId)).to.deep.equal([take.leaseId]);
    await time.increase(3_600);
    const w = json<{ total: string }>(await sys.as(12, ["market", "withdraw", take.leaseId, "--json"]));
    expect(BigInt(w.total) >= 10n ** 9n * 100n * 3_600n).to.equal(true);
    const notParty = await sys.as(13, ["market", "close", take.leaseId]);
    expect(notParty.exitCode).to.equal(EXIT_CODES.unauthorized);
    const closed = json<{ refund: string }>(await sys.as(11, ["market", "close", take.leaseId, "--json"]));
    expect(BigInt(closed.refund) > 0n).to.equal(true);
    const again = await sys.as(11, ["market", "close", take.leaseId]);
    expect(again.exitCode).to.equal(EXIT_CODES.conflict);
    const noOffer = await sys.hms(["market", "offer", "99"]);
    expect(noOffer.exitCode).to.equal(EXIT_CODES.notFound);
  });

  it("allocation show|release and council motions|vote (a non-member is refused)", async () => {
    const sys = await loadFixture(cliSystem);
    const show = json<{ name: string; releasable: string }[]>(await sys.hms(["allocation", "show", "--json"]));
    expect(show.map((b) => b.name)).to.deep.equal(["IDO", "Technology", "Operation", "Foundation", "Mining"]);
    expect(show[0].releasable).to.equal(HMS(200_000_000).toString());
    const rel = json<{ total: string }>(await sys.as(5, ["allocation", "release", "ido", "--json"]));
    expect(rel.total).to.equal(HMS(200_000_000).toString());
    const none = await sys.as(5, ["allocation", "release", "technology"]);
    expect(none.exitCode).to.equal(EXIT_CODES.conflict);

    const target = hardhatAddress(9);
    const stranger = await sys.as(9, ["council", "vote", "admit", target, "--reason", "x", "--json"]);
    expect(stranger.exitCode).to.equal(EXIT_CODES.unauthorized);
    const proposed = json<{ proposed: boolean; approvals: string; required: string }>(
      await sys.as(1, ["council", "vote", "admit", target, "--reason", "ipfs://report", "--json"]),
    );
    expect(proposed.proposed).to.equal(true);
    expect(proposed.approvals).to.equal("1");
    const motions = json<{ members: string[]; motions: { target: string; open: boolean; reason: string }[] }>(
      await sys.hms(["council", "motions", "--json"]),
    );
    expect(motions.members).to.have.length(3);
    expect(motions.motions.map((m) => [m.target, m.open, m.reason])).to.deep.equal([[target, true, "ipfs://report"]]);
    // Admission also needs a member's signed recommendation: it stays open with 2/3 approvals.
    const admit = json<{ executed: boolean; approvals: string }>(
      await sys.as(18, ["council", "vote", "admit", target, "--json"]),
    );
    expect([admit.executed, admit.approvals]).to.deep.equal([false, "2"]);
    expect((await sys.as(1, ["council", "vote", "add-member", target, "--reason", "new member"])).exitCode).to.equal(0);
    const voted = json<{ proposed: boolean; executed: boolean }>(
      await sys.as(18, ["council", "vote", "add-member", target, "--json"]),
    );
    expect(voted.proposed).to.equal(false);
    expect(voted.executed).to.equal(true);
    expect(json<{ members: string[] }>(await sys.hms(["council", "motions", "--json"])).members).to.include(target);
    const twice = await sys.as(19, ["council", "vote", "add-member", target]);
    expect(twice.exitCode).to.equal(EXIT_CODES.notFound);
  });

  it("keys new|import|list: encrypted files, never the key on screen; wrong password refused", async () => {
    const sys = await loadFixture(cliSystem);
    const pw = path.join(sys.dir, "pw");
    fs.writeFileSync(pw, "correct horse\n");
    const made = await sys.hms(["keys", "new", "alice", "--password-file", pw, "--light-kdf", "--json"]);
    expect(made.exitCode, made.stderr).to.equal(0);
    const alice = json<{ address: string; file: string }>(made);
    const file = JSON.parse(fs.readFileSync(alice.file, "utf8"));
    expect(file.version).to.equal(3);
    expect((file.crypto ?? file.Crypto).kdf).to.equal("scrypt");
    expect((fs.statSync(alice.file).mode & 0o777).toString(8)).to.equal("600");
    const imported = await sys.hms(["keys", "import", "funder", "--password-file", pw, "--light-kdf"], {
      HMS_PRIVATE_KEY: hardhatKey(2),
    });
    expect(imported.exitCode, imported.stderr).to.equal(0);
    expect(imported.stdout + imported.stderr).to.not.contain(hardhatKey(2).slice(2));
    const dup = await sys.hms(["keys", "import", "again", "--password-file", pw], { HMS_PRIVATE_KEY: hardhatKey(2) });
    expect(dup.exitCode).to.equal(EXIT_CODES.conflict);
    const list = json<{ keys: { name: string; address: string }[] }>(await sys.hms(["keys", "list", "--json"]));
    expect(list.keys.map((k) => k.name)).to.deep.equal(["alice", "funder"]);
    expect(list.keys[1].address).to.equal(hardhatAddress(2));
    // Signing with the keystore key: releases the IDO bucket as #2.
    const rel = await sys.hms(["allocation", "release", "ido", "--account", "funder", "--password-file", pw, "--yes"]);
    expect(rel.exitCode, rel.stderr).to.equal(0);
    fs.writeFileSync(pw, "wrong\n");
    const wrong = await sys.hms([
      "transfer",
      alice.address,
      "1",
      "--account",
      "funder",
      "--password-file",
      pw,
      "--yes",
    ]);
    expect(wrong.exitCode).to.equal(EXIT_CODES.config);
    expect(wrong.stderr).to.contain("CLI_KEYSTORE");
    const absent = await sys.hms(["transfer", alice.address, "1", "--account", "bob", "--yes"]);
    expect(absent.stderr).to.contain("CLI_NO_KEY");
  });
});
