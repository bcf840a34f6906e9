/**
 * `hms init`: prepares a local chain (`npm run node` + `npm run deploy:local`) so that every daemon starts with one
 * command. It creates the operators' keys in the encrypted keystore and the daemons' signing keys as 0600 key files
 * (what their `privateKeyFile` settings read; nothing is printed), funds the operators from Hardhat's well-known
 * accounts (ETH from #0, HMS from the IDO beneficiary #2), registers the bookkeepers (signing key + margin) and elects
 * their committee, registers storage, container and meta nodes, and writes ready-to-run configs:
 * `validator-<i>.yaml`, `storage-<i>.yaml`, `compute.yaml` (or `compute-<i>.yaml`), `meta.yaml` (or `meta-<i>.yaml`,
 * each naming every meta node as its peer), `traffic-source.yaml`, `dashboard.yaml` (`hms dashboard`: every daemon
 * above, the chain and the deployment; its Data view lists the files of Hardhat's first ten accounts), plus
 * `init.json` (addresses, node ids and files; no secrets). Storage workers are spread over `--regions`; the storage and validator configs know every meta URL.
 * Refuses any chain but Hardhat's (31337). `hms devnet up` runs the same {@link runInit} with ports of its own.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { stringify } from "yaml";
import { http, parseEther, type Address, type Hex } from "viem";
import { readContract, sendTransaction, waitForTransactionReceipt } from "viem/actions";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { HARDHAT_CHAIN_ID, HARDHAT_MNEMONIC } from "../../chain/local";
import { miningPoolAbi } from "../../chain/abis";
import { contractAddress } from "../../chain/deployment";
import { Bucket, NodeKind, Tier, createHmsClient, hmsActions, hmsChain } from "../../client";
import { HmsError } from "../../core/errors";
import { validatorConfigSchema } from "../../validator/config";
import { storageConfigSchema } from "../../storage/config";
import { metaConfigSchema } from "../../meta/config";
import { computeConfigSchema } from "../../compute/config";
import { trafficSourceConfigSchema } from "../../testing/traffic/service";
import { dashboardConfigSchema } from "../../dashboard/config";
import { keystoreDir, newKey, unlockFile } from "../keystore";
import {
  action,
  confirm,
  emit,
  hms,
  parseAmount,
  parseInteger,
  password,
  withChainOptions,
  type ChainContext,
} from "../runtime";

export interface InitOptions {
  dir: string;
  bookkeepers: string;
  storage: string;
  compute: string;
  meta: string;
  regions: string;
  margin: string;
  fund: string;
  lightKdf?: boolean;
  force?: boolean;
  /**
   * A file holding the key of ResourceMarket's ORACLE_ROLE: the meta nodes' compute supervision moves the
   * workloads of dead compute workers with it (docs/COMPUTE.md "Supervision"). Without it they only watch.
   */
  oracleKeyFile?: string;
}

/** The daemons' roles whose ports {@link InitPorts} assigns (`metaPeer`: a meta node's peer transport). */
export type InitPortRole = "traffic" | "validator" | "storage" | "compute" | "meta" | "metaPeer" | "dashboard";

/** Where daemon `i` of a role listens on 127.0.0.1. */
export type InitPorts = (role: InitPortRole, i: number) => number;

/**
 * `hms init`'s fixed ports: traffic source 7300, storage 7301+, validators 7401+, compute 7501+, meta 7601+ / 7651+,
 * dashboard 8090.
 */
export const DEFAULT_INIT_PORTS: InitPorts = (role, i) =>
  ({ traffic: 7300, storage: 7301, validator: 7401, compute: 7501, meta: 7601, metaPeer: 7651, dashboard: 8090 })[
    role
  ] + (role === "traffic" || role === "dashboard" ? 0 : i);

/** How many of Hardhat's accounts the dashboard's Data view lists the files of (the keys a devnet user uploads with). */
export const DASHBOARD_OWNER_ACCOUNTS = 10;

/** Parses `--regions`: comma-separated region codes (the registry's ISO 3166-1 numeric codes, 0 = unspecified). */
export function parseRegions(text: string): number[] {
  const parts = text.split(",").map((x) => x.trim());
  if (parts.length === 0 || parts.some((x) => !/^\d{1,5}$/.test(x) || Number(x) > 65_535))
    throw new HmsError(
      "CLI_BAD_VALUE",
      `--regions ${JSON.stringify(text)} is not a list of region codes (e.g. 276,840,392)`,
      {
        value: text,
      },
    );
  return parts.map(Number);
}

/** What `init.json` records (and `--json` prints). */
export interface InitSummary {
  network: string;
  chainId: number;
  keystore: string;
  dir: string;
  epoch: string;
  bookkeepers: { name: string; account: Address; signingKey: Address; keyFile: string; config: string; url: string }[];
  nodes: {
    name: string;
    kind: string;
    nodeId: Hex;
    operator: Address;
    signingKey: Address;
    keyFile: string;
    config: string;
    url: string;
    /** Storage nodes: the region code they are registered (and placed) in. */
    region?: number;
    /** Meta nodes: the peer transport's URL. */
    peerUrl?: string;
  }[];
  trafficSource: { config: string; url: string };
  /** `hms dashboard -c <config>`: the network's dashboard on `url`. */
  dashboard: { config: string; url: string };
  transactions: number;
  gasUsed: string;
}

function writeKeyFile(file: string, key: Hex): void {
  fs.writeFileSync(file, key + "\n", { mode: 0o600 });
}

function writeYaml(file: string, header: string, value: unknown, secret = false): void {
  const text =
    `# ${header.split("\n").join("\n# ")}\n` +
    stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v));
  fs.writeFileSync(file, text, { mode: secret ? 0o600 : 0o644 });
}

/**
 * Initialises the network (see the file's comment) and prints the summary; `ports` places the daemons (default
 * {@link DEFAULT_INIT_PORTS}). Returns the summary also written to `init.json`.
 */
export async function runInit(
  ctx: ChainContext,
  opts: InitOptions,
  ports: InitPorts = DEFAULT_INIT_PORTS,
): Promise<InitSummary> {
  const n = {
    bookkeepers: Number(parseInteger(opts.bookkeepers, "--bookkeepers")),
    storage: Number(parseInteger(opts.storage, "--storage")),
    compute: Number(parseInteger(opts.compute, "--compute")),
    meta: Number(parseInteger(opts.meta, "--meta")),
  };
  const regions = parseRegions(opts.regions);
  const margin = parseAmount(opts.margin, "--margin");
  const fund = parseAmount(opts.fund, "--fund");
  if (ctx.deployment.chainId !== HARDHAT_CHAIN_ID)
    throw new HmsError("CLI_INIT", `hms init funds keys from Hardhat's accounts: chain ${HARDHAT_CHAIN_ID} only`, {
      value: ctx.deployment.chainId,
    });
  const reader = ctx.reader();
  const dir = path.resolve(opts.dir);
  if (fs.existsSync(path.join(dir, "init.json")) && !opts.force)
    throw new HmsError("CLI_INIT", `${dir} is already initialised (init.json exists); pass --force to redo it`, {
      value: dir,
    });
  const status = await reader.getStatus();
  if (status.committee.bookkeepers.length > 0 && !opts.force)
    throw new HmsError("CLI_INIT", "this chain already has an elected committee: run init on a fresh deployment", {
      value: status.committee.bookkeepers.length,
    });
  const total = BigInt(n.bookkeepers) * (margin + fund) + BigInt(n.storage + n.compute + n.meta) * fund;
  await confirm(ctx, [
    `create ${n.bookkeepers} bookkeeper, ${n.storage} storage, ${n.compute} container and ${n.meta} meta operator keys`,
    `in the keystore ${keystoreDir(undefined, ctx.io.env)} and their daemons' signing keys under ${dir}/keys`,
    `fund them with 10 ETH each (Hardhat #0) and ${hms(total)} in all (IDO beneficiary, Hardhat #2)`,
    `register the bookkeepers with ${hms(margin)} of margin each and elect their committee; register the nodes`,
    `write ready-to-run configs to ${dir}`,
  ]);
  const pw = await password(ctx.io, ctx.opts.passwordFile, "Password for the new keystore keys: ", true);
  const keystore = keystoreDir(ctx.opts.keystore, ctx.io.env);
  fs.mkdirSync(path.join(dir, "keys"), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(dir, "data"), { recursive: true });

  const hardhat = (i: number) => mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i });
  const client = (account: ReturnType<typeof hardhat> | ReturnType<typeof privateKeyToAccount>) =>
    createHmsClient({
      deployment: ctx.deployment,
      chain: hmsChain(ctx.deployment, ctx.rpcUrl),
      transport: ctx.io.transport ?? http(ctx.rpcUrl),
      account,
    }).extend(hmsActions);
  let transactions = 0;
  let gasUsed = 0n;
  const count = (...txs: ({ gasUsed: bigint } | undefined)[]) => {
    for (const t of txs)
      if (t) {
        transactions++;
        gasUsed += t.gasUsed;
      }
  };
  const gasBank = client(hardhat(0));
  const ido = client(hardhat(2));
  const idoInfo = (await ido.getAllocation({ bucket: Bucket.IDO }))[0];
  if (idoInfo.releasable > 0n) count(await ido.releaseAllocation({ bucket: Bucket.IDO }));

  const stamp = Date.now().toString(36);
  /** A new operator: keystore key (encrypted), funded. */
  const operator = async (name: string, hmsAmount: bigint) => {
    const entry = newKey(keystore, `${name}-${stamp}`, pw, { light: opts.lightKdf });
    const account = unlockFile(entry.file, pw);
    const hash = await sendTransaction(gasBank, {
      to: account.address,
      value: parseEther("10"),
      account: hardhat(0),
      chain: gasBank.chain,
    });
    count(await waitForTransactionReceipt(gasBank, { hash }));
    count(await ido.transferTokens({ to: account.address, amount: hmsAmount }));
    return { entry, account, client: client(account) };
  };
  /** A daemon signing key in a 0600 file. */
  const daemonKey = (name: string) => {
    const key = generatePrivateKey();
    const keyFile = path.join(dir, "keys", `${name}.key`);
    writeKeyFile(keyFile, key);
    return { key, keyFile, account: privateKeyToAccount(key) };
  };

  const summary: InitSummary = {
    network: ctx.deployment.network,
    chainId: ctx.deployment.chainId,
    keystore,
    dir,
    epoch: "",
    bookkeepers: [],
    nodes: [],
    trafficSource: { config: path.join(dir, "traffic-source.yaml"), url: `http://127.0.0.1:${ports("traffic", 0)}` },
    dashboard: { config: path.join(dir, "dashboard.yaml"), url: `http://127.0.0.1:${ports("dashboard", 0)}` },
    transactions: 0,
    gasUsed: "0",
  };
  const deploymentRef = ctx.opts.deployment ?? ctx.io.env.HMS_DEPLOYMENT ?? "localhost";
  const deploymentFile = deploymentRef.endsWith(".json") ? path.resolve(deploymentRef) : deploymentRef;

  for (let i = 0; i < n.bookkeepers; i++) {
    const op = await operator(`bookkeeper-${i}`, margin + fund);
    const key = daemonKey(`validator-${i}`);
    // The validator's signing key pays for its report transactions (its /health says ok: false when unfunded).
    const gasHash = await sendTransaction(gasBank, {
      to: key.account.address,
      value: parseEther("1"),
      account: hardhat(0),
      chain: gasBank.chain,
    });
    count(await waitForTransactionReceipt(gasBank, { hash: gasHash }));
    const r = await op.client.registerBookkeeper({ amount: margin, commissionBps: 1_000, signingKey: key.account });
    count(r.keyRegistration, r.approval, r);
    summary.bookkeepers.push({
      name: op.entry.name,
      account: op.account.address,
      signingKey: key.account.address,
      keyFile: key.keyFile,
      config: path.join(dir, `validator-${i}.yaml`),
      url: `http://127.0.0.1:${ports("validator", i)}`,
    });
  }
  if (n.bookkeepers > 0) {
    const elected = await gasBank.electCommittee().catch(async (err: unknown) => {
      if ((err as HmsError).details?.errorName !== "AlreadyElected") throw err;
      return undefined;
    });
    count(elected);
    summary.epoch = String(elected?.epoch ?? (await reader.getStatus()).epoch.lastElected ?? "");
  }

  const kinds: [keyof typeof n, number, "storage" | "compute" | "meta"][] = [
    ["storage", NodeKind.Storage, "storage"],
    ["compute", NodeKind.Container, "compute"],
    ["meta", NodeKind.Meta, "meta"],
  ];
  for (const [role, kind, label] of kinds)
    for (let i = 0; i < n[role]; i++) {
      const op = await operator(`${label}-${i}`, fund);
      const key = daemonKey(`${label}-${i}`);
      const url = `http://127.0.0.1:${ports(label, i)}`;
      const region = role === "storage" ? regions[i % regions.length] : undefined;
      const r = await op.client.registerNode({
        kind: kind as NodeKind,
        tier: Tier.Normal,
        region,
        capacity: role === "storage" ? 100n : role === "compute" ? 4_000n : 0n,
        signingKey: key.account,
        endpoint: url,
      });
      count(r);
      summary.nodes.push({
        name: op.entry.name,
        kind: label,
        nodeId: r.nodeId,
        operator: op.account.address,
        signingKey: key.account.address,
        keyFile: key.keyFile,
        config: path.join(dir, n[role] === 1 && role !== "storage" ? `${label}.yaml` : `${label}-${i}.yaml`),
        url,
        ...(region !== undefined ? { region } : {}),
        ...(role === "meta" ? { peerUrl: `http://127.0.0.1:${ports("metaPeer", i)}` } : {}),
      });
    }

  // ── configs, each checked by its daemon's schema where there is one ──
  const peers = Object.fromEntries(summary.bookkeepers.map((b) => [b.signingKey, b.url]));
  const metaNodes = summary.nodes.filter((x) => x.kind === "meta");
  const metaUrls = metaNodes.map((x) => x.url);
  summary.bookkeepers.forEach((b, i) => {
    const cfg = {
      privateKeyFile: b.keyFile,
      rpcUrl: ctx.rpcUrl,
      deployment: deploymentFile,
      listen: { host: "127.0.0.1", port: ports("validator", i) },
      dataDir: path.join(dir, "data", `validator-${i}`),
      peers,
      // The meta layer's receipts of real transfers (a majority read of every meta node) when there is one;
      // the deterministic stand-in otherwise.
      trafficSource: metaUrls.length > 0 ? { metaUrls } : { url: summary.trafficSource.url },
      topN: 100,
    };
    validatorConfigSchema.parse(cfg);
    writeYaml(
      b.config,
      `hms validator -c ${b.config}\nbookkeeper ${b.account} (keystore ${b.name}), signing key ${b.signingKey}\nwritten by hms init; every key: docs/VALIDATOR.md, examples/config/validator.yaml`,
      cfg,
    );
  });
  const storageNodes = summary.nodes.filter((x) => x.kind === "storage");
  const pool = contractAddress(ctx.deployment, "MiningPool");
  const [genesis, periodLength] = await Promise.all([
    readContract(reader, { address: pool, abi: miningPoolAbi, functionName: "genesis" }),
    readContract(reader, { address: pool, abi: miningPoolAbi, functionName: "periodLength" }),
  ]);
  for (const node of summary.nodes) {
    const i = Number(node.name.split("-")[1]);
    const base = {
      nodeId: node.nodeId,
      privateKeyFile: node.keyFile,
      rpcUrl: ctx.rpcUrl,
      deployment: deploymentFile,
      listen: { host: "127.0.0.1", port: Number(new URL(node.url).port) },
      dataDir: path.join(dir, "data", `${node.kind}-${i}`),
    };
    if (node.kind === "storage") {
      const cfg = { ...base, region: String(node.region ?? 0), capacityBytes: 100 * 1024 ** 3, metaUrls };
      storageConfigSchema.parse(cfg);
      writeYaml(
        node.config,
        `hms storage -c ${node.config}\nstorage node ${node.nodeId}, operator ${node.operator}\nwritten by hms init; every key: docs/STORAGE.md, examples/config/storage.yaml`,
        cfg,
      );
    } else if (node.kind === "meta") {
      // Every meta node lists the whole cluster (itself included) as its peers; it knows the storage nodes' keys.
      const cfg = {
        privateKeyFile: base.privateKeyFile,
        deployment: base.deployment,
        dataDir: base.dataDir,
        listen: base.listen,
        peerListen: { host: "127.0.0.1", port: Number(new URL(node.peerUrl!).port) },
        peers: metaNodes.map((m) => ({ address: m.signingKey, peerUrl: m.peerUrl!, apiUrl: m.url })),
        period: { genesis: genesis.toString(), length: Number(periodLength) },
        nodes: storageNodes.map((x) => ({ nodeId: x.nodeId, address: x.signingKey })),
        // Compute supervision: the compute workers' heartbeats, verified against the chain's signing keys.
        compute: {
          rpcUrl: ctx.rpcUrl,
          ...(opts.oracleKeyFile !== undefined ? { oracleKeyFile: path.resolve(opts.oracleKeyFile) } : {}),
        },
      };
      metaConfigSchema.parse(cfg);
      writeYaml(
        node.config,
        `hms meta -c ${node.config}\nmeta node ${node.nodeId}, operator ${node.operator}\nwritten by hms init; every key: docs/META.md`,
        cfg,
      );
    } else {
      // The compute worker reads its leases from the chain and heartbeats to every meta node (supervision).
      const cfg = { ...base, ...(metaUrls.length > 0 ? { metaUrls } : {}) };
      computeConfigSchema.parse(cfg);
      writeYaml(
        node.config,
        `hms compute -c ${node.config}\ncompute node ${node.nodeId}, operator ${node.operator}\nwritten by hms init; every key: docs/COMPUTE.md`,
        cfg,
      );
    }
  }
  if (storageNodes.length > 0) {
    const cfg = {
      deployment: deploymentFile,
      listen: { host: "127.0.0.1", port: ports("traffic", 0) },
      nodes: storageNodes.map((x) => ({ nodeId: x.nodeId, privateKey: fs.readFileSync(x.keyFile, "utf8").trim() })),
    };
    trafficSourceConfigSchema.parse(cfg);
    writeYaml(
      summary.trafficSource.config,
      `hms traffic-source -c ${summary.trafficSource.config}\nthe deterministic stand-in for the meta layer's receipts (devnet only: it holds the storage nodes' keys; mode 0600)`,
      cfg,
      true,
    );
  }
  {
    // The dashboard watches every daemon above; read-only, public sources only (no key).
    const cfg = {
      rpcUrl: ctx.rpcUrl,
      deployment: deploymentFile,
      listen: { host: "127.0.0.1", port: ports("dashboard", 0) },
      // Every daemon is on loopback: polled twice a second, a dead one turns red well within the meta layer's
      // heartbeat timeout (3 s).
      healthPollMs: 500,
      requestTimeoutMs: 400,
      validators: summary.bookkeepers.map((b) => b.url),
      storage: storageNodes.map((x) => x.url),
      compute: summary.nodes.filter((x) => x.kind === "compute").map((x) => x.url),
      meta: metaUrls,
      owners: Array.from({ length: DASHBOARD_OWNER_ACCOUNTS }, (_, i) => hardhat(i).address),
    };
    dashboardConfigSchema.parse(cfg);
    writeYaml(
      summary.dashboard.config,
      `hms dashboard -c ${summary.dashboard.config}\nthe network's dashboard on ${summary.dashboard.url} (npm run dashboard:build once); owners: Hardhat's first ${DASHBOARD_OWNER_ACCOUNTS} accounts\nwritten by hms init; every key: docs/DASHBOARD.md, examples/config/dashboard.yaml`,
      cfg,
    );
  }
  summary.transactions = transactions;
  summary.gasUsed = gasUsed.toString();
  fs.writeFileSync(path.join(dir, "init.json"), JSON.stringify(summary, null, 2) + "\n");
  emit(ctx, summary, () =>
    [
      `initialised ${summary.network}: ${summary.bookkeepers.length} bookkeepers (committee of epoch ${summary.epoch}), ${summary.nodes.length} nodes`,
      `  ${transactions} transactions, ${gasUsed.toLocaleString("en-US")} gas; keystore ${keystore}; configs in ${dir}`,
      "start the network, one command each:",
      ...(storageNodes.length > 0 ? [`  hms traffic-source -c ${summary.trafficSource.config}`] : []),
      ...summary.bookkeepers.map((b) => `  hms validator -c ${b.config}`),
      ...storageNodes.map((x) => `  hms storage -c ${x.config}`),
      ...metaNodes.map((x) => `  hms meta -c ${x.config}`),
      ...summary.nodes.filter((x) => x.kind === "compute").map((x) => `  hms compute -c ${x.config}`),
      `  hms dashboard -c ${summary.dashboard.config}   # ${summary.dashboard.url}`,
    ].join("\n"),
  );
  return summary;
}

/** Registers `hms init` on `program`. */
export function registerInitCommand(program: Command): Command {
  withChainOptions(
    program
      .command("init")
      .description("prepare a local chain: keys, funding, bookkeepers, nodes and ready-to-run daemon configs")
      .option("--dir <dir>", "where configs, daemon key files and data go", ".hms-local")
      .option("--bookkeepers <n>", "bookkeepers to register and elect", "4")
      .option("--storage <n>", "storage nodes", "2")
      .option("--compute <n>", "container (compute) nodes", "1")
      .option("--meta <n>", "meta nodes (more than one: each names the others as its peers)", "1")
      .option(
        "--regions <codes>",
        "region codes the storage nodes are spread over, round robin (e.g. 276,840,392)",
        "0",
      )
      .option("--margin <hms>", "each bookkeeper's margin", "20000")
      .option("--fund <hms>", "HMS each operator gets besides its margin", "1000")
      .option("--light-kdf", "cheaper keystore encryption (N = 4096): fine for a local devnet")
      .option("--force", "re-initialise a directory or chain initialised before")
      .option(
        "--oracle-key-file <file>",
        "key of ResourceMarket's ORACLE_ROLE, for the meta nodes' compute supervision (moves dead workers' leases)",
      ),
    { signs: true },
  ).action(
    action(async (ctx, opts: InitOptions) => {
      await runInit(ctx, opts);
    }),
  );
  return program;
}
