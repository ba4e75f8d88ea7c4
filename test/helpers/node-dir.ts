/**
 * A STOPPED node-layout data dir (DIR/nodes/<id>/…, as `amp run`, `amp up --data` and `amp demo
 * --data` write it) for the `--data` readers' tests: a local federation's seven nodes run in this
 * process (the same NodeService code as `amp node`), take a few events per federation, anchor them
 * and allocate the first credit epoch; then the nodes stop and the chain stays up.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadManifestFederations } from "../../src/cli/context";
import { generateEvents } from "../../src/cli/generate";
import { nodeExtensions } from "../../src/cli/node-extensions";
import { loadManifest } from "../../src/manifest";
import { startInProcessNodes, type InProcessNodes } from "../../src/node/in-process";
import { startLocalFederation, type LocalFederation } from "../../src/node/local";
import type { NodeStatus } from "../../src/node/node";
import { PeerClient } from "../../src/transport/client";
import { until } from "../node/helpers";

export interface NodeDir {
  /** The temp dir holding `data` (tests may write next to it). */
  readonly dir: string;
  /** The node-layout data dir: dir/data. */
  readonly data: string;
  /** The federation whose chain is still running (its nodes are stopped). */
  readonly fed: LocalFederation;
  /** Per federation name, the ids of the events its first node acknowledged, in order. */
  readonly sent: ReadonlyMap<string, string[]>;
  /** The first credit epoch allocated on-chain. */
  readonly epoch: string;
  /** Stop the chain and remove `dir`. */
  close(): Promise<void>;
}

const client = new PeerClient({ timeoutMs: 5000, tries: 2 });

/**
 * Writes a node-layout data dir under a fresh temp dir named `prefix…`: 5 ssid and 3 opencore events
 * (generated with `label`), anchored on every node, and the first credit epoch allocated (5 s
 * epochs). On failure, everything started is stopped and the temp dir removed.
 */
export async function writeNodeDir(prefix: string, label: string): Promise<NodeDir> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const data = path.join(dir, "data");
  let fed: LocalFederation | undefined;
  let nodes: InProcessNodes | undefined;
  const close = async () => {
    await nodes?.stop();
    await fed?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    fed = await startLocalFederation({ data, startNodes: false });
    const rpc = fed.rpc;
    const manifest = loadManifest(fed.state.manifest);
    nodes = await startInProcessNodes(fed, {
      configure: () => ({ extensions: nodeExtensions(manifest, { epochSeconds: 5, processMetrics: false }) }),
    });
    const all = fed.state.nodes;
    const sent = new Map<string, string[]>();
    for (const f of loadManifestFederations(fed.state.manifest)) {
      const events = generateEvents(f, 0n, f.name === "ssid" ? 5 : 3, label);
      const target = all.find((n) => n.federation === f.name)!;
      const res = await client.json<{ acknowledged: { eventId: string }[] }>(target.url, {
        method: "POST",
        path: "/v1/events",
        body: events.map((e) => JSON.stringify(e)).join("\n"),
        contentType: "application/x-ndjson",
      });
      sent.set(
        f.name,
        res.acknowledged.map((a) => a.eventId),
      );
    }
    await until(
      "every event anchored on every node",
      async () => {
        const st = await Promise.all(
          all.map((n) =>
            client.json<NodeStatus>(n.url, { method: "GET", path: "/v1/status" }).catch(() => undefined),
          ),
        );
        return st.every(
          (s) =>
            s !== undefined &&
            s.pendingEvents === 0 &&
            s.treeSize === String(sent.get(s.federation)!.length) &&
            s.lastAnchoredRound !== "0",
        )
          ? true
          : undefined;
      },
      240_000,
    );
    // Epochs close in chain time: mine a block now and then while waiting for the first allocation.
    const epoch = await until(
      "the first credit epoch allocated on-chain",
      async () => {
        await fetch(rpc, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "evm_mine", params: [] }),
        });
        for (const n of all) {
          const a = await client
            .json<{ epochs: { epoch: string; txHash: string | null }[] }>(n.url, {
              method: "GET",
              path: "/v1/credits/epochs",
            })
            .catch(() => undefined);
          const done = a?.epochs.find((e) => e.txHash !== null);
          if (done) return done.epoch;
        }
        await new Promise((r) => setTimeout(r, 1000));
        return undefined;
      },
      240_000,
    );
    // The readers work on a stopped federation's data dir: stop the nodes, keep the chain.
    await nodes.stop();
    nodes = undefined;
    return { dir, data, fed, sent, epoch, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
