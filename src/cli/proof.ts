import fs from "node:fs";
import type { Command } from "commander";
import { buildProofFile } from "../proof/build";
import { serializeProofFile } from "../proof/format";
import { InvalidInputError } from "../util/errors";
import { PeerClient, PeerError } from "../transport/client";
import { parseProofFile } from "../proof/format";
import { CannotCheckError, UsageError } from "./exit";

/** `amp proof ID --node URL`: the node builds the proof from its archive; it is checked for shape here. */
async function proofFromNode(eventId: string, node: string, out: string): Promise<void> {
  if (!/^https?:\/\//.test(node)) throw new UsageError(`--node must be an http(s) URL, got "${node}"`);
  let text: string;
  try {
    const res = await new PeerClient({ timeoutMs: 10_000 }).request(node, {
      method: "GET",
      path: `/v1/proof/${encodeURIComponent(eventId)}`,
    });
    text = res.body.toString("utf8");
  } catch (e) {
    if (e instanceof PeerError && (e.status === 404 || e.status === 400)) {
      throw new InvalidInputError(
        `node ${node}: ${(JSON.parse(e.body || "{}") as { message?: string }).message ?? e.body}`,
      );
    }
    throw new CannotCheckError(`node ${node}: ${(e as Error).message}`, { cause: e });
  }
  const proof = parseProofFile(text);
  if (out === "-") {
    print(serializeProofFile(proof).replace(/\n$/, ""));
    return;
  }
  fs.writeFileSync(out, serializeProofFile(proof));
  console.log(
    `wrote ${out}: event ${eventId} at index ${proof.inclusion.index} of ${proof.inclusion.treeSize} in ${proof.federation.origin}, round ${proof.anchor.round}`,
  );
}
import { loadManifestFederations } from "./context";
import { note, print, reporter } from "./output";
import { openStores } from "./session";
import { describeDataDir, manifestFor, nodesHolding, resolveDataDir } from "./data-dir";

export function addProofCommand(program: Command): void {
  program
    .command("proof")
    .argument("<eventId>", "event_id of an archived, anchored event")
    .description("write a self-contained proof file (amp-proof/v1) for an anchored event")
    .option("--data <dir>", "data dir the event was archived and anchored in")
    .option("--node <url>", "fetch the proof from a running node over HTTP instead of a data dir")
    .requiredOption("--out <file>", 'where to write the proof file ("-": stdout)')
    .option("--digest-only", "leave out the event's canonical bytes (prove the leaf hash only)")
    .option(
      "--compact",
      "leave out the ML-DSA signed note (verify then checks the on-chain EIP-712 quorum layer only)",
    )
    .option("--manifest <file>", "federation manifest (default: the shipped default manifest)")
    .option(
      "--json",
      'print {"ok":true,"command":"proof","result":{"file","eventId","index","treeSize","origin","round","bytes"}}',
    )
    .addHelpText(
      "after",
      `
Needs no chain access: everything comes from the data dir. The proof is against the first
anchored round whose checkpoint contains the event. Format: docs/cli.md.

Examples:
  $ amp proof 3f2a9c1e-0b4d-4c1a-9f7e-2d5b8a6c4e10 --data ./amp-data --out proof.json
  $ amp proof 3f2a9c1e-0b4d-4c1a-9f7e-2d5b8a6c4e10 --data ./amp-data --out - | gzip > proof.json.gz
  $ amp proof 3f2a9c1e-0b4d-4c1a-9f7e-2d5b8a6c4e10 --data ./amp-data --compact --digest-only --out small.json
  $ amp proof 3f2a9c1e-0b4d-4c1a-9f7e-2d5b8a6c4e10 --node http://127.0.0.1:7401 --out proof.json
  $ amp verify proof.json --rpc http://127.0.0.1:8545 --trust ./amp-data/trust.json`,
    )
    .action(
      async (
        eventId: string,
        opts: {
          data?: string;
          node?: string;
          out: string;
          digestOnly?: boolean;
          compact?: boolean;
          manifest?: string;
          json?: boolean;
        },
      ) => {
        if (opts.node) return proofFromNode(eventId, opts.node, opts.out);
        if (!opts.data) throw new UsageError("give --data DIR (or AMP_DATA_DIR) or --node URL");
        const toStdout = opts.out === "-";
        if (toStdout && opts.json) {
          throw new UsageError(
            "--out - and --json both write to stdout: give --out a file name, or drop --json",
          );
        }
        const feds = loadManifestFederations(manifestFor(opts.data, opts.manifest));
        const layout = resolveDataDir(opts.data, feds);
        let dir = opts.data;
        let from = "";
        if (layout.kind === "nodes") {
          // Node layout: the archive of a node of the event's federation (the fullest log).
          const holder = nodesHolding(layout, eventId)[0];
          if (!holder) {
            throw new InvalidInputError(
              `no event ${eventId} in any node's archive of the ${describeDataDir(layout)} (not anchored yet, or another data dir)`,
            );
          }
          dir = holder.dir;
          from = ` (from ${holder.id}'s archive)`;
        }
        const stores = openStores(dir);
        try {
          const proof = buildProofFile({
            archive: stores.archive,
            anchors: stores.anchors,
            eventId,
            originOf: (name) => {
              const f = feds.find((x) => x.name === name);
              if (!f)
                throw new InvalidInputError(
                  `event ${eventId} belongs to federation ${name}, not in the manifest: pass the --manifest it was ingested with`,
                );
              return f.origin;
            },
            ...(opts.digestOnly ? { digestOnly: true } : {}),
            ...(opts.compact ? { compact: true } : {}),
          });
          const text = serializeProofFile(proof);
          const where = `event ${eventId} at index ${proof.inclusion.index} of ${proof.inclusion.treeSize} in ${proof.federation.origin}, round ${proof.anchor.round}${from}`;
          if (toStdout) {
            print(text.replace(/\n$/, ""));
            note(`wrote the proof to stdout: ${where}`);
            return;
          }
          fs.writeFileSync(opts.out, text);
          const out = reporter("proof", opts.json);
          out.say(`wrote ${opts.out}: ${where}`);
          out.done({
            file: opts.out,
            eventId,
            index: proof.inclusion.index,
            treeSize: proof.inclusion.treeSize,
            origin: proof.federation.origin,
            round: proof.anchor.round,
            bytes: Buffer.byteLength(text),
            compact: opts.compact === true,
          });
        } finally {
          stores.close();
        }
      },
    );
}
