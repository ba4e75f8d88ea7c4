/**
 * Reading append-only JSON-lines files (evidence, witness references) after a crash.
 *
 * `appendLineDurable` writes `record + "\n"` in one write and fsyncs. A crash (SIGKILL, power
 * loss, a full disk) can leave the LAST line without its newline: a torn write of a record that was
 * never acknowledged. On open, `repairJsonLines` cuts the file back to its last newline (fsynced)
 * and reports the dropped bytes, so start-up succeeds and the next append starts on a fresh line
 * instead of being glued onto the torn one. A complete (newline-terminated) line that does not
 * parse is NOT a torn write but corruption: it is refused with file:line, never skipped.
 */
import fs from "node:fs";
import { AmpError } from "../util/errors";
import { IJsonError, parseIJson } from "../events/ijson";
import { createLogger } from "../util/log";

const log = createLogger("consensus/json-lines");

/** A newline-terminated line of a JSON-lines file that is not a JSON object. */
export class JsonLinesCorruptError extends AmpError {
  override name = "JsonLinesCorruptError";
}

/**
 * Truncate `file` after its last newline if the final line is torn; returns the dropped byte
 * count (0 when the file is whole or missing). The truncation is fsynced before returning.
 */
export function repairJsonLines(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const bytes = fs.readFileSync(file);
  const keep = bytes.lastIndexOf(0x0a) + 1;
  const torn = bytes.length - keep;
  if (torn === 0) return 0;
  const fd = fs.openSync(file, "r+");
  try {
    fs.ftruncateSync(fd, keep);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  log.warn("dropped a torn last line (an unacknowledged write cut short by a crash)", {
    file,
    line: bytes.subarray(0, keep).filter((b) => b === 0x0a).length + 1,
    bytes: torn,
  });
  return torn;
}

/**
 * Records of a JSON-lines file, oldest first (empty if missing). With `repair` (on open), a torn
 * last line is cut off the file first; without it, a torn last line is ignored in memory only.
 */
export function readJsonLines<T>(file: string, options: { repair?: boolean } = {}): T[] {
  if (options.repair) repairJsonLines(file);
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, "utf8").split("\n");
  lines.pop(); // "" after the final newline, or a torn last line (not repaired)
  const out: T[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.length === 0) continue;
    let value: unknown;
    try {
      value = parseIJson(line, { source: file, line: i + 1 });
    } catch (cause) {
      if (!(cause instanceof IJsonError)) throw cause;
      throw new JsonLinesCorruptError(
        `${file}:${i + 1}: corrupt record (not a torn last line): ${cause.meta.rule as string}`,
        {
          kind: "bug",
          cause,
          meta: { file, line: i + 1 },
        },
      );
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new JsonLinesCorruptError(`${file}:${i + 1}: corrupt record: not a JSON object`, {
        meta: { file, line: i + 1 },
      });
    }
    out.push(value as T);
  }
  return out;
}
