/**
 * `amp alerts list|show|ack|resolve --data DIR`: the proof-drift monitor's alerts (src/drift) in a
 * data dir, and the resolution workflow (open → acknowledged → resolved, who + note). Also the
 * demo's `--drift CAUSE` helper.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import {
  DRIFT_DB_FILE,
  DriftInjector,
  DriftStore,
  WebhookDispatcher,
  acknowledgeAlert,
  listAlerts,
  parseAlertCause,
  parseAlertId,
  parseAlertState,
  resolveAlert,
  showAlert,
  type AlertRow,
  type AlertCause,
  type AlertState,
  type StoredFinding,
} from "../drift";
import { DEFAULT_MANIFEST_PATH, loadManifest } from "../manifest";
import { AmpError, InvalidInputError } from "../util/errors";
import { CannotCheckError, UsageError } from "./exit";

const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x), 2);

function openStore(dataDir: string): DriftStore {
  const file = path.join(dataDir, DRIFT_DB_FILE);
  if (!fs.existsSync(file)) {
    throw new CannotCheckError(
      `no drift monitor data at ${file}: run "amp run" or "amp demo --data ${dataDir}" first`,
    );
  }
  return new DriftStore(file);
}

/** Usage problems (a bad id, state, empty note) exit 2, as flags do. */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof InvalidInputError) throw new UsageError(e.shortMessage, { cause: e });
    throw e;
  }
}

function score(a: { driftScore: number | null }): string {
  return a.driftScore === null ? "-" : a.driftScore.toFixed(2);
}

export function formatAlert(a: AlertRow): string[] {
  const rounds = a.firstRound === a.lastRound ? `${a.firstRound}` : `${a.firstRound}-${a.lastRound}`;
  return [
    `#${a.id} ${a.state} ${a.severity} ${a.cause}  ${a.federation}  ${a.node} <-> ${a.majorityNode}  ` +
      `score ${score(a)}  round ${rounds} (${a.occurrences}x)`,
    ...a.actions.map((x, i) => `    ${i + 1}. ${x}`),
  ];
}

function formatFinding(f: StoredFinding): string {
  return (
    `  round ${f.round}: ${f.kind} ${f.cause} ${f.node} <-> ${f.majorityNode} score ${score(f)} ` +
    `(${f.divergentLeaves}/${f.batchLeaves} leaves) ${f.severity}, detected in ${f.latencyMs.toFixed(1)} ms`
  );
}

/** Try to deliver queued webhooks once (the node's dispatcher retries what fails). */
async function deliverOnce(store: DriftStore): Promise<void> {
  await new WebhookDispatcher(store, { timeoutMs: 3000 }).deliverDue();
}

function webhooksOf(manifest: string | undefined): string[] {
  if (manifest !== undefined && !fs.existsSync(manifest))
    throw new UsageError(`no such manifest: ${manifest}`);
  return loadManifest(manifest ?? DEFAULT_MANIFEST_PATH).drift.webhooks;
}

const example = (cmd: string): string => `
Examples:
  $ ${cmd}`;

interface Common {
  data: string;
  json?: boolean;
}

export function addAlertsCommand(program: Command): void {
  const alerts = program
    .command("alerts")
    .description("proof-drift alerts of a data dir: list, show, acknowledge, resolve")
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
  $ amp alerts resolve 1 --data ./demo-data --by alice --note "library pinned to RFC 8785"`,
    );
  alerts
    .command("list")
    .description("list alerts with cause, node pair, score, severity and recommended actions")
    .requiredOption("--data <dir>", "data dir")
    .option("--state <state>", "only alerts in this state (open|acknowledged|resolved|auto-resolved)")
    .option("--federation <origin>", "only this federation")
    .option("--node <id>", "only this node")
    .option("--json", "print JSON")
    .addHelpText("after", example("amp alerts list --data ./demo-data --state open"))
    .action((o: Common & { state?: string; federation?: string; node?: string }) => {
      const filter: { state?: AlertState; federation?: string; node?: string } = {
        ...(o.state !== undefined ? { state: usage(() => parseAlertState(o.state!)) } : {}),
        ...(o.federation !== undefined ? { federation: o.federation } : {}),
        ...(o.node !== undefined ? { node: o.node } : {}),
      };
      const store = openStore(o.data);
      try {
        const rows = listAlerts(store, filter);
        if (o.json) console.log(json(rows));
        else if (rows.length === 0) console.log("no alerts");
        else for (const a of rows) console.log(formatAlert(a).join("\n"));
      } finally {
        store.close();
      }
    });
  alerts
    .command("show <id>")
    .description("one alert with its history (who, when, note) and findings")
    .requiredOption("--data <dir>", "data dir")
    .option("--json", "print JSON")
    .addHelpText("after", example("amp alerts show 1 --data ./demo-data --json"))
    .action((idText: string, o: Common) => {
      const id = usage(() => parseAlertId(idText));
      const store = openStore(o.data);
      try {
        const d = showAlert(store, id);
        if (o.json) return console.log(json(d));
        console.log(formatAlert(d.alert).join("\n"));
        console.log("history:");
        for (const h of d.history)
          console.log(`  ${h.at} ${h.from ?? "-"} -> ${h.to} by ${h.actor}: ${h.note}`);
        console.log("findings:");
        for (const f of d.findings) console.log(formatFinding(f));
      } finally {
        store.close();
      }
    });
  for (const [name, to] of [
    ["ack", "acknowledged"],
    ["resolve", "resolved"],
  ] as const) {
    const cmd = alerts
      .command(`${name} <id>`)
      .description(to === "resolved" ? "resolve an alert (review note required)" : "acknowledge an alert")
      .requiredOption("--data <dir>", "data dir")
      .requiredOption("--by <who>", "who makes the change")
      .option("--manifest <file>", "manifest whose drift.webhooks are notified (default: the shipped one)")
      .option("--json", "print JSON")
      .addHelpText(
        "after",
        example(`amp alerts ${name} 1 --data ./demo-data --by alice --note "checked the canonicaliser"`),
      );
    if (to === "resolved") cmd.requiredOption("--note <text>", "review note (required)");
    else cmd.option("--note <text>", "note", "");
    cmd.action(async (idText: string, o: Common & { by: string; note: string; manifest?: string }) => {
      const id = usage(() => parseAlertId(idText));
      const hooks = webhooksOf(o.manifest);
      const store = openStore(o.data);
      try {
        const change = to === "resolved" ? resolveAlert : acknowledgeAlert;
        const a = usage(() => change(store, id, o.by, o.note, hooks));
        if (hooks.length > 0) await deliverOnce(store);
        if (o.json) console.log(json(a));
        else console.log(`alert #${a.id} is ${a.state} (by ${o.by})`);
      } finally {
        store.close();
      }
    });
  }
}

/** Rounds of the demo in which the drifting node drifts. */
export const DEMO_DRIFT_ROUNDS = [2n, 3n, 4n];
export const DEMO_DRIFT_NODE = "ssid-apac-1";
const DEMO_DRIFT_FRACTION = 0.2;

/** `amp demo --drift CAUSE`: one ssid node drifts that way in rounds 2-4. */
export function demoDriftInjector(cause: string, say: (l: string) => void): DriftInjector {
  let c: AlertCause;
  try {
    c = parseAlertCause(cause);
  } catch (e) {
    throw new UsageError(`--drift: ${(e as AmpError).shortMessage}`);
  }
  say(
    `drift: ${DEMO_DRIFT_NODE} drifts (${c}${c === "clock_skew" ? ", clock +2 s" : `, ${DEMO_DRIFT_FRACTION * 100} % of each batch`}) ` +
      `in rounds ${DEMO_DRIFT_ROUNDS.join(", ")}; no Byzantine rounds`,
  );
  return new DriftInjector([
    { nodeId: DEMO_DRIFT_NODE, cause: c, fraction: DEMO_DRIFT_FRACTION, rounds: DEMO_DRIFT_ROUNDS },
  ]);
}

/** One line after the demo's rounds: what the monitor raised. */
export function demoDriftSummary(store: DriftStore, dataDir: string | undefined): string {
  const alerts = store.alerts();
  const obs = store.findings().filter((f) => f.kind === "observation").length;
  const list = alerts.map((a) => `#${a.id} ${a.cause} ${a.node} score ${score(a)} ${a.state}`).join("; ");
  const hint = dataDir !== undefined ? ` (amp alerts list --data ${dataDir})` : "";
  return `drift monitor: ${alerts.length} alert(s)${alerts.length ? `: ${list}` : ""}, ${obs} observation(s)${hint}`;
}
