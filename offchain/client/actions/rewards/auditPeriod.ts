import { publicActions, type Address, type Hex, type PublicClient } from "viem";
import { readContract } from "viem/actions";
import { nodeRegistryAbi } from "../../../chain/abis";
import { readPeriod, reportedRange, type ReportedPeriod } from "../../../chain/rewards";
import { auditNodeIds, auditReport, type AuditVerdict } from "../../../protocol/audit";
import { ZERO_HASH } from "../../../protocol/merkle";
import { cidFromDigest } from "../../../protocol/report";
import { addressOf, assertChain } from "../internal";
import { HmsSdkError, toSdkError, type ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";

/** Largest report document an audit reads (a report carries at most 200,000 receipts). */
export const MAX_REPORT_DOCUMENT_BYTES = 128 * 1024 * 1024;

/**
 * Where the document comes from when it is not given: a storage client (`createStorageClient(…).extend(
 * hmsStorageActions)` of `@hms-network/sdk/storage`), or anything that reads a file by CID the same way.
 */
export interface ReportDocumentSource {
  getFile(parameters: { cid: string }): Promise<AsyncIterable<Uint8Array> & { length: bigint }>;
}

export interface AuditPeriodParameters {
  period: bigint;
  /** The report document's bytes (an offline audit: `hms audit --document <file>`)… */
  document?: Uint8Array;
  /** …or the storage network to fetch it from by the attested `dataCid`. */
  storage?: ReportDocumentSource;
  /** The top-N the network's validators use (checked against the document's inputs when given). */
  topN?: number;
}

export interface AuditPeriodReturnType extends AuditVerdict {
  /** Where the document came from. */
  source: "document" | "network";
  /** The report's transaction (its `PeriodReported` event). */
  blockNumber: bigint;
  transactionHash: Hex;
}

export type AuditPeriodErrorType = ReadErrorType | "SDK_NOT_FOUND" | "SDK_INVALID_INPUT" | "META_NOT_FOUND";

async function reported(reader: PublicClient, pool: Address, period: bigint, fromBlock: bigint) {
  try {
    return await readPeriod(reader, pool, period, fromBlock);
  } catch (err) {
    if ((err as { code?: string }).code === "CHAIN_REWARDS")
      throw new HmsSdkError("SDK_NOT_FOUND", `period ${period} is not reported on the mining pool`, {
        value: period,
        cause: err,
      });
    throw toSdkError(err, "MiningPool.periodRecord");
  }
}

/** Reads a file of the storage network whole (at most {@link MAX_REPORT_DOCUMENT_BYTES}). */
async function fetchDocument(storage: ReportDocumentSource, cid: string): Promise<Uint8Array> {
  const file = await storage.getFile({ cid });
  if (file.length > BigInt(MAX_REPORT_DOCUMENT_BYTES))
    throw new HmsSdkError("SDK_INVALID_INPUT", `the file ${cid} (${file.length} bytes) is too large for a report`, {
      value: cid,
    });
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of file) {
    chunks.push(chunk);
    size += chunk.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Audits a reported period (docs/AUDIT.md): reads what the chain holds about it (its terms and attestation, checked
 * against the pool's stored hash; the previous reported period and its carry root; the signing key each node of the
 * document's receipts had registered at the report's block), takes the report document (given, or fetched from the
 * storage network by the attested `dataCid`) and runs the pure audit of offchain/protocol/audit.ts: a verdict with
 * every check and the first mismatch. A mismatch is a result, not an error; errors are for what could not be read
 * (`SDK_NOT_FOUND`: the period is not reported; the storage client's codes when the document cannot be fetched).
 */
export async function auditPeriod(
  client: HmsClient,
  { period, document, storage, topN }: AuditPeriodParameters,
): Promise<AuditPeriodReturnType> {
  if (document === undefined && storage === undefined)
    throw new HmsSdkError("SDK_INVALID_INPUT", "give the report document or a storage client to fetch it from");
  if (document !== undefined && document.length > MAX_REPORT_DOCUMENT_BYTES)
    throw new HmsSdkError("SDK_INVALID_INPUT", `the document (${document.length} bytes) is too large for a report`);
  await assertChain(client);
  const pool = addressOf(client, "MiningPool");
  const registry = addressOf(client, "NodeRegistry");
  const fromBlock = BigInt(client.deployment.contracts.MiningPool?.blockNumber ?? 0);
  const reader = client.extend(publicActions) as unknown as PublicClient;

  const record = await reported(reader, pool, period, fromBlock);
  let fromPeriod: bigint;
  try {
    ({ fromPeriod } = await reportedRange(reader, pool, period));
  } catch (err) {
    throw toSdkError(err, "MiningPool.PeriodReported");
  }
  const prevPeriod = fromPeriod === 0n ? null : fromPeriod - 1n;
  let prevRecord: ReportedPeriod | undefined;
  if (prevPeriod !== null) prevRecord = await reported(reader, pool, prevPeriod, fromBlock);

  const bytes = document ?? (await fetchDocument(storage!, cidFromDigest(record.attestation.dataCid)));

  // The node keys as registered when the report landed (a key rotated since does not void old receipts).
  const keys = new Map<string, Address>();
  for (const nodeId of auditNodeIds(bytes)) {
    let key: Address;
    try {
      key = await readContract(reader, {
        address: registry,
        abi: nodeRegistryAbi,
        functionName: "signingKeyOf",
        args: [nodeId],
        blockNumber: record.blockNumber,
      });
    } catch (err) {
      throw toSdkError(err, "NodeRegistry.signingKeyOf");
    }
    keys.set(nodeId.toLowerCase(), key);
  }

  const verdict = auditReport(bytes, {
    chainId: client.deployment.chainId,
    pool,
    period,
    terms: record.terms,
    attestation: record.attestation,
    prev: { period: prevPeriod, carryRoot: prevRecord?.attestation.carryRoot ?? ZERO_HASH },
    nodeKey: (id) => keys.get(id.toLowerCase()),
    topN,
  });
  return {
    ...verdict,
    source: document !== undefined ? "document" : "network",
    blockNumber: record.blockNumber,
    transactionHash: record.transactionHash,
  };
}
