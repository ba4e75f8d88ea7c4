/**
 * The trust policy (`amp-trust/v1`): what a verifier pins, obtained out of band like a Sigsum policy
 * or a TUF root. Chain id, the anchor and registry addresses, the keccak-256 of both contracts'
 * runtime code, and the federations (origin + federationId) the verifier accepts proofs for.
 * Schema in docs/cli.md ("Trust policy"); unknown fields are refused.
 */
import fs from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import type { ErrorObject } from "ajv";
import { getAddress, keccak256 } from "viem";
import type { Hex, PublicClient } from "viem";
import { GlobalProofAnchor__factory, ValidatorRegistry__factory } from "../../typechain-types";
import { federationIdOf } from "../chain/ids";
import { decodeUtf8Strict, IJsonError, parseIJson } from "../events/ijson";
import { InvalidInputError } from "../util/errors";

export const TRUST_FORMAT = "amp-trust/v1";
/** Name of the policy `amp deploy` writes into the data dir. */
export const TRUST_FILE = "trust.json";
/** Largest trust-policy file read (bytes). */
export const MAX_TRUST_BYTES = 256 * 1024;

export interface TrustedFederation {
  origin: string;
  /** SHA-256(utf8(origin)), 0x-prefixed lowercase. */
  federationId: string;
}

export interface TrustPolicy {
  format: typeof TRUST_FORMAT;
  /** Decimal chain id. */
  chainId: string;
  /** GlobalProofAnchor address (EIP-55). */
  anchor: string;
  /** ValidatorRegistry address (EIP-55); must be what the anchor reads. */
  registry: string;
  /** keccak-256 of the anchor's runtime code (eth_getCode). */
  anchorCodeHash: string;
  /** keccak-256 of the registry's runtime code. */
  registryCodeHash: string;
  federations: TrustedFederation[];
}

/** A trust policy file that cannot be used (malformed, unknown field, inconsistent). */
export class TrustPolicyError extends InvalidInputError {
  override name = "TrustPolicyError";
}

const hash32 = { type: "string", pattern: "^0x[0-9a-f]{64}$" };
const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };
const SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["format", "chainId", "anchor", "registry", "anchorCodeHash", "registryCodeHash", "federations"],
  properties: {
    format: { const: TRUST_FORMAT },
    chainId: { type: "string", pattern: "^[1-9][0-9]{0,19}$" },
    anchor: address,
    registry: address,
    anchorCodeHash: hash32,
    registryCodeHash: hash32,
    federations: {
      type: "array",
      minItems: 1,
      maxItems: 256,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["origin", "federationId"],
        properties: { origin: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" }, federationId: hash32 },
      },
    },
  },
};

const validate = new Ajv({ allErrors: false, strict: true }).compile<TrustPolicy>(SCHEMA);

function describe(e: ErrorObject): string {
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, ".") : "(root)";
  if (e.keyword === "additionalProperties") {
    return `${at}: unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
  }
  return `${at}: ${e.message ?? e.keyword}`;
}

/**
 * Parse and check a policy; errors name the field (`federations.1.federationId: …`). The text must
 * be I-JSON (RFC 7493): a duplicate member name (`"anchor"` twice: a reader sees one address, the
 * parser would keep the other), a lone surrogate or an inexact number is refused, never normalised.
 */
export function parseTrustPolicy(text: string, source?: string): TrustPolicy {
  let raw: unknown;
  try {
    raw = parseIJson(text, source === undefined ? {} : { source });
  } catch (cause) {
    if (!(cause instanceof IJsonError)) throw cause;
    const malformed = /malformed JSON/.test(cause.shortMessage);
    throw new TrustPolicyError(
      `trust policy is not ${malformed ? "JSON" : "I-JSON"}: ${cause.shortMessage}`,
      {
        cause,
        meta: cause.meta,
      },
    );
  }
  if (!validate(raw)) {
    const first = validate.errors?.[0];
    throw new TrustPolicyError(`trust policy malformed: ${first ? describe(first) : "unknown error"}`);
  }
  const seen = new Set<string>();
  for (const [i, f] of raw.federations.entries()) {
    if (federationIdOf(f.origin) !== f.federationId) {
      throw new TrustPolicyError(`trust policy: federations.${i}.federationId is not SHA-256 of its origin`);
    }
    if (seen.has(f.federationId))
      throw new TrustPolicyError(`trust policy: federations.${i} is listed twice`);
    seen.add(f.federationId);
  }
  return { ...raw, anchor: getAddress(raw.anchor), registry: getAddress(raw.registry) };
}

/** Read a policy file (at most {@link MAX_TRUST_BYTES}); I/O errors keep their errno code. */
export function readTrustPolicy(file: string): TrustPolicy {
  const size = fs.statSync(file).size;
  if (size > MAX_TRUST_BYTES) {
    throw new TrustPolicyError(
      `trust policy ${file} is ${size} bytes, more than the ${MAX_TRUST_BYTES} allowed`,
    );
  }
  let text: string;
  try {
    text = decodeUtf8Strict(fs.readFileSync(file), { source: file });
  } catch (cause) {
    if (!(cause instanceof IJsonError)) throw cause;
    throw new TrustPolicyError(`trust policy is not UTF-8: ${cause.shortMessage}`, {
      cause,
      meta: cause.meta,
    });
  }
  return parseTrustPolicy(text, file);
}

export function serializeTrustPolicy(policy: TrustPolicy): string {
  return JSON.stringify(policy, null, 2) + "\n";
}

/** Atomically write a policy (temp file + rename). */
export function writeTrustPolicy(file: string, policy: TrustPolicy): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, serializeTrustPolicy(policy));
  fs.renameSync(tmp, file);
}

type Client = Pick<PublicClient, "getChainId" | "getCode" | "readContract">;

/** keccak-256 of the runtime code at `address`; undefined when there is none. */
export async function codeHashAt(client: Client, address: string): Promise<string | undefined> {
  const code = await client.getCode({ address: address as Hex });
  return code === undefined || code === "0x" ? undefined : keccak256(code);
}

/** What the chain says about the deployment of `anchor`, without federations. */
export interface ChainDeployment {
  chainId: string;
  anchor: string;
  registry: string;
  anchorCodeHash: string | undefined;
  registryCodeHash: string | undefined;
}

/** Read chain id, the anchor's registry and both code hashes for the anchor at `anchor`. */
export async function readChainDeployment(client: Client, anchor: string): Promise<ChainDeployment> {
  const chainId = String(await client.getChainId());
  const anchorCodeHash = await codeHashAt(client, anchor);
  if (anchorCodeHash === undefined) {
    return { chainId, anchor: getAddress(anchor), registry: "", anchorCodeHash, registryCodeHash: undefined };
  }
  const registry = await client.readContract({
    address: anchor as Hex,
    abi: GlobalProofAnchor__factory.abi,
    functionName: "registry",
  });
  return {
    chainId,
    anchor: getAddress(anchor),
    registry: getAddress(registry),
    anchorCodeHash,
    registryCodeHash: await codeHashAt(client, registry),
  };
}

/** Origins of every federation registered in `registry`, in registration order. */
export async function registeredFederations(client: Client, registry: string): Promise<TrustedFederation[]> {
  const ids = await client.readContract({
    address: registry as Hex,
    abi: ValidatorRegistry__factory.abi,
    functionName: "federationIds",
  });
  const out: TrustedFederation[] = [];
  for (const id of ids) {
    const origin = await client.readContract({
      address: registry as Hex,
      abi: ValidatorRegistry__factory.abi,
      functionName: "originOf",
      args: [id],
    });
    out.push({ origin, federationId: id.toLowerCase() });
  }
  return out;
}

/**
 * A policy for the anchor at `anchor` as the chain shows it now: chain id, registry, code hashes
 * and the given federations (each must be registered under its origin), or all registered ones.
 */
export async function trustPolicyFromChain(
  client: Client,
  anchor: string,
  federations?: readonly TrustedFederation[],
): Promise<TrustPolicy> {
  const d = await readChainDeployment(client, anchor);
  if (d.anchorCodeHash === undefined || d.registryCodeHash === undefined) {
    throw new TrustPolicyError(
      `no contract code at the anchor ${anchor} or its registry on chain ${d.chainId}`,
    );
  }
  const registered = await registeredFederations(client, d.registry);
  const chosen = federations ?? registered;
  for (const f of chosen) {
    if (!registered.some((r) => r.federationId === f.federationId.toLowerCase() && r.origin === f.origin)) {
      throw new TrustPolicyError(`federation ${f.origin} is not registered in the registry ${d.registry}`);
    }
  }
  if (chosen.length === 0) throw new TrustPolicyError(`the registry ${d.registry} holds no federation`);
  return {
    format: TRUST_FORMAT,
    chainId: d.chainId,
    anchor: d.anchor,
    registry: d.registry,
    anchorCodeHash: d.anchorCodeHash,
    registryCodeHash: d.registryCodeHash,
    federations: chosen.map((f) => ({ origin: f.origin, federationId: f.federationId.toLowerCase() })),
  };
}
