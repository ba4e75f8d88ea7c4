/**
 * Prometheus text exposition for tests: a small parser, `promtool` when installed, and a lint in
 * TypeScript of the naming rules promtool checks (and ours: `amp_` prefix, base units) for when
 * it is not.
 */
import { spawnSync } from "node:child_process";

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** The value as written (the text format allows `NaN`, `+Inf`, `-Inf`). */
  readonly raw: string;
}

export interface Family {
  readonly name: string;
  type: string;
  help: string;
  readonly samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  if (families.has(sample)) return families.get(sample);
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (sample.endsWith(suffix)) {
      const f = families.get(sample.slice(0, -suffix.length));
      if (f) return f;
    }
  }
  return undefined;
}

/** Families by name; throws on a line that is not HELP, TYPE, a comment or a sample. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: "untyped", help: "", samples: [] }));
    return f;
  };
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "HELP") family(meta[2]!).help = meta[3]!;
      else family(meta[2]!).type = meta[3]!;
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(LABEL)) labels[l[1]!] = l[2]!;
    const f = familyOf(m[1]!, families) ?? family(m[1]!);
    f.samples.push({ name: m[1]!, labels, value: Number(m[4]), raw: m[4]! });
  }
  return families;
}

/** The value of one sample (`name` with exactly these labels among others), or undefined. */
export function valueOf(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}

const BAD_UNITS =
  /_(milliseconds|millis|ms|microseconds|us|nanoseconds|ns|minutes|hours|days|kilobytes|kb|megabytes|mb|bits|percent)(_|$)/;

/** Naming and shape problems, in the manner of `promtool check metrics`; [] when clean. */
export function lintExposition(text: string): string[] {
  const problems: string[] = [];
  for (const f of parseExposition(text).values()) {
    const n = f.name;
    const say = (p: string) => problems.push(`${n}: ${p}`);
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(n)) say("invalid metric name");
    if (!/^(amp|process|nodejs)_/.test(n)) say("name without the amp_ prefix");
    if (n !== n.toLowerCase()) say("metric names should be snake_case");
    if (f.help.trim() === "") say("no help text");
    if (!["counter", "gauge", "histogram", "summary"].includes(f.type)) say(`type ${f.type}`);
    if (f.type === "counter" && !n.endsWith("_total")) say("counter metrics should have _total suffix");
    if (f.type !== "counter" && n.endsWith("_total"))
      say("non-counter metrics should not have _total suffix");
    if (BAD_UNITS.test(n)) say("use base units (seconds, bytes)");
    for (const s of f.samples) {
      for (const [k] of Object.entries(s.labels)) {
        if (k.startsWith("__")) say(`reserved label name ${k}`);
        if (k === "le" && f.type !== "histogram") say("le label outside a histogram");
      }
      // `NaN` is a valid sample value (e.g. an event-loop lag gauge before its first sample);
      // anything else that does not parse as a number is not.
      if (Number.isNaN(s.value) && s.raw !== "NaN") say(`${s.name} has no numeric value`);
    }
    if (f.type === "histogram") {
      const buckets = f.samples.filter((s) => s.name === `${n}_bucket`);
      const counts = f.samples.filter((s) => s.name === `${n}_count`);
      if (counts.length > 0 && !buckets.some((s) => s.labels.le === "+Inf"))
        say("histogram without +Inf bucket");
      if (f.samples.some((s) => s.name === n)) say("histogram with a bare sample");
    }
  }
  return problems;
}

/** Path of promtool, or undefined when not installed. */
export function promtool(): string | undefined {
  const r = spawnSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" });
  const p = r.stdout.trim();
  return r.status === 0 && p !== "" ? p : undefined;
}

/** Run `promtool check <what> [file]` with `input` on stdin; its exit status and output. */
export function runPromtool(args: string[], input?: string): { status: number | null; output: string } {
  const tool = promtool();
  if (!tool) throw new Error("promtool is not installed");
  const r = spawnSync(tool, args, { input: input ?? "", encoding: "utf8", timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/**
 * Whether promtool checks must run: present → yes; absent on CI (CI=true) → the caller fails
 * (CI installs it); absent elsewhere → the TypeScript lint stands in.
 */
export function promtoolRequired(): { available: boolean; missingOnCi: boolean } {
  const available = promtool() !== undefined;
  return { available, missingOnCi: !available && process.env.CI === "true" };
}
