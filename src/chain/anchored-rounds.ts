/**
 * What was anchored, per nexus round: the global root, every federation's checkpoint with its
 * signed note and EIP-712 signatures, and the transaction. `amp proof` builds proof files from it.
 * One SQLite file (`anchors.sqlite`) in the data dir, append-only (triggers refuse UPDATE/DELETE),
 * written only after the anchor transaction's receipt — so it never claims an unconfirmed anchor.
 */
import path from "node:path";
import Database from "better-sqlite3";
import { AmpError } from "../util/errors";

export const ANCHORS_FILE = "anchors.sqlite";

export interface AnchoredCheckpoint {
  origin: string;
  federationId: string;
  epoch: string;
  treeSize: string;
  rootHash: string;
  signedNote: string;
  noteKeys: { keyName: string; publicKey: string }[];
  signatures: string[];
}

export interface AnchoredRound {
  round: bigint;
  globalRoot: string;
  chainId: string;
  contract: string;
  txHash: string;
  blockNumber: number;
  gasUsed: bigint;
  /** All federations, ascending federationId (the global-root order). */
  checkpoints: AnchoredCheckpoint[];
  /** Per-round metrics (latencies in ms, witness bytes…) as the engine reported them. */
  metrics: Record<string, number>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS anchored_rounds (
  round INTEGER PRIMARY KEY CHECK (round >= 1),
  global_root TEXT NOT NULL,
  chain_id TEXT NOT NULL,
  contract TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  gas_used TEXT NOT NULL,
  checkpoints TEXT NOT NULL,
  metrics TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS anchored_rounds_no_update BEFORE UPDATE ON anchored_rounds
BEGIN SELECT RAISE(ABORT, 'amp anchors: anchored_rounds is append-only (UPDATE refused)'); END;
CREATE TRIGGER IF NOT EXISTS anchored_rounds_no_delete BEFORE DELETE ON anchored_rounds
BEGIN SELECT RAISE(ABORT, 'amp anchors: anchored_rounds is append-only (DELETE refused)'); END;
CREATE TABLE IF NOT EXISTS reanchors (
  round INTEGER NOT NULL REFERENCES anchored_rounds (round),
  tx_hash TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  gas_used TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS reanchors_no_update BEFORE UPDATE ON reanchors
BEGIN SELECT RAISE(ABORT, 'amp anchors: reanchors is append-only (UPDATE refused)'); END;
CREATE TRIGGER IF NOT EXISTS reanchors_no_delete BEFORE DELETE ON reanchors
BEGIN SELECT RAISE(ABORT, 'amp anchors: reanchors is append-only (DELETE refused)'); END;
`;

/** The anchor's current transaction: the latest re-anchor of a round (after a rollback) wins. */
const CURRENT = `SELECT a.round, a.global_root, a.chain_id, a.contract,
  coalesce(r.tx_hash, a.tx_hash) AS tx_hash, coalesce(r.block_number, a.block_number) AS block_number,
  coalesce(r.gas_used, a.gas_used) AS gas_used, a.checkpoints, a.metrics
  FROM anchored_rounds a
  LEFT JOIN reanchors r ON r.rowid = (SELECT max(rowid) FROM reanchors WHERE round = a.round)`;

interface Row {
  round: bigint;
  global_root: string;
  chain_id: string;
  contract: string;
  tx_hash: string;
  block_number: bigint;
  gas_used: string;
  checkpoints: string;
  metrics: string;
}

function fromRow(r: Row): AnchoredRound {
  return {
    round: BigInt(r.round),
    globalRoot: r.global_root,
    chainId: r.chain_id,
    contract: r.contract,
    txHash: r.tx_hash,
    blockNumber: Number(r.block_number),
    gasUsed: BigInt(r.gas_used),
    checkpoints: JSON.parse(r.checkpoints) as AnchoredCheckpoint[],
    metrics: JSON.parse(r.metrics) as Record<string, number>,
  };
}

export class AnchoredRounds {
  private constructor(private readonly db: Database.Database) {}

  static open(dataDir: string): AnchoredRounds {
    const db = new Database(path.join(dataDir, ANCHORS_FILE));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.defaultSafeIntegers(true);
    db.exec(SCHEMA);
    return new AnchoredRounds(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Record a confirmed anchor. Recording the same round twice is a no-op if identical, else a conflict. */
  record(r: AnchoredRound): void {
    const existing = this.get(r.round);
    if (existing) {
      if (existing.globalRoot !== r.globalRoot || existing.txHash !== r.txHash) {
        throw new AmpError(`round ${r.round} is already recorded with another root or transaction`, {
          kind: "conflict",
        });
      }
      return;
    }
    this.db
      .prepare(
        `INSERT INTO anchored_rounds VALUES (@round, @globalRoot, @chainId, @contract, @txHash, @blockNumber, @gasUsed, @checkpoints, @metrics)`,
      )
      .run({
        round: r.round,
        globalRoot: r.globalRoot,
        chainId: r.chainId,
        contract: r.contract,
        txHash: r.txHash,
        blockNumber: BigInt(r.blockNumber),
        gasUsed: r.gasUsed.toString(),
        checkpoints: JSON.stringify(r.checkpoints),
        metrics: JSON.stringify(r.metrics),
      });
  }

  /**
   * Record that a recorded round was anchored again by another transaction (the chain rolled back
   * and lost the first one); `get` and `all` report the latest. The first record is kept.
   */
  recordReanchor(round: bigint, tx: { txHash: string; blockNumber: number; gasUsed: bigint }): void {
    if (!this.get(round)) throw new AmpError(`round ${round} was never recorded`, { kind: "bug" });
    this.db
      .prepare(`INSERT INTO reanchors VALUES (?, ?, ?, ?, ?)`)
      .run(round, tx.txHash, BigInt(tx.blockNumber), tx.gasUsed.toString(), BigInt(Date.now()));
  }

  get(round: bigint): AnchoredRound | undefined {
    const row = this.db.prepare(`${CURRENT} WHERE a.round = ?`).get(round) as Row | undefined;
    return row && fromRow(row);
  }

  /** The highest recorded round, or 0n. */
  lastRound(): bigint {
    const row = this.db.prepare(`SELECT max(round) AS m FROM anchored_rounds`).get() as { m: bigint | null };
    return row.m ?? 0n;
  }

  all(): AnchoredRound[] {
    return (this.db.prepare(`${CURRENT} ORDER BY a.round`).all() as Row[]).map(fromRow);
  }

  /** The first round whose checkpoint of `origin` contains leaf `index` (the smallest such tree). */
  firstRoundCovering(origin: string, index: bigint): AnchoredRound | undefined {
    for (const r of this.all()) {
      const cp = r.checkpoints.find((c) => c.origin === origin);
      if (cp && BigInt(cp.treeSize) > index) return r;
    }
    return undefined;
  }
}
