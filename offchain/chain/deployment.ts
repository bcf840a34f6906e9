/**
 * The deployment file: `deployments/<network>.json`, the one thing dApps and daemons need to find the
 * contracts. Written by `scripts/deploy.ts` (and the demo), read by everything off-chain.
 *
 * ```json
 * { "network": "localhost", "chainId": 31337, "deployedAt": "…",
 *   "contracts": { "HMSToken": { "address": "0x…", "blockNumber": 1, "abi": [ … ] }, … } }
 * ```
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { getAddress, type Abi, type Address } from "viem";
import { parseErrorPosition } from "../core/secrets";
import { HmsError } from "../core/errors";

const addressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "expected a 20-byte hex address")
  .transform((a) => getAddress(a));

export const deployedContractSchema = z.object({
  address: addressSchema,
  /** Block of the deployment transaction: the subgraph's start block. */
  blockNumber: z.number().int().nonnegative(),
  abi: z.array(z.record(z.string(), z.unknown())),
});

export const deploymentSchema = z.object({
  network: z.string().min(1),
  chainId: z.number().int().positive(),
  deployedAt: z.string().optional(),
  contracts: z.record(z.string(), deployedContractSchema),
});

export type DeployedContract = { address: Address; blockNumber: number; abi: Abi };
export interface Deployment {
  network: string;
  chainId: number;
  deployedAt?: string;
  contracts: Record<string, DeployedContract>;
}

/** Thrown when a deployment file is missing, malformed or lacks a contract; names the offending value. */
export class DeploymentError extends HmsError {
  constructor(message: string, value?: unknown) {
    super("CHAIN_DEPLOYMENT", message, { value });
  }
}

/**
 * Directory of deployment files: `$HMS_DEPLOYMENTS_DIR` if set (tests point it at a temp dir),
 * else `<root>/deployments` (root defaults to the working directory).
 */
export function deploymentsDir(root = process.cwd()): string {
  return process.env.HMS_DEPLOYMENTS_DIR ?? path.join(root, "deployments");
}

/** Location of a network's deployment file: `<deploymentsDir>/<network>.json`. */
export function deploymentPath(network: string, root = process.cwd()): string {
  return path.join(deploymentsDir(root), `${network}.json`);
}

/** Validates a parsed deployment object. */
export function parseDeployment(raw: unknown, source = "deployment"): Deployment {
  const parsed = deploymentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DeploymentError(
      `${source}: invalid at "${issue.path.join(".")}": ${issue.message}`,
      issue.path.join("."),
    );
  }
  return parsed.data as unknown as Deployment;
}

/** Reads and validates a deployment file. `fileOrNetwork` is a path or a network name (`localhost`). */
export function loadDeployment(fileOrNetwork: string): Deployment {
  const file =
    fileOrNetwork.endsWith(".json") || fileOrNetwork.includes(path.sep) ? fileOrNetwork : deploymentPath(fileOrNetwork);
  if (!fs.existsSync(file)) {
    throw new DeploymentError(`deployment file not found: ${file} (run \`npm run deploy:local\` first)`, file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    // The parser's excerpt is left out: the file could be a key file given by mistake.
    throw new DeploymentError(`deployment file ${file} is not valid JSON${parseErrorPosition(err)}`, file);
  }
  return parseDeployment(raw, file);
}

/** Writes `deployment` to `file` atomically (temp file + rename), creating the directory. */
export function writeDeployment(file: string, deployment: Deployment): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(deployment, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

/** Address of `name` in `deployment`, or a {@link DeploymentError} naming it. */
export function contractAddress(deployment: Deployment, name: string): Address {
  const entry = deployment.contracts[name];
  if (entry === undefined) {
    throw new DeploymentError(
      `contract "${name}" is not in the ${deployment.network} deployment (has: ${Object.keys(deployment.contracts).join(", ")})`,
      name,
    );
  }
  return entry.address;
}
