import { expect } from "chai";
import { Signature } from "ethers";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import {
  VOTE_CONTEXT,
  checkpointBody,
  formatSignedNote,
  signBody,
  type Checkpoint,
} from "../../src/crypto/note";
import { recoverCheckpointSigner, signCheckpoint } from "../../src/consensus/anchor-signature";
import { checkVote, memberVerifier } from "../../src/consensus/vote-check";
import { federationMembers } from "../../src/rounds/federation";
import { ValidatorNode } from "../../src/consensus/validator-node";
import { DOMAIN, spec, tmpDir } from "./fixture";

const ORIGIN = "amp.local/ssid";
const s = spec(ORIGIN, 2);
const members = federationMembers(s);
const fed = { origin: ORIGIN, epoch: 1n, members };
const me = members[0]!;
const keys = s.nodes[0]!.keys;
const signer = new ValidatorNode({ origin: ORIGIN, keys, dataDir: tmpDir("amp-vc-"), domain: DOMAIN }).signer;
const cp: Checkpoint = {
  origin: ORIGIN,
  treeSize: 3n,
  rootHash: new Uint8Array(32).fill(1),
  round: 1n,
  epoch: 1n,
};
const body = checkpointBody(cp);
const note = formatSignedNote({ body, signatures: [signBody(body, signer, VOTE_CONTEXT)] });
const check = (vote: { note: string; eip712Signature: string }) =>
  checkVote({ nodeId: me.nodeId, ...vote }, me, memberVerifier(me), fed, 1n, DOMAIN);

describe("consensus/vote-check", () => {
  it("accepts a vote signed by the voter's ML-DSA and secp256k1 keys", async () => {
    expect(await check({ note, eip712Signature: signCheckpoint(keys.wallet, DOMAIN, cp) })).to.deep.include({
      ok: true,
    });
  });
  it("flags an EIP-712 signature by another key, or for another chain, as invalid-signature", async () => {
    const other = deriveThrowawayKeys("x", "y").wallet;
    expect(await check({ note, eip712Signature: signCheckpoint(other, DOMAIN, cp) })).to.deep.include({
      ok: false,
      fault: "invalid-signature",
    });
    const wrongChain = signCheckpoint(keys.wallet, { ...DOMAIN, chainId: 1n }, cp);
    expect(await check({ note, eip712Signature: wrongChain })).to.deep.include({
      fault: "invalid-signature",
    });
  });
  it("refuses a high-s or wrong-length EIP-712 signature", () => {
    const sig = Signature.from(signCheckpoint(keys.wallet, DOMAIN, cp));
    const n = BigInt("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
    const highS =
      "0x" +
      sig.r.slice(2) +
      (n - BigInt(sig.s)).toString(16).padStart(64, "0") +
      (sig.v === 27 ? "1c" : "1b");
    expect(recoverCheckpointSigner(DOMAIN, cp, highS)).to.equal(undefined);
    expect(recoverCheckpointSigner(DOMAIN, cp, sig.serialized.slice(0, -2))).to.equal(undefined);
    expect(recoverCheckpointSigner(DOMAIN, cp, sig.serialized)).to.equal(keys.wallet.address);
  });
  it("flags a vote for another round or a vote note that does not parse", async () => {
    const eip = signCheckpoint(keys.wallet, DOMAIN, cp);
    const r2 = checkpointBody({ ...cp, round: 2n });
    const n2 = formatSignedNote({ body: r2, signatures: [signBody(r2, signer, VOTE_CONTEXT)] });
    expect(await check({ note: n2, eip712Signature: eip })).to.deep.include({
      ok: false,
      fault: "malformed",
    });
    expect(await check({ note: "nonsense", eip712Signature: eip })).to.deep.include({
      ok: false,
      fault: "malformed",
    });
  });
});
