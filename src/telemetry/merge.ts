/**
 * Several nodes' Prometheus text expositions as ONE (the demo's `--metrics-listen`: one scrape
 * target for the nodes of a local federation). Every node labels its series with `federation` and
 * `node`, so the samples never collide; what must not repeat is a family's `# HELP` / `# TYPE`
 * header. Families keep their first-seen order; a family's samples follow the input order.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const text of texts) {
    let current: { head: string[]; samples: string[] } | undefined;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const meta = /^# (HELP|TYPE) ([A-Za-z_:][A-Za-z0-9_:]*)(?: |$)/.exec(line);
      if (meta) {
        const name = meta[2]!;
        let f = families.get(name);
        if (!f) {
          f = { head: [], samples: [] };
          families.set(name, f);
        }
        if (!f.head.some((h) => h.startsWith(`# ${meta[1]!} `) || h === `# ${meta[1]!}`)) f.head.push(line);
        current = f;
        continue;
      }
      if (line.startsWith("#")) continue; // other comments
      if (!current) {
        // A sample before any header: its own family, named by the sample.
        const name = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0] ?? line;
        current = families.get(name) ?? { head: [], samples: [] };
        families.set(name, current);
      }
      current.samples.push(line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) out.push(...f.head, ...f.samples);
  return out.length === 0 ? "" : out.join("\n") + "\n";
}
