/**
 * `amp alerts list|show|ack|resolve --data DIR | --node URL`: the proof-drift monitor's alerts
 * (src/drift) of a data dir, a local federation's data dir or a running node, and the resolution
 * workflow (open → acknowledged → resolved, who + note). Also the demo's `--drift CAUSE` helper.
 */
import fs from "node:fs";
import type { Command } from "commander";
import { parseAlertState, type AlertState } from "../drift";
import { DEFAULT_MANIFEST_PATH, loadManifest } from "../manifest";
import { alertsSource, usage, type AlertLike, type AlertsSource, type FindingLike } from "./alerts-source";
import { UsageError } from "./exit";

const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x), 2);

function score(a: { driftScore: number | null }): string {
  return a.driftScore === null ? "-" : a.driftScore.toFixed(2);
}

export function formatAlert(a: AlertLike): string[] {
  const rounds =
    String(a.firstRound) === String(a.lastRound) ? `${a.firstRound}` : `${a.firstRound}-${a.lastRound}`;
  return [
    `#${a.id} ${a.state} ${a.severity} ${a.cause}  ${a.federation}  ${a.node} <-> ${a.majorityNode}  ` +
      `score ${score(a)}  round ${rounds} (${a.occurrences}x)` +
      (a.observedBy !== undefined ? `  [observed by ${a.observedBy}]` : ""),
    ...a.actions.map((x, i) => `    ${i + 1}. ${x}`),
  ];
}

function formatFinding(f: FindingLike): string {
  return (
    `  round ${f.round}: ${f.kind} ${f.cause} ${f.node} <-> ${f.majorityNode} score ${score(f)} ` +
    `(${f.divergentLeaves}/${f.batchLeaves} leaves) ${f.severity}, detected in ${f.latencyMs.toFixed(1)} ms`
  );
}

function webhooksOf(manifest: string | undefined): () => string[] {
  return () => {
    if (manifest !== undefined && !fs.existsSync(manifest))
      throw new UsageError(`no such manifest: ${manifest}`);
    return loadManifest(manifest ?? DEFAULT_MANIFEST_PATH).drift.webhooks;
  };
}

const example = (cmd: string): string => `
Examples:
  $ ${cmd}`;

interface Common {
  data?: string;
  node?: string;
  tokenFile?: string;
  json?: boolean;
}

/** `--data DIR` or `--node URL [--token-file FILE]` (see src/cli/alerts-source.ts). */
function where(cmd: Command): Command {
  return cmd
    .option("--data <dir>", "data dir: a node's, the demo's, or a local federation's (amp up)")
    .option("--node <url>", "a running node's HTTP API instead of a data dir")
    .option("--token-file <file>", "operator token for --node (default: <--data node dir>/admin.token)");
}

async function withSource<T>(
  o: Common,
  webhooks: () => readonly string[],
  f: (s: AlertsSource) => Promise<T>,
): Promise<T> {
  const src = alertsSource({
    ...(o.data !== undefined ? { data: o.data } : {}),
    ...(o.node !== undefined ? { node: o.node } : {}),
    ...(o.tokenFile !== undefined ? { tokenFile: o.tokenFile } : {}),
    webhooks,
  });
  try {
    return await f(src);
  } finally {
    src.close();
  }
}

export function addAlertsCommand(program: Command): void {
  const alerts = program
    .command("alerts")
    .description("proof-drift alerts of a data dir or a running node: list, show, acknowledge, resolve")
    .addHelpText(
      "after",
      `
Alerts come from the drift monitor (nodes whose checkpoint diverged before finality, or whose
clock is skewed). Workflow: open -> acknowledged -> resolved (a review note is required);
the monitor marks an alert auto-resolved after N rounds without recurrence.

Examples:
  $ amp demo --drift serialization_divergence --data ./demo-data
  $ amp alerts list --data ./demo-data
  $ amp alerts ack 1 --data ./demo-data --by alice --note "checking the canonicaliser"
  $ amp alerts resolve 1 --data ./demo-data --by alice --note "library pinned to RFC 8785"
  $ amp alerts list --data ./amp-local                 # amp up: every node's alerts, ids <node>/<n>
  $ amp alerts list --node http://127.0.0.1:8080
  $ amp alerts ack 1 --node http://127.0.0.1:8080 --data ./amp-local/nodes/ssid-eu-1 --by alice`,
    );
  where(
    alerts
      .command("list")
      .description("list alerts with cause, node pair, score, severity and recommended actions"),
  )
    .option("--state <state>", "only alerts in this state (open|acknowledged|resolved|auto-resolved)")
    .option("--federation <origin>", "only this federation")
    .option("--node-id <id>", "only alerts about this node")
    .option("--json", "print JSON")
    .addHelpText("after", example("amp alerts list --data ./demo-data --state open"))
    .action(async (o: Common & { state?: string; federation?: string; nodeId?: string }) => {
      const filter: { state?: AlertState; federation?: string; node?: string } = {
        ...(o.state !== undefined ? { state: usage(() => parseAlertState(o.state!)) } : {}),
        ...(o.federation !== undefined ? { federation: o.federation } : {}),
        ...(o.nodeId !== undefined ? { node: o.nodeId } : {}),
      };
      await withSource(o, noHooks, async (src) => {
        const rows = await src.list(filter);
        if (o.json) console.log(json(rows));
        else if (rows.length === 0) console.log("no alerts");
        else for (const a of rows) console.log(formatAlert(a).join("\n"));
      });
    });
  where(alerts.command("show <id>").description("one alert with its history (who, when, note) and findings"))
    .option("--json", "print JSON")
    .addHelpText("after", example("amp alerts show 1 --data ./demo-data --json"))
    .action(async (id: string, o: Common) => {
      await withSource(o, noHooks, async (src) => {
        const d = await src.show(id);
        if (o.json) return console.log(json(d));
        console.log(formatAlert(d.alert).join("\n"));
        console.log("history:");
        for (const h of d.history)
          console.log(`  ${h.at} ${h.from ?? "-"} -> ${h.to} by ${h.actor}: ${h.note}`);
        console.log("findings:");
        for (const f of d.findings) console.log(formatFinding(f));
      });
    });
  for (const [name, to] of [
    ["ack", "acknowledged"],
    ["resolve", "resolved"],
  ] as const) {
    const cmd = where(
      alerts
        .command(`${name} <id>`)
        .description(to === "resolved" ? "resolve an alert (review note required)" : "acknowledge an alert"),
    )
      .requiredOption("--by <who>", "who makes the change")
      .option("--manifest <file>", "manifest whose drift.webhooks are notified (default: the shipped one)")
      .option("--json", "print JSON")
      .addHelpText(
        "after",
        example(`amp alerts ${name} 1 --data ./demo-data --by alice --note "checked the canonicaliser"`) +
          `\n  $ amp alerts ${name} 1 --node http://127.0.0.1:8080 --token-file ./n1/admin.token --by alice --note "..."`,
      );
    if (to === "resolved") cmd.requiredOption("--note <text>", "review note (required)");
    else cmd.option("--note <text>", "note", "");
    cmd.action(async (id: string, o: Common & { by: string; note: string; manifest?: string }) => {
      await withSource(o, webhooksOf(o.manifest), async (src) => {
        const a = await src.change(id, to, o.by, o.note);
        if (o.json) console.log(json(a));
        else console.log(`alert #${a.id} is ${a.state} (by ${o.by})`);
      });
    });
  }
}

const noHooks = (): string[] => [];

/** The node the demo's `--drift CAUSE` makes drift (src/cli/demo.ts). */
export const DEMO_DRIFT_NODE = "ssid-apac-1";
