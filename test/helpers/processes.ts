/** Child-process helpers for tests: a real `hardhat node` on a free loopback port, and command runs. */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion; resolves with stdout+stderr, rejects with them on a non-zero exit. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out}`)),
    );
  });
}

/**
 * Runs a dApp example (scripts/examples/) as `npm run example` does: ts-node with the SDK package resolved by its
 * name to its sources (the package's "hms-source" export condition), so `@hms-network/sdk` needs no build first.
 */
export function runExample(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const options = [env.NODE_OPTIONS, "--conditions=hms-source"].filter(Boolean).join(" ");
  return run("npx", ["ts-node", "--transpile-only", file, ...args], { ...env, NODE_OPTIONS: options });
}

export interface HardhatNode {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `hardhat node` on 127.0.0.1 and a free port; resolves once it accepts JSON-RPC. `wallClock`: blocks may
 * share a timestamp (hardhat.config.ts HMS_HARDHAT_WALL_CLOCK), so chain time never runs ahead of the wall clock.
 */
export async function spawnHardhatNode(options: { wallClock?: boolean } = {}): Promise<HardhatNode> {
  const port = await freePort();
  const child = spawn("npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: options.wallClock ? { ...process.env, HMS_HARDHAT_WALL_CLOCK: "1" } : process.env,
  });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hardhat node did not start:\n${log}`)), 60_000);
    const onData = (d: Buffer) => {
      log += d;
      if (log.includes("Started HTTP and WebSocket JSON-RPC server")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`hardhat node exited ${code}:\n${log}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        process.kill(-child.pid!, "SIGTERM"); // the whole group: npx and the node behind it
      }),
  };
}
