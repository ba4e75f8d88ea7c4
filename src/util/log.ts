/**
 * Structured logging on pino: one JSON object per line. Library code logs through this, never
 * through `console.log`.
 *
 * - Level from `AMP_LOG_LEVEL` (debug|info|warn|error|silent), default `warn`, read at each call.
 * - Where: the file named by `AMP_LOG_FILE` (appended), else stderr — human-readable when stderr is
 *   a terminal, JSON lines otherwise; `AMP_LOG_FORMAT` (text|json) overrides the terminal check. Tables and results go to stdout, so they never interleave.
 * - Each line has `level`, `time` (ISO 8601), `component`, the bindings of `child()` (`node`,
 *   `federation`, `round`, …), `msg`, then the call's fields. bigint → decimal string, bytes → hex,
 *   Error → `{name, message, kind?}`.
 * - A `sink` (tests) receives each JSON line without its newline instead.
 */
import pino from "pino";
import pretty from "pino-pretty";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Fields bound to every line of a child logger; node, federation and round are the usual ones. */
export interface LogBindings {
  readonly node?: string;
  readonly federation?: string;
  readonly round?: bigint | number;
  readonly [key: string]: unknown;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to each of its lines (e.g. `{ node, federation, round }`). */
  child(fields: LogBindings): Logger;
}

export type LogSink = (line: string) => void;

export function currentLevel(): LogLevel {
  const v = process.env.AMP_LOG_LEVEL as LogLevel | undefined;
  return v && v in ORDER ? v : "warn";
}

/** JSON-safe copy of a log value: bigint → string, bytes → hex, Error → name/message/kind. */
export function logValue(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (value instanceof Error) {
    const kind = (value as { kind?: unknown }).kind;
    return { name: value.name, message: value.message, ...(typeof kind === "string" ? { kind } : {}) };
  }
  if (value === null || typeof value !== "object" || depth >= 6) return value;
  if (Array.isArray(value)) return value.map((v) => logValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = logValue(v, depth + 1);
  return out;
}

/** Where the default destination writes: a file, pretty text on a terminal, or JSON on stderr. */
export type LogTarget = { kind: "file"; file: string } | { kind: "pretty" } | { kind: "json" };

export function logTarget(env: NodeJS.ProcessEnv, stderrIsTTY: boolean): LogTarget {
  const file = env.AMP_LOG_FILE;
  if (file) return { kind: "file", file };
  if (env.AMP_LOG_FORMAT === "json") return { kind: "json" };
  if (env.AMP_LOG_FORMAT === "text") return { kind: "pretty" };
  return stderrIsTTY ? { kind: "pretty" } : { kind: "json" };
}

/** Human-readable lines (`HH:MM:ss.l WARN component: msg {fields}`) written to `destination`. */
export function prettyStream(destination: NodeJS.WritableStream | number, colorize: boolean) {
  return pretty({
    destination,
    sync: true,
    colorize,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "component",
    messageFormat: "{component}: {msg}",
  });
}

type Writable = { write(s: string): unknown };
/** Log bytes kept while the destination cannot be written (then dropped). */
const LOG_BACKLOG_BYTES = 4 * 1024 * 1024;
const destinations = new Map<string, Writable>();

/** The process-wide destination for the current target, opened on first use. */
function defaultDestination(): Writable {
  const target = logTarget(process.env, process.stderr.isTTY === true);
  const key = target.kind === "file" ? `file:${target.file}` : target.kind;
  let dest = destinations.get(key);
  if (!dest) {
    if (target.kind === "pretty") dest = prettyStream(2, true);
    else {
      const d =
        target.kind === "file"
          ? pino.destination({ dest: target.file, sync: true, mkdir: true, maxLength: LOG_BACKLOG_BYTES })
          : pino.destination({ fd: 2, sync: true, maxLength: LOG_BACKLOG_BYTES });
      // A full disk or file size limit must not stop the process through its log (an unhandled
      // 'error' event threw from every logger call): lines wait, up to the backlog, and are written
      // once space returns; beyond it they are dropped.
      d.on("error", () => undefined);
      dest = d;
    }
    destinations.set(key, dest);
  }
  return dest;
}

function stream(sink: LogSink | undefined): Writable {
  if (sink) return { write: (s: string) => sink(s.endsWith("\n") ? s.slice(0, -1) : s) };
  // Resolved at each write so AMP_LOG_FILE set after the module loaded (CLI flags) is honoured.
  return { write: (s: string) => defaultDestination().write(s) };
}

function wrap(p: pino.Logger): Logger {
  const emit = (level: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[currentLevel()]) return;
    if (fields) p[level](logValue(fields) as object, msg);
    else p[level](msg);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => wrap(p.child(logValue(fields) as pino.Bindings)),
  };
}

export function createLogger(component: string, sink?: LogSink): Logger {
  const p = pino(
    {
      level: "debug", // filtered in wrap() against AMP_LOG_LEVEL at each call
      base: { component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: (v: unknown) => v }, // already made plain by logValue()
    },
    stream(sink),
  );
  return wrap(p);
}
