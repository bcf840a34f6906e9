/**
 * `hms put / get / ls / stat / rm / mkdir / mv` and the storage SDK actions against real processes: three `hms meta`
 * nodes and three `hms storage` workers (StorageLayer) configured with the meta URLs, all
 * child processes on loopback. The commands run in-process (runCli, so their exit code, stdout and stderr are
 * captured) except one `hms get` to stdout, which runs as a child process to check the raw bytes of a real pipe.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { Address, Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { program } from "../../offchain/cli";
import { runCli, type CliRun } from "../../offchain/cli/runtime";
import { createStorageClient, hmsStorageActions } from "../../offchain/client/storage";
import { EXIT_CODES, HmsError } from "../../offchain/core/errors";

import { HMS_BIN, ROOT, freePorts } from "../../offchain/devnet/cluster";
import { StorageLayer } from "../../offchain/testing/storage-layer";
import { TEST_DOMAINS } from "../../offchain/testing/storage-cluster";
import { kuboDeterministicBytes } from "../storage/helpers";

const OWNER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a" as Hex;
const OWNER = privateKeyToAddress(OWNER_KEY);
const OTHER = privateKeyToAddress(`0x${"11".repeat(32)}`);
const KIB = 1024;
const MIB = 1024 * KIB;

function json<T = Record<string, unknown>>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** `hms get` as a child process (bin/hms.js): its raw stdout bytes, stderr and exit code. */
function hmsChild(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HMS_BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
  });
}

describe("hms put / get / ls / stat / rm against 3 meta and 3 storage processes", function () {
  this.timeout(300_000);
  let dir: string;
  let layer: StorageLayer | undefined;
  let env: Record<string, string>;
  const hms = (argv: string[], extra: Record<string, string | undefined> = {}, stderrTty = false) =>
    runCli(program, argv, { env: { ...env, ...extra }, stderrTty });

  // A multi-slice file: 3 MiB + 123 bytes in 256 KiB slices (13 slices).
  const big = randomBytes(3 * MIB + 123);
  const SLICE = String(256 * KIB);
  let bigFile: string;
  let bigCid: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-cli-storage-"));
    const clock = { genesis: BigInt(Math.floor(Date.now() / 1000) - 3600), periodLength: 600n };
    // 3 meta nodes and 3 workers started at once; returns once the master sees every worker (placement needs it).
    layer = await StorageLayer.start({ dir, ...TEST_DOMAINS, clock });
    const metaUrls = layer.urls();
    env = { HMS_META_URLS: metaUrls.join(","), HMS_PRIVATE_KEY: OWNER_KEY, HOME: dir };
    bigFile = path.join(dir, "big.bin");
    fs.writeFileSync(bigFile, big);
  });

  after(async () => {
    await layer?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("put of a multi-slice file with --json prints only the JSON: root CID, slices, copies, commit", async () => {
    const run = await hms(["put", bigFile, "--to", "/data/big.bin", "--slice-size", SLICE, "--json"]);
    expect(run.exitCode, run.stderr).to.equal(EXIT_CODES.ok);
    expect(run.stderr).to.equal("");
    const out = json<Record<string, unknown> & { commit: { term: string; index: string } }>(run);
    expect(out.rootCid).to.match(/^bafybei[a-z2-7]{52}$/);
    expect(out).to.include({ path: "/data/big.bin", size: String(big.length), sliceSize: 256 * KIB, copies: 3 });
    expect(out.slices).to.equal(Math.ceil(big.length / (256 * KIB)));
    expect(BigInt(out.commit.index) > 0n).to.equal(true);
    bigCid = out.rootCid as string;
  });

  it("put without --json prints the root CID (Kubo's) on stdout and plain progress lines on stderr", async () => {
    // Kubo's vector: `ipfs add --cid-version=1 --raw-leaves` of 1 MiB + 1 bytes (2 slices of the default chunker).
    const file = path.join(dir, "kubo.bin");
    fs.writeFileSync(file, kuboDeterministicBytes(MIB + 1, "chunk-v1-seed"));
    const run = await hms(["put", file], { HMS_PROGRESS_INTERVAL_MS: "0" });
    expect(run.exitCode, run.stderr).to.equal(EXIT_CODES.ok);
    expect(run.stdout).to.equal("bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64\n");
    expect(run.stderr).to.not.contain("\r");
    expect(run.stderr).to.match(/put kubo\.bin: [\d.]+ (B|KiB|MiB) of 1\.00 MiB \([\d.]+%\), .*(\/s|-), ETA /);
    expect(run.stderr).to.match(/put kubo\.bin: 1\.00 MiB in [\d.]+s \(.*\/s\) → \/kubo\.bin\n$/);
  });

  it("put on a terminal draws a progress bar with bytes/s and ETA in place", async () => {
    const run = await hms(["put", bigFile, "--to", "/data/tty.bin", "--slice-size", SLICE], {}, true);
    expect(run.exitCode, run.stderr).to.equal(EXIT_CODES.ok);
    expect(run.stdout).to.equal(`${bigCid}\n`);
    expect(run.stderr).to.match(
      /\rput big\.bin \[[#-]{24}\] [\d.]+ \w+ \/ 3\.00 MiB +[\d.]+% +([\d.]+ \w+\/s|-) +ETA \S+/,
    );
    expect(run.stderr.endsWith("\n")).to.equal(true);
  });

  it("get to a file and to stdout (a real process's pipe) is byte-identical; a range get returns that range", async () => {
    const out = path.join(dir, "big.out");
    const byPath = await hms(["get", "/data/big.bin", "-o", out, "--json"]);
    expect(byPath.exitCode, byPath.stderr).to.equal(EXIT_CODES.ok);
    expect(json(byPath)).to.include({ rootCid: bigCid, path: "/data/big.bin", size: String(big.length), output: out });
    expect(fs.readFileSync(out).equals(big)).to.equal(true);
    expect(fs.existsSync(`${out}.part`)).to.equal(false);

    // Two child processes at once (ts-node start-up is the slow part): the whole file through a real pipe, and a
    // reader that goes away after the first bytes (`hms get … | head -c 1`): a clean stop, not a crash.
    const whole = hmsChild(["get", bigCid], env);
    const early = new Promise<{ code: number; stderr: string; first: number }>((resolve, reject) => {
      const c = spawn(process.execPath, [HMS_BIN, "get", bigCid], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      let first = 0;
      c.stdout.once("data", (d: Buffer) => {
        first = d.length;
        c.stdout.destroy();
      });
      c.stderr.on("data", (d: Buffer) => (stderr += d));
      c.on("error", reject);
      c.on("close", (code) => resolve({ code: code ?? -1, stderr, first }));
    });
    const child = await whole;
    expect(child.code, child.stderr).to.equal(EXIT_CODES.ok);
    expect(child.stdout.length).to.equal(big.length);
    expect(child.stdout.equals(big)).to.equal(true);
    const cut = await early;
    expect(cut.first).to.be.greaterThan(0);
    expect(cut.code, cut.stderr).to.equal(EXIT_CODES.ok);
    expect(cut.stderr).to.not.match(/ERROR|EPIPE/);

    // A range across slice boundaries (slice 1 … slice 3), in-process to stdout.
    const range = await hms(["get", bigCid, "--offset", "300000", "--length", "500000"]);
    expect(range.exitCode, range.stderr).to.equal(EXIT_CODES.ok);
    expect(range.stdoutBytes.equals(big.subarray(300_000, 800_000))).to.equal(true);
    // Past the end: the range error, before any byte.
    const past = await hms(["get", bigCid, "--offset", String(big.length + 1)]);
    expect(past.exitCode).to.equal(EXIT_CODES.invalidInput);
    expect(past.stderr).to.contain("STORAGE_RANGE");
  });

  it("put of a directory stores it file by file under --to; ls / stat show it; every file reads back", async () => {
    const tree = path.join(dir, "tree");
    fs.mkdirSync(path.join(tree, "sub", "deeper"), { recursive: true });
    fs.mkdirSync(path.join(tree, "empty"));
    const files: Record<string, Buffer> = {
      "a.txt": Buffer.from("hello, storage\n"),
      "sub/b.bin": randomBytes(600 * KIB),
      "sub/deeper/c.bin": randomBytes(70 * KIB),
      "zero.bin": Buffer.alloc(0),
    };
    for (const [rel, bytes] of Object.entries(files)) fs.writeFileSync(path.join(tree, rel), bytes);
    const run = await hms(["put", tree, "--to", "/tree", "--slice-size", SLICE, "--json"]);
    expect(run.exitCode, run.stderr).to.equal(EXIT_CODES.ok);
    const out = json<{
      path: string;
      files: Array<{ path: string; rootCid: string; size: string }>;
      directories: string[];
    }>(run);
    expect(out.path).to.equal("/tree");
    expect(out.files.map((f) => f.path)).to.deep.equal([
      "/tree/a.txt",
      "/tree/sub/b.bin",
      "/tree/sub/deeper/c.bin",
      "/tree/zero.bin",
    ]);
    expect(out.directories).to.deep.equal(["/tree/empty"]);

    const ls = await hms(["ls", "/tree", "--json"]);
    expect(ls.exitCode, ls.stderr).to.equal(EXIT_CODES.ok);
    const listing = json<{ owner: string; path: string; entries: Array<Record<string, unknown>> }>(ls);
    expect(listing.owner).to.equal(OWNER);
    expect(listing.path).to.equal("/tree");
    const byName = Object.fromEntries(listing.entries.map((e) => [e.name, e]));
    expect(Object.keys(byName).sort()).to.deep.equal(["a.txt", "empty", "sub", "zero.bin"]);
    expect(byName["a.txt"]).to.deep.equal({
      name: "a.txt",
      kind: "file",
      path: "/tree/a.txt",
      size: String(files["a.txt"].length),
      rootCid: out.files[0].rootCid,
    });
    expect(byName.sub).to.deep.include({ kind: "dir", path: "/tree/sub" });

    const text = await hms(["ls", "/tree/sub"]);
    expect(text.exitCode).to.equal(EXIT_CODES.ok);
    expect(text.stdout).to.match(new RegExp(`^file +600 KiB  ${out.files[1].rootCid} +b\\.bin$`, "m"));
    expect(text.stdout).to.match(/^dir +- +- +deeper\/$/m);

    for (const [rel, bytes] of Object.entries(files)) {
      const got = await hms(["get", `/tree/${rel}`]);
      expect(got.exitCode, `${rel}: ${got.stderr}`).to.equal(EXIT_CODES.ok);
      expect(got.stdoutBytes.equals(bytes), rel).to.equal(true);
    }

    const dirStat = json<{ kind: string; children: number; dir: { path: string } }>(
      await hms(["stat", "/tree", "--json"]),
    );
    expect(dirStat).to.deep.include({ kind: "dir", children: 4 });
    expect(dirStat.dir.path).to.equal("/tree");
  });

  it("stat by CID and by path: --json shape and the human text", async () => {
    const byCid = await hms(["stat", bigCid, "--json"]);
    expect(byCid.exitCode, byCid.stderr).to.equal(EXIT_CODES.ok);
    const s = json<{ kind: string; file: Record<string, unknown> & { slices: unknown[]; dagBlocks: unknown[] } }>(
      byCid,
    );
    expect(s.kind).to.equal("file");
    expect(s.file).to.include({ rootCid: bigCid, size: String(big.length), sliceSize: 256 * KIB });
    expect(s.file.owner).to.equal(OWNER.toLowerCase());
    expect(["/data/big.bin", "/data/tty.bin"]).to.include(s.file.path);
    expect(s.file.slices).to.have.length(13);
    expect(s.file.dagBlocks).to.have.length(1);
    expect(s.file.uploadId).to.match(/^0x[0-9a-f]{64}$/);

    const text = await hms(["stat", "/data/big.bin"]);
    expect(text.exitCode).to.equal(EXIT_CODES.ok);
    expect(text.stdout).to.contain(`cid:      ${bigCid}`);
    expect(text.stdout).to.contain(`size:     ${big.length} bytes (3.00 MiB)`);
    expect(text.stdout).to.contain("slices:   13 × 262144 bytes, 1 DAG block(s)");
    // Another owner's namespace is readable with --owner (and empty here).
    const other = await hms(["ls", "/", "--owner", OTHER, "--json"]);
    expect(other.exitCode).to.equal(EXIT_CODES.ok);
    expect(json<{ entries: unknown[] }>(other).entries).to.deep.equal([]);
  });

  it("rm, then get and stat of the path exit with the not-found code; mv and mkdir change the index", async () => {
    const rm = await hms(["rm", "/data/tty.bin", "--json"]);
    expect(rm.exitCode, rm.stderr).to.equal(EXIT_CODES.ok);
    expect(json(rm)).to.include({ path: "/data/tty.bin", removed: true });
    const get = await hms(["get", "/data/tty.bin", "-o", path.join(dir, "gone.bin")]);
    expect(get.exitCode).to.equal(EXIT_CODES.notFound);
    expect(get.stderr).to.match(/^hms get: META_NOT_FOUND: .* \(exit 8\)\n$/);
    expect(fs.existsSync(path.join(dir, "gone.bin"))).to.equal(false);
    expect(fs.existsSync(path.join(dir, "gone.bin.part"))).to.equal(false);
    const stat = await hms(["stat", "/data/tty.bin", "--json"]);
    expect(stat.exitCode).to.equal(EXIT_CODES.notFound);
    expect(json<{ error: { code: string; exitCode: number } }>(stat).error).to.include({
      code: "META_NOT_FOUND",
      exitCode: 8,
    });
    // The same bytes are still stored under the other path: the CID still reads.
    const still = await hms(["get", bigCid, "--offset", "0", "--length", "10"]);
    expect(still.stdoutBytes.equals(big.subarray(0, 10))).to.equal(true);

    expect((await hms(["mkdir", "/archive"])).exitCode).to.equal(EXIT_CODES.ok);
    const mv = await hms(["mv", "/kubo.bin", "/archive/"]);
    expect(mv.exitCode, mv.stderr).to.equal(EXIT_CODES.ok);
    const names = json<{ entries: Array<{ name: string }> }>(await hms(["ls", "/archive", "--json"])).entries.map(
      (e) => e.name,
    );
    expect(names).to.deep.equal(["kubo.bin"]);
    // rm -r of a directory and everything below it.
    const rmTree = await hms(["rm", "/tree/sub", "-r"]);
    expect(rmTree.exitCode, rmTree.stderr).to.equal(EXIT_CODES.ok);
    expect(rmTree.stdout).to.equal("removed /tree/sub\n");
    const gone = await hms(["ls", "/tree/sub"]);
    expect(gone.exitCode).to.equal(EXIT_CODES.notFound);
  });

  it("rejects: missing file, no key, no meta, unreachable meta, bad path, unknown or malformed CID, another owner's namespace", async () => {
    const cases: Array<{ argv: string[]; env?: Record<string, string | undefined>; code: string; exit: number }> = [
      { argv: ["put", path.join(dir, "missing.bin")], code: "CLI_FILE", exit: EXIT_CODES.invalidInput },
      { argv: ["put", bigFile], env: { HMS_PRIVATE_KEY: undefined }, code: "CLI_NO_KEY", exit: EXIT_CODES.config },
      { argv: ["ls"], env: { HMS_PRIVATE_KEY: undefined }, code: "CLI_NO_KEY", exit: EXIT_CODES.config },
      { argv: ["ls"], env: { HMS_META_URLS: undefined }, code: "CLI_NO_META", exit: EXIT_CODES.config },
      { argv: ["ls", "--meta", "ftp://x"], code: "CLI_BAD_VALUE", exit: EXIT_CODES.invalidInput },
      { argv: ["put", bigFile, "--to", "data/rel.bin"], code: "META_BAD_PATH", exit: EXIT_CODES.invalidInput },
      { argv: ["ls", "/a/../b"], code: "META_BAD_PATH", exit: EXIT_CODES.invalidInput },
      { argv: ["get", "not-a-cid"], code: "CLI_BAD_VALUE", exit: EXIT_CODES.invalidInput },
      {
        // A valid CID that no file has.
        argv: ["get", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", "-o", path.join(dir, "x")],
        code: "META_NOT_FOUND",
        exit: EXIT_CODES.notFound,
      },
      { argv: ["get", bigCid, "--json"], code: "CLI_USAGE", exit: EXIT_CODES.config },
      { argv: ["rm", "/data/big.bin", "--owner", OTHER], code: "META_NOT_OWNER", exit: EXIT_CODES.unauthorized },
    ];
    for (const c of cases) {
      const run = await hms(c.argv.includes("--json") ? c.argv : [...c.argv, "--json"], c.env);
      expect(run.exitCode, `${c.argv.join(" ")}: ${run.stderr}`).to.equal(c.exit);
      expect(json<{ error: { code: string } }>(run).error.code, c.argv.join(" ")).to.equal(c.code);
      expect(run.stderr).to.contain(`: ${c.code}: `);
    }
    // The other owner's file is still there after the refused rm.
    expect((await hms(["stat", "/data/big.bin"])).exitCode).to.equal(EXIT_CODES.ok);

    // Unreachable meta: the transport code and exit 5, after --meta-timeout.
    const [closed] = await freePorts(1);
    const started = Date.now();
    const down = await hms(["ls", "--meta", `http://127.0.0.1:${closed}`, "--meta-timeout", "300"]);
    expect(down.exitCode, down.stderr).to.equal(EXIT_CODES.unreachable);
    expect(down.stderr).to.match(/^hms ls: TRANSPORT_UNREACHABLE: meta node http:\/\/127\.0\.0\.1:\d+ unreachable/);
    expect(Date.now() - started).to.be.below(10_000);
  });

  it("put to an existing directory stores the file inside it (cp file dir); a target the index refuses fails before any byte moves", async () => {
    const small = path.join(dir, "inside.txt");
    fs.writeFileSync(small, "into the directory\n");
    expect((await hms(["mkdir", "/box"])).exitCode).to.equal(EXIT_CODES.ok);
    const into = json<{ path: string }>(await hms(["put", small, "--to", "/box", "--json"]));
    expect(into.path).to.equal("/box/inside.txt");
    // The SDK puts exactly where it is told: a directory there is META_IS_DIRECTORY, a file on the way
    // META_NOT_DIRECTORY — refused by the master at placement, before an upload exists.
    const sdk = createStorageClient({ metaUrls: env.HMS_META_URLS.split(","), owner: OWNER_KEY }).extend(
      hmsStorageActions,
    );
    const slices = async () => {
      let n = 0;
      for (const { url: w } of layer!.storage.endpoints()) {
        const h = (await (await fetch(`${w}/health`)).json()) as { slices?: number };
        n += h.slices ?? 0;
      }
      return n;
    };
    try {
      const before = await slices();
      for (const [target, code] of [
        ["/box", "META_IS_DIRECTORY"],
        ["/box/inside.txt/deeper.bin", "META_NOT_DIRECTORY"],
      ] as const) {
        const err = await sdk.putFile({ source: big, path: target, sliceSize: 256 * KIB }).then(
          () => undefined,
          (e: unknown) => e as { code?: string; message: string },
        );
        expect(err?.code, `${target}: ${err?.message}`).to.equal(code);
        if (code === "META_NOT_DIRECTORY") {
          // The CLI the same way (a directory target is the cp case above).
          const run = await hms(["put", bigFile, "--to", target, "--json"]);
          expect(run.exitCode, run.stderr).to.equal(EXIT_CODES.conflict);
          expect(json<{ error: { code: string } }>(run).error.code).to.equal(code);
        }
      }
      // Not one slice was stored for the refused puts.
      expect(await slices()).to.equal(before);
    } finally {
      await sdk.close();
    }
    const ls = json<{ entries: { name: string }[] }>(await hms(["ls", "/box", "--json"]));
    expect(ls.entries.map((e) => e.name)).to.deep.equal(["inside.txt"]);
  });

  it("SDK: client.extend(hmsStorageActions) puts a web ReadableStream of unknown size with progress, reads a range, aborts", async () => {
    const storageClient = createStorageClient({ metaUrls: env.HMS_META_URLS.split(","), owner: OWNER_KEY }).extend(
      hmsStorageActions,
    );
    try {
      const bytes = randomBytes(900 * KIB);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 100 * KIB) controller.enqueue(bytes.subarray(i, i + 100 * KIB));
          controller.close();
        },
      });
      const progress: Array<{ bytes: bigint; total: bigint }> = [];
      const put = await storageClient.putFile({
        source: stream,
        path: "/sdk/stream.bin",
        sliceSize: 128 * KIB,
        onProgress: (p) => progress.push(p),
      });
      expect(put.size).to.equal(BigInt(bytes.length));
      expect(put.slices).to.equal(8);
      expect(progress.length).to.be.greaterThan(0);
      expect(progress[progress.length - 1]).to.deep.equal({ bytes: BigInt(bytes.length), total: BigInt(bytes.length) });
      const stat = await storageClient.statFile({ path: "/sdk/stream.bin" });
      expect(stat.kind === "file" && stat.file.rootCid).to.equal(put.rootCid);
      const read = await storageClient.getFile({ path: "/sdk/stream.bin", offset: 200_000n, length: 300_000n });
      const parts: Buffer[] = [];
      for await (const p of read) parts.push(Buffer.from(p));
      expect(Buffer.concat(parts).equals(bytes.subarray(200_000, 500_000))).to.equal(true);
      const entries = await storageClient.listFiles({ path: "/sdk" });
      expect(entries).to.deep.equal([
        { name: "stream.bin", kind: "file", path: "/sdk/stream.bin", size: BigInt(bytes.length), rootCid: put.rootCid },
      ]);
      // Aborted before it starts, and in the middle (after the first slice is stored): nothing is recorded.
      const before = await storageClient
        .putFile({ source: bytes, path: "/sdk/aborted.bin", signal: AbortSignal.abort("stop") })
        .catch((e: unknown) => e);
      expect(before).to.be.instanceOf(HmsError);
      expect((before as HmsError).code).to.equal("STORAGE_ABORTED");
      const controller = new AbortController();
      let seen = 0n;
      const during = await storageClient
        .putFile({
          source: randomBytes(2 * MIB),
          path: "/sdk/aborted.bin",
          sliceSize: 64 * KIB,
          concurrency: 1,
          signal: controller.signal,
          onProgress: (p) => {
            seen = p.bytes;
            controller.abort("enough");
          },
        })
        .catch((e: unknown) => e);
      expect(during).to.be.instanceOf(HmsError);
      expect((during as HmsError).code).to.equal("STORAGE_ABORTED");
      expect(seen > 0n && seen < BigInt(2 * MIB)).to.equal(true);
      const missing = await storageClient.statFile({ path: "/sdk/aborted.bin" }).catch((e: unknown) => e);
      expect((missing as HmsError).code).to.equal("META_NOT_FOUND");
      const readOnly = createStorageClient({ metaUrls: env.HMS_META_URLS.split(",") }).extend(hmsStorageActions);
      const noOwner = await readOnly.removeFile({ path: "/sdk/stream.bin" }).catch((e: unknown) => e);
      expect((noOwner as HmsError).code).to.equal("SDK_NO_ACCOUNT");
      expect((await readOnly.listFiles({ owner: OWNER as Address, path: "/sdk" })).length).to.equal(1);
      await readOnly.close();
    } finally {
      await storageClient.close();
    }
  });
});
