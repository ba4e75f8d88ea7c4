/**
 * Structured logging on stderr: one JSON object per line, or, when stderr is a terminal, one
 * readable line (`12:00:01 WARN consensus: byzantine evidence origin=… node=…`). Library code logs
 * through this, never through `console.log`. Level from `AMP_LOG_LEVEL`
 * (debug|info|warn|error|silent), default `warn`; format from `AMP_LOG_FORMAT` (json|text),
 * default text on a terminal, else json.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type LogSink = (line: string) => void;

function currentLevel(): LogLevel {
  const v = process.env.AMP_LOG_LEVEL as LogLevel | undefined;
  return v && v in ORDER ? v : "warn";
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function textFormat(): boolean {
  const f = process.env.AMP_LOG_FORMAT;
  return f === "text" || (f !== "json" && process.stderr.isTTY === true);
}

/** `12:00:01 WARN component: msg key=value …` (values JSON-encoded when not plain words). */
export function formatText(
  t: Date,
  level: LogLevel,
  component: string,
  msg: string,
  fields?: Record<string, unknown>,
): string {
  const parts = Object.entries(fields ?? {}).map(([k, v]) => {
    const x = replacer(k, v);
    return `${k}=${typeof x === "string" && /^[\w./:@-]*$/.test(x) ? x : JSON.stringify(x, replacer)}`;
  });
  const time = t.toISOString().slice(11, 19);
  return [`${time} ${level.toUpperCase()} ${component}: ${msg}`, ...parts].join(" ");
}

export function createLogger(component: string, sink?: LogSink): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[currentLevel()]) return;
    const t = new Date();
    if (sink) {
      sink(JSON.stringify({ t: t.toISOString(), level, component, msg, ...fields }, replacer));
    } else if (textFormat()) {
      process.stderr.write(formatText(t, level, component, msg, fields) + "\n");
    } else {
      process.stderr.write(
        JSON.stringify({ t: t.toISOString(), level, component, msg, ...fields }, replacer) + "\n",
      );
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}
