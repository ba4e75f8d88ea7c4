/**
 * Audit events: the federation_event schema, RFC 8785 canonical bytes, and event leaves.
 */
export { canonicalJson, canonicalBytes, assertCanonicalisable, MAX_JSON_DEPTH } from "./canonical";
export {
  prepareEvent,
  validateEvent,
  parseEventJson,
  parseAndPrepareEvent,
  eventLeaf,
  payloadDigest,
  digestPayload,
  payloadCommitment,
  PAYLOAD_SALT_BYTES,
  federationEventSchema,
  type PreparedEvent,
} from "./validate";
export {
  parseIJson,
  checkIJson,
  decodeUtf8Strict,
  numberProblem,
  stringProblem,
  IJsonError,
  type TextOrigin,
} from "./ijson";
export * from "./types";
