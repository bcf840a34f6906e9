/**
 * Period reports (PROTOCOL §4, §11 step 3): from a period's ledger to the EIP-712 `PeriodReport` that the committee
 * signs, the full report document published to IPFS (its CID is the report's `dataCid`), the claims list with
 * Merkle proofs, and the next period's carried-over ledger.
 *
 * `buildReport(ledger, { epoch, topN, fromPeriod })` is pure and deterministic: the meta master proposes with it and
 * every validator recomputes the same proposal from the same ledger before signing. `fromPeriod` is the base the
 * report builds on — the first period not reported yet (the pool's `nextPeriod`); the pool accepts the report only
 * while that is still true, so two reports built on the same base never both land.
 *
 * Encodings mirror contracts/rewards/MiningPool.sol:
 *   - reward leaf i: `keccak256(bytes.concat(keccak256(abi.encode(i, nodeId, traffic))))` over the top nodes in
 *     rank order (offchain/protocol/merkle.ts `rewardLeaf`); the carry tree uses the same leaf encoding over the
 *     carried nodes sorted by node id;
 *   - `dataCid`: sha256 of the canonical report JSON (CIDv1, raw codec — the JSON bytes are the block);
 *   - `PeriodTerms` / `Attestation` and their hashes, which claims and settlements pass back to the pool.
 */
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { create as createDigest } from "multiformats/hashes/digest";
import { sha256 as sha256Hasher } from "multiformats/hashes/sha2";
import {
  encodeAbiParameters,
  hexToBytes,
  keccak256,
  sha256,
  stringToBytes,
  type Address,
  type Hex,
  type LocalAccount,
} from "viem";
import { domainOf, signTyped, type PeriodReportMessage } from "../core/signing";
import { ValidationError } from "../core/errors";
import { MerkleTree, ZERO_HASH, rewardLeaf } from "./merkle";
import { closePeriod, type LedgerState, type RankedNode } from "./ledger";
import type { WirePeriod } from "./receipts";

/** Version of the report document format (without {@link ReportInputs}). */
export const REPORT_DOCUMENT_VERSION = 1;
/** Version of a report document that carries its inputs (anyone can recompute it: docs/AUDIT.md). */
export const AUDITABLE_DOCUMENT_VERSION = 2;

/**
 * What a report was computed from, in wire form (lower-case hex, decimal strings): the top-N, the previous report's
 * carry-over it builds on and every signed receipt of the periods since, as the committee's proposal carries them
 * (offchain/protocol/proposal.ts). In a version-2 document these are committed by `dataCid` with the result, so an
 * auditor recomputes the report from them (offchain/protocol/audit.ts).
 */
export interface ReportInputs {
  topN: number;
  prev: { period: string | null; carryRoot: Hex; carry: [Hex, string][] };
  traffic: WirePeriod[];
}

export interface ReportParams {
  /** Epoch whose committee signs the report. */
  epoch: bigint;
  /** How many nodes are rewarded (the top N by traffic). */
  topN: number;
  /**
   * First period whose traffic the report covers: the pool's `nextPeriod` the report builds on (the last reported
   * period + 1, or 0 before any report). At most the ledger's period. Signed, not part of the document.
   */
  fromPeriod: bigint;
  /** The report's inputs, published in the document (version 2) so that anyone can recompute it; none: version 1. */
  inputs?: ReportInputs;
}

/** What a node needs to claim: its leaf and the proof against the report's rewards root. */
export interface RewardClaim {
  index: number;
  nodeId: Hex;
  traffic: bigint;
  leaf: Hex;
  proof: Hex[];
}

/** The full report, published to IPFS. Integers are decimal strings; ids are lower-case hex. */
export interface ReportDocument {
  version: number;
  period: string;
  totalTraffic: string;
  nodeCount: number;
  rewardsRoot: Hex;
  carryRoot: Hex;
  rewards: { index: number; nodeId: Hex; traffic: string }[];
  carry: { nodeId: Hex; traffic: string }[];
  /** Version 2 only: what the report was computed from. */
  inputs?: ReportInputs;
}

export interface BuiltReport {
  /** The EIP-712 message the committee signs. */
  report: PeriodReportMessage;
  /** One claim per rewarded node, by leaf index. */
  claims: RewardClaim[];
  /** The next period's ledger. */
  carry: LedgerState;
  /** The full report and its canonical JSON (the bytes behind `report.dataCid`). */
  document: ReportDocument;
  json: string;
  /** `report.dataCid` as a CIDv1 string (base32, raw codec, sha2-256). */
  cid: string;
}

/** The Merkle tree over carried-over nodes (sorted by node id), committed as the report's `carryRoot`. */
export function carryTree(carried: readonly RankedNode[]): MerkleTree {
  const sorted = [...carried].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  return new MerkleTree(sorted.map((n, i) => rewardLeaf(i, n.nodeId, n.traffic)));
}

/** The canonical JSON of a report document (fixed key order, no whitespace; `inputs` last, version 2 only). */
export function canonicalJson(doc: ReportDocument): string {
  const inputs =
    doc.inputs === undefined
      ? {}
      : {
          inputs: {
            topN: doc.inputs.topN,
            prev: {
              period: doc.inputs.prev.period,
              carryRoot: doc.inputs.prev.carryRoot,
              carry: doc.inputs.prev.carry.map(([id, t]) => [id, t]),
            },
            traffic: doc.inputs.traffic.map((g) => ({
              period: g.period,
              client: g.client.map(wireReceiptJson),
              node: g.node.map(wireReceiptJson),
            })),
          },
        };
  return JSON.stringify({
    version: doc.version,
    period: doc.period,
    totalTraffic: doc.totalTraffic,
    nodeCount: doc.nodeCount,
    rewardsRoot: doc.rewardsRoot,
    carryRoot: doc.carryRoot,
    rewards: doc.rewards.map((r) => ({ index: r.index, nodeId: r.nodeId, traffic: r.traffic })),
    carry: doc.carry.map((c) => ({ nodeId: c.nodeId, traffic: c.traffic })),
    ...inputs,
  });
}

function wireReceiptJson(r: WirePeriod["client"][number]) {
  return {
    taskId: r.taskId,
    nodeId: r.nodeId,
    client: r.client,
    bytesServed: r.bytesServed,
    period: r.period,
    signature: r.signature,
  };
}

/** sha256 of `bytes` as a bytes32 (the report's `dataCid`) and as a CIDv1 raw string. */
export function cidOf(bytes: Uint8Array): { digest: Hex; cid: string } {
  const digest = sha256(bytes);
  const cid = CID.createV1(raw.code, createDigest(sha256Hasher.code, hexToBytes(digest)));
  return { digest, cid: cid.toString() };
}

/** The CIDv1 string of a report's `dataCid` (a sha256 digest of raw bytes). */
export function cidFromDigest(digest: Hex): string {
  return CID.createV1(raw.code, createDigest(sha256Hasher.code, hexToBytes(digest))).toString();
}

/**
 * Closes the ledger's period and builds everything the committee signs and publishes. Deterministic: the same
 * ledger and parameters give byte-identical results.
 */
export function buildReport(state: LedgerState, params: ReportParams): BuiltReport {
  if (params.fromPeriod < 0n || params.fromPeriod > state.period)
    throw new ValidationError(
      "PROTOCOL_REPORT",
      `report of period ${state.period} cannot cover traffic from period ${params.fromPeriod}`,
      { value: params.fromPeriod },
    );
  if (params.inputs !== undefined && params.inputs.topN !== params.topN)
    throw new ValidationError(
      "PROTOCOL_REPORT",
      `inputs name top-${params.inputs.topN}, report built with top-${params.topN}`,
      {
        value: params.inputs.topN,
      },
    );
  const closed = closePeriod(state, params.topN);
  const leaves = closed.top.map((n, i) => rewardLeaf(i, n.nodeId, n.traffic));
  const tree = new MerkleTree(leaves);
  const claims = closed.top.map((n, i) => ({
    index: i,
    nodeId: n.nodeId,
    traffic: n.traffic,
    leaf: leaves[i],
    proof: tree.proof(i),
  }));
  const carryRoot = carryTree(closed.carried).root;
  const document: ReportDocument = {
    version: params.inputs === undefined ? REPORT_DOCUMENT_VERSION : AUDITABLE_DOCUMENT_VERSION,
    period: closed.period.toString(),
    totalTraffic: closed.totalTraffic.toString(),
    nodeCount: closed.top.length,
    rewardsRoot: tree.root,
    carryRoot,
    rewards: closed.top.map((n, i) => ({ index: i, nodeId: n.nodeId, traffic: n.traffic.toString() })),
    carry: closed.carried.map((n) => ({ nodeId: n.nodeId, traffic: n.traffic.toString() })),
    ...(params.inputs === undefined ? {} : { inputs: params.inputs }),
  };
  const json = canonicalJson(document);
  const { digest, cid } = cidOf(stringToBytes(json));
  return {
    report: {
      epoch: params.epoch,
      period: closed.period,
      fromPeriod: params.fromPeriod,
      rewardsRoot: closed.top.length === 0 ? ZERO_HASH : tree.root,
      totalTraffic: closed.totalTraffic,
      nodeCount: closed.top.length,
      carryRoot,
      dataCid: digest,
    },
    claims,
    carry: closed.carry,
    document,
    json,
    cid,
  };
}

/**
 * The claims (Merkle proofs) of a report document's rewarded nodes, recomputed from its `rewards` list alone (what the
 * published document carries): anyone holding the document can claim. Throws `PROTOCOL_REPORT` when the list does not
 * hash to the document's own `rewardsRoot`.
 */
export function claimsFromDocument(doc: ReportDocument): RewardClaim[] {
  const leaves = doc.rewards.map((r) => rewardLeaf(r.index, r.nodeId, BigInt(r.traffic)));
  const tree = new MerkleTree(leaves);
  const root = leaves.length === 0 ? ZERO_HASH : tree.root;
  if (leaves.length > 0 && root !== doc.rewardsRoot)
    throw new ValidationError(
      "PROTOCOL_REPORT",
      `the rewards of period ${doc.period}'s document hash to ${root}, not its rewardsRoot ${doc.rewardsRoot}`,
      { value: doc.rewardsRoot },
    );
  return doc.rewards.map((r, i) => ({
    index: r.index,
    nodeId: r.nodeId,
    traffic: BigInt(r.traffic),
    leaf: leaves[i],
    proof: tree.proof(i),
  }));
}

/** The on-chain PoT formula: `nodeEmission × traffic / totalTraffic`, rounded down. */
export function claimAmount(nodeEmission: bigint, traffic: bigint, totalTraffic: bigint): bigint {
  if (totalTraffic <= 0n) return 0n;
  return (nodeEmission * traffic) / totalTraffic;
}

/** Signs a period report for the pool at `pool` on `chainId` with a committee member's signing key. */
export function signReport(
  account: LocalAccount,
  chainId: number | bigint,
  pool: Address,
  report: PeriodReportMessage,
): Promise<Hex> {
  return signTyped(account, domainOf("miningPool", chainId, pool), "PeriodReport", report);
}

// -------------------------------------------------------------------------------- stored terms (MiningPool)

/** `MiningPool.PeriodTerms`: what a claim passes back (from the `PeriodReported` event). */
export interface PeriodTerms {
  rewardsRoot: Hex;
  totalTraffic: bigint;
  nodeCount: number;
  nodeEmission: bigint;
  claimDeadline: number;
  attestationHash: Hex;
}

/** `MiningPool.Attestation`: who signed a report and what else it committed to. */
export interface Attestation {
  epoch: bigint;
  /** The report's base (first period it covers); with the terms it rebuilds the signed report. */
  fromPeriod: bigint;
  /** Signer bitmap as submitted; signatures added later are in `MiningPool.addedSigners(period)`. */
  signers: bigint;
  bookkeeperShare: bigint;
  /** Further signatures may be added (`addSignatures`) until this timestamp; settlement only from then on. */
  signaturesUntil: number;
  carryRoot: Hex;
  dataCid: Hex;
}

/** keccak256(abi.encode(attestation)), as MiningPool commits it in the period's terms. */
export function attestationHash(a: Attestation): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "uint64" },
        { type: "uint64" },
        { type: "uint256" },
        { type: "uint96" },
        { type: "uint40" },
        { type: "bytes32" },
        { type: "bytes32" },
      ],
      [a.epoch, a.fromPeriod, a.signers, a.bookkeeperShare, a.signaturesUntil, a.carryRoot, a.dataCid],
    ),
  );
}

/** keccak256(abi.encode(terms)); MiningPool stores its first 20 bytes per period. */
export function termsHash(t: PeriodTerms): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "uint64" },
        { type: "uint32" },
        { type: "uint96" },
        { type: "uint40" },
        { type: "bytes32" },
      ],
      [t.rewardsRoot, t.totalTraffic, t.nodeCount, t.nodeEmission, t.claimDeadline, t.attestationHash],
    ),
  );
}
