import fs from "node:fs";
import type { Command } from "commander";
import { buildProofFile } from "../proof/build";
import { serializeProofFile } from "../proof/format";
import { InvalidInputError } from "../util/errors";
import { loadManifestFederations } from "./context";
import { UsageError } from "./exit";
import { note, print, reporter } from "./output";
import { openStores } from "./session";

export function addProofCommand(program: Command): void {
  program
    .command("proof")
    .argument("<eventId>", "event_id of an archived, anchored event")
    .description("write a self-contained proof file (amp-proof/v1) for an anchored event")
    .requiredOption("--data <dir>", "data dir the event was archived and anchored in")
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
  $ amp verify proof.json --rpc http://127.0.0.1:8545 --trust ./amp-data/trust.json`,
    )
    .action(
      (
        eventId: string,
        opts: {
          data: string;
          out: string;
          digestOnly?: boolean;
          compact?: boolean;
          manifest?: string;
          json?: boolean;
        },
      ) => {
        const toStdout = opts.out === "-";
        if (toStdout && opts.json) {
          throw new UsageError(
            "--out - and --json both write to stdout: give --out a file name, or drop --json",
          );
        }
        const feds = loadManifestFederations(opts.manifest);
        const stores = openStores(opts.data);
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
          const where = `event ${eventId} at index ${proof.inclusion.index} of ${proof.inclusion.treeSize} in ${proof.federation.origin}, round ${proof.anchor.round}`;
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
