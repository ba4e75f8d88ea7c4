/**
 * manifest_federation.yaml: federations, nodes, bridges, batch and credit configuration.
 */
export {
  loadManifest,
  parseManifest,
  DEFAULT_MANIFEST_PATH,
  MAX_MANIFEST_BYTES,
  manifestSchema,
} from "./loader";
export * from "./types";
