/**
 * Structured logging: one JSON object per line on stderr. Library code logs through this,
 * never through `console.log`. Level from `AMP_LOG_LEVEL` (debug|info|warn|error|silent), default `warn`.
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

export function createLogger(
  component: string,
  sink: LogSink = (l) => process.stderr.write(l + "\n"),
): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[currentLevel()]) return;
    sink(JSON.stringify({ t: new Date().toISOString(), level, component, msg, ...fields }, replacer));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}
