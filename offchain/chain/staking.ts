/**
 * Bookkeeper staking on the off-chain side: default parameters, library linking for deployment, and the
 * small pieces of protocol arithmetic a dApp or daemon needs to read the contracts correctly.
 *
 * Signing (equivocation evidence, council recommendations) goes through `offchain/core/signing.ts`:
 * `domainOf("staking", chainId, stakingAddress)` with `TYPES.Proposal` / `TYPES.Recommendation`; a signing key's
 * consent to its registration in the NodeRegistry is {@link keyRegistrationProof}.
 */
import { maxUint256, zeroHash, type Abi, type Address, type Hex, type LocalAccount } from "viem";
import { domainOf, signTyped } from "../core/signing";
import type { ArtifactSource } from "./deploy";

/** Constructor parameters of BookkeeperStaking (`IBookkeeperStaking.Params`). */
export interface StakingParams {
  /** B_MIN, minimum margin in token wei. */
  minMargin: bigint;
  /** Unbonding wait in seconds. */
  unbondingPeriod: bigint;
  /** Duty cycle (epoch) in seconds. */
  epochLength: bigint;
  /** Committee size n (≤ 48). */
  committeeSize: number;
  /** Candidate list bound (≤ 512). */
  maxCandidates: number;
  /** Fraction of delegated stake slashed on equivocation, bps. */
  slashDelegatedBps: number;
  /** Reporter bounty, bps of the offender's own margin slashed (at most 5,000). */
  bountyBps: number;
  /** Highest commission a bookkeeper may charge, bps. */
  maxCommissionBps: number;
  /** M in the missed-duty rule W' = W × (2M − min(m, M)) / 2M. */
  missPenaltyCap: number;
  /** Registration needs council admission. */
  admissionRequired: boolean;
  /** Start of epoch 0 (0 = the deployment block's timestamp). */
  genesis: bigint;
}

const DAY = 24n * 3600n;

/** Local defaults (PROTOCOL §5 / issue 3): B_MIN 10,000 HMS, 30-day unbonding, 1-day epochs, n = 4, 10 % / 10 %. */
export const DEFAULT_STAKING_PARAMS: StakingParams = {
  minMargin: 10_000n * 10n ** 18n,
  unbondingPeriod: 30n * DAY,
  epochLength: DAY,
  committeeSize: 4,
  maxCandidates: 256,
  slashDelegatedBps: 1_000,
  bountyBps: 1_000,
  maxCommissionBps: 5_000,
  missPenaltyCap: 24,
  admissionRequired: false,
  genesis: 0n,
};

/**
 * Hardhat default accounts that form the bookkeeper council (PPoV committee) in local deployments:
 * #1 (the foundation) and the two otherwise unused accounts #18 and #19.
 */
export const LOCAL_COUNCIL_ACCOUNTS = [1, 18, 19] as const;

/** `IBookkeeperStaking.Status` */
export const BookkeeperStatus = { None: 0, Registered: 1, Jailed: 2, Blacklisted: 3 } as const;

/** `IBookkeeperStaking.Parameter` */
export const StakingParameter = {
  MinMargin: 0,
  UnbondingPeriod: 1,
  EpochLength: 2,
  CommitteeSize: 3,
  MaxCandidates: 4,
  SlashDelegatedBps: 5,
  BountyBps: 6,
  MaxCommissionBps: 7,
  MissPenaltyCap: 8,
  AdmissionRequired: 9,
} as const;

/** The `name` a `ParameterOutOfBounds` revert carries for each staking parameter (`StakingParameter` value → name). */
export function stakingParameterName(param: number): string {
  const name = Object.entries(StakingParameter).find(([, v]) => v === param)?.[0];
  if (name === undefined) throw new RangeError(`unknown staking parameter ${param}`);
  return name;
}

/** `BookkeeperCouncil.Action` */
export const CouncilAction = { AddMember: 0, Admit: 1, Dismiss: 2, Blacklist: 3, Retain: 4 } as const;

/**
 * Election weight as the contract computes it: `Vt × max(1, ⌊St / 1 HMS⌋)`, then the missed-duty factor
 * `(2M − min(m, M)) / 2M` (integer arithmetic, same rounding).
 */
export function electionWeight(vt: bigint, votes: bigint, misses = 0n, missPenaltyCap = 24n): bigint {
  const st = votes / 10n ** 18n;
  let w = vt * (st > 1n ? st : 1n);
  if (misses > 0n) {
    const m = misses < missPenaltyCap ? misses : missPenaltyCap;
    w = (w * (2n * missPenaltyCap - m)) / (2n * missPenaltyCap);
  }
  return w;
}

/** Quorum of a committee of `size` members: more than 2/3 (one definition, in offchain/protocol/quorum.ts). */
export { quorumOf } from "../protocol/quorum";

/** PBFT primary of view `round` in a committee listed in leader order. */
export function leaderOf<T>(leaderOrder: readonly T[], round: bigint | number): T {
  if (leaderOrder.length === 0) throw new Error("leaderOf: empty committee");
  return leaderOrder[Number(BigInt(round) % BigInt(leaderOrder.length))];
}

type LinkReferences = Record<string, Record<string, { start: number; length: number }[]>>;

/**
 * Wraps an artifact source so that the bytecode it returns has `libraries` (by name, e.g.
 * `{ BookkeeperLogic: "0x…" }`) linked in. BookkeeperStaking links BookkeeperLogic (a library with
 * external functions, used to stay under the 24 KB contract size limit).
 */
export function linkedArtifacts(source: ArtifactSource, libraries: Record<string, Address>): ArtifactSource {
  return {
    async readArtifact(name) {
      const artifact = (await source.readArtifact(name)) as {
        abi: Abi | readonly unknown[];
        bytecode: string;
        linkReferences?: LinkReferences;
      };
      return { ...artifact, bytecode: linkBytecode(artifact.bytecode, artifact.linkReferences ?? {}, libraries) };
    },
  };
}

/** Replaces library placeholders in `bytecode`; throws naming any library left unlinked. */
export function linkBytecode(bytecode: string, references: LinkReferences, libraries: Record<string, Address>): Hex {
  let code = bytecode.startsWith("0x") ? bytecode.slice(2) : bytecode;
  for (const [source, libs] of Object.entries(references)) {
    for (const [lib, positions] of Object.entries(libs)) {
      const address = libraries[lib] ?? libraries[`${source}:${lib}`];
      if (address === undefined) throw new Error(`linkBytecode: no address for library ${source}:${lib}`);
      const hex = address.slice(2).toLowerCase();
      for (const { start, length } of positions) {
        code = code.slice(0, start * 2) + hex + code.slice((start + length) * 2);
      }
    }
  }
  return `0x${code}`;
}

/** `subject` of a bookkeeper key's registration proof (`setBookkeeperKey`): node ids are never zero. */
export const BOOKKEEPER_KEY_SUBJECT: Hex = zeroHash;

/** A key proof without expiry (the nonce still makes it single-use); pass a real deadline to hand it to a relayer. */
export const NO_DEADLINE = maxUint256;

/** `NodeRegistry.KeyProof`: a signing key's consent to be registered, the last argument of `registerNode`,
 * `setSigningKey` and `setBookkeeperKey`. */
export interface KeyProof {
  /** The key's `NodeRegistry.nonces(key)` when signed. */
  nonce: bigint;
  /** Last timestamp (inclusive) at which the registry accepts the proof. */
  deadline: bigint;
  /** 65-byte EIP-712 signature of `KeyRegistration` by the key. */
  signature: Hex;
}

/** What a key proof binds (besides the chain and the registry, which form its EIP-712 domain). */
export interface KeyProofParams {
  chainId: number | bigint;
  /** The NodeRegistry address. */
  registry: Address;
  /** The account that will send the registration (`msg.sender`). */
  registrant: Address;
  /** The node id (`registerNode`, `setSigningKey`) or {@link BOOKKEEPER_KEY_SUBJECT} (`setBookkeeperKey`). */
  subject: Hex;
  /** The key's current `NodeRegistry.nonces(key)`: 0 for a key never registered (default). */
  nonce?: bigint;
  /** Default {@link NO_DEADLINE}. */
  deadline?: bigint;
}

/**
 * Signs `key`'s consent to be registered by `registrant` for `subject` (EIP-712 `KeyRegistration` in the
 * `registry` domain): the proof `registerNode`, `setSigningKey` and `setBookkeeperKey` require, so that nobody can
 * register a key they do not hold. `key` is the signing key itself (a viem local account).
 */
export async function keyRegistrationProof(key: LocalAccount, params: KeyProofParams): Promise<KeyProof> {
  const nonce = params.nonce ?? 0n;
  const deadline = params.deadline ?? NO_DEADLINE;
  const signature = await signTyped(key, domainOf("registry", params.chainId, params.registry), "KeyRegistration", {
    registrant: params.registrant,
    subject: params.subject,
    nonce,
    deadline,
  });
  return { nonce, deadline, signature };
}

/** What {@link registryKeyProof} needs of a NodeRegistry binding (e.g. `hmsContracts(...).NodeRegistry`). */
export interface NodeRegistryNonces {
  address: Address;
  read: { nonces(args: readonly [Address]): Promise<bigint> };
}

/**
 * {@link keyRegistrationProof} with the key's current nonce read from `registry` (a key registered and released
 * before has a nonce above 0): the usual way for a dApp or a script to register a node or bookkeeper key.
 */
export async function registryKeyProof(
  registry: NodeRegistryNonces,
  key: LocalAccount,
  params: Omit<KeyProofParams, "registry" | "nonce">,
): Promise<KeyProof> {
  const nonce = await registry.read.nonces([key.address]);
  return keyRegistrationProof(key, { ...params, registry: registry.address, nonce });
}
