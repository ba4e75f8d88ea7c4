/**
 * Micro-measure of the per-event ingest path owned by src/events + src/merkle:
 * validate (Ajv) + canonicalise (RFC 8785) + leaf hash (RFC 9162). Reports events/s of wall time
 * and of process CPU time (the machine is shared, so CPU time is the steadier figure).
 * Run: npx ts-node --transpile-only scripts/bench/event-path.ts
 */
import { canonicalBytes, parseAndPrepareEvent, prepareEvent, validateEvent } from "../../src/events";
import { leafHash } from "../../src/merkle";

const N = 200_000;
const events = Array.from({ length: 1000 }, (_, i) => ({
  schema_version: "1.0",
  event_id: `3b241101-e2bb-4255-8caf-${i.toString(16).padStart(12, "0")}`,
  event_type: "identity.credential_issued",
  source_module: "ssid-wallet",
  timestamp: "2026-11-25T20:10:00.123Z",
  federation_context: { federation_id: "ssid", node_id: "ssid-eu-1", region: "EU" },
  payload: { subject: `did:example:${i}`, credential_type: "KYC", level: i % 5, tags: ["a", "b"], ok: true },
}));
const texts = events.map((e) => JSON.stringify(e));
const canon = events.map((e) => canonicalBytes(e));

function measure(name: string, fn: (i: number) => unknown): Record<string, number | string> {
  for (let i = 0; i < 20_000; i++) fn(i % 1000);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn(i % 1000);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  return { step: name, wallEventsPerSec: Math.round(N / wall), cpuEventsPerSec: Math.round(N / cpuSec) };
}

const results = [
  measure("validate (Ajv + limits + JCS for size)", (i) => validateEvent(events[i])),
  measure("canonicalBytes", (i) => canonicalBytes(events[i])),
  measure("leafHash of canonical bytes", (i) => leafHash(canon[i]!)),
  measure("prepareEvent: validate + JCS + leaf", (i) => prepareEvent(events[i])),
  measure("parseAndPrepareEvent: JSON.parse + the above", (i) => parseAndPrepareEvent(texts[i]!)),
];
console.log(JSON.stringify({ node: process.version, eventBytes: canon[0]!.length, results }, null, 2));
