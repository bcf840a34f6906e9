/**
 * Graceful shutdown: on SIGINT/SIGTERM (or an explicit `run`), hooks run one after another — in the
 * reverse order of registration, so what was started last stops first (stop accepting traffic,
 * then flush state, then close the store) — each bounded by the overall timeout. The process then
 * exits with 0, or 1 if a hook failed or the timeout passed. A second signal while shutting down exits
 * at once with 130.
 */
import type { Logger } from "pino";

export type ShutdownHook = () => Promise<void> | void;

/** The part of `process` that {@link Shutdown} uses (injectable for tests). */
export interface ShutdownProcess {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

export interface ShutdownOptions {
  /** Overall time budget of all hooks, ms; default 10 s. */
  timeoutMs?: number;
  signals?: NodeJS.Signals[];
  logger?: Logger;
  /** Defaults to the real `process`. */
  process?: ShutdownProcess;
}

export interface ShutdownResult {
  exitCode: number;
  /** Hooks that ran, in order, with their outcome. */
  ran: Array<{ name: string; ok: boolean; error?: string }>;
  timedOut: boolean;
}

export class Shutdown {
  private readonly hooks: Array<{ name: string; hook: ShutdownHook }> = [];
  private readonly timeoutMs: number;
  private readonly signals: NodeJS.Signals[];
  private readonly proc: ShutdownProcess;
  private running: Promise<ShutdownResult> | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.running) {
      this.options.logger?.warn({ signal }, "second signal during shutdown: exiting now");
      this.proc.exit(130);
      return;
    }
    void this.run(`signal ${signal}`);
  };

  constructor(private readonly options: ShutdownOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.signals = options.signals ?? ["SIGINT", "SIGTERM"];
    this.proc = options.process ?? process;
  }

  /** Registers a hook; hooks run in reverse order of registration. */
  add(name: string, hook: ShutdownHook): this {
    this.hooks.push({ name, hook });
    return this;
  }

  /** Listens for the signals. */
  install(): this {
    for (const s of this.signals) this.proc.on(s, this.onSignal);
    return this;
  }

  /** Stops listening for the signals. */
  uninstall(): void {
    for (const s of this.signals) this.proc.off(s, this.onSignal);
  }

  get isShuttingDown(): boolean {
    return this.running !== undefined;
  }

  /** Runs the hooks (once; later calls return the same result), then exits unless `exit` is false. */
  run(reason: string, options: { exit?: boolean; exitCode?: number } = {}): Promise<ShutdownResult> {
    this.running ??= this.runHooks(reason, options.exitCode ?? 0).then((result) => {
      this.uninstall();
      if (options.exit !== false) this.proc.exit(result.exitCode);
      return result;
    });
    return this.running;
  }

  private async runHooks(reason: string, exitCode: number): Promise<ShutdownResult> {
    const log = this.options.logger;
    log?.info({ reason }, "shutting down");
    const deadline = Date.now() + this.timeoutMs;
    const ran: ShutdownResult["ran"] = [];
    let code = exitCode;
    let timedOut = false;
    for (const { name, hook } of [...this.hooks].reverse()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        timedOut = true;
        ran.push({ name, ok: false, error: "skipped: shutdown timeout" });
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(hook),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), left);
          }),
        ]);
        ran.push({ name, ok: true });
      } catch (err) {
        const message = (err as Error).message;
        if (message.startsWith("timed out")) timedOut = true;
        code = code === 0 ? 1 : code;
        ran.push({ name, ok: false, error: message });
        log?.error({ hook: name, err }, "shutdown hook failed");
      } finally {
        clearTimeout(timer);
      }
    }
    if (timedOut) code = code === 0 ? 1 : code;
    log?.info({ exitCode: code, timedOut }, "shutdown complete");
    return { exitCode: code, ran, timedOut };
  }
}
