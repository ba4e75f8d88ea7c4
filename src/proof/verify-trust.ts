/**
 * The first chain check of every verification: the proof must be about the deployment the verifier
 * pinned — by a trust policy (`--trust`) or by an anchor address (`--anchor`, the rest read from the
 * chain and reported). Never from the proof file itself.
 */
import { getAddress } from "viem";
import type { PublicClient } from "viem";
import { readChainDeployment, registeredFederations } from "../trust/policy";
import type { TrustedFederation, TrustPolicy } from "../trust/policy";
import { check } from "./errors";
import type { ProofFile } from "./format";

/** What the verifier trusts: a policy file, or just the anchor's address. */
export type TrustRoot = { policy: TrustPolicy } | { anchor: string };

/** The deployment that was trusted, as checked against the chain (printed on success). */
export interface PinnedTrust {
  /** "policy": every field pinned by the trust policy; "anchor": only the anchor, the rest read from chain. */
  source: "policy" | "anchor";
  chainId: string;
  anchor: string;
  registry: string;
  anchorCodeHash: string;
  registryCodeHash: string;
  federations: TrustedFederation[];
}

type Client = Pick<PublicClient, "getChainId" | "getCode" | "readContract">;

/** Check the chain and the proof against the trust root; returns what was trusted. */
export async function checkTrust(client: Client, p: ProofFile, root: TrustRoot): Promise<PinnedTrust> {
  const pinnedAnchor = getAddress("policy" in root ? root.policy.anchor : root.anchor);
  const d = await readChainDeployment(client, pinnedAnchor);
  const pol = "policy" in root ? root.policy : undefined;
  const by = pol ? "the trust policy pins" : "--anchor pins";
  if (pol) {
    check(
      d.chainId === pol.chainId,
      "chainId",
      `the RPC endpoint is chain ${d.chainId}; the trust policy pins chain ${pol.chainId}`,
    );
  }
  const chainId = pol?.chainId ?? d.chainId;
  check(p.anchor.chainId === chainId, "anchor.chainId", `is ${p.anchor.chainId}; ${by} chain ${chainId}`);
  check(
    getAddress(p.anchor.contract) === pinnedAnchor,
    "anchor.contract",
    `${getAddress(p.anchor.contract)} is not the pinned anchor; ${by} ${pinnedAnchor}`,
  );
  check(d.anchorCodeHash !== undefined, "anchor.contract", "holds no contract code on this chain");
  check(
    !pol || d.anchorCodeHash === pol.anchorCodeHash,
    "anchorCodeHash",
    `the code at ${pinnedAnchor} hashes to ${d.anchorCodeHash}; the trust policy pins ${pol?.anchorCodeHash}`,
  );
  check(
    !pol || d.registry === pol.registry,
    "registry",
    `the anchor reads registry ${d.registry}; the trust policy pins ${pol?.registry}`,
  );
  check(d.registryCodeHash !== undefined, "registry", `no contract code at the registry ${d.registry}`);
  check(
    !pol || d.registryCodeHash === pol.registryCodeHash,
    "registryCodeHash",
    `the code at ${d.registry} hashes to ${d.registryCodeHash}; the trust policy pins ${pol?.registryCodeHash}`,
  );
  const federations = pol?.federations ?? (await registeredFederations(client, d.registry));
  check(
    federations.some((f) => f.federationId === p.federation.federationId && f.origin === p.federation.origin),
    "federation.origin",
    `${p.federation.origin} is not a ${pol ? "federation of the trust policy" : "federation registered at the pinned anchor"}`,
  );
  return {
    source: pol ? "policy" : "anchor",
    chainId,
    anchor: pinnedAnchor,
    registry: d.registry,
    anchorCodeHash: d.anchorCodeHash,
    registryCodeHash: d.registryCodeHash,
    federations,
  };
}
