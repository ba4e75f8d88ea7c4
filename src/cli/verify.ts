import fs from "node:fs";
import type { Command } from "commander";
import { InvalidInputError } from "../util/errors";
import { ChainUnavailableError } from "../chain/connect";
import { publicClientFor, verifyProofText } from "../proof/verify";
import { ProofInvalidError } from "../proof/errors";
import { short } from "./output";

export function addVerifyCommand(program: Command): void {
  program
    .command("verify")
    .argument("<file>", "proof file written by `amp proof`")
    .description("verify a proof file against the chain (exit 0 valid, 1 invalid with the reason)")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of the chain the proof names")
    .option("--json", "print the verified facts as JSON")
    .addHelpText(
      "after",
      `
Checks, in order: the file's own consistency and leaf hash; the chain (chain id, contract code,
anchored global root and checkpoint, the anchoring transaction and its GlobalRootAnchored log,
>2/3 of registered EIP-712 signers); the recomputed global root and the ML-DSA signed note; the
inclusion path (locally and by the contract's verifyEventInclusion).

Examples:
  $ amp verify proof.json --rpc http://127.0.0.1:8545
  VALID event 6f1c… in amp.local/ssid at index 41 of 120, round 3, tx 0x9a…
  $ amp verify tampered.json --rpc http://127.0.0.1:8545; echo $?
  INVALID inclusion.path: does not lead from the leaf at inclusion.index 41 to checkpoint.rootHash
  1`,
    )
    .action(async (file: string, opts: { rpc: string; json?: boolean }) => {
      if (!fs.existsSync(file)) throw new InvalidInputError(`no such proof file: ${file}`);
      if (!/^https?:\/\//.test(opts.rpc))
        throw new InvalidInputError(`--rpc must be an http(s) URL, got "${opts.rpc}"`);
      const client = publicClientFor(opts.rpc);
      await client.getChainId().catch((err: unknown) => {
        throw new ChainUnavailableError(`no JSON-RPC answer from ${opts.rpc} (is the node running?)`, err);
      });
      try {
        const v = await verifyProofText(fs.readFileSync(file, "utf8"), client);
        if (opts.json) {
          console.log(JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x), 2));
        } else {
          console.log(
            `VALID event ${v.eventId} in ${v.origin} at index ${v.index} of ${v.treeSize}, round ${v.round}, ` +
              `tx ${short(v.txHash)} (block ${v.blockNumber}), quorum ${v.signedWeight}/${v.totalWeight}, ` +
              (v.layers.postQuantumNote
                ? `note ${v.noteVotes} votes + ${v.noteCosignatures} witness cosignatures; layers: on-chain quorum, post-quantum note`
                : "layers: on-chain quorum only (compact proof: no post-quantum note)"),
          );
        }
      } catch (err) {
        if (err instanceof ProofInvalidError || err instanceof InvalidInputError) {
          console.log(`INVALID ${err.shortMessage}`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
