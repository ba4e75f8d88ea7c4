/**
 * `GET /v1/participation`: the participation counters this node recorded as a round's coordinator
 * (`<data>/evidence/node-counters.json`, written atomically once per round by its EvidenceStore,
 * src/consensus/evidence.ts): per member of its federation, rounds expected / participated, votes
 * cast, votes for the final checkpoint and faults by kind. Read-only, from disk on each request.
 * Bounded: only members of this node's federation (at most MAX_PARTICIPATION_NODES), sorted by id.
 * A node that has coordinated no round yet answers `nodes: []`. The counters are this node's own
 * bookkeeping (the signed votes behind them are in `votes.jsonl`, GET /v1/credits/votes).
 */
import fs from "node:fs";
import path from "node:path";
import type { FaultKind, NodeCounters } from "../consensus/evidence";
import { parseIJson } from "../events/ijson";
import { AmpError } from "../util/errors";

export const MAX_PARTICIPATION_NODES = 256;

const FAULT_KINDS: readonly FaultKind[] = [
  "wrong-root",
  "equivocation",
  "invalid-signature",
  "wrong-length-signature",
  "withheld-vote",
];

export interface ParticipationRow extends NodeCounters {
  readonly node: string;
}

export interface ParticipationAnswer {
  /** The coordinator that counted (this node). */
  readonly recordedBy: string;
  readonly federation: string;
  readonly origin: string;
  readonly nodes: readonly ParticipationRow[];
}

const count = { type: "integer", minimum: 0 } as const;

/** The answer's JSON Schema (docs/http.md; the Fastify response schema; tested). */
export const PARTICIPATION_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["recordedBy", "federation", "origin", "nodes"],
  properties: {
    recordedBy: { type: "string" },
    federation: { type: "string" },
    origin: { type: "string" },
    nodes: {
      type: "array",
      maxItems: MAX_PARTICIPATION_NODES,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["node", "roundsExpected", "roundsParticipated", "votesCast", "correctVotes", "faults"],
        properties: {
          node: { type: "string" },
          roundsExpected: count,
          roundsParticipated: count,
          votesCast: count,
          correctVotes: count,
          faults: {
            type: "object",
            additionalProperties: false,
            properties: Object.fromEntries(FAULT_KINDS.map((k) => [k, count])),
          },
        },
      },
    },
  },
} as const;

/** The counters file of a data dir could not be read as counters (never written torn: atomic). */
export class ParticipationFileError extends AmpError {
  override name = "ParticipationFileError";
  constructor(file: string, problem: string, cause?: unknown) {
    super(`${file}: ${problem}`, { kind: "bug", cause });
  }
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function row(file: string, node: string, v: unknown): ParticipationRow {
  const c = v as Partial<NodeCounters> | null;
  const bad = (field: string) => new ParticipationFileError(file, `${node}: field "${field}" is not a count`);
  if (typeof c !== "object" || c === null) throw new ParticipationFileError(file, `${node}: not an object`);
  for (const f of ["roundsExpected", "roundsParticipated", "votesCast", "correctVotes"] as const)
    if (!isCount(c[f])) throw bad(f);
  const faults: Partial<Record<FaultKind, number>> = {};
  for (const [k, n] of Object.entries(c.faults ?? {})) {
    if (!FAULT_KINDS.includes(k as FaultKind)) throw bad(`faults.${k}`);
    if (!isCount(n)) throw bad(`faults.${k}`);
    faults[k as FaultKind] = n;
  }
  return {
    node,
    roundsExpected: c.roundsExpected!,
    roundsParticipated: c.roundsParticipated!,
    votesCast: c.votesCast!,
    correctVotes: c.correctVotes!,
    faults,
  };
}

export function readParticipation(
  dataDir: string,
  who: { id: string; name: string; origin: string },
): ParticipationAnswer {
  const file = path.join(dataDir, "evidence", "node-counters.json");
  const base = { recordedBy: who.id, federation: who.name, origin: who.origin };
  if (!fs.existsSync(file)) return { ...base, nodes: [] };
  let all: unknown;
  try {
    all = parseIJson(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ParticipationFileError(file, "not JSON", e);
  }
  if (typeof all !== "object" || all === null || Array.isArray(all))
    throw new ParticipationFileError(file, "not a JSON object");
  const prefix = `${who.origin}/`;
  const nodes = Object.entries(all as Record<string, unknown>)
    .filter(([key]) => key.startsWith(prefix) && !key.slice(prefix.length).includes("/"))
    .map(([key, v]) => row(file, key.slice(prefix.length), v))
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
    .slice(0, MAX_PARTICIPATION_NODES);
  return { ...base, nodes };
}
