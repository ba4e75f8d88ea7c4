import fs from "node:fs";
import type { Command } from "commander";
import { getAddress, isAddress } from "viem";
import { InvalidInputError } from "../util/errors";
import { MAX_PROOF_BYTES, publicClientFor, verifyProofText } from "../proof/verify";
import type { TrustRoot, VerifiedProof, VerifyOptions } from "../proof/verify";
import { ProofInvalidError } from "../proof/errors";
import { readTrustPolicy, TrustPolicyError } from "../trust/policy";
import { CannotCheckError, UsageError } from "./exit";
import { short } from "./output";

/** Default of `--confirmations`: the anchoring transaction is mined (its own block counts). */
export const DEFAULT_CONFIRMATIONS = 1;

interface VerifyFlags {
  rpc: string;
  trust?: string;
  anchor?: string;
  confirmations: string;
  recoveryEpochs: boolean;
  json?: boolean;
}

/** Text taken from a proof file, safe for a terminal: control, bidi and line-separator characters escaped. */
export function printable(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const unsafe =
      c < 0x20 ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069);
    out += unsafe ? `\\u${c.toString(16).padStart(4, "0")}` : ch;
  }
  return out;
}

function trustRootOf(flags: VerifyFlags): { root: TrustRoot; label: string } {
  if (flags.trust !== undefined && flags.anchor !== undefined) {
    throw new UsageError("give either --trust FILE or --anchor ADDRESS, not both");
  }
  if (flags.anchor !== undefined) {
    if (!isAddress(flags.anchor, { strict: false })) {
      throw new UsageError(
        `--anchor must be a 0x-prefixed 20-byte address, got "${printable(flags.anchor)}"`,
      );
    }
    return { root: { anchor: getAddress(flags.anchor) }, label: "--anchor" };
  }
  if (flags.trust === undefined) {
    throw new UsageError(
      "refusing to verify without a trust root: give --trust TRUST.json (written by amp deploy / amp trust export) or --anchor ADDRESS (pins the anchor, reads the rest from the chain)",
    );
  }
  try {
    return { root: { policy: readTrustPolicy(flags.trust) }, label: `trust policy ${flags.trust}` };
  } catch (err) {
    if (err instanceof TrustPolicyError) throw new UsageError(`--trust ${flags.trust}: ${err.shortMessage}`);
    throw new CannotCheckError(`cannot read the trust policy ${flags.trust}`, { cause: err });
  }
}

function optionsOf(flags: VerifyFlags): VerifyOptions {
  if (!/^[1-9][0-9]{0,5}$/.test(flags.confirmations)) {
    throw new UsageError(
      `--confirmations must be an integer 1..999999, got "${printable(flags.confirmations)}"`,
    );
  }
  return { confirmations: Number(flags.confirmations), noRecoveryEpochs: !flags.recoveryEpochs };
}

function readProof(file: string): string {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (err) {
    throw new CannotCheckError(`cannot read the proof file ${file}`, { cause: err });
  }
  if (size > MAX_PROOF_BYTES) {
    throw new ProofInvalidError(
      "file",
      `is ${size} bytes, more than the ${MAX_PROOF_BYTES} a proof may have`,
    );
  }
  return fs.readFileSync(file, "utf8");
}

function validLine(v: VerifiedProof, label: string): string {
  const what = v.eventIdChecked
    ? `event ${printable(v.eventId)}`
    : `leaf ${v.leafHash} (event id not checked: digest-only proof)`;
  const witnesses = v.noteWitnesses.map((w) => ` + ${w.origin} ${w.signedWeight}/${w.totalWeight}`).join("");
  return (
    `VALID ${what} in ${v.origin} at index ${v.index} of ${v.treeSize}, round ${v.round}, ` +
    `tx ${short(v.txHash)} (block ${v.blockNumber}), quorum ${v.signedWeight}/${v.totalWeight}, ` +
    (v.noteVotes
      ? `ML-DSA note votes ${v.noteVotes.signedWeight}/${v.noteVotes.totalWeight}${witnesses}; layers: on-chain quorum, post-quantum note; `
      : "layers: on-chain quorum only (compact proof: no post-quantum note); ") +
    `pinned anchor ${v.trust.anchor} on chain ${v.trust.chainId} (${label})`
  );
}

function trustedLine(v: VerifiedProof): string {
  const t = v.trust;
  return (
    `trusted (--anchor pins the anchor; the rest was read from the chain): chain ${t.chainId}, ` +
    `anchor ${t.anchor} (code ${t.anchorCodeHash}), registry ${t.registry} (code ${t.registryCodeHash}), ` +
    `federations ${t.federations.map((f) => f.origin).join(", ")}`
  );
}

const jsonOf = (x: unknown): string =>
  JSON.stringify(x, (_k, v: unknown) =>
    typeof v === "bigint" ? v.toString() : typeof v === "string" ? printable(v) : v,
  );

async function verifyAction(file: string, flags: VerifyFlags): Promise<void> {
  const { root, label } = trustRootOf(flags);
  const opts = optionsOf(flags);
  if (!/^https?:\/\//.test(flags.rpc)) {
    throw new UsageError(`--rpc must be an http(s) URL, got "${printable(flags.rpc)}"`);
  }
  try {
    const text = readProof(file);
    const client = publicClientFor(flags.rpc);
    await client.getChainId().catch((err: unknown) => {
      throw new CannotCheckError(`no JSON-RPC answer from ${flags.rpc} (is the node running?)`, {
        cause: err,
      });
    });
    const v = await verifyProofText(text, client, root, opts);
    // A digest-only proof does not prove its event id: JSON says null rather than echo the claim.
    const eventId = v.eventIdChecked ? v.eventId : null;
    if (flags.json) console.log(jsonOf({ valid: true, reason: null, field: null, ...v, eventId }));
    else {
      console.log(validLine(v, label));
      if (v.trust.source === "anchor") console.log(trustedLine(v));
    }
  } catch (err) {
    if (
      err instanceof ProofInvalidError ||
      (err instanceof InvalidInputError && !(err instanceof UsageError))
    ) {
      const field = err instanceof ProofInvalidError ? err.field : "file";
      const reason =
        err instanceof ProofInvalidError ? err.shortMessage.slice(field.length + 2) : err.shortMessage;
      if (flags.json) console.log(jsonOf({ valid: false, reason, field }));
      else console.log(printable(`INVALID ${field}: ${reason}`));
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

export function addVerifyCommand(program: Command): void {
  program
    .command("verify")
    .argument("<file>", "proof file written by `amp proof`")
    .description(
      "verify a proof file against a pinned deployment (exit 0 valid, 1 invalid, 2 usage, 3 could not check)",
    )
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of the chain (trusted to answer honestly)")
    .option("--trust <file>", "trust policy (amp-trust/v1, from `amp deploy` or `amp trust export`)")
    .option(
      "--anchor <address>",
      "pin only the GlobalProofAnchor address; the rest is read from the chain and printed",
    )
    .option(
      "--confirmations <n>",
      "blocks the anchoring transaction's block must have, itself included",
      String(DEFAULT_CONFIRMATIONS),
    )
    .option("--no-recovery-epochs", "refuse checkpoints of epochs created by a governance recovery rotation")
    .option("--json", "print one JSON object: {valid, reason, field, ...} on success and on failure")
    .addHelpText(
      "after",
      `
One of --trust or --anchor is required: the proof file never says what to trust. Checks, in order:
the file's own consistency and leaf; the pinned deployment (chain id, anchor, code hashes,
registry, federation); the anchored global root and checkpoint; the anchoring transaction and its
confirmations; > 2/3 of registered EIP-712 signers; the recomputed global root; the ML-DSA note
(> 2/3 vote weight and > 2/3 of each witnessing federation, keys registered on-chain only);
the inclusion path (locally and by the contract). A proof file may have at most ${MAX_PROOF_BYTES} bytes.

Examples:
  $ amp verify proof.json --rpc http://127.0.0.1:8545 --trust ./amp-data/trust.json
  VALID event 6f1c… in amp.local/ssid at index 41 of 120, round 3, … pinned anchor 0x5FbD… on chain 31337 (…)
  $ amp verify forged.json --rpc http://127.0.0.1:8545 --trust ./amp-data/trust.json; echo $?
  INVALID anchor.contract: 0xe7f1… is not the pinned anchor; the trust policy pins 0x5FbD…
  1`,
    )
    .action(verifyAction);
}
