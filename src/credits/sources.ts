/**
 * Credit sources of a data dir, as the runner leaves them: each federation's settled rounds and
 * evidence (`engine/<origin>/evidence/{votes,evidence}.jsonl`) and its events in the archive.
 */
import fs from "node:fs";
import path from "node:path";
import type { Archive } from "../archive";
import type { Evidence, RoundVotes } from "../consensus/evidence";
import { InvalidInputError } from "../util/errors";
import type { CreditSources, DriftFindingsProvider } from "./measure";

/** A federation as the runner archives it: manifest name (archive key) and origin. */
export interface SourceFederation {
  readonly name: string;
  readonly origin: string;
}

/** Where the round engine keeps a federation's evidence (src/rounds/federation.ts). */
export function evidenceDirOf(dataDir: string, origin: string): string {
  return path.join(dataDir, "engine", origin.replace(/[^A-Za-z0-9._-]/g, "_"), "evidence");
}

/** JSON lines of `file`; a last line without its newline (torn by a crash) is ignored. */
export function readJsonLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, "utf8");
  const lines = text.split("\n");
  const complete = text.endsWith("\n") ? lines.slice(0, -1) : lines.slice(0, -1);
  return complete.map((l, i) => {
    try {
      return JSON.parse(l) as T;
    } catch (cause) {
      throw new InvalidInputError(`${file}:${i + 1}: not a JSON line`, { cause });
    }
  });
}

/** Bytes a full replica of a federation's log holds at `size` entries: canonical events + leaf hashes. */
export function archiveStorageBytes(archive: Archive, name: string, size: bigint): bigint {
  const row = archive.db
    .prepare(
      "SELECT coalesce(sum(length(e.canonical)), 0) AS n FROM events e JOIN federations f ON f.fid = e.fid WHERE f.origin = ? AND e.seq < ?",
    )
    .get(name, size) as { n: bigint | number };
  return BigInt(row.n) + 32n * size;
}

export function dataDirSources(
  dataDir: string,
  archive: Archive,
  federations: readonly SourceFederation[],
  drift?: DriftFindingsProvider,
): CreditSources {
  const rounds: RoundVotes[] = [];
  const evidence: Evidence[] = [];
  for (const f of federations) {
    const dir = evidenceDirOf(dataDir, f.origin);
    rounds.push(...readJsonLines<RoundVotes>(path.join(dir, "votes.jsonl")));
    evidence.push(...readJsonLines<Evidence>(path.join(dir, "evidence.jsonl")));
  }
  const nameOf = new Map(federations.map((f) => [f.origin, f.name]));
  return {
    rounds,
    evidence,
    storageBytes: (origin, size) => archiveStorageBytes(archive, nameOf.get(origin) ?? origin, size),
    drift,
  };
}
