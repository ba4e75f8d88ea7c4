/**
 * Found by the kill campaign (issue 13): a round is stored in the archive, then its events leave
 * the inbox — two SQLite files, not one transaction. A node killed between the two kept the archived
 * events pending for good (`pendingEvents` never reached 0, so the campaign's end check waited).
 * Reproduced here by failing the inbox removal right after the archive commit, then restarting.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { connectEmbedded, type ChainConnection } from "../../src/chain/connect";
import { FederationLog } from "../../src/log";
import { FederationNode, type FederationNodeConfig } from "../../src/node/node";
import { anchorView } from "../../src/node/service";
import { deployForRoster, keysOf, loopbackManifest, ndjson, rosterOf, tmpDir } from "./helpers";

describe("node: a kill between the archive commit and the inbox removal", function () {
  this.timeout(120_000);
  let conn: ChainConnection;
  let dir: string;

  before(async () => {
    process.env.AMP_LOG_LEVEL = "silent";
    conn = await connectEmbedded();
    dir = tmpDir("amp-inbox-crash-");
  });
  after(() => {
    delete process.env.AMP_LOG_LEVEL;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("leaves no archived event pending after the restart; the others stay pending", async () => {
    const manifest = await loopbackManifest();
    const roster = rosterOf(manifest);
    const record = await deployForRoster(conn, roster);
    const cfg: FederationNodeConfig = {
      roster,
      keys: keysOf("ssid-eu-1"),
      dataDir: path.join(dir, "ssid-eu-1"),
      domain: { chainId: conn.chainId, anchor: record.contracts.globalProofAnchor },
      chain: anchorView(conn, record),
    };
    const node = new FederationNode(cfg);
    node.submit(ndjson(manifest, "ssid", 0, 5, "inbox-crash"));
    const pending = node.pending(5);
    const sealed = pending.slice(0, 3);
    const log = new FederationLog(node.origin);
    log.append(sealed.map((e) => e.leafHash));
    // The kill: the archive transaction committed, the inbox removal never ran.
    node.inbox.remove = () => {
      throw new Error("SIGKILL");
    };
    const store = (
      node as unknown as {
        store(r: bigint, entries: Uint8Array[], cp: { treeSize: bigint; rootHash: Uint8Array }): void;
      }
    ).store.bind(node);
    // A failed inbox removal (a full inbox file) no longer fails the stored round: it is logged.
    store(
      1n,
      sealed.map((e) => e.canonical),
      { treeSize: log.size, rootHash: log.root() },
    );
    expect(node.archive.getEvent(sealed[0]!.eventId), "archived").to.not.equal(undefined);
    expect(node.inbox.size(), "still pending before the restart").to.equal(5);
    node.close();

    const restarted = new FederationNode(cfg);
    try {
      expect(restarted.status().pendingEvents, "pending after the restart").to.equal(2);
      expect(restarted.pending(5).map((e) => e.eventId)).to.deep.equal(
        pending.slice(3).map((e) => e.eventId),
      );
      for (const e of sealed) expect(restarted.archive.getEvent(e.eventId)).to.not.equal(undefined);
      expect(restarted.archiveLog.size).to.equal(3n);
    } finally {
      restarted.close();
    }
  });

  it("a running node clears archived events at the next pull once the inbox can be written again", async () => {
    const manifest = await loopbackManifest();
    const roster = rosterOf(manifest);
    const record = await deployForRoster(conn, roster);
    const node = new FederationNode({
      roster,
      keys: keysOf("ssid-eu-1"),
      dataDir: path.join(dir, "running"),
      domain: { chainId: conn.chainId, anchor: record.contracts.globalProofAnchor },
      chain: anchorView(conn, record),
    });
    try {
      node.submit(ndjson(manifest, "ssid", 0, 5, "inbox-full"));
      const pending = node.pending(5);
      const sealed = pending.slice(0, 3);
      const log = new FederationLog(node.origin);
      log.append(sealed.map((e) => e.leafHash));
      const remove = node.inbox.remove.bind(node.inbox);
      node.inbox.remove = () => {
        throw new Error("SQLITE_FULL: database or disk is full");
      };
      (
        node as unknown as {
          store(r: bigint, entries: Uint8Array[], cp: { treeSize: bigint; rootHash: Uint8Array }): void;
        }
      ).store(
        1n,
        sealed.map((e) => e.canonical),
        { treeSize: log.size, rootHash: log.root() },
      );
      expect(node.status().pendingEvents, "archived but not cleared yet").to.equal(5);
      expect(() => node.pending(5), "still full: the pull fails, nothing archived is served").to.throw(
        /SQLITE_FULL/,
      );
      node.inbox.remove = remove; // space returns
      expect(node.pending(5).map((e) => e.eventId)).to.deep.equal(pending.slice(3).map((e) => e.eventId));
      expect(node.status().pendingEvents).to.equal(2);
    } finally {
      node.close();
    }
  });
});
