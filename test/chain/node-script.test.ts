/**
 * `npm run node` (scripts/node.js): killing it — with SIGTERM as a terminal or supervisor does, or with SIGKILL,
 * which npm cannot forward — leaves no `hardhat node` serving its port.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { freePorts, ROOT } from "../../offchain/devnet/cluster";

async function chainId(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId" }),
      signal: AbortSignal.timeout(2_000),
    });
    return ((await res.json()) as { result?: string }).result;
  } catch {
    return undefined;
  }
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("npm run node", function () {
  this.timeout(300_000);

  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    it(`killing npm with ${signal} stops the node it started`, async function () {
      const [port] = await freePorts(1);
      const npm = spawn("npm", ["run", "node", "--", "--port", String(port)], { cwd: ROOT, stdio: "ignore" });
      try {
        await until("the node to answer", async () => (await chainId(port)) === "0x7a69", 180_000);
        npm.kill(signal);
        await until("the node to stop serving", async () => (await chainId(port)) === undefined, 30_000);
      } finally {
        if (npm.exitCode === null) npm.kill("SIGKILL");
      }
      expect(await chainId(port)).to.equal(undefined);
    });
  }
});
