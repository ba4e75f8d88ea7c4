/**
 * Client side of HTTP erasure (`amp erase --nodes` / `amp erase --data <amp up dir>`): send one
 * erase request to each node with that node's operator token and report each answer.
 */
import fs from "node:fs";
import path from "node:path";
import { adminHeader, readAdminToken } from "../node/admin";
import { PeerClient, PeerError } from "../transport/client";
import type { EraseResponse } from "./extension";

export interface EraseTarget {
  readonly url: string;
  readonly token: string;
  readonly label?: string;
}

export type EraseOutcome =
  | {
      readonly url: string;
      readonly label?: string;
      readonly kind: "erased" | "already";
      readonly res: EraseResponse;
    }
  | { readonly url: string; readonly label?: string; readonly kind: "not-here"; readonly message: string }
  | {
      readonly url: string;
      readonly label?: string;
      readonly kind: "failed";
      readonly status?: number;
      readonly message: string;
    };

/** Targets of a running `amp up` data dir: every node's URL and its own admin.token. */
export function targetsOfFederation(data: string): EraseTarget[] | undefined {
  const file = path.join(data, "federation.json");
  if (!fs.existsSync(file)) return undefined;
  const fed = JSON.parse(fs.readFileSync(file, "utf8")) as {
    nodes: { id: string; url: string; dataDir: string }[];
  };
  return fed.nodes.map((n) => ({ url: n.url, token: readAdminToken(n.dataDir), label: n.id }));
}

export async function eraseOnNodes(
  targets: readonly EraseTarget[],
  request: { eventId: string; reason: string; by: string },
  client = new PeerClient({ timeoutMs: 15_000, tries: 2 }),
): Promise<EraseOutcome[]> {
  const out: EraseOutcome[] = [];
  for (const t of targets) {
    const base = { url: t.url, ...(t.label ? { label: t.label } : {}) };
    try {
      const res = await client.json<EraseResponse>(t.url, {
        method: "POST",
        path: "/v1/erase",
        body: JSON.stringify(request),
        contentType: "application/json",
        headers: adminHeader(t.token),
        retryConflict: false,
      });
      out.push({ ...base, kind: res.erased ? "erased" : "already", res });
    } catch (e) {
      const status = e instanceof PeerError ? e.status : undefined;
      let message = (e as Error).message.split("\n")[0] ?? String(e);
      if (e instanceof PeerError && e.body) {
        try {
          message = (JSON.parse(e.body) as { message?: string }).message ?? message;
        } catch {
          // not JSON: keep the transport's message
        }
      }
      out.push(
        status === 404
          ? { ...base, kind: "not-here", message }
          : { ...base, kind: "failed", ...(status !== undefined ? { status } : {}), message },
      );
    }
  }
  return out;
}
