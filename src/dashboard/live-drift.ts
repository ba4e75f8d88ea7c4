/**
 * The Drift page live from running nodes: each node's drift monitor keeps what it observed in the
 * rounds it coordinated (`<node data>/drift.sqlite`), so the page reads `GET /v1/drift` of EVERY
 * node and merges them. Alert ids are node-local, so an alert is named `<node>/<id>` (as
 * `amp alerts --data` names them for a local federation) and carries `observedBy`; acknowledge /
 * resolve of `<node>/<id>` go to that node's `POST /v1/drift/alerts/:id/ack|resolve` with that
 * node's operator token (src/node/admin.ts). Nothing else is written.
 */
import { adminHeader } from "../node/admin";
import type { NodeStatus } from "../node/node";
import { PeerError, type PeerClient } from "../transport/client";
import { DashboardActionError, mergeDrift, type DriftAnswer } from "./drift";
import type { LiveNode } from "./live";

export class LiveDrift {
  /** Node name → node, as last read (acknowledge / resolve go there). */
  private readonly named = new Map<string, LiveNode>();

  constructor(
    private readonly client: PeerClient,
    private readonly nodes: readonly LiveNode[],
    private readonly statuses: () => Promise<(NodeStatus | undefined)[]>,
  ) {}

  /** A node's name: its id (manifest), else what its /v1/status says, else its URL. */
  private async names(): Promise<string[]> {
    if (this.nodes.every((n) => n.id !== undefined)) return this.nodes.map((n) => n.id!);
    const st = await this.statuses();
    return this.nodes.map((n, i) => n.id ?? st[i]?.nodeId ?? n.url);
  }

  async snapshot(): Promise<unknown> {
    const names = await this.names();
    const got = await Promise.all(
      this.nodes.map((n) =>
        this.client.json<DriftAnswer>(n.url, { method: "GET", path: "/v1/drift" }).catch(() => undefined),
      ),
    );
    got.forEach((d, i) => {
      if (d && Array.isArray(d.alerts) && Array.isArray(d.findings) && Array.isArray(d.clock))
        this.named.set(names[i]!, this.nodes[i]!);
    });
    return mergeDrift(
      got.map((answer, i) => ({ name: names[i]!, answer })),
      "no node serves /v1/drift (not enabled on these nodes, or none is up)",
    );
  }

  /** Acknowledge / resolve `<node>/<id>` on that node with its operator token. */
  async action(id: string, action: "ack" | "resolve", body: { by: string; note: string }): Promise<unknown> {
    const m = /^(.+)\/([^/]+)$/.exec(id);
    if (!m) throw new DashboardActionError(404, `alert "${id}": expected <node>/<id>`);
    if (this.named.size === 0) await this.snapshot();
    const node = this.named.get(m[1]!);
    if (!node) throw new DashboardActionError(404, `alert "${id}": no node "${m[1]}" serves drift`);
    if (!node.token) {
      throw new DashboardActionError(403, `no operator token for ${m[1]} (its data dir's admin.token)`);
    }
    try {
      const a = await this.client.json<Record<string, unknown>>(node.url, {
        method: "POST",
        path: `/v1/drift/alerts/${encodeURIComponent(m[2]!)}/${action}`,
        body: JSON.stringify(body),
        contentType: "application/json",
        headers: adminHeader(node.token),
      });
      return { ...a, id, observedBy: m[1] };
    } catch (e) {
      if (e instanceof PeerError && e.status !== undefined && e.status < 500) {
        let msg = e.body;
        try {
          msg = (JSON.parse(e.body) as { message?: string }).message ?? e.body;
        } catch {
          // not JSON: the body as it came
        }
        throw new DashboardActionError(e.status === 422 ? 409 : e.status, msg);
      }
      throw e;
    }
  }
}
