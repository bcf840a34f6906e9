/**
 * The one way HMS Network signs messages: EIP-712 typed data, with viem.
 *
 * Every message that a contract verifies, and every message that daemons exchange, is defined here
 * once: its EIP-712 domain (name + version, chain id, verifying contract) and its type. Contracts
 * hash the same type strings (see `contracts/libraries/HMSTypes.sol`), and `test/offchain/signing.test.ts`
 * checks that the TypeScript and Solidity type hashes agree, so a change on either side breaks a test.
 *
 * Pure: no I/O. Signing is deterministic (RFC 6979), so state machines may sign through an injected
 * signer and stay reproducible.
 */
import {
  hashTypedData,
  recoverTypedDataAddress,
  hashStruct,
  keccak256,
  parseSignature,
  toHex,
  type Address,
  type Hex,
  type LocalAccount,
  type TypedDataDomain,
} from "viem";

/** Version string shared by every HMS EIP-712 domain. Bump it only with the contracts. */
export const EIP712_VERSION = "1";

/** EIP-712 domain names, one per verifying contract (or off-chain protocol). */
export const DOMAIN_NAMES = {
  /** BookkeeperStaking: equivocation evidence (Proposal) and committee recommendations. */
  staking: "HMS BookkeeperStaking",
  /** MiningPool: quorum-signed period reports. */
  miningPool: "HMS MiningPool",
  /** ContributionRegistry: quorum-signed measurement batches and coefficients. */
  contribution: "HMS ContributionRegistry",
  /** Client/node traffic receipts, bound to the mining pool that pays for them. */
  traffic: "HMS Traffic",
  /** Daemon-to-daemon transport envelopes (never verified on chain). */
  transport: "HMS Transport",
  /** HMSToken's own EIP-2612 domain (`ERC20Permit("HMS")`): permits for market escrow and other pulls. */
  token: "HMS",
} as const;

export type DomainKey = keyof typeof DOMAIN_NAMES;

/**
 * Builds the EIP-712 domain of `key` on `chainId`. `verifyingContract` is required for every domain
 * except `transport`, which binds to the chain id only.
 */
export function domainOf(key: DomainKey, chainId: number | bigint, verifyingContract?: Address): TypedDataDomain {
  const domain: TypedDataDomain = { name: DOMAIN_NAMES[key], version: EIP712_VERSION, chainId: Number(chainId) };
  if (verifyingContract !== undefined) domain.verifyingContract = verifyingContract;
  else if (key !== "transport") throw new SigningError(`domain "${key}" needs a verifying contract address`, key);
  return domain;
}

/**
 * EIP-712 message types. Field order is part of the type hash: change it only together with the
 * Solidity typehash constants.
 */
export const TYPES = {
  /**
   * A PBFT pre-prepare, as signed by the primary. Two of them from one bookkeeper for the same
   * (epoch, period, round) with different digests are slashing evidence (BookkeeperStaking).
   * PBFT mapping: epoch = configuration (elected set), period = sequence number's period,
   * round = view, digest = hash of the proposed period report.
   */
  Proposal: [
    { name: "epoch", type: "uint64" },
    { name: "period", type: "uint64" },
    { name: "round", type: "uint32" },
    { name: "digest", type: "bytes32" },
  ],
  /** A committee member recommends `candidate` for bookkeeper admission (PPoV oversight). */
  Recommendation: [
    { name: "candidate", type: "address" },
    { name: "deadline", type: "uint64" },
  ],
  /**
   * A period's traffic report, signed by more than 2/3 of the epoch's active bookkeepers.
   * `dataCid` is the sha256 digest of the full report JSON (CIDv1, raw codec, sha2-256).
   */
  PeriodReport: [
    { name: "epoch", type: "uint64" },
    { name: "period", type: "uint64" },
    { name: "rewardsRoot", type: "bytes32" },
    { name: "totalTraffic", type: "uint64" },
    { name: "nodeCount", type: "uint32" },
    { name: "carryRoot", type: "bytes32" },
    { name: "dataCid", type: "bytes32" },
  ],
  /** One side of a served task: signed by the client and, separately, by the node's signing key. */
  TrafficReceipt: [
    { name: "taskId", type: "bytes32" },
    { name: "nodeId", type: "bytes32" },
    { name: "client", type: "address" },
    { name: "bytesServed", type: "uint64" },
    { name: "period", type: "uint64" },
  ],
  /**
   * EIP-2612 permit of HMSToken (OpenZeppelin ERC20Permit): lets a contract (e.g. the ResourceMarket)
   * pull `value` from `owner` without a prior approve transaction. Sign under `domainOf("token", …)`.
   */
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  /** Transport envelope: authenticates a daemon message body (hash) from `sender`. */
  Envelope: [
    { name: "sender", type: "address" },
    { name: "kind", type: "string" },
    { name: "seq", type: "uint64" },
    { name: "bodyHash", type: "bytes32" },
  ],
  /**
   * A batch of per-node Proof-of-Contribution measurements (ContributionRegistry), signed by more than 2/3 of
   * the epoch's committee. `measurementsHash = keccak256(abi.encode(Measurement[]))`
   * (see `measurementsHash` in offchain/meta/contribution.ts).
   */
  ContributionBatch: [
    { name: "epoch", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "measurementsHash", type: "bytes32" },
  ],
  /** Proof-of-Contribution coefficients σ (18 decimals), signed by more than 2/3 of the epoch's committee. */
  ContributionCoefficients: [
    { name: "epoch", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "cpu", type: "uint64" },
    { name: "memory", type: "uint64" },
    { name: "bandwidth", type: "uint64" },
    { name: "storage", type: "uint64" },
  ],
} as const;

export type TypeName = keyof typeof TYPES;

export interface ProposalMessage {
  epoch: bigint;
  period: bigint;
  round: number;
  digest: Hex;
}
export interface RecommendationMessage {
  candidate: Address;
  deadline: bigint;
}
export interface PeriodReportMessage {
  epoch: bigint;
  period: bigint;
  rewardsRoot: Hex;
  totalTraffic: bigint;
  nodeCount: number;
  carryRoot: Hex;
  dataCid: Hex;
}
export interface TrafficReceiptMessage {
  taskId: Hex;
  nodeId: Hex;
  client: Address;
  bytesServed: bigint;
  period: bigint;
}
export interface PermitMessage {
  owner: Address;
  spender: Address;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
}
export interface EnvelopeMessage {
  sender: Address;
  kind: string;
  seq: bigint;
  bodyHash: Hex;
}

export interface ContributionBatchMessage {
  epoch: bigint;
  nonce: bigint;
  measurementsHash: Hex;
}
export interface ContributionCoefficientsMessage {
  epoch: bigint;
  nonce: bigint;
  cpu: bigint;
  memory: bigint;
  bandwidth: bigint;
  storage: bigint;
}

/** Message shape of each type, for typed call sites. */
export interface MessageOf {
  Proposal: ProposalMessage;
  Recommendation: RecommendationMessage;
  PeriodReport: PeriodReportMessage;
  TrafficReceipt: TrafficReceiptMessage;
  Permit: PermitMessage;
  Envelope: EnvelopeMessage;
  ContributionBatch: ContributionBatchMessage;
  ContributionCoefficients: ContributionCoefficientsMessage;
}

/** Thrown for malformed signing input, naming the offending value. */
export class SigningError extends Error {
  constructor(
    message: string,
    readonly value?: unknown,
  ) {
    super(message);
    this.name = "SigningError";
  }
}

/** The EIP-712 type string of `name`, e.g. `Proposal(uint64 epoch,uint64 period,uint32 round,bytes32 digest)`. */
export function typeString(name: TypeName): string {
  return `${name}(${TYPES[name].map((f) => `${f.type} ${f.name}`).join(",")})`;
}

/** keccak256 of the type string: the `*_TYPEHASH` constant a contract uses. */
export function typeHash(name: TypeName): Hex {
  return keccak256(toHex(typeString(name)));
}

/** viem's typed-data definition; our message shapes are checked by `MessageOf` instead of viem's generics. */
type Definition = Parameters<typeof hashTypedData>[0];

function definition<T extends TypeName>(domain: TypedDataDomain, name: T, message: MessageOf[T]): Definition {
  return { domain, types: { [name]: TYPES[name] }, primaryType: name, message } as unknown as Definition;
}

/** EIP-712 struct hash of a message (what a contract computes before `_hashTypedDataV4`). */
export function structHash<T extends TypeName>(name: T, message: MessageOf[T]): Hex {
  const { types, primaryType } = definition({}, name, message);
  return hashStruct({ data: message, primaryType, types } as unknown as Parameters<typeof hashStruct>[0]);
}

/** The EIP-712 digest that is signed. */
export function typedDigest<T extends TypeName>(domain: TypedDataDomain, name: T, message: MessageOf[T]): Hex {
  return hashTypedData(definition(domain, name, message));
}

/** Signs `message` of type `name` under `domain` with a viem local account (65-byte r||s||v signature). */
export async function signTyped<T extends TypeName>(
  account: LocalAccount,
  domain: TypedDataDomain,
  name: T,
  message: MessageOf[T],
): Promise<Hex> {
  return account.signTypedData(definition(domain, name, message));
}

/** Recovers the signer of a typed message. Throws {@link SigningError} for a malformed signature. */
export async function recoverTyped<T extends TypeName>(
  domain: TypedDataDomain,
  name: T,
  message: MessageOf[T],
  signature: Hex,
): Promise<Address> {
  try {
    return await recoverTypedDataAddress({ ...definition(domain, name, message), signature });
  } catch (err) {
    throw new SigningError(`cannot recover ${name} signer: ${(err as Error).message}`, signature);
  }
}

/** A signed EIP-2612 permit split for a contract call: the `PermitData` tuple of ResourceMarket. */
export interface SplitPermit {
  value: bigint;
  deadline: bigint;
  v: number;
  r: Hex;
  s: Hex;
}

/**
 * Signs an HMSToken EIP-2612 permit from `account` to `spender` and splits it into `{value, deadline,
 * v, r, s}`, ready for `createOrderWithPermit` / `topUpWithPermit`. `nonce` is the owner's current
 * `HMSToken.nonces(owner)`.
 */
export async function signPermit(
  account: LocalAccount,
  chainId: number | bigint,
  token: Address,
  permit: { spender: Address; value: bigint; nonce: bigint; deadline: bigint },
): Promise<SplitPermit> {
  const signature = await signTyped(account, domainOf("token", chainId, token), "Permit", {
    owner: account.address,
    ...permit,
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return { value: permit.value, deadline: permit.deadline, v: Number(v ?? BigInt(yParity + 27)), r, s };
}
