/**
 * The compute SDK's client: what every action needs — a public client, the user's local account (it signs
 * permits and workload requests) and wallet, and the deployment's addresses. Actions are one per file
 * (`verb(client, params)`), viem style; `computeActions(client)` bundles them.
 */
import type { Address, LocalAccount, PublicClient, TypedDataDomain, WalletClient } from "viem";
import { domainOf } from "../../core/signing";
import { HmsError } from "../../core/errors";

export interface ComputeClient {
  public: PublicClient;
  wallet: WalletClient;
  account: LocalAccount;
  chainId: number;
  contracts: { token: Address; market: Address; nodeRegistry: Address };
}

/** The EIP-712 domain of WorkloadRequests and UsageReports. */
export function networkDomain(client: Pick<ComputeClient, "chainId" | "contracts">): TypedDataDomain {
  return domainOf("network", client.chainId, client.contracts.nodeRegistry);
}

/** Thrown by the actions for a worker reply that is not the expected one (its code when it sent one). */
export async function workerJson<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  let body: { ok?: boolean; error?: { code?: string; message?: string; value?: unknown } } & Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HmsError("TRANSPORT_BAD_REPLY", `${what}: ${res.status} ${text.slice(0, 200)}`, { value: res.status });
  }
  if (!res.ok || body.ok === false) {
    const code = body.error?.code;
    const { isErrorCode } = await import("../../core/errors");
    throw new HmsError(
      isErrorCode(code) ? code : "TRANSPORT_HTTP_STATUS",
      `${what}: ${body.error?.message ?? res.status}`,
      {
        value: body.error?.value ?? res.status,
      },
    );
  }
  return body as T;
}

export async function workerFetch(url: string, init: RequestInit | undefined, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new HmsError("TRANSPORT_UNREACHABLE", `${what}: ${url} did not answer (${(err as Error).message})`, {
      value: url,
      cause: err,
    });
  }
}
