/**
 * Supervisor: owns child processes (the chain, one per node). It starts each, restarts one that
 * dies with exponential backoff (1 s doubling to 30 s, reset after a minute up; every restart is
 * logged), and stops them all (SIGTERM, then SIGKILL after a grace period). Every child is
 * stoppable by its pid; nothing is left running after `stopAll`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createLogger, type Logger } from "../util/log";

export interface ChildSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  /** Restart when it exits (default true). */
  readonly restart?: boolean;
}

interface Supervised {
  spec: ChildSpec;
  child: ChildProcess | undefined;
  restarts: number;
  backoffMs: number;
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
}

export class Supervisor {
  private readonly children = new Map<string, Supervised>();
  private stopping = false;
  private readonly logger: Logger;

  constructor(
    private readonly onChange: () => void = () => undefined,
    logger?: Logger,
  ) {
    this.logger = logger ?? createLogger("supervisor");
  }

  start(spec: ChildSpec): void {
    const s: Supervised = {
      spec,
      child: undefined,
      restarts: 0,
      backoffMs: 1000,
      startedAt: 0,
      timer: undefined,
    };
    this.children.set(spec.name, s);
    this.launch(s);
  }

  private launch(s: Supervised): void {
    const out = fs.openSync(s.spec.logFile, "a");
    const child = spawn(s.spec.command, [...s.spec.args], {
      cwd: s.spec.cwd,
      env: s.spec.env ?? process.env,
      stdio: ["ignore", out, out],
    });
    fs.closeSync(out);
    s.child = child;
    s.startedAt = Date.now();
    child.on("exit", (code, signal) => {
      if (s.child !== child) return;
      s.child = undefined;
      this.onChange();
      if (this.stopping || s.spec.restart === false) return;
      if (Date.now() - s.startedAt > 60_000) s.backoffMs = 1000;
      this.logger.warn("child exited; restarting", { child: s.spec.name, code, signal, inMs: s.backoffMs });
      s.timer = setTimeout(() => {
        s.restarts++;
        this.launch(s);
        this.onChange();
      }, s.backoffMs);
      s.backoffMs = Math.min(s.backoffMs * 2, 30_000);
    });
    this.onChange();
  }

  pid(name: string): number | undefined {
    return this.children.get(name)?.child?.pid;
  }

  restarts(name: string): number {
    return this.children.get(name)?.restarts ?? 0;
  }

  /** SIGTERM every child, SIGKILL those still running after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    this.stopping = true;
    const running: Promise<void>[] = [];
    for (const s of this.children.values()) {
      clearTimeout(s.timer);
      const c = s.child;
      if (!c || c.exitCode !== null || c.signalCode !== null) continue;
      running.push(
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => c.kill("SIGKILL"), graceMs);
          c.once("exit", () => {
            clearTimeout(kill);
            resolve();
          });
          c.kill("SIGTERM");
        }),
      );
    }
    await Promise.all(running);
  }
}
