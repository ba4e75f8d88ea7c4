/**
 * Pieces shared by the proof-file schemas (format.ts: amp-proof/v1; compact.ts: its compact form).
 * A module of its own because format.ts imports compact.ts: neither can take these from the other.
 */
export const PROOF_FORMAT = "amp-proof/v1";

/** A decimal u64 without leading zeros. */
export const u64 = { type: "string", pattern: "^(0|[1-9][0-9]{0,19})$" };
/** A log origin: 1..255 printable ASCII characters, no space. */
export const origin = { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" };

/** A closed object schema: every property required but the `optional` ones. */
export const obj = (properties: Record<string, unknown>, optional: string[] = []) => ({
  type: "object",
  additionalProperties: false,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  properties,
});
