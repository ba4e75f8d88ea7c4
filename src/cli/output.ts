/**
 * Output of the CLI: results on stdout (text, or one JSON object with `--json`), everything else
 * (notes, banners, progress) on stderr; short hashes; progress bars; environment defaults.
 */
import { startProgress } from "./progress";
import { Command, InvalidArgumentError, Option } from "commander";
import type { OutputConfiguration } from "commander";
import { AmpError } from "../util/errors";

interface Sink {
  out: (s: string) => void;
  err: (s: string) => void;
}

const processSink: Sink = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};
let sink: Sink = processSink;

/** Route command output through commander's output configuration (tests capture it); returns the undo. */
export function setOutput(output: OutputConfiguration | undefined): () => void {
  const previous = sink;
  sink = {
    out: output?.writeOut ? (s) => output.writeOut!(s) : processSink.out,
    err: output?.writeErr ? (s) => output.writeErr!(s) : processSink.err,
  };
  return () => {
    sink = previous;
  };
}

/** One line of results on stdout. */
export function print(line: string): void {
  sink.out(`${line}\n`);
}

/** One line for the person at the terminal, on stderr (kept out of results and tables). */
export function note(line: string): void {
  sink.err(`${line}\n`);
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x), indent);
}

/**
 * What a command reports. Text mode: `say` lines go to stdout and `done` prints nothing more.
 * `--json` mode: `say` lines go to stderr and `done` prints `{"ok":true,"command":…,"result":…}`
 * as one line on stdout, the only thing on stdout.
 */
export interface Reporter {
  readonly json: boolean;
  say: (line: string) => void;
  done: (result: unknown) => void;
}

export function reporter(command: string, json: boolean | undefined): Reporter {
  return {
    json: json === true,
    say: json === true ? note : print,
    done: (result) => {
      if (json === true) print(toJson({ ok: true, command, result }));
    },
  };
}

/** Was `--json` given (before any `--`)? */
export function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).includes("--json");
}

/** The `--json` failure object: `{"ok":false,"command":…,"error":{name,message,exitCode,…}}` + newline. */
export function errorJson(command: string | undefined, err: unknown, exitCode: number): string {
  let error: Record<string, unknown>;
  if (err instanceof AmpError) {
    error = { name: err.name, message: err.shortMessage, kind: err.kind };
    const field = err.meta.field;
    if (typeof field === "string") error.field = field;
  } else if (err instanceof Error && "code" in err && String(err.code).startsWith("commander.")) {
    error = { name: "UsageError", message: err.message.replace(/^error: /, ""), kind: "invalid-input" };
  } else if (err instanceof Error) {
    error = { name: err.name, message: err.message.split("\n")[0] ?? "" };
  } else {
    error = { name: "Error", message: String(err) };
  }
  return `${toJson({ ok: false, command: command ?? null, error: { ...error, exitCode } })}\n`;
}

/** Options that default to an environment variable on every command (demo keeps its own temp dir). */
const ENV_DEFAULTS: Record<string, string> = { "--data": "AMP_DATA_DIR", "--rpc": "AMP_RPC_URL" };

/** `--rpc` (or AMP_RPC_URL) must be an http(s) URL: anything else is a usage error (exit 2). */
export function parseRpcUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new InvalidArgumentError(
      `--rpc must be an http(s) URL such as http://127.0.0.1:8545, got "${value}"`,
    );
  }
  return value;
}

/**
 * The program's command class: every option it creates gets the shared behaviour, without
 * touching the command files. `--data` and `--rpc` default to AMP_DATA_DIR and AMP_RPC_URL
 * (not on `demo`, which never writes into the user's data dir); `--rpc` values, from the flag
 * or the environment, must be http(s) URLs (else a usage error, exit 2).
 */
export class AmpCommand extends Command {
  override createCommand(name?: string): AmpCommand {
    return new AmpCommand(name);
  }

  override createOption(flags: string, description?: string): Option {
    const option = new Option(flags, description);
    const env = option.long !== undefined ? ENV_DEFAULTS[option.long] : undefined;
    if (env !== undefined && this.name() !== "demo") option.env(env);
    if (option.long === "--rpc") option.argParser(parseRpcUrl);
    return option;
  }
}

/** `0x1234abcd…` — enough to tell roots apart in a table. */
export function short(hex: string, chars = 10): string {
  return hex.length <= chars + 1 ? hex : `${hex.slice(0, chars)}…`;
}

/** Progress on stderr: a live line on a terminal, plain lines otherwise (src/cli/progress.ts). */
export function progress(label: string, total: number): { tick(n?: number): void; stop(): void } {
  const p = startProgress(label, total, { unit: label });
  return { tick: (n = 1) => p.tick(n), stop: () => p.stop() };
}
