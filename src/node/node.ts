/**
 * FederationNode: one node of one federation, holding ONLY its own keys. It composes the rooms
 * that already exist — its SQLite archive (anchored events, log, checkpoints), an inbox of
 * acknowledged events, a ValidatorNode (votes), a Witness (cosigns the other federations'
 * checkpoints) — and catches its archive up to the chain, checking fetched entries against the
 * anchored root BEFORE appending. The HTTP layer (http.ts) and the round driver call these methods;
 * in-process tests call them directly: both run the same code.
 */
import fs from "node:fs";
import path from "node:path";
import { Archive, SqliteLogStore, appendRound } from "../archive";
import { AnchoredRounds, type AnchoredRound } from "../chain/anchored-rounds";
import { buildProofFile } from "../proof/build";
import type { ProofFile } from "../proof/format";
import { federationEventEncoder, type EncodedEvent } from "../batching/encode";
import { sameEvent } from "../batching/store-events";
import type { NodeKeys } from "../crypto/keys";
import { inlineMlDsa, type MlDsaBackend } from "../crypto/mldsa";
import { formatSignedNote, parseSignedNote, type NoteSignature } from "../crypto/note";
import { asStorageWriteError } from "../util/storage";
import { appendLineDurable } from "../consensus/atomic-file";
import type { FaultInjector } from "../consensus/fault-injector";
import type { AnchorDomain, DriftHook } from "../consensus/types";
import { ValidatorNode } from "../consensus/validator-node";
import { FederationLog, type AppendPlan } from "../log";
import { leafHash } from "../merkle";
import { Witness, WitnessError } from "../nexus/witness";
import { HttpTransport } from "../transport/http-transport";
import { PeerClient } from "../transport/client";
import { decodeEntries } from "../transport/wire";
import { parseIJson } from "../events/ijson";
import { AmpError, InvalidInputError, oneLine } from "../util/errors";
import { createLogger, type Logger } from "../util/log";
import { decodeRecord, sameProofMaterial, withRosterKeys } from "./anchored-record";
import { Inbox, type InboxEvent } from "./inbox";
import { RecordRefusedError } from "./record-check";
import type { Roster, RosterFederation } from "./roster";
import { RoundTimings } from "./timings";

/** What a node reads from the anchor contract (the chain is the source of truth). */
export interface AnchorView {
  nextRound(): Promise<bigint>;
  /** The global root anchored for `round` (0x hex); undefined when the round is not anchored. */
  globalRootOf(round: bigint): Promise<string | undefined>;
  /** A federation's checkpoint anchored in `round`; undefined when there is none. */
  checkpointOf(
    round: bigint,
    origin: string,
  ): Promise<{ treeSize: bigint; rootHash: Uint8Array } | undefined>;
  /**
   * Every federation's current validator set in the registry: epoch and weight by lowercase
   * address. Optional: without it the node keeps the epoch and weights it started with.
   */
  currentSets?(): Promise<ReadonlyMap<string, ValidatorSet>>;
  /**
   * Refuse (RecordRefusedError, ./record-check.ts) a record whose proofs would not verify against
   * what the node pins (its chain, anchor, registry; the note keys are its roster's).
   */
  checkRecord(r: AnchoredRound): Promise<void>;
}

/** A federation's current set as the registry holds it. */
export interface ValidatorSet {
  readonly epoch: bigint;
  /** Lowercase address → weight. */
  readonly weights: ReadonlyMap<string, bigint>;
}

/** How often a node re-reads the registry's current sets (and at once after a failed round). */
const SET_SYNC_MS = 1000;

export interface FederationNodeConfig {
  readonly roster: Roster;
  /** This node's keys: the only private keys the process holds. */
  readonly keys: NodeKeys;
  readonly dataDir: string;
  readonly domain: AnchorDomain;
  readonly chain: AnchorView;
  readonly inboxCapacity?: number;
  readonly mldsa?: MlDsaBackend;
  readonly client?: PeerClient;
  readonly logger?: Logger;
  /** TEST/DEMO ONLY (`amp node --fault`): make this node's validator Byzantine in chosen rounds. */
  readonly faults?: FaultInjector;
  /** Makes this node's votes drift (`amp node --drift`, tests only; src/drift). */
  readonly drift?: DriftHook;
}

export interface Acknowledgement {
  /** 1-based line of the NDJSON body. */
  readonly line: number;
  readonly eventId: string;
  readonly leafHash: string;
  /** queued: new in this node's inbox; duplicate: already pending here; anchored: already in the log. */
  readonly status: "queued" | "duplicate" | "anchored";
}

/** A C2SP tlog-witness refusal: 409 carries the size the witness holds. */
export class WitnessConflictError extends AmpError {
  override name = "WitnessConflictError";
  constructor(readonly lastSize: bigint) {
    super(`old size does not match the last cosigned size ${lastSize}`, { kind: "conflict" });
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
/**
 * How long a node waits before asking its peers again for a record none of them had (or served
 * one that passed the check): doubled per failed try of that round, up to RECORD_RETRY_MAX_MS.
 */
const RECORD_RETRY_MS = 2000;
const RECORD_RETRY_MAX_MS = 16_000;
/**
 * How long a node waits for the relay's announcement of a newly anchored round before asking its
 * peers for the record (asking at once cost ~27 requests and ~100 KB a round, mostly 404s).
 */
const RECORD_GRACE_MS = 1500;

export class FederationNode {
  readonly id: string;
  readonly federation: RosterFederation;
  readonly archive: Archive;
  readonly archiveLog: FederationLog;
  readonly inbox: Inbox;
  readonly anchors: AnchoredRounds;
  readonly witness: Witness;
  readonly transport: HttpTransport;
  readonly logger: Logger;
  /** Round stage timings this node measured (GET /v1/stats; the federation benchmark). */
  readonly timings = new RoundTimings();
  private validatorNode: ValidatorNode;
  private catchingUp: Promise<void> | undefined;
  private chainNext = 1n;
  /** The last round whose checkpoint is archived (cached: status is polled often). */
  private lastRound: bigint;
  /**
   * Anchored rounds without a record here: when to ask the peers again (ms) and the wait after
   * the next failed try (see RECORD_RETRY_MS).
   */
  private readonly missingRecords = new Map<bigint, { notBefore: number; retryMs: number }>();
  /**
   * Evidence lines this process recorded (kind, node, round, detail): a peer that serves the same
   * forgery at every retry is recorded once, not once per retry. Bounded (cleared when full).
   */
  private readonly evidenceSeen = new Set<string>();
  /** The highest anchored round already put in missingRecords or held (undefined before the first look). */
  private recordsSeen: bigint | undefined;
  /** The registry epoch this node follows per origin, and when it last looked (ms). */
  private readonly followedEpochs = new Map<string, bigint>();
  private setsReadAt = 0;

  constructor(readonly cfg: FederationNodeConfig) {
    this.id = cfg.keys.nodeId;
    const me = cfg.roster.node(this.id);
    if (me.member.address.toLowerCase() !== cfg.keys.wallet.address.toLowerCase()) {
      throw new InvalidInputError(`the keys given are not ${this.id}'s registered keys`);
    }
    this.federation = cfg.roster.federationOf(this.id);
    this.logger = cfg.logger ?? createLogger(`node:${this.id}`);
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    this.archive = Archive.open(path.join(cfg.dataDir, "archive.sqlite"));
    this.archiveLog = new FederationLog(this.origin, new SqliteLogStore(this.archive, this.name));
    this.inbox = new Inbox(path.join(cfg.dataDir, "inbox.sqlite"), cfg.inboxCapacity);
    this.dropArchivedFromInbox();
    this.anchors = AnchoredRounds.open(cfg.dataDir);
    const cps = this.archive.checkpoints(this.name);
    this.lastRound = cps.length === 0 ? 0n : cps[cps.length - 1]!.round;
    this.transport = new HttpTransport({
      nodeId: this.id,
      wallet: cfg.keys.wallet,
      urls: cfg.roster.urls(),
      ...(cfg.client ? { client: cfg.client } : {}),
    });
    this.validatorNode = this.makeValidator();
    this.witness = new Witness({
      witnessOrigin: this.origin,
      keys: cfg.keys,
      watched: cfg.roster.federations.filter((f) => f !== this.federation).map((f) => f.config),
      dataDir: path.join(cfg.dataDir, "witness"),
    });
  }

  /**
   * A round is stored in the archive, then its events leave the inbox: two files, not one
   * transaction. A kill between the two left archived events pending for good (found by the kill
   * campaign: `pendingEvents` never reached 0). On start they are dropped from the inbox.
   */
  /** Archived events a failed inbox write left pending (see store()); dropped at the next pull. */
  private inboxStale = false;

  private dropArchivedFromInbox(): void {
    const stale = this.inbox.ids().filter((id) => this.archive.getEvent(id) !== undefined);
    if (stale.length === 0) return;
    this.inbox.remove(stale);
    this.logger.warn("inbox: dropped events a round already archived (killed before it cleared them)", {
      events: stale.length,
    });
  }

  get name(): string {
    return this.federation.name;
  }

  get origin(): string {
    return this.federation.config.origin;
  }

  get validator(): ValidatorNode {
    return this.validatorNode;
  }

  /** A validator whose log copy is the archived (anchored) log; its signed state is on disk. */
  private makeValidator(): ValidatorNode {
    const log = new FederationLog(this.origin);
    const size = this.archiveLog.size;
    if (size > 0n) log.append(this.archive.leafHashes(this.name, 0n, size));
    const v = new ValidatorNode({
      origin: this.origin,
      keys: this.cfg.keys,
      dataDir: path.join(this.cfg.dataDir, "validator"),
      domain: this.cfg.domain,
      log,
      ...(this.cfg.mldsa ? { mldsa: this.cfg.mldsa } : {}),
      ...(this.cfg.faults ? { faults: this.cfg.faults } : {}),
      ...(this.cfg.drift ? { drift: this.cfg.drift } : {}),
      // Its own archive (each round checked against the chain before it is stored), never a peer's.
      anchored: () =>
        this.lastRound > 0n
          ? { round: this.lastRound, treeSize: this.archiveLog.size, rootHash: this.archiveLog.root() }
          : undefined,
      onSuperseded: (s) =>
        this.logger.warn(
          `own vote of round ${s.signedRound} superseded by anchored round ${s.anchoredRound}`,
          {
            round: s.round,
          },
        ),
    });
    v.attach(this.transport);
    return v;
  }

  close(): void {
    this.anchors.close();
    this.inbox.close();
    this.archive.close();
  }

  // --- sender -------------------------------------------------------------------------------------

  /**
   * Validate every NDJSON line, then store all new events durably in one transaction (all or
   * nothing) and acknowledge each with its id and leaf hash. A bad line throws InvalidInputError
   * naming the line (1-based) and the problem; nothing is stored then.
   */
  submit(ndjson: string): Acknowledgement[] {
    const encode = federationEventEncoder();
    const lines = ndjson.split("\n");
    const parsed: { line: number; e: EncodedEvent }[] = [];
    lines.forEach((text, i) => {
      if (text.trim() === "") return;
      const line = i + 1;
      let raw: unknown;
      try {
        raw = parseIJson(text, { line }); // refuses what I-JSON (RFC 7493) excludes, naming line:column
      } catch (e) {
        if (text.charCodeAt(0) === 0xfeff || isJson(text)) throw e;
        throw new InvalidInputError(`line ${line}: not JSON`, { meta: { line } });
      }
      let e: EncodedEvent;
      try {
        e = encode(raw);
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        throw new InvalidInputError(`line ${line}: ${err.shortMessage}`, {
          meta: { ...err.meta, line },
          cause: err,
        });
      }
      if (e.federation !== this.name) {
        throw new InvalidInputError(
          `line ${line}: field federation_context.federation_id: "${e.federation}" is not this node's federation "${this.name}"`,
          { meta: { line, field: "federation_context.federation_id" } },
        );
      }
      parsed.push({ line, e });
    });
    if (parsed.length === 0) throw new InvalidInputError("no events in the body");
    this.refuseConflicts(parsed);
    const anchored = parsed.map(({ e }) => this.archive.getEvent(e.eventId));
    const fresh = parsed.filter((_, i) => anchored[i] === undefined).map((p) => p.e);
    const added = this.inbox.add(fresh);
    let k = 0;
    return parsed.map(({ line, e }, i) => {
      const status = anchored[i] ? "anchored" : added[k++] ? "queued" : "duplicate";
      return { line, eventId: e.eventId, leafHash: hex(e.leafHash), status };
    });
  }

  /**
   * An event id seen before (earlier in the body, pending in the inbox, or anchored) with other
   * content is refused (400 naming the line), never acknowledged as a "duplicate" of the first.
   */
  private refuseConflicts(parsed: readonly { line: number; e: EncodedEvent }[]): void {
    const first = new Map<string, { line: number; e: EncodedEvent }>();
    const conflict = (line: number, id: string, where: string) =>
      new InvalidInputError(
        `line ${line}: field event_id: event id ${id} is already ${where} with different content`,
        {
          meta: { line, field: "event_id", eventId: id },
        },
      );
    for (const p of parsed) {
      const id = p.e.eventId;
      const seen = first.get(id);
      if (seen) {
        const prior = { ...seen.e, seq: 0n, payload: seen.e.payload, salt: seen.e.salt, erased: false };
        if (!sameEvent(prior, p.e)) throw conflict(p.line, id, `on line ${seen.line}`);
        continue;
      }
      first.set(id, p);
      const stored = this.archive.getEvent(id);
      if (stored && !stored.erased && !sameEvent(stored, p.e)) throw conflict(p.line, id, "anchored");
      const pending = stored ? undefined : this.inbox.get(id);
      if (pending && !sameEvent({ ...pending, seq: 0n, erased: false }, p.e))
        throw conflict(p.line, id, "acknowledged");
    }
  }

  pending(limit: number): InboxEvent[] {
    if (this.inboxStale) {
      this.dropArchivedFromInbox(); // throws while the inbox still cannot be written
      this.inboxStale = false;
    }
    return this.inbox.oldest(limit);
  }

  // --- archive ------------------------------------------------------------------------------------

  /** Entries [from, from+count) of round `round`'s batch: held for voting, or from the archive. */
  batchEntries(origin: string, round: bigint, from: number, count: number): Uint8Array[] {
    const held = this.validatorNode.entries(origin, round, from, count);
    if (held.length > 0 || origin !== this.origin) return held;
    const range = this.roundRange(round);
    if (!range) return [];
    const start = range.start + BigInt(from);
    const end = minBig(start + BigInt(count), range.end);
    return start < end ? this.archive.eventsInRange(this.name, start, end).map((e) => e.canonical) : [];
  }

  /** Archived (anchored) entries [from, to) of this node's federation log. */
  logEntries(from: bigint, to: bigint): Uint8Array[] {
    return this.archive
      .eventsInRange(this.name, from, minBig(to, this.archiveLog.size))
      .map((e) => e.canonical);
  }

  private roundRange(round: bigint): { start: bigint; end: bigint } | undefined {
    const cps = this.archive.checkpoints(this.name);
    const i = cps.findIndex((c) => c.round === round);
    if (i < 0) return undefined;
    return { start: i === 0 ? 0n : cps[i - 1]!.size, end: cps[i]!.size };
  }

  /** The last round whose checkpoint this node archived (0 before any). */
  lastAnchoredRound(): bigint {
    return this.lastRound;
  }

  /** The chain's next round as read by the last catch-up (1 before any). */
  get chainNextRound(): bigint {
    return this.chainNext;
  }

  /**
   * Bring the archive to every round the chain anchored (one catch-up at a time). Entries come
   * from this node's validator batch or from peers; each round's entries are checked against the
   * anchored root BEFORE anything is appended. A peer serving wrong entries is recorded as
   * evidence and the next peer is asked.
   */
  catchUp(): Promise<void> {
    this.catchingUp ??= this.catchUpOnce().finally(() => (this.catchingUp = undefined));
    return this.catchingUp;
  }

  /** Re-read the registry's sets at the next catch-up (after a failed round or witness refusal). */
  refreshSets(): void {
    this.setsReadAt = 0;
  }

  /**
   * Follow validator-set rotations (adaptive weights, src/credits/rotation.ts): at most every
   * SET_SYNC_MS, read each federation's current epoch and weights from the registry and apply a
   * change to the roster (the epoch the coordinator asks votes for, the weights of every quorum
   * check) and to the witness. A round signed under the old epoch fails at the anchor
   * (AnchorEpochNotCurrent) and is re-run under the new one: validators re-sign the same
   * checkpoint for the newer epoch (ValidatorNode).
   */
  async syncSets(): Promise<void> {
    const chain = this.cfg.chain;
    if (!chain.currentSets || Date.now() - this.setsReadAt < SET_SYNC_MS) return;
    this.setsReadAt = Date.now();
    const sets = await chain.currentSets();
    for (const fed of this.cfg.roster.federations) {
      const origin = fed.config.origin;
      const set = sets.get(origin);
      if (!set || this.followedEpochs.get(origin) === set.epoch) continue;
      const changed = this.cfg.roster.applySet(origin, set.epoch, set.weights);
      if (fed !== this.federation) this.witness.watch(fed.config);
      if (changed || this.followedEpochs.has(origin)) {
        this.logger.info("validator set followed", {
          origin,
          epoch: set.epoch,
          weights: Object.fromEntries(fed.nodes.map((n) => [n.id, n.member.weight.toString()])),
        });
      }
      this.followedEpochs.set(origin, set.epoch);
    }
  }

  private async catchUpOnce(): Promise<void> {
    await this.syncSets();
    const next = await this.cfg.chain.nextRound();
    for (let round = this.lastAnchoredRound() + 1n; round < next; round++) {
      const cp = await this.cfg.chain.checkpointOf(round, this.origin);
      if (!cp)
        throw new AmpError(`round ${round} is anchored without a checkpoint of ${this.origin}`, {
          kind: "bug",
        });
      await this.applyRound(round, cp);
    }
    // Only now: a status saying "caught up to next" must not count events anchored before it.
    this.chainNext = next;
    await this.fetchMissingRecords(next);
  }

  /**
   * Fetch the records of anchored rounds this node does not hold. Each record is checked against
   * the chain on its own, so a round whose record no peer has (yet) does not hold up later rounds;
   * it is asked for again after RECORD_RETRY_MS, then less and less often (up to every 16 s).
   */
  private async fetchMissingRecords(next: bigint): Promise<void> {
    // Rounds anchored before this node started are asked for at once; a round anchored while it
    // runs waits RECORD_GRACE_MS for the relay's announcement first.
    const running = this.recordsSeen !== undefined;
    if (this.recordsSeen === undefined) {
      const held = new Set(this.anchors.all().map((r) => r.round));
      this.recordsSeen = this.anchors.lastRound();
      for (let r = 1n; r < this.recordsSeen; r++)
        if (!held.has(r)) this.missingRecords.set(r, { notBefore: 0, retryMs: RECORD_RETRY_MS });
    }
    for (let r = this.recordsSeen + 1n; r < next; r++)
      this.missingRecords.set(r, {
        notBefore: running ? Date.now() + RECORD_GRACE_MS : 0,
        retryMs: RECORD_RETRY_MS,
      });
    if (next - 1n > this.recordsSeen) this.recordsSeen = next - 1n;
    for (const [round, { notBefore, retryMs }] of [...this.missingRecords]) {
      const due = notBefore <= Date.now();
      if (this.anchors.get(round) || (due && (await this.fetchRecord(round)))) {
        this.missingRecords.delete(round);
      } else if (due) {
        this.missingRecords.set(round, {
          notBefore: Date.now() + retryMs,
          retryMs: Math.min(retryMs * 2, RECORD_RETRY_MAX_MS),
        });
      }
    }
  }

  /** Anchored rounds whose record this node does not hold (test and status use). */
  missingRecordRounds(): bigint[] {
    return [...this.missingRecords.keys()].filter((r) => !this.anchors.get(r));
  }

  /** Store an anchored-round record (proof material) once it matches the chain. */
  async acceptRecord(r: AnchoredRound): Promise<boolean> {
    // The same record again (an announcement after the catch-up fetched it): nothing to check.
    const held = this.anchors.get(r.round);
    if (held && sameProofMaterial(held, r)) return true;
    const root = await this.cfg.chain.globalRootOf(r.round);
    if (!root || root.toLowerCase() !== r.globalRoot.toLowerCase()) return false;
    const onChain = await Promise.all(
      r.checkpoints.map((c) => this.cfg.chain.checkpointOf(r.round, c.origin)),
    );
    for (const [i, c] of r.checkpoints.entries()) {
      const cp = onChain[i];
      if (
        !cp ||
        cp.treeSize.toString() !== c.treeSize ||
        "0x" + hex(cp.rootHash) !== c.rootHash.toLowerCase()
      ) {
        return false;
      }
    }
    // Any order: a record is checked against the chain on its own, and a proof names the round of
    // the record it uses (a later round's checkpoint covers an earlier event as well). The note
    // keys are this node's own roster's (announcements leave them out; a sender's are not taken).
    // Roots that match are not enough (anyone may post them): the record is checked as a verifier
    // would check its proofs, else it is refused (RecordRefusedError) and nothing is stored.
    // Another valid record of a held round (a second relay's signatures) leaves the held one.
    const kept = withRosterKeys(r, this.cfg.roster);
    await this.cfg.chain.checkRecord(kept);
    if (!this.anchors.get(r.round)) this.anchors.record(kept);
    return true;
  }

  private async fetchRecord(round: bigint): Promise<boolean> {
    for (const peer of this.cfg.roster.nodes) {
      if (peer.id === this.id) continue;
      try {
        const o = await this.transport.client.json<Record<string, unknown>>(peer.url, {
          method: "GET",
          path: `/v1/anchors/${round}`,
        });
        if (await this.acceptRecord(decodeRecord(o))) return true;
      } catch (e) {
        // A record that would not make verifiable proofs is evidence against the peer serving it.
        if (e instanceof RecordRefusedError) this.evidence(peer.id, round, e.shortMessage, "forged-record");
        // next peer
      }
    }
    return false;
  }

  /** A proof file (amp-proof/v1) of an anchored event of this node's federation. */
  proof(eventId: string): ProofFile {
    if (!this.archive.getEvent(eventId)) {
      if (this.inbox.get(eventId)) {
        throw new AmpError(`event ${eventId} is acknowledged, not anchored yet`, { kind: "retry-later" });
      }
      throw new AmpError(`no event ${eventId} in ${this.name}'s log here`, { kind: "not-found" });
    }
    return buildProofFile({
      archive: this.archive,
      anchors: this.anchors,
      eventId,
      originOf: (name) => {
        const f = this.cfg.roster.federations.find((x) => x.name === name);
        if (!f) throw new InvalidInputError(`event ${eventId} belongs to unknown federation ${name}`);
        return f.config.origin;
      },
    });
  }

  private async applyRound(round: bigint, cp: { treeSize: bigint; rootHash: Uint8Array }): Promise<void> {
    const base = this.archiveLog.size;
    if (cp.treeSize < base)
      throw new AmpError(`round ${round}: anchored size ${cp.treeSize} < archive ${base}`, {
        kind: "conflict",
      });
    const count = Number(cp.treeSize - base);
    // The entries and the append they reproduce the anchored root with (stored as computed: the
    // leaf hashes and tree nodes are not computed a second time).
    let found: { entries: readonly Uint8Array[]; plan: AppendPlan | undefined } | undefined;
    const held = this.validatorNode.entries(this.origin, round, 0, count);
    if (count === 0) found = { entries: [], plan: undefined };
    else if (held.length === count) found = this.reproduces(held, cp);
    // The batch this node sealed as a coordinator (on disk, unlike the validator's copy).
    const sealed = found ? undefined : this.sealedEntries(round, base);
    if (sealed && sealed.length === count) found = this.reproduces(sealed, cp);
    for (const peer of this.federation.nodes) {
      if (found || peer.id === this.id) continue;
      const got = await this.fetchLog(peer.url, base, cp.treeSize);
      if (got.length !== count) continue;
      found = this.reproduces(got, cp);
      if (!found)
        this.evidence(
          peer.id,
          round,
          `served entries [${base}, ${cp.treeSize}) that do not reproduce the anchored root`,
        );
    }
    if (!found)
      throw new AmpError(`round ${round}: no peer served entries reproducing the anchored root`, {
        kind: "retry-later",
      });
    this.store(round, found.entries, cp, found.plan);
  }

  /** Entries of `sealed-proposal.json` (written by this node's Coordinator) for round/base, if any. */
  private sealedEntries(round: bigint, base: bigint): Uint8Array[] | undefined {
    try {
      const p = JSON.parse(fs.readFileSync(path.join(this.cfg.dataDir, "sealed-proposal.json"), "utf8")) as {
        round: string;
        baseSize: string;
        entries: string[];
      };
      if (p.round !== round.toString() || p.baseSize !== base.toString()) return undefined;
      return p.entries.map((e) => new Uint8Array(Buffer.from(e, "base64")));
    } catch {
      return undefined; // none (or unreadable: the peers are asked instead)
    }
  }

  /** The append of `entries` to the archive's log when it reproduces `cp`, else undefined. */
  private reproduces(
    entries: readonly Uint8Array[],
    cp: { treeSize: bigint; rootHash: Uint8Array },
  ): { entries: readonly Uint8Array[]; plan: AppendPlan } | undefined {
    const plan = this.archiveLog.prepareAppend(entries.map((e) => leafHash(e)));
    return plan.newSize === cp.treeSize && hex(plan.root) === hex(cp.rootHash)
      ? { entries, plan }
      : undefined;
  }

  private async fetchLog(url: string, from: bigint, to: bigint): Promise<Uint8Array[]> {
    try {
      const o = await this.transport.client.json<{ entries?: unknown }>(url, {
        method: "GET",
        path: `/v1/archive/entries?from=${from}&to=${to}`,
      });
      return Array.isArray(o.entries) ? decodeEntries(o.entries, url) : [];
    } catch (e) {
      this.logger.warn("catch-up fetch failed", { url, error: (e as Error).message });
      return [];
    }
  }

  private store(
    round: bigint,
    entries: readonly Uint8Array[],
    cp: { treeSize: bigint; rootHash: Uint8Array },
    computed?: AppendPlan,
  ): void {
    const base = this.archiveLog.size;
    const ids = entries.map(
      (e) => (JSON.parse(Buffer.from(e).toString("utf8")) as { event_id: string }).event_id,
    );
    // A plan computed from another log state is not used (appendRound prepares its own).
    const plan =
      computed?.oldSize === base && computed.leaves.length === entries.length ? computed : undefined;
    const leaves = plan ? plan.leaves : entries.map((e) => leafHash(e));
    try {
      this.archive.transaction(() => {
        this.archive.insertEvents(
          this.name,
          entries.map((canonical, i) => {
            const pending = this.inbox.get(ids[i]!);
            return {
              seq: base + BigInt(i),
              eventId: ids[i]!,
              canonical,
              leafHash: leaves[i]!,
              payload: pending?.payload ?? undefined,
              salt: pending?.salt ?? undefined,
            };
          }),
        );
        appendRound(this.archiveLog, leaves, round, plan);
        this.archive.insertCheckpoint(this.name, { round, size: cp.treeSize, root: cp.rootHash });
      });
    } catch (e) {
      // Rolled back (e.g. a full disk at commit) after the in-memory log applied the append: back
      // to the archived log, else every later round expects the unstored size until a restart.
      this.archiveLog.reload();
      throw (
        asStorageWriteError(
          e,
          this.archive.path,
          "the round was rolled back; stored again at a later tick",
        ) ?? e
      );
    }
    this.lastRound = round;
    try {
      this.inbox.remove(ids);
    } catch (e) {
      // Archived but still pending (the inbox could not be written): cleared at the next pull.
      this.inboxStale = true;
      this.logger.warn("inbox: archived events not cleared yet", { error: oneLine(e) });
    }
    const v = this.validatorNode.log;
    if (v.size < cp.treeSize) {
      if (v.size === base) v.append(leaves);
    }
    if (v.size !== cp.treeSize || hex(v.root()) !== hex(cp.rootHash)) {
      // Its copy holds a batch that did not become final (another proposer's batch won): rebuild.
      this.validatorNode = this.makeValidator();
    }
  }

  private evidence(
    nodeId: string,
    round: bigint,
    detail: string,
    kind: "forged-entries" | "forged-record" = "forged-entries",
  ): void {
    const key = `${kind}\n${nodeId}\n${round}\n${detail}`;
    if (this.evidenceSeen.has(key)) return;
    this.logger.warn("byzantine evidence", { node: nodeId, round, kind, detail });
    const dir = path.join(this.cfg.dataDir, "evidence");
    fs.mkdirSync(dir, { recursive: true });
    appendLineDurable(
      path.join(dir, "catch-up.jsonl"),
      JSON.stringify({
        kind,
        nodeId,
        round: round.toString(),
        detail,
        recordedAt: new Date().toISOString(),
      }),
    );
    // Only once written: a line a full disk refused is written at a later try.
    if (this.evidenceSeen.size >= 10_000) this.evidenceSeen.clear();
    this.evidenceSeen.add(key);
  }

  // --- witness (C2SP tlog-witness add-checkpoint) -------------------------------------------------

  /**
   * `old` must be the size this witness last cosigned for the checkpoint's origin (0 before any),
   * else WitnessConflictError (409 with that size). Returns the cosignature line.
   */
  async addCheckpoint(oldSize: bigint, proof: readonly Uint8Array[], note: string): Promise<string> {
    let origin: string;
    try {
      origin = parseSignedNote(note).body.split("\n")[0]!;
    } catch (e) {
      throw new WitnessError("malformed-qc", `checkpoint note: ${(e as Error).message}`, e);
    }
    const last = this.witness.lastWitnessed(origin)?.treeSize ?? 0n;
    if (oldSize !== last) throw new WitnessConflictError(last);
    let sig: NoteSignature;
    try {
      sig = await this.witness.cosign(note, proof, this.cfg.mldsa ?? inlineMlDsa);
    } catch (e) {
      // The witnessed federation may have rotated since this node last read the registry.
      if (!(e instanceof WitnessError) || e.code !== "wrong-epoch" || !this.cfg.chain.currentSets) throw e;
      this.refreshSets();
      await this.syncSets();
      sig = await this.witness.cosign(note, proof, this.cfg.mldsa ?? inlineMlDsa);
    }
    const body = parseSignedNote(note).body;
    return formatSignedNote({ body, signatures: [sig] }).slice(body.length + 1);
  }

  // --- status -------------------------------------------------------------------------------------

  /** Bytes on the wire to and from each peer, counted by this node's client (it sent the request). */
  wire(): PeerWire[] {
    const out: PeerWire[] = [];
    for (const n of this.cfg.roster.nodes) {
      const c = this.transport.client.wire().get(n.url.replace(/\/$/, ""));
      if (!c || n.id === this.id) continue;
      out.push({ nodeId: n.id, federation: this.cfg.roster.federationOf(n.id).name, ...c });
    }
    return out;
  }

  status(): NodeStatus {
    const signed = this.validatorNode.lastSigned();
    return {
      nodeId: this.id,
      federation: this.name,
      origin: this.origin,
      treeSize: this.archiveLog.size.toString(),
      rootHash: hex(this.archiveLog.root()),
      lastSignedRound: (signed?.round ?? 0n).toString(),
      lastAnchoredRound: this.lastAnchoredRound().toString(),
      chainNextRound: this.chainNext.toString(),
      pendingEvents: this.inbox.size(),
      health: "ok",
      pid: process.pid,
    };
  }
}

/** Bytes this node's client exchanged with one peer (requests it sent and their answers). */
export interface PeerWire {
  readonly nodeId: string;
  readonly federation: string;
  readonly requests: number;
  readonly sentBytes: number;
  readonly receivedBytes: number;
  /** The same per route (`POST /v1/round/anchored`, `GET /v1/anchors/:n`, …). */
  readonly routes: Readonly<Record<string, { requests: number; sentBytes: number; receivedBytes: number }>>;
}

export interface NodeStatus {
  nodeId: string;
  federation: string;
  origin: string;
  treeSize: string;
  rootHash: string;
  lastSignedRound: string;
  lastAnchoredRound: string;
  /** The chain's next round as last read (anchored rounds = this - 1). */
  chainNextRound: string;
  pendingEvents: number;
  health: "ok";
  pid: number;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
