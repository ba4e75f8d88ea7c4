/**
 * Rules JSON Schema cannot express: uniqueness, weight totals, bridge references.
 * Each returns problems as (JSON Pointer, rule); the loader locates them in the file.
 */
import { FEDERATION_WEIGHT_TOTAL, type Manifest } from "./types";

export interface RawProblem {
  field: string;
  rule: string;
  /** Point at this key of the map at `field` rather than at the value. */
  key?: string;
}

type Unchecked = Omit<Manifest, "source">;

function duplicates(values: string[], at: (i: number) => string, what: string): RawProblem[] {
  const first = new Map<string, number>();
  const out: RawProblem[] = [];
  values.forEach((v, i) => {
    const j = first.get(v);
    if (j === undefined) first.set(v, i);
    else out.push({ field: at(i), rule: `duplicate ${what} ${JSON.stringify(v)} (first at ${at(j)})` });
  });
  return out;
}

function federationProblems(m: Unchecked): RawProblem[] {
  const out: RawProblem[] = [];
  const feds = m.federations;
  out.push(
    ...duplicates(
      feds.map((f) => f.id),
      (i) => `/federations/${i}/id`,
      "federation id",
    ),
  );
  out.push(
    ...duplicates(
      feds.map((f) => f.origin),
      (i) => `/federations/${i}/origin`,
      "origin",
    ),
  );
  const nodes = feds.flatMap((f, i) => f.nodes.map((n, j) => ({ n, at: `/federations/${i}/nodes/${j}` })));
  out.push(
    ...duplicates(
      nodes.map((x) => x.n.id),
      (k) => `${nodes[k]!.at}/id`,
      "node id",
    ),
  );
  out.push(
    ...duplicates(
      nodes.map((x) => x.n.mldsa_key),
      (k) => `${nodes[k]!.at}/mldsa_key`,
      "key file",
    ),
  );
  out.push(
    ...duplicates(
      nodes.map((x) => x.n.evm_keystore),
      (k) => `${nodes[k]!.at}/evm_keystore`,
      "keystore",
    ),
  );
  feds.forEach((f, i) => {
    const sum = f.nodes.reduce((s, n) => s + n.weight, 0);
    if (sum !== FEDERATION_WEIGHT_TOTAL) {
      out.push({
        field: `/federations/${i}/nodes`,
        rule: `node weights of ${f.id} sum to ${sum}, must sum to ${FEDERATION_WEIGHT_TOTAL} basis points`,
      });
    }
  });
  return out;
}

function bridgeProblems(m: Unchecked): RawProblem[] {
  const ids = new Set(m.federations.map((f) => f.id));
  const out: RawProblem[] = [];
  m.bridges.forEach((b, i) => {
    for (const side of ["witness", "witnessed"] as const) {
      if (!ids.has(b[side]))
        out.push({ field: `/bridges/${i}/${side}`, rule: `unknown federation ${b[side]}` });
    }
    if (b.witness === b.witnessed) {
      out.push({ field: `/bridges/${i}/witnessed`, rule: "a federation cannot witness itself" });
    }
  });
  const keys = m.bridges.map((b) => `${b.witness} -> ${b.witnessed}`);
  out.push(...duplicates(keys, (i) => `/bridges/${i}`, "bridge"));
  return out;
}

function creditProblems(m: Unchecked): RawProblem[] {
  const sum = Object.values(m.credit.weights).reduce((s, w) => s + w, 0);
  return Math.abs(sum - 1) > 1e-9
    ? [{ field: "/credit/weights", rule: `credit weights sum to ${sum}, must sum to 1` }]
    : [];
}

/** All semantic problems of a schema-valid manifest. */
export function semanticProblems(m: Unchecked): RawProblem[] {
  return [...federationProblems(m), ...bridgeProblems(m), ...creditProblems(m)];
}
