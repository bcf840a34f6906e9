/**
 * The oci runtime: workloads are OCI containers driven through the Docker Engine API with dockerode. The same
 * code drives Docker (`/var/run/docker.sock`) and Podman (`podman system service --time=0 unix://…`); it is
 * tested for real with Podman 4.3 + runc (test/compute/oci.test.ts).
 *
 * Every container gets the cgroup limits of its spec (`Memory` = `MemorySwap`, `NanoCpus`, a pids limit and
 * nofile/nproc ulimits), `NetworkMode: none` — or `host` when the spec lists ports, the workload being told
 * through `HMS_BIND=127.0.0.1` to bind loopback only — and the labels `hms.node`, `hms.lease`, `hms.spec`, so that
 * a restarted worker lists and adopts its own containers instead of creating second ones. Images are never
 * pulled: a missing image is `COMPUTE_IMAGE_NOT_FOUND` (an operator pre-loads the images it serves).
 */
import Docker from "dockerode";
import { HmsError } from "../../core/errors";
import type { UsageSample } from "../../protocol/compute";
import { LABELS, type RunRequest, type WorkloadRuntime, type WorkloadStatus } from "./types";

export interface OciRuntimeOptions {
  /** Docker Engine API socket (Podman: the socket of `podman system service`). */
  socketPath: string;
  /** This node's id label: `list` returns only containers carrying it. */
  nodeId: string;
  /** Most processes per container. */
  pidsLimit?: number;
  /** Timeout of one API call, ms. */
  timeoutMs?: number;
}

type DockerError = Error & { statusCode?: number; code?: string };

/** Splits a non-TTY Docker log stream (8-byte frame headers) into text. */
export function demuxLogs(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 0 || buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  if (i === 0) return buf.toString("utf8"); // a TTY stream has no frames
  return Buffer.concat(parts).toString("utf8");
}

export class OciRuntime implements WorkloadRuntime {
  readonly kind = "oci" as const;
  private readonly docker: Docker;

  constructor(private readonly options: OciRuntimeOptions) {
    this.docker = new Docker({ socketPath: options.socketPath, timeout: options.timeoutMs ?? 30_000 });
  }

  private unavailable(err: unknown): HmsError {
    return new HmsError(
      "COMPUTE_RUNTIME_UNAVAILABLE",
      `no Docker Engine API answers at unix://${this.options.socketPath} (${(err as Error).message}): install Podman ` +
        `(apt-get install podman runc) and run \`podman system service --time=0 unix://${this.options.socketPath}\`, or ` +
        `Docker; the embedded runtime (runtime.kind: embedded) needs neither`,
      { value: this.options.socketPath, cause: err },
    );
  }

  private failed(what: string, id: string, err: unknown): HmsError {
    const e = err as DockerError;
    if (e.code === "ENOENT" || e.code === "ECONNREFUSED" || e.code === "EACCES") return this.unavailable(err);
    return new HmsError("COMPUTE_RUNTIME", `${what} ${id} failed: ${e.message}`, { value: id, cause: err });
  }

  async check(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private async inspect(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (err) {
      if ((err as DockerError).statusCode === 404) return undefined;
      throw this.failed("inspect", id, err);
    }
  }

  private statusOf(id: string, info: Docker.ContainerInspectInfo): WorkloadStatus {
    const started = Date.parse(info.State.StartedAt);
    const finished = Date.parse(info.State.FinishedAt);
    const running = info.State.Running || info.State.Status === "running";
    return {
      id,
      state: running ? "running" : "exited",
      exitCode: running ? undefined : info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      startedAtMs: Number.isFinite(started) && started > 0 ? started : undefined,
      finishedAtMs: !running && Number.isFinite(finished) && finished > 0 ? finished : undefined,
      generation: Number.isFinite(started) ? started : 0,
    };
  }

  async start(request: RunRequest): Promise<WorkloadStatus> {
    const { id, spec } = request;
    let info = await this.inspect(id);
    if (info === undefined) {
      if (spec.image === undefined)
        throw new HmsError("COMPUTE_SPEC_INVALID", "the oci runtime needs an image", {
          value: spec.command,
          details: { key: "image" },
        });
      try {
        await this.docker.getImage(spec.image).inspect();
      } catch (err) {
        if ((err as DockerError).statusCode === 404)
          throw new HmsError(
            "COMPUTE_IMAGE_NOT_FOUND",
            `image ${spec.image} is not on this worker (images are not pulled)`,
            {
              value: spec.image,
            },
          );
        throw this.failed("image inspect", spec.image, err);
      }
      const memory = spec.limits.memoryMiB * 1024 * 1024;
      const env = Object.entries({ HMS_BIND: "127.0.0.1", ...spec.env }).map(([k, v]) => `${k}=${v}`);
      try {
        await this.docker.createContainer({
          name: id,
          Image: spec.image,
          Cmd: spec.command.length > 0 ? spec.command : undefined,
          Env: env,
          Labels: request.labels,
          HostConfig: {
            NetworkMode: spec.ports.length > 0 ? "host" : "none",
            Memory: memory,
            MemorySwap: memory,
            NanoCpus: spec.limits.cpuMillis * 1_000_000,
            PidsLimit: this.options.pidsLimit ?? 256,
            Ulimits: [
              { Name: "nofile", Soft: 1024, Hard: 1024 },
              { Name: "nproc", Soft: 1024, Hard: 1024 },
            ],
          },
        });
      } catch (err) {
        if ((err as DockerError).statusCode !== 409) throw this.failed("create", id, err); // 409: created meanwhile
      }
      info = await this.inspect(id);
    }
    if (info === undefined)
      throw new HmsError("COMPUTE_RUNTIME", `container ${id} vanished after create`, { value: id });
    if (!info.State.Running) {
      try {
        await this.docker.getContainer(id).start();
      } catch (err) {
        if ((err as DockerError).statusCode !== 304) throw this.failed("start", id, err);
      }
      info = (await this.inspect(id)) ?? info;
    }
    return this.statusOf(id, info);
  }

  async status(id: string): Promise<WorkloadStatus | undefined> {
    const info = await this.inspect(id);
    return info === undefined ? undefined : this.statusOf(id, info);
  }

  async sample(id: string): Promise<UsageSample> {
    const c = this.docker.getContainer(id);
    let stats: Docker.ContainerStats;
    let info: Docker.ContainerInspectInfo & { SizeRw?: number };
    try {
      [stats, info] = await Promise.all([
        c.stats({ stream: false }) as Promise<Docker.ContainerStats>,
        (c.inspect as (o: { size: boolean }) => Promise<Docker.ContainerInspectInfo & { SizeRw?: number }>).call(c, {
          size: true,
        }),
      ]);
    } catch (err) {
      if ((err as DockerError).statusCode === 404)
        throw new HmsError("COMPUTE_NOT_FOUND", `no container ${id}`, { value: id });
      throw this.failed("stats", id, err);
    }
    let rx = 0n;
    let tx = 0n;
    for (const n of Object.values(stats.networks ?? {})) {
      rx += BigInt(n.rx_bytes ?? 0);
      tx += BigInt(n.tx_bytes ?? 0);
    }
    const started = Date.parse(info.State.StartedAt);
    return {
      atMs: Date.now(),
      cpuNs: BigInt(stats.cpu_stats?.cpu_usage?.total_usage ?? 0),
      memoryBytes: stats.memory_stats?.usage ?? 0,
      netRxBytes: rx,
      netTxBytes: tx,
      diskBytes: info.SizeRw ?? 0,
      generation: Number.isFinite(started) ? started : 0,
    };
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    try {
      const buf = (await this.docker.getContainer(id).logs({
        stdout: true,
        stderr: true,
        follow: false,
        tail: options.tail ?? "all",
      } as Docker.ContainerLogsOptions & { follow: false })) as unknown as Buffer;
      return demuxLogs(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)));
    } catch (err) {
      if ((err as DockerError).statusCode === 404)
        throw new HmsError("COMPUTE_NOT_FOUND", `no container ${id}`, { value: id });
      throw this.failed("logs", id, err);
    }
  }

  async stop(id: string, graceMs: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.ceil(graceMs / 1000) });
    } catch (err) {
      const code = (err as DockerError).statusCode;
      if (code !== 304 && code !== 404) throw this.failed("stop", id, err);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      if ((err as DockerError).statusCode !== 404) throw this.failed("remove", id, err);
    }
  }

  async list(): Promise<string[]> {
    try {
      const found = await this.docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.node}=${this.options.nodeId}`] },
      });
      return found.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ""));
    } catch (err) {
      throw this.failed("list", this.options.nodeId, err);
    }
  }

  async close(): Promise<void> {}
}
