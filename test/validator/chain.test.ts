import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HttpRequestError } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { Metrics } from "../../offchain/core/metrics";
import { isHmsError } from "../../offchain/core/errors";
import type { Deployment } from "../../offchain/chain/deployment";
import { ValidatorChain, isTransient } from "../../offchain/validator/chain";
import { exitCodeOf } from "../../offchain/validator/errors";

const deployment: Deployment = { network: "stub", chainId: 31337, contracts: {} };

/** A JSON-RPC stub: answers eth_chainId with `chainId`, fails the first `failures` requests with HTTP 503. */
async function stub(chainId: number, failures = 0) {
  let calls = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      calls++;
      if (calls <= failures) {
        res.writeHead(503).end("busy");
        return;
      }
      const { id } = JSON.parse(body) as { id: number };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id, result: `0x${chainId.toString(16)}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, calls: () => calls, close: () => new Promise((r) => server.close(r)) };
}

function chainAt(url: string, retries = 4, metrics?: Metrics) {
  return new ValidatorChain({
    rpcUrl: url,
    chainId: 31337,
    deployment,
    privateKey: generatePrivateKey(),
    rpc: { retries, backoffMs: 5, maxBackoffMs: 20, timeoutMs: 2_000 },
    receiptPollMs: 50,
    receiptTimeoutMs: 1_000,
    metrics,
  });
}

describe("validator/chain: RPC retries and start-up checks", function () {
  it("retries transient failures with backoff, and nothing else", async function () {
    const metrics = new Metrics();
    const c = chainAt("http://127.0.0.1:9", 4, metrics);
    let n = 0;
    const flaky = async () => {
      if (++n < 3) throw new HttpRequestError({ url: "http://x", details: "ECONNREFUSED" });
      return 42;
    };
    expect(await c.read("flaky", flaky)).to.equal(42);
    expect(n).to.equal(3);
    expect(await metrics.render()).to.match(/hms_validator_rpc_retries_total 2/);
    let m = 0;
    const broken = async () => {
      m++;
      throw new Error("execution reverted: NoElection()");
    };
    let err: unknown;
    try {
      await c.read("broken", broken);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.match(/NoElection/);
    expect(m).to.equal(1);
    expect(isTransient(new Error("fetch failed"))).to.equal(true);
    expect(isTransient(new Error("StalePeriod(3, 4)"))).to.equal(false);
  });

  it("connects through transient failures, and fails with exit codes 3 (wrong chain) and 5 (unreachable)", async function () {
    const busy = await stub(31337, 2);
    try {
      await chainAt(busy.url).connect();
      expect(busy.calls()).to.equal(3);
    } finally {
      await busy.close();
    }
    const other = await stub(1);
    try {
      let err: unknown;
      try {
        await chainAt(other.url).connect();
      } catch (e) {
        err = e;
      }
      expect(isHmsError(err, "VALIDATOR_WRONG_CHAIN")).to.equal(true);
      expect((err as { value: unknown }).value).to.equal(1);
      expect(exitCodeOf(err)).to.equal(3);
    } finally {
      await other.close();
    }
    const down = await stub(31337, 100);
    try {
      let err: unknown;
      try {
        await chainAt(down.url, 3).connect();
      } catch (e) {
        err = e;
      }
      expect(isHmsError(err, "VALIDATOR_RPC_UNREACHABLE")).to.equal(true);
      expect(exitCodeOf(err)).to.equal(5);
      expect(down.calls()).to.equal(3);
    } finally {
      await down.close();
    }
  });
});
