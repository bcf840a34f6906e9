/**
 * A real Podman for the tests: `podman system service` on a socket of its own, with the busybox image the
 * tests run (localhost/hms-busybox:test, imported from the machine's busybox if missing). When Podman is truly
 * unavailable, `startPodman` returns the precise reason and the tests skip with it; .ci/run installs Podman.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";

export const TEST_IMAGE = "localhost/hms-busybox:test";

export interface Podman {
  socketPath: string;
  stop(): Promise<void>;
}

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":")) {
    const p = path.join(dir, bin);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function ensureImage(): string | undefined {
  try {
    execFileSync("podman", ["image", "exists", TEST_IMAGE], { stdio: "ignore" });
    return undefined;
  } catch {
    // import it below
  }
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => fs.existsSync(p));
  if (busybox === undefined)
    return "busybox is not installed (apt-get install busybox-static), so the test image cannot be built";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-rootfs-"));
  for (const d of ["bin", "tmp", "proc", "sys", "dev", "etc"])
    fs.mkdirSync(path.join(dir, "R", d), { recursive: true });
  fs.copyFileSync(busybox, path.join(dir, "R/bin/busybox"));
  fs.chmodSync(path.join(dir, "R/bin/busybox"), 0o755);
  for (const a of ["sh", "ls", "cat", "echo", "sleep", "yes", "dd", "head", "sha256sum", "wc", "seq", "true", "tr"])
    fs.symlinkSync("busybox", path.join(dir, "R/bin", a));
  execFileSync("tar", ["-C", path.join(dir, "R"), "-cf", path.join(dir, "rootfs.tar"), "."]);
  execFileSync("podman", ["import", "--change", 'CMD ["/bin/sh"]', path.join(dir, "rootfs.tar"), TEST_IMAGE], {
    stdio: "ignore",
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return undefined;
}

/** Starts a Podman API service, or returns why it cannot run here. */
export async function startPodman(): Promise<Podman | { skip: string }> {
  if (process.platform !== "linux") return { skip: `Podman tests need Linux (this is ${process.platform})` };
  if (which("podman") === undefined)
    return { skip: "podman is not installed: apt-get install -y podman runc busybox-static (as .ci/run does)" };
  if (process.getuid?.() !== 0)
    return { skip: "rootless Podman cannot apply cgroup limits or networks here: run the Podman tests as root" };
  const missing = ensureImage();
  if (missing) return { skip: missing };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-podman-"));
  const socketPath = path.join(dir, "podman.sock");
  const child: ChildProcess = spawn("podman", ["system", "service", "--time=0", `unix://${socketPath}`], {
    stdio: "ignore",
  });
  const docker = new Docker({ socketPath });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await docker.ping();
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        return { skip: `podman system service did not answer on ${socketPath}: ${(err as Error).message}` };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    socketPath,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Removes every container labelled with `nodeId` (clean-up between tests). */
export async function removeNodeContainers(socketPath: string, nodeId: string): Promise<void> {
  const docker = new Docker({ socketPath });
  for (const c of await docker.listContainers({ all: true, filters: { label: [`hms.node=${nodeId}`] } }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
}
