import { AmpError } from "../util/errors";

/**
 * A proof file that does not verify. `field` names the proof-file field that failed
 * (`event.leafHash`, `inclusion.path`, `checkpoint.signatures`, `anchor.txHash`, …).
 */
export class ProofInvalidError extends AmpError {
  override name = "ProofInvalidError";
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`, { kind: "invalid-input", meta: { field } });
  }
}

/** Throw {@link ProofInvalidError} for `field` unless `ok`. */
export function check(ok: boolean, field: string, reason: string): asserts ok {
  if (!ok) throw new ProofInvalidError(field, reason);
}
