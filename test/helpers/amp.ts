/**
 * Shared contract-test helpers: the deploy fixture (through the real Ignition module), deterministic
 * validator wallets, EIP-712 checkpoint signing and building `anchorRound` submissions from real
 * RFC 9162 trees (src/merkle) and the TypeScript global root (src/nexus/global-root).
 */
import { expect } from "chai";
import hre from "hardhat";
import { Wallet, getBytes, hexlify, keccak256, sha256, toUtf8Bytes } from "ethers";
import AmpModule from "../../ignition/modules/Amp";
import {
  GlobalProofAnchor__factory,
  ProofCreditReceipts__factory,
  ValidatorRegistry__factory,
} from "../../typechain-types";
import type { GlobalProofAnchor, ProofCreditReceipts, ValidatorRegistry } from "../../typechain-types";
import type { IGlobalProofAnchor } from "../../typechain-types/contracts/GlobalProofAnchor";
import { consistencyProof, leafHash, rootHash } from "../../src/merkle";
import { globalRoot } from "../../src/nexus/global-root";
import { AnchorReader } from "../../src/chain/round-records";
import { checkpointTypedDataHash, rotationTypedDataHash, validatorSetHash } from "../../src/chain/eip712";

export type Submission = IGlobalProofAnchor.CheckpointSubmissionStruct;

export interface Amp {
  registry: ValidatorRegistry;
  anchor: GlobalProofAnchor;
  receipts: ProofCreditReceipts;
  chainId: bigint;
  anchorAddress: string;
  registryAddress: string;
}

/** Deploys the three contracts through ignition/modules/Amp.ts, as the CLI does. */
export async function deployAmp(): Promise<Amp> {
  const deployed = await hre.ignition.deploy(AmpModule);
  const [deployer] = await hre.ethers.getSigners();
  const anchorAddress = await deployed.anchor.getAddress();
  return {
    registry: ValidatorRegistry__factory.connect(await deployed.registry.getAddress(), deployer),
    anchor: GlobalProofAnchor__factory.connect(anchorAddress, deployer),
    receipts: ProofCreditReceipts__factory.connect(await deployed.receipts.getAddress(), deployer),
    chainId: (await hre.ethers.provider.getNetwork()).chainId,
    anchorAddress,
    registryAddress: await deployed.registry.getAddress(),
  };
}

/** A throwaway validator wallet derived from a label (deterministic, test only). */
export function testWallet(label: string): Wallet {
  return new Wallet(keccak256(toUtf8Bytes(`amp-test-wallet/${label}`)));
}

/** Wallets sorted by address, ascending (the order the anchor requires). */
export function byAddress(wallets: readonly Wallet[]): Wallet[] {
  return [...wallets].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
}

/** A federation as the tests drive it: its validator set and an in-memory RFC 9162 log. */
export class TestFederation {
  readonly id: string;
  readonly leaves: Uint8Array[] = [];
  /** Size of the last anchored checkpoint, undefined before the first anchor. */
  anchoredSize: bigint | undefined;

  constructor(
    readonly origin: string,
    public validators: Wallet[],
    public weights: bigint[],
    public epoch = 1n,
  ) {
    this.id = sha256(toUtf8Bytes(origin));
  }

  /** Appends `n` deterministic event leaves. */
  grow(n: number): this {
    const start = this.leaves.length;
    for (let i = start; i < start + n; i++)
      this.leaves.push(leafHash(toUtf8Bytes(`${this.origin}/event/${i}`)));
    return this;
  }

  get size(): bigint {
    return BigInt(this.leaves.length);
  }

  rootAt(size: bigint): string {
    return hexlify(rootHash(this.leaves.slice(0, Number(size))));
  }

  /** Consistency proof from the anchored size to `size`; empty before the first anchor. */
  proofTo(size: bigint): string[] {
    const from = this.anchoredSize ?? 0n;
    if (from === 0n || from === size) return [];
    return consistencyProof(this.leaves, from, size).map((h) => hexlify(h));
  }

  /** Test key commitments of the validators (a stand-in for SHA-256 of their ML-DSA public keys). */
  get commitments(): string[] {
    return this.validators.map((w) => testCommitment(w.address));
  }

  /** Registers this federation in the registry (governance = the registry's runner). */
  async register(registry: ValidatorRegistry): Promise<void> {
    await (
      await registry.registerFederation(
        this.origin,
        this.validators.map((w) => w.address),
        this.weights,
        this.commitments,
      )
    ).wait();
  }

  /**
   * Rotates to `validators`/`weights` with the signatures of `signers` (default: every current
   * validator) over the registry's Rotation digest, then adopts the new set and epoch.
   */
  async rotate(amp: Amp, validators: Wallet[], weights: bigint[], signers?: Wallet[]): Promise<void> {
    const set = {
      validators: validators.map((w) => w.address),
      weights,
      keyCommitments: validators.map((w) => testCommitment(w.address)),
    };
    const sigs = rotationSignatures(amp, this.id, this.epoch + 1n, set, signers ?? this.validators);
    await (
      await amp.registry.rotateValidators(this.id, set.validators, set.weights, set.keyCommitments, sigs)
    ).wait();
    this.validators = validators;
    this.weights = weights;
    this.epoch += 1n;
  }
}

/** A deterministic stand-in key commitment for a validator address (test only). */
export function testCommitment(address: string): string {
  return sha256(toUtf8Bytes(`amp-test-mldsa-key/${address.toLowerCase()}`));
}

/** 65-byte signatures of `signers` (sorted by address) over the Rotation of `federationId` to `epoch`. */
export function rotationSignatures(
  amp: Amp,
  federationId: string,
  epoch: bigint,
  set: { validators: string[]; weights: bigint[]; keyCommitments: string[] },
  signers: readonly Wallet[],
  domain: { chainId?: bigint; registry?: string } = {},
): string[] {
  const digest = rotationTypedDataHash(
    domain.chainId ?? amp.chainId,
    domain.registry ?? amp.registryAddress,
    {
      federationId,
      epoch,
      setHash: validatorSetHash(set),
    },
  );
  return byAddress(signers).map((w) => w.signingKey.sign(digest).serialized);
}

export interface CheckpointOptions {
  size?: bigint;
  root?: string;
  epoch?: bigint;
  proof?: string[];
  /** Who signs; default all validators. Sorted by address unless `unsorted`. */
  signers?: Wallet[];
  unsorted?: boolean;
  /** Override the signatures entirely. */
  signatures?: string[];
  /** Sign for another domain. */
  chainId?: bigint;
  anchorAddress?: string;
}

/** 65-byte r ‖ s ‖ v EIP-712 signature of a checkpoint. */
export function signCheckpoint(
  wallet: Wallet,
  chainId: bigint,
  anchorAddress: string,
  msg: { federationId: string; epoch: bigint; round: bigint; treeSize: bigint; rootHash: string },
): string {
  return wallet.signingKey.sign(checkpointTypedDataHash(chainId, anchorAddress, msg)).serialized;
}

/** One federation's CheckpointSubmission for `round`, at its current size unless overridden. */
export function checkpointFor(
  amp: Amp,
  fed: TestFederation,
  round: bigint,
  o: CheckpointOptions = {},
): Submission {
  const treeSize = o.size ?? fed.size;
  const rootHashHex = o.root ?? fed.rootAt(treeSize);
  const epoch = o.epoch ?? fed.epoch;
  const signers = o.unsorted ? (o.signers ?? fed.validators) : byAddress(o.signers ?? fed.validators);
  const msg = { federationId: fed.id, epoch, round, treeSize, rootHash: rootHashHex };
  const signatures =
    o.signatures ??
    signers.map((w) =>
      signCheckpoint(w, o.chainId ?? amp.chainId, o.anchorAddress ?? amp.anchorAddress, msg),
    );
  return {
    federationId: fed.id,
    epoch,
    treeSize,
    rootHash: rootHashHex,
    consistencyProof: o.proof ?? fed.proofTo(treeSize),
    signatures,
  };
}

/** The global root the contract recomputes, from the submissions (origins looked up in `feds`). */
export function globalRootOf(
  round: bigint,
  feds: readonly TestFederation[],
  subs: readonly Submission[],
): string {
  const checkpoints = subs.map((s) => {
    const fed = feds.find((f) => f.id === s.federationId);
    if (!fed) throw new Error(`no test federation with id ${String(s.federationId)}`);
    return { origin: fed.origin, treeSize: BigInt(s.treeSize), rootHash: getBytes(String(s.rootHash)) };
  });
  return hexlify(globalRoot(round, checkpoints));
}

/** Submissions for every federation in ascending id order, plus the matching global root. */
export function roundFor(
  amp: Amp,
  feds: readonly TestFederation[],
  round: bigint,
  options: Record<string, CheckpointOptions> = {},
): { round: bigint; globalRoot: string; checkpoints: Submission[] } {
  const sorted = [...feds].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  const checkpoints = sorted.map((f) => checkpointFor(amp, f, round, options[f.origin] ?? {}));
  return { round, globalRoot: globalRootOf(round, feds, checkpoints), checkpoints };
}

/** The record of `round` from its `GlobalRootAnchored` log ("0x" when not anchored). */
export function recordOf(amp: Amp, round: bigint): Promise<string> {
  return new AnchorReader(amp.anchor).record(round);
}

/** What `anchorRound(round, ...)` must carry as `previousRecord`: the record of round - 1, "0x" for round 1. */
export function previousRecord(amp: Amp, round: bigint): Promise<string> {
  return round > 1n ? recordOf(amp, round - 1n) : Promise.resolve("0x");
}

/** The anchor's `anchorOf(round, record)` with the round's record from its log. */
export async function anchorOf(amp: Amp, round: bigint) {
  return amp.anchor.anchorOf(round, await recordOf(amp, round));
}

/** The anchor's `checkpointOf(round, id, record)` with the round's record from its log. */
export async function checkpointOf(amp: Amp, round: bigint, federationId: string) {
  return amp.anchor.checkpointOf(round, federationId, await recordOf(amp, round));
}

/** The anchor's `latestCheckpoint(id, record)` with the record of round `nextRound() - 1`. */
export async function latestCheckpoint(amp: Amp, federationId: string) {
  const latest = (await amp.anchor.nextRound()) - 1n;
  return amp.anchor.latestCheckpoint(federationId, await recordOf(amp, latest));
}

/** Sends `anchorRound` and, on success, records the anchored sizes in the test federations. */
export async function anchor(
  amp: Amp,
  feds: readonly TestFederation[],
  r: { round: bigint; globalRoot: string; checkpoints: Submission[] },
): Promise<bigint> {
  const previous = await previousRecord(amp, r.round);
  const receipt = await (await amp.anchor.anchorRound(r.round, r.globalRoot, previous, r.checkpoints)).wait();
  for (const s of r.checkpoints) {
    const fed = feds.find((f) => f.id === s.federationId);
    if (fed) fed.anchoredSize = BigInt(s.treeSize);
  }
  return receipt?.gasUsed ?? 0n;
}

/** Everything the anchor stores that a rejected call must leave unchanged. */
export async function anchorState(amp: Amp, feds: readonly TestFederation[]): Promise<unknown[]> {
  const next = await amp.anchor.nextRound();
  const out: unknown[] = [next];
  for (let r = 1n; r <= next; r++) {
    out.push(await amp.anchor.recordCommitmentOf(r));
    out.push([...(await anchorOf(amp, r))]);
    for (const f of feds) out.push([...(await checkpointOf(amp, r, f.id))]);
  }
  for (const f of feds) out.push([...(await latestCheckpoint(amp, f.id))]);
  return out;
}

/** Origins of the two demo federations. */
export const SSID = "amp.local/ssid";
export const OPENCORE = "amp.local/opencore";

/**
 * Fresh test federations (deterministic wallets): ssid with 4 validators of weights 3,3,2,1 (6 of 9
 * is exactly 2/3, 7 of 9 just above) and opencore with 3 validators of weight 1 (2 of 3 is exactly 2/3).
 */
export function demoFederations(): { ssid: TestFederation; opencore: TestFederation } {
  const wallets = (origin: string, n: number) =>
    Array.from({ length: n }, (_, i) => testWallet(`${origin}/${i}`));
  return {
    ssid: new TestFederation(SSID, wallets(SSID, 4), [3n, 3n, 2n, 1n]),
    opencore: new TestFederation(OPENCORE, wallets(OPENCORE, 3), [1n, 1n, 1n]),
  };
}

/** loadFixture target: the contracts deployed with both demo federations registered. */
export async function deployWithFederations(): Promise<Amp> {
  const amp = await deployAmp();
  const { ssid, opencore } = demoFederations();
  await ssid.register(amp.registry);
  await opencore.register(amp.registry);
  return amp;
}

/** `call` reverts with the registry's custom `error(...args)`, and nothing the registry stores changed. */
export async function expectRegistryRejects(
  registry: ValidatorRegistry,
  ids: string[],
  call: () => Promise<unknown>,
  error: string,
  args: unknown[],
): Promise<void> {
  const before = await registryState(registry, ids);
  await expect(call())
    .to.be.revertedWithCustomError(registry, error)
    .withArgs(...args);
  expect(await registryState(registry, ids)).to.deep.equal(before);
}

/** Everything the registry stores, for "nothing changed" checks. */
export async function registryState(registry: ValidatorRegistry, ids: string[]): Promise<unknown[]> {
  const out: unknown[] = [[...(await registry.federationIds())], await registry.directory()];
  for (const id of ids) {
    const epoch = await registry.currentEpoch(id);
    out.push(epoch, await registry.originOf(id), [...(await registry.pendingRecovery(id))]);
    for (let e = 1n; e <= epoch + 1n; e++) {
      const [v, w] = await registry.validatorsOf(id, e);
      out.push([...v], [...w], await registry.totalWeight(id, e));
      out.push([...(await registry.keyCommitmentsOf(id, e))], await registry.isRecoveryEpoch(id, e));
    }
  }
  return out;
}
