/** The round table of the process demo: one aligned row per anchored round, evidence last. */
import { short } from "./output";

export interface ProcessRoundRow {
  round: string;
  globalRoot: string;
  txHash: string;
  gasUsed: string;
  /** Every federation's checkpoint anchored in the round (ascending federation id). */
  federations: { origin: string; added: string; treeSize: string; rootHash: string }[];
  /** `<node> <fault>` of the Byzantine evidence recorded in the round. */
  evidence: string[];
}

export const PROCESS_TABLE_LEGEND =
  "<federation> = +<events added>=<tree size> <checkpoint root>; global = the global root anchored on-chain; " +
  "tx = the anchor transaction; evidence = Byzantine votes the round's coordinators recorded";

/** The legend, a header and one row per round, columns padded to their widest cell. */
export function formatProcessRounds(rows: readonly ProcessRoundRow[]): string[] {
  const origins = [...new Set(rows.flatMap((r) => r.federations.map((f) => f.origin)))];
  const header = ["round", ...origins.map((o) => o.split("/").pop()!), "global", "tx", "gas", "evidence"];
  const cells = rows.map((r) => [
    r.round,
    ...origins.map((o) => {
      const f = r.federations.find((x) => x.origin === o);
      return f ? `+${f.added}=${f.treeSize} ${short(f.rootHash)}` : "-";
    }),
    short(r.globalRoot),
    short(r.txHash),
    r.gasUsed,
    r.evidence.length > 0 ? r.evidence.join(", ") : "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [
    `legend: ${PROCESS_TABLE_LEGEND}`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map(line),
  ];
}
