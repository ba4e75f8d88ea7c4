/**
 * What the demo on the node layout reports beyond rounds and proofs: the credit epochs allocated
 * (read from the nodes' `GET /v1/credits/epochs`) and what the nodes' drift monitors raised (read
 * from each node's `drift.sqlite` once the nodes stopped). Both layouts of `amp demo` use these.
 */
import fs from "node:fs";
import path from "node:path";
import { DRIFT_DB_FILE, DriftStore } from "../drift/store";
import type { PeerClient } from "../transport/client";
import { CannotCheckError } from "./exit";

/** A credit epoch allocated on-chain during the demo. */
export interface DemoCredit {
  epoch: string;
  nodes: number;
  txHash: string;
  block: number;
}

interface EpochsAnswer {
  epochs: { epoch: string; nodes: number; txHash: string | null; blockNumber: number | null }[];
}

/**
 * Wait (until `deadline`) for at least one allocated credit epoch that any node knows, then return
 * the allocated epochs of the node that knows the most. Each node adopts records only after
 * checking them against the chain, so what a node serves is on-chain.
 */
export async function demoCreditsOf(
  nodes: readonly { id: string; url: string }[],
  client: PeerClient,
  deadline: number,
  log: (l: string) => void,
): Promise<DemoCredit[]> {
  log("waiting for the first credit epoch to close and be allocated on-chain");
  for (;;) {
    let best: DemoCredit[] = [];
    for (const n of nodes) {
      const a = await client
        .json<EpochsAnswer>(n.url, { method: "GET", path: "/v1/credits/epochs" })
        .catch(() => undefined);
      const done = (a?.epochs ?? []).flatMap((e) =>
        e.txHash !== null && e.blockNumber !== null
          ? [{ epoch: e.epoch, nodes: e.nodes, txHash: e.txHash, block: e.blockNumber }]
          : [],
      );
      if (done.length > best.length) best = done;
    }
    if (best.length > 0) return best;
    if (Date.now() > deadline) throw new CannotCheckError("timed out waiting for a credit allocation");
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One line: the alerts and observations every node's drift monitor stored (ids `<node>/<id>`). */
export function demoDriftSummaryOf(dataDir: string, kept: boolean): string {
  const nodesDir = path.join(dataDir, "nodes");
  const alerts: string[] = [];
  let observations = 0;
  const ids = fs.existsSync(nodesDir) ? fs.readdirSync(nodesDir).sort() : [];
  for (const id of ids) {
    const file = path.join(nodesDir, id, DRIFT_DB_FILE);
    if (!fs.existsSync(file)) continue;
    const store = new DriftStore(file);
    try {
      for (const a of store.alerts()) {
        const score = a.driftScore === null ? "-" : a.driftScore.toFixed(2);
        alerts.push(`${id}/${a.id} ${a.cause} ${a.node} score ${score} ${a.state}`);
      }
      observations += store.findings().filter((f) => f.kind === "observation").length;
    } finally {
      store.close();
    }
  }
  const hint = kept ? ` (amp alerts list --data ${dataDir})` : "";
  return (
    `drift monitor: ${alerts.length} alert(s)${alerts.length ? `: ${alerts.join("; ")}` : ""}, ` +
    `${observations} observation(s)${hint}`
  );
}
