/**
 * The Proof lookup page's data: `GET /api/proof?event=ID` builds the event's proof file from the
 * data dir (src/proof/build.ts, as `amp proof` does: the first anchored round containing it) and,
 * when the dashboard has a chain (`--rpc`), verifies it with src/proof/verify.ts `verifyProof`
 * (as `amp verify` does). On a node-layout data dir (DIR/nodes/<id>/) the proof is built from the
 * archive of the node holding the event with the fullest log, as `amp proof --data` does
 * (src/cli/data-dir.ts `nodesHolding`). The proof is rebuilt from the proof file's own text (parseProofFile), so
 * what is verified is exactly what is shown.
 */
import { Archive } from "../archive";
import { ANCHORS_FILE, AnchoredRounds } from "../chain/anchored-rounds";
import { ARCHIVE_FILE } from "../chain/runner";
import { buildProofFile } from "../proof/build";
import { parseProofFile, serializeProofFile } from "../proof/format";
import { ProofInvalidError, verifyProof } from "../proof/verify";
import type { TrustRoot } from "../proof/verify";
import type { PublicClient } from "viem";
import { AmpError, oneLine } from "../util/errors";
import { nodesHolding, type DataDirLayout } from "../cli/data-dir";
import fs from "node:fs";
import path from "node:path";

export const MAX_EVENT_ID = 256;

export interface ProofLookup {
  readonly found: true;
  readonly eventId: string;
  /** The amp-proof/v1 file, as `amp proof` writes it. */
  readonly proof: string;
  readonly origin: string;
  readonly round: string;
  readonly index: string;
  readonly treeSize: string;
  readonly verification:
    | { readonly status: "valid"; readonly detail: string }
    | { readonly status: "invalid"; readonly field: string; readonly detail: string }
    | { readonly status: "unchecked" | "error"; readonly detail: string };
}

/** A lookup that cannot answer, with the HTTP status to use. */
export class ProofLookupError extends Error {
  override name = "ProofLookupError";
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function checkEventId(raw: string | null): string {
  if (raw === null || raw.trim() === "") throw new ProofLookupError(400, "query parameter event is required");
  if (raw.length > MAX_EVENT_ID) {
    throw new ProofLookupError(400, `event id longer than ${MAX_EVENT_ID} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new ProofLookupError(400, "event id has control characters");
  return raw.trim();
}

/** Where proofs are verified: the chain, and the trust policy pinned for it (never the proof's own). */
export interface ProofCheck {
  readonly client: PublicClient;
  readonly trust: TrustRoot;
}

export async function lookupProof(
  dataDir: string,
  eventId: string,
  originOf: (federationName: string) => string | undefined,
  check?: ProofCheck,
  nodes?: DataDirLayout & { kind: "nodes" },
): Promise<ProofLookup> {
  if (nodes) {
    const holder = nodesHolding(nodes, eventId)[0];
    if (!holder) throw new ProofLookupError(404, `no node's archive holds an event ${eventId}`);
    dataDir = holder.dir;
  }
  if (!fs.existsSync(path.join(dataDir, ARCHIVE_FILE)) || !fs.existsSync(path.join(dataDir, ANCHORS_FILE))) {
    throw new ProofLookupError(404, "no archive or anchored rounds in this data dir yet");
  }
  const archive = Archive.open(path.join(dataDir, ARCHIVE_FILE));
  const anchors = AnchoredRounds.open(dataDir);
  let text: string;
  try {
    const built = buildProofFile({
      archive,
      anchors,
      eventId,
      originOf: (name) => {
        const o = originOf(name);
        if (o === undefined)
          throw new ProofLookupError(404, `event ${eventId}: federation ${name} not in the manifest`);
        return o;
      },
    });
    text = serializeProofFile(built);
  } catch (e) {
    if (e instanceof ProofLookupError) throw e;
    if (e instanceof AmpError) {
      const status =
        e.kind === "invalid-input" || e.kind === "not-found" ? 404 : e.kind === "retry-later" ? 409 : 500;
      throw new ProofLookupError(status, e.shortMessage, { cause: e });
    }
    throw e;
  } finally {
    anchors.close();
    archive.close();
  }
  return checkProofText(eventId, text, check);
}

/** A proof file's text (from the data dir or a node) shown and verified against the pinned `check`. */
export async function checkProofText(
  eventId: string,
  text: string,
  check?: ProofCheck,
): Promise<ProofLookup> {
  const proof = parseProofFile(text);
  const base = {
    found: true as const,
    eventId,
    proof: text,
    origin: proof.federation.origin,
    round: String(proof.anchor.round),
    index: proof.inclusion.index,
    treeSize: proof.inclusion.treeSize,
  };
  if (!check) {
    return {
      ...base,
      verification: {
        status: "unchecked",
        detail: "no chain and trust policy (amp dashboard --rpc URL, with DIR/trust.json or --trust FILE)",
      },
    };
  }
  try {
    const v = await verifyProof(proof, check.client, check.trust);
    return {
      ...base,
      verification: {
        status: "valid",
        detail:
          `included at ${v.index} of ${v.treeSize} in ${v.origin}; round ${v.round} anchored in tx ${v.txHash} ` +
          `(block ${v.blockNumber}, chain ${v.chainId}); quorum ${v.signedWeight}/${v.totalWeight} by ${v.signers.length} signers`,
      },
    };
  } catch (e) {
    if (e instanceof ProofInvalidError) {
      return { ...base, verification: { status: "invalid", field: e.field, detail: e.shortMessage } };
    }
    return { ...base, verification: { status: "error", detail: `cannot check: ${oneLine(e)}` } };
  }
}
