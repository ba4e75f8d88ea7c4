/** `amp erase` (GDPR erasure of one event's payload) and `amp erasures` (the erasure log). */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { Archive, checkErasureRequest, eraseEvent, type ErasureRecord } from "../archive";
import { ARCHIVE_FILE } from "../chain/runner";
import { InvalidInputError } from "../util/errors";
import { eraseOnNodes, targetsOfFederation, type EraseTarget } from "../erasure/remote";
import { Inbox } from "../node/inbox";
import { loadManifestFederations } from "./context";
import { describeDataDir, manifestFor, nodesHolding, resolveDataDir, type DataDirLayout } from "./data-dir";
import { CannotCheckError, UsageError } from "./exit";

/** A node's inbox file (acknowledged events not anchored yet; src/node/node.ts). */
const INBOX_FILE = "inbox.sqlite";

function openArchive(data: string): Archive {
  const file = path.join(data, ARCHIVE_FILE);
  if (!fs.existsSync(file)) throw new InvalidInputError(`no archive at ${file}`);
  return Archive.open(file);
}

function defaultBy(): string {
  try {
    return os.userInfo().username;
  } catch {
    return "";
  }
}

const KEPT: Record<ErasureRecord["commitment"], string> = {
  salted: "the leaf keeps only a salted commitment, which no longer confirms any guessed payload",
  digest:
    "WARNING: this event was archived before salted commitments (archive v1); its leaf keeps the unsalted SHA-256 of the payload, which still confirms a guessed payload",
  none: "the event was ingested in digest form; no payload was stored",
};

interface EraseOpts {
  data?: string;
  nodes?: string;
  tokenFile?: string;
  reason: string;
  by?: string;
}

function nodeTargets(nodes: string, tokenFile: string | undefined): EraseTarget[] {
  if (!tokenFile) throw new UsageError("--nodes needs --token-file (the nodes' <data>/admin.token)");
  let token: string;
  try {
    token = fs.readFileSync(tokenFile, "utf8").trim();
  } catch (e) {
    throw new CannotCheckError(`cannot read --token-file ${tokenFile}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return nodes
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean)
    .map((url) => {
      if (!/^https?:\/\/[^\s/]+(\/.*)?$/.test(url))
        throw new UsageError(`--nodes: "${url}" is not an http(s) URL`);
      return { url, token };
    });
}

async function eraseRemote(
  targets: readonly EraseTarget[],
  request: { eventId: string; reason: string; by: string },
): Promise<void> {
  const outcomes = await eraseOnNodes(targets, request);
  let held = 0;
  for (const o of outcomes) {
    const who = o.label ? `${o.label} (${o.url})` : o.url;
    if (o.kind === "erased" || o.kind === "already") {
      const r = o.res.record;
      if (r.commitment !== "none") held++;
      const when = new Date(r.erasedAt).toISOString();
      console.log(
        o.kind === "erased"
          ? `${who}: erased at ${when}; ${KEPT[r.commitment]}`
          : `${who}: already erased at ${when} (nothing changed)`,
      );
    } else if (o.kind === "not-here") console.log(`${who}: not in this node's log (${o.message})`);
    else if (o.kind === "failed")
      console.error(`${who}: FAILED${o.status ? ` (HTTP ${o.status})` : ""}: ${o.message}`);
  }
  const failed = outcomes.filter((o) => o.kind === "failed");
  console.log(`${held} node(s) held the payload; ${failed.length} failed`);
  if (failed.some((o) => o.kind === "failed" && o.status === undefined)) process.exitCode = 3;
  else if (failed.length > 0) process.exitCode = 1;
}

/**
 * Erasure in a stopped node-layout data dir: in the archive of every node that holds the event,
 * each recorded in that node's own erasure log (and its inbox file scrubbed). Refused, changing
 * nothing, when no node holds it or a node holds it acknowledged but not anchored yet.
 */
function eraseInNodeDirs(
  layout: DataDirLayout & { kind: "nodes" },
  request: { eventId: string; reason: string; by: string },
): void {
  for (const n of layout.nodes) {
    const file = path.join(n.dir, INBOX_FILE);
    if (!fs.existsSync(file)) continue;
    const inbox = new Inbox(file);
    try {
      if (inbox.get(request.eventId)) {
        throw new InvalidInputError(
          `event ${request.eventId} is acknowledged by ${n.id}, not anchored yet: erase it once anchored (nothing was erased)`,
        );
      }
    } finally {
      inbox.close();
    }
  }
  const holders = nodesHolding(layout, request.eventId);
  if (holders.length === 0) {
    throw new InvalidInputError(
      `no event ${request.eventId} in any node's archive of the ${describeDataDir(layout)}`,
    );
  }
  let held = 0;
  for (const n of layout.nodes) {
    if (!holders.includes(n)) {
      console.log(`${n.id}: not in this node's log`);
      continue;
    }
    const archive = openArchive(n.dir);
    try {
      const { erased, record } = eraseEvent(archive, request);
      if (record.commitment !== "none") held++;
      const when = new Date(record.erasedAt).toISOString();
      console.log(
        erased
          ? `${n.id}: erased at ${when}; ${KEPT[record.commitment]}`
          : `${n.id}: already erased at ${when} (nothing changed)`,
      );
    } finally {
      archive.close();
    }
    const inboxFile = path.join(n.dir, INBOX_FILE);
    if (fs.existsSync(inboxFile)) {
      const inbox = new Inbox(inboxFile);
      try {
        inbox.scrub(); // payload bytes it held before anchoring leave its file and WAL
      } finally {
        inbox.close();
      }
    }
  }
  console.log(
    `${held} node(s) held the payload; ${holders.length} of ${layout.nodes.length} nodes hold the event`,
  );
}

export function addEraseCommand(program: Command): void {
  program
    .command("erase")
    .argument("<eventId>", "id of the archived event whose payload to erase")
    .description("erase an event's payload and commitment salt (GDPR); proofs stay valid; logged")
    .option("--data <dir>", "data dir holding the archive, or of a running `amp up` (every node over HTTP)")
    .option("--nodes <urls>", "comma-separated node URLs: erase over HTTP on each (POST /v1/erase)")
    .option("--token-file <file>", "with --nodes: the nodes' operator token (<node data>/admin.token)")
    .requiredOption("--reason <text>", "why (recorded in the erasure log), e.g. a request number")
    .option("--by <who>", "who asked for or performed it (default: the OS user name)")
    .addHelpText(
      "after",
      `
Deletes the payload and its secret salt from the archive file and its WAL. The event's leaf holds
only SHA-256(salt || payload), so its proofs still verify and nothing kept confirms a guessed
payload. Each erasure is appended to the erasure log (amp erasures). Erasing twice changes nothing.

On a running federation, --nodes (or --data of an \`amp up\`) sends the request to every node
(POST /v1/erase with its operator token); each node that holds the payload erases it and logs it,
the others log that they held none. Exit 1 if a node refused or failed, 3 if one is unreachable.

Examples:
  $ amp erase 3f2a9c1e-0000-4000-8000-000000000001 --data ./amp-data --reason "GDPR request 4711" --by dpo@example.org
  $ amp erase 3f2a9c1e-0000-4000-8000-000000000001 --data ./amp-local --reason "GDPR request 4711"
  $ amp erase 3f2a9c1e-0000-4000-8000-000000000001 --nodes http://127.0.0.1:7401,http://127.0.0.1:7402 --token-file ./n1/admin.token --reason "GDPR request 4711"
  $ amp erasures --data ./amp-data`,
    )
    .action(async (eventId: string, opts: EraseOpts) => {
      const request = { eventId, reason: opts.reason, by: opts.by ?? defaultBy() };
      try {
        checkErasureRequest(request);
      } catch (err) {
        if (err instanceof InvalidInputError) throw new UsageError(err.shortMessage, { cause: err });
        throw err;
      }
      if (opts.nodes && opts.data) throw new UsageError("give --data DIR or --nodes URL,..., not both");
      const targets = opts.nodes
        ? nodeTargets(opts.nodes, opts.tokenFile)
        : opts.data
          ? targetsOfFederation(opts.data)
          : undefined;
      if (targets) {
        await eraseRemote(targets, request);
        return;
      }
      if (!opts.data) throw new UsageError("give --data DIR or --nodes URL,...");
      const layout = resolveDataDir(opts.data, loadManifestFederations(manifestFor(opts.data, undefined)));
      if (layout.kind === "nodes") {
        eraseInNodeDirs(layout, request);
        return;
      }
      const archive = openArchive(opts.data);
      try {
        const { erased, record } = eraseEvent(archive, request);
        const when = new Date(record.erasedAt).toISOString();
        console.log(
          erased
            ? `erased the payload of ${eventId} at ${when}; ${KEPT[record.commitment]}`
            : `the payload of ${eventId} was already erased at ${when} (nothing changed)`,
        );
      } finally {
        archive.close();
      }
    });
}

export function addErasuresCommand(program: Command): void {
  program
    .command("erasures")
    .description("list the append-only erasure log: event id, when, by whom, commitment kind, reason")
    .requiredOption("--data <dir>", "data dir holding the archive")
    .addHelpText(
      "after",
      `
Examples:
  $ amp erasures --data ./amp-data`,
    )
    .action((opts: { data: string }) => {
      const layout = resolveDataDir(opts.data, loadManifestFederations(manifestFor(opts.data, undefined)));
      if (layout.kind === "nodes") {
        // One log per node: the node's id first.
        console.log("node\tevent_id\terased_at\tby\tcommitment\treason");
        for (const n of layout.nodes) {
          const archive = openArchive(n.dir);
          try {
            for (const r of archive.erasures()) {
              const when = new Date(r.erasedAt).toISOString();
              console.log(`${n.id}\t${r.eventId}\t${when}\t${r.by}\t${r.commitment}\t${r.reason}`);
            }
          } finally {
            archive.close();
          }
        }
        return;
      }
      const archive = openArchive(opts.data);
      try {
        console.log("event_id\terased_at\tby\tcommitment\treason");
        for (const r of archive.erasures()) {
          const when = new Date(r.erasedAt).toISOString();
          console.log(`${r.eventId}\t${when}\t${r.by}\t${r.commitment}\t${r.reason}`);
        }
      } finally {
        archive.close();
      }
    });
}
