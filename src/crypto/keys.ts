/**
 * Node identities (PROTOCOL §4): one ML-DSA-65 key pair (FIPS 204) for votes, witness cosignatures
 * and evidence, and one secp256k1 key (an EVM address) for the EIP-712 signatures the anchor checks.
 *
 * Key files live outside the repository:
 * - `<nodeId>.mldsa.json`: `{ "type": "ml-dsa-65", "seed": hex32, "publicKey": hex1952 }` (mode 0600);
 * - `<nodeId>.keystore.json`: an encrypted JSON keystore (ethers `Wallet.encrypt`, scrypt).
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { Wallet, encryptKeystoreJson, type KeystoreAccount } from "ethers";
import { AmpError, InvalidInputError } from "../util/errors";
import { decodeUtf8Strict, IJsonError, parseIJson } from "../events/ijson";

/** Largest key file read (ML-DSA seed file or keystore), in bytes; real ones are < 5 KB. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Read a small JSON key file: size limit, strict UTF-8, I-JSON (errors name file:line:column). */
function readKeyJson(file: string, what: string): unknown {
  let bytes: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_KEY_FILE_BYTES) {
      throw new InvalidInputError(`${what} ${file} is ${size} bytes, limit ${MAX_KEY_FILE_BYTES}`);
    }
    bytes = fs.readFileSync(file);
  } catch (cause) {
    if (cause instanceof InvalidInputError) throw cause;
    throw new InvalidInputError(`cannot read ${what} ${file}`, { cause });
  }
  try {
    return parseIJson(decodeUtf8Strict(bytes, { source: file }), { source: file });
  } catch (cause) {
    if (!(cause instanceof IJsonError)) throw cause;
    throw new InvalidInputError(`${what} ${cause.shortMessage}`, { cause, meta: cause.meta });
  }
}

/** FIPS 204 sizes for ML-DSA-65 (pinned by tests). */
export const ML_DSA65_PUBLIC_KEY_BYTES = 1952;
export const ML_DSA65_SIGNATURE_BYTES = 3309;
export const ML_DSA65_SEED_BYTES = 32;

/** An ML-DSA-65 key pair with the 32-byte seed it was derived from. */
export interface MlDsaKeyPair {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** Everything one node signs with. */
export interface NodeKeys {
  readonly nodeId: string;
  readonly mldsa: MlDsaKeyPair;
  /** secp256k1 key; `wallet.address` is the node's EVM address (registered in ValidatorRegistry). */
  readonly wallet: Wallet;
  /** True for keys from {@link deriveThrowawayKeys}: anyone can recompute them. */
  readonly throwaway: boolean;
}

/** Public half of a node identity, as other nodes and witnesses know it. */
export interface NodePublicIdentity {
  readonly nodeId: string;
  readonly mldsaPublicKey: Uint8Array;
  readonly address: string;
}

export function mlDsaFromSeed(seed: Uint8Array): MlDsaKeyPair {
  if (seed.length !== ML_DSA65_SEED_BYTES) {
    throw new InvalidInputError(`ML-DSA-65 seed must be 32 bytes, got ${seed.length}`);
  }
  const { publicKey, secretKey } = ml_dsa65.keygen(seed);
  return { seed: Uint8Array.from(seed), publicKey, secretKey };
}

/**
 * The commitment to an ML-DSA-65 public key that ValidatorRegistry stores per validator:
 * SHA-256 of the key's 1952 bytes, as a 0x-prefixed lowercase bytes32.
 */
export function mlDsaKeyCommitment(publicKey: Uint8Array): string {
  if (publicKey.length !== ML_DSA65_PUBLIC_KEY_BYTES) {
    throw new InvalidInputError(
      `ML-DSA-65 public key must be ${ML_DSA65_PUBLIC_KEY_BYTES} bytes, got ${publicKey.length}`,
    );
  }
  return "0x" + Buffer.from(sha256(publicKey)).toString("hex");
}

export function publicIdentity(keys: NodeKeys): NodePublicIdentity {
  return { nodeId: keys.nodeId, mldsaPublicKey: keys.mldsa.publicKey, address: keys.wallet.address };
}

const THROWAWAY_LABEL = "amp/throwaway-demo-key/v1\n";
const SECP256K1_N = BigInt("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");

function throwawayBytes(label: string, nodeId: string, purpose: string): Uint8Array {
  return sha256(new TextEncoder().encode(`${THROWAWAY_LABEL}${label}\n${nodeId}\n${purpose}`));
}

/**
 * THROWAWAY DEMO KEYS. Deterministic from
 * `SHA-256("amp/throwaway-demo-key/v1\n" + label + "\n" + nodeId + "\n" + purpose)`, so anyone who
 * knows the label can sign as the node. For demos and tests only; never register them on a real chain.
 */
export function deriveThrowawayKeys(label: string, nodeId: string): NodeKeys {
  checkNodeId(nodeId);
  const mldsa = mlDsaFromSeed(throwawayBytes(label, nodeId, "ml-dsa-65"));
  let secp = throwawayBytes(label, nodeId, "secp256k1");
  for (let i = 0; !validSecp256k1Scalar(secp); i++) {
    secp = throwawayBytes(label, nodeId, `secp256k1/${i}`);
  }
  const wallet = new Wallet("0x" + Buffer.from(secp).toString("hex"));
  return { nodeId, mldsa, wallet, throwaway: true };
}

function validSecp256k1Scalar(b: Uint8Array): boolean {
  const v = BigInt("0x" + Buffer.from(b).toString("hex"));
  return v > 0n && v < SECP256K1_N;
}

const NODE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkNodeId(nodeId: string): void {
  if (!NODE_ID_RE.test(nodeId)) {
    throw new InvalidInputError(`invalid node id ${JSON.stringify(nodeId)}`, {
      details: "a node id is 1..64 characters of [A-Za-z0-9._-], starting with a letter or digit",
    });
  }
}

export function mlDsaKeyPath(dir: string, nodeId: string): string {
  return path.join(dir, `${nodeId}.mldsa.json`);
}

export function keystorePath(dir: string, nodeId: string): string {
  return path.join(dir, `${nodeId}.keystore.json`);
}

export interface GenerateOptions {
  /** scrypt cost for the keystore. Leave unset for ethers' default (real keys); lower only for demos. */
  readonly scryptN?: number;
}

/**
 * Generate fresh keys for each node into `dir` (created with mode 0700 if missing). Refuses to
 * overwrite an existing key file. Returns the public identities (for the manifest / registry).
 */
export async function generateNodeKeys(
  dir: string,
  nodeIds: readonly string[],
  password: string,
  options: GenerateOptions = {},
): Promise<NodePublicIdentity[]> {
  if (password.length === 0) throw new InvalidInputError("keystore password must not be empty");
  nodeIds.forEach(checkNodeId);
  if (new Set(nodeIds).size !== nodeIds.length) throw new InvalidInputError("duplicate node id");
  for (const id of nodeIds) {
    for (const p of [mlDsaKeyPath(dir, id), keystorePath(dir, id)]) {
      if (fs.existsSync(p)) {
        throw new AmpError(`key file ${p} already exists; refusing to overwrite it`, { kind: "conflict" });
      }
    }
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: NodePublicIdentity[] = [];
  for (const id of nodeIds) {
    const mldsa = mlDsaFromSeed(randomBytes(ML_DSA65_SEED_BYTES));
    const wallet = new Wallet(Wallet.createRandom().privateKey);
    writeMlDsaKeyFile(mlDsaKeyPath(dir, id), mldsa);
    fs.writeFileSync(keystorePath(dir, id), await encryptWallet(wallet, password, options), {
      mode: 0o600,
      flag: "wx",
    });
    out.push({ nodeId: id, mldsaPublicKey: mldsa.publicKey, address: wallet.address });
  }
  return out;
}

async function encryptWallet(wallet: Wallet, password: string, options: GenerateOptions): Promise<string> {
  if (options.scryptN === undefined) return wallet.encrypt(password);
  const account: KeystoreAccount = { address: wallet.address, privateKey: wallet.privateKey };
  return encryptKeystoreJson(account, password, { scrypt: { N: options.scryptN } });
}

export function writeMlDsaKeyFile(file: string, kp: MlDsaKeyPair): void {
  const json = {
    type: "ml-dsa-65",
    seed: Buffer.from(kp.seed).toString("hex"),
    publicKey: Buffer.from(kp.publicKey).toString("hex"),
  };
  fs.writeFileSync(file, JSON.stringify(json, null, 2) + "\n", { mode: 0o600, flag: "wx" });
}

/** Read and check an ML-DSA seed file: type, seed length, and that the public key matches the seed. */
export function readMlDsaKeyFile(file: string): MlDsaKeyPair {
  const raw = readKeyJson(file, "ML-DSA key file");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new InvalidInputError(`ML-DSA key file ${file}: must be a JSON object`);
  }
  const o = raw as { type?: unknown; seed?: unknown; publicKey?: unknown };
  if (o.type !== "ml-dsa-65") {
    throw new InvalidInputError(`ML-DSA key file ${file}: type must be "ml-dsa-65"`);
  }
  const seed = strictHex(o.seed, ML_DSA65_SEED_BYTES, `${file}: seed`);
  const publicKey = strictHex(o.publicKey, ML_DSA65_PUBLIC_KEY_BYTES, `${file}: publicKey`);
  const kp = mlDsaFromSeed(seed);
  if (!Buffer.from(kp.publicKey).equals(Buffer.from(publicKey))) {
    throw new InvalidInputError(`ML-DSA key file ${file}: publicKey does not match the seed`);
  }
  return kp;
}

function strictHex(v: unknown, bytes: number, what: string): Uint8Array {
  if (typeof v !== "string" || !/^[0-9a-f]*$/.test(v) || v.length !== bytes * 2) {
    throw new InvalidInputError(`${what} must be ${bytes} bytes of lowercase hex`);
  }
  return Uint8Array.from(Buffer.from(v, "hex"));
}

/** Load a node's keys from the files {@link generateNodeKeys} wrote. */
export async function loadNodeKeys(dir: string, nodeId: string, password: string): Promise<NodeKeys> {
  checkNodeId(nodeId);
  const mldsa = readMlDsaKeyFile(mlDsaKeyPath(dir, nodeId));
  // Checked as I-JSON first (a duplicate "crypto" member would otherwise be resolved silently).
  const json = JSON.stringify(readKeyJson(keystorePath(dir, nodeId), "keystore"));
  let wallet: Wallet;
  try {
    const w = await Wallet.fromEncryptedJson(json, password);
    wallet = new Wallet(w.privateKey);
  } catch (cause) {
    throw new InvalidInputError(`cannot decrypt keystore for ${nodeId} (wrong password or corrupt file)`, {
      cause,
    });
  }
  return { nodeId, mldsa, wallet, throwaway: false };
}
