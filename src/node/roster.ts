/**
 * Roster: the public view of every node a node works with — id, federation, weight, URL (manifest),
 * ML-DSA public key and EVM address. A node reads its peers' PUBLIC identities only: the
 * `<id>.pub.json` file (`writePublicIdentity`), or else the `publicKey` field of `<id>.mldsa.json`
 * and the plaintext `address` of `<id>.keystore.json` (never decrypting or deriving a peer's key).
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress } from "ethers";
import {
  ML_DSA65_PUBLIC_KEY_BYTES,
  keystorePath,
  mlDsaKeyPath,
  type NodePublicIdentity,
} from "../crypto/keys";
import type { FederationConfig, FederationMember } from "../consensus/types";
import type { Manifest } from "../manifest";
import { InvalidInputError } from "../util/errors";

export interface RosterNode {
  readonly id: string;
  /** Manifest federation name (archive key, events' federation_context.federation_id). */
  readonly federation: string;
  readonly origin: string;
  readonly url: string;
  readonly member: FederationMember;
}

export interface RosterFederation {
  readonly name: string;
  readonly config: FederationConfig;
  readonly nodes: readonly RosterNode[];
}

export function publicIdentityPath(dir: string, nodeId: string): string {
  return path.join(dir, `${nodeId}.pub.json`);
}

export function writePublicIdentity(dir: string, id: NodePublicIdentity): void {
  const json = {
    nodeId: id.nodeId,
    address: id.address,
    mldsaPublicKey: Buffer.from(id.mldsaPublicKey).toString("hex"),
  };
  fs.writeFileSync(publicIdentityPath(dir, id.nodeId), JSON.stringify(json, null, 2) + "\n");
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidInputError(`cannot read ${file}`, { cause: e });
  }
}

function hexKey(v: unknown, where: string): Uint8Array {
  if (typeof v !== "string" || !/^[0-9a-fA-F]+$/.test(v) || v.length !== ML_DSA65_PUBLIC_KEY_BYTES * 2) {
    throw new InvalidInputError(`${where}: not an ML-DSA-65 public key`);
  }
  return new Uint8Array(Buffer.from(v, "hex"));
}

/** A node's public identity from `keysDir` (see file comment). */
export function readPublicIdentity(keysDir: string, nodeId: string): NodePublicIdentity {
  const pub = publicIdentityPath(keysDir, nodeId);
  if (fs.existsSync(pub)) {
    const o = readJson(pub);
    return { nodeId, address: getAddress(String(o.address)), mldsaPublicKey: hexKey(o.mldsaPublicKey, pub) };
  }
  const ml = readJson(mlDsaKeyPath(keysDir, nodeId));
  const ks = readJson(keystorePath(keysDir, nodeId));
  const address =
    typeof ks.address === "string"
      ? getAddress(ks.address.startsWith("0x") ? ks.address : `0x${ks.address}`)
      : "";
  if (!address) throw new InvalidInputError(`${keystorePath(keysDir, nodeId)}: no address field`);
  return { nodeId, address, mldsaPublicKey: hexKey(ml.publicKey, mlDsaKeyPath(keysDir, nodeId)) };
}

export class Roster {
  readonly federations: readonly RosterFederation[];
  private readonly byId = new Map<string, RosterNode>();

  constructor(
    manifest: Manifest,
    identityOf: (nodeId: string) => NodePublicIdentity,
    epochOf: (origin: string) => bigint = () => 1n,
  ) {
    this.federations = manifest.federations.map((f) => {
      const nodes = f.nodes.map((n) => {
        const id = identityOf(n.id);
        const node: RosterNode = {
          id: n.id,
          federation: f.id,
          origin: f.origin,
          url: n.url,
          member: {
            nodeId: n.id,
            keyName: `${f.origin}/${n.id}`,
            mldsaPublicKey: id.mldsaPublicKey,
            address: id.address,
            weight: BigInt(n.weight),
          },
        };
        this.byId.set(n.id, node);
        return node;
      });
      return {
        name: f.id,
        config: { origin: f.origin, epoch: epochOf(f.origin), members: nodes.map((n) => n.member) },
        nodes,
      };
    });
  }

  /** Every node in manifest order (federations in order, nodes in order): the proposer rotation. */
  get nodes(): RosterNode[] {
    return this.federations.flatMap((f) => f.nodes);
  }

  node(id: string): RosterNode {
    const n = this.byId.get(id);
    if (!n) throw new InvalidInputError(`node ${id} is not in the manifest`);
    return n;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  federationOf(id: string): RosterFederation {
    const n = this.node(id);
    return this.federations.find((f) => f.name === n.federation)!;
  }

  /**
   * Follow a rotation read from the registry (src/credits/rotation.ts applies weights on-chain):
   * the federation's epoch and each member's weight, by address. The members must be the same
   * validators (a rotation that changes membership is refused here: restart with the new
   * manifest). The federation's `config` and its nodes' `member` are replaced by new objects, so
   * a round already holding the old config keeps a consistent old view. Returns whether anything
   * changed.
   */
  applySet(origin: string, epoch: bigint, weights: ReadonlyMap<string, bigint>): boolean {
    const fed = this.federations.find((f) => f.config.origin === origin);
    if (!fed) throw new InvalidInputError(`no federation ${origin} in the roster`);
    const addrs = fed.nodes.map((n) => n.member.address.toLowerCase());
    if (weights.size !== addrs.length || addrs.some((a) => !weights.has(a))) {
      throw new InvalidInputError(
        `the registry's set of ${origin} in epoch ${epoch} has other validators than the manifest`,
      );
    }
    const same =
      fed.config.epoch === epoch &&
      fed.nodes.every((n) => n.member.weight === weights.get(n.member.address.toLowerCase()));
    if (same) return false;
    const members = fed.nodes.map((n) => {
      const member = { ...n.member, weight: weights.get(n.member.address.toLowerCase())! };
      (n as { member: FederationMember }).member = member;
      return member;
    });
    (fed as { config: FederationConfig }).config = { origin, epoch, members };
    return true;
  }

  urls(): Map<string, string> {
    return new Map(this.nodes.map((n) => [n.id, n.url]));
  }
}
