import { expect } from "chai";
import {
  VOTE_CONTEXT,
  WITNESS_CONTEXT,
  NoteError,
  checkpointBody,
  formatSignedNote,
  keyId,
  makeSigner,
  makeVerifier,
  parseCheckpointBody,
  parseSignedNote,
  signBody,
  verifyNote,
  type Checkpoint,
} from "../../src/crypto/note";
import { deriveThrowawayKeys, ML_DSA65_SIGNATURE_BYTES } from "../../src/crypto/keys";

const cp: Checkpoint = {
  origin: "amp.local/ssid",
  treeSize: 1000n,
  rootHash: new Uint8Array(32).fill(7),
  round: 3n,
  epoch: 1n,
};
const keys = [0, 1].map((i) => deriveThrowawayKeys("note-test", `n${i}`));
const signers = keys.map((k) =>
  makeSigner(`amp.local/ssid/${k.nodeId}`, k.mldsa.publicKey, k.mldsa.secretKey),
);
const verifiers = signers.map((s) => makeVerifier(s.keyName, s.publicKey));
const body = checkpointBody(cp);
const sigs = signers.map((s) => signBody(body, s, VOTE_CONTEXT));
const text = formatSignedNote({ body, signatures: sigs });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(NoteError);
    return (e as NoteError).code;
  }
  throw new Error("expected a NoteError");
}

describe("crypto/note: checkpoint bodies", () => {
  it("formats the C2SP checkpoint with the amp-round extension line", () => {
    expect(body).to.equal(
      `amp.local/ssid\n1000\n${Buffer.alloc(32, 7).toString("base64")}\namp-round 3 epoch 1\n`,
    );
  });
  it("round-trips through parseCheckpointBody", () => {
    const back = parseCheckpointBody(body);
    expect(checkpointBody(back)).to.equal(body);
    expect(back.treeSize).to.equal(1000n);
  });
  it("keeps 64-bit sizes exact", () => {
    const big = { ...cp, treeSize: (1n << 64n) - 1n };
    expect(parseCheckpointBody(checkpointBody(big)).treeSize).to.equal((1n << 64n) - 1n);
    expect(code(() => checkpointBody({ ...cp, treeSize: 1n << 64n }))).to.equal("bad-number");
  });
  it("rejects leading zeros, missing lines, short roots, round 0 and a bad extension", () => {
    const root = Buffer.alloc(32, 7).toString("base64");
    expect(code(() => parseCheckpointBody(`o\n01\n${root}\namp-round 1 epoch 1\n`))).to.equal("bad-number");
    expect(code(() => parseCheckpointBody(`o\n1\n${root}\n`))).to.equal("bad-body");
    expect(code(() => parseCheckpointBody(`o\n1\n${root}\namp-round 1 epoch 1`))).to.equal("bad-body");
    expect(code(() => parseCheckpointBody(`o\n1\nAAAA\namp-round 1 epoch 1\n`))).to.equal("bad-root");
    expect(code(() => parseCheckpointBody(`o\n1\n${root}\namp-round 0 epoch 1\n`))).to.equal("bad-extension");
    expect(code(() => parseCheckpointBody(`o\n1\n${root}\namp-round 1\n`))).to.equal("bad-extension");
    expect(code(() => parseCheckpointBody(`o o\n1\n${root}\namp-round 1 epoch 1\n`))).to.equal("bad-origin");
  });
});

describe("crypto/note: signed notes", () => {
  it("computes the key id as SHA-256(name ‖ 0x0A ‖ 0xff ‖ type id ‖ public key)[:4]", () => {
    expect(verifiers[0]!.keyId).to.have.length(4);
    expect(keyId("a", keys[0]!.mldsa.publicKey)).to.not.deep.equal(keyId("b", keys[0]!.mldsa.publicKey));
  });
  it("pins the ML-DSA-65 signature size at 3309 bytes", () => {
    expect(sigs[0]!.signature.length).to.equal(ML_DSA65_SIGNATURE_BYTES).and.equal(3309);
  });
  it("round-trips a note with two signatures and verifies both", () => {
    const parsed = parseSignedNote(text);
    expect(parsed.body).to.equal(body);
    expect(formatSignedNote(parsed)).to.equal(text);
    expect(verifyNote(parsed, verifiers, VOTE_CONTEXT).map((v) => v.keyName)).to.deep.equal(
      verifiers.map((v) => v.keyName),
    );
  });
  it("signs deterministically: same body, same bytes", () => {
    expect(
      formatSignedNote({ body, signatures: signers.map((s) => signBody(body, s, VOTE_CONTEXT)) }),
    ).to.equal(text);
  });
  it("refuses a vote signature presented as a witness cosignature (context separation)", () => {
    expect(code(() => verifyNote(parseSignedNote(text), verifiers, WITNESS_CONTEXT))).to.equal(
      "bad-signature",
    );
  });
  it("refuses a signature over a different body", () => {
    const other = checkpointBody({ ...cp, treeSize: 1001n });
    expect(code(() => verifyNote({ body: other, signatures: sigs }, verifiers, VOTE_CONTEXT))).to.equal(
      "bad-signature",
    );
  });
  it("refuses a wrong-length signature from a known key", () => {
    const short = { ...sigs[0]!, signature: sigs[0]!.signature.slice(0, 3308) };
    const t = formatSignedNote({ body, signatures: [short] });
    expect(code(() => verifyNote(parseSignedNote(t), verifiers, VOTE_CONTEXT))).to.equal(
      "wrong-signature-length",
    );
  });
  it("ignores unknown keys by default and refuses them when asked", () => {
    const note = parseSignedNote(text);
    expect(verifyNote(note, [verifiers[0]!], VOTE_CONTEXT)).to.have.length(1);
    expect(code(() => verifyNote(note, [verifiers[0]!], VOTE_CONTEXT, { rejectUnknown: true }))).to.equal(
      "unknown-key",
    );
    expect(code(() => verifyNote(note, [], VOTE_CONTEXT))).to.equal("no-known-signature");
  });
  it("refuses two signatures by one key", () => {
    const t = formatSignedNote({ body, signatures: [sigs[0]!, sigs[0]!] });
    expect(code(() => verifyNote(parseSignedNote(t), verifiers, VOTE_CONTEXT))).to.equal(
      "duplicate-signature",
    );
  });
  it("rejects every structural error with a named code", () => {
    const line = text.split("\n\n")[1]!.split("\n")[0]!;
    const blob = line.split(" ")[2]!;
    expect(code(() => parseSignedNote(body))).to.equal("no-separator");
    expect(code(() => parseSignedNote(`${body}\n${line}`))).to.equal("no-separator");
    expect(code(() => parseSignedNote(`${body}\n- name ${blob}\n`))).to.equal("bad-signature-line");
    expect(code(() => parseSignedNote(`${body}\n\u2014 name ${blob} extra\n`))).to.equal(
      "bad-signature-line",
    );
    expect(code(() => parseSignedNote(`${body}\n\u2014 name ${blob.slice(1)}\n`))).to.equal("bad-base64");
    expect(code(() => parseSignedNote(`${body}\n\u2014 name !!!!\n`))).to.equal("bad-base64");
    expect(code(() => parseSignedNote(`${body}\n\u2014 name AAAA\n`))).to.equal("short-signature");
    expect(code(() => parseSignedNote(`${body}\n\u2014 na+me ${blob}\n`))).to.equal("bad-key-name");
    expect(code(() => parseSignedNote(`${body}\n\u2014 name ${blob}\r\n`))).to.equal("control-char");
    expect(code(() => formatSignedNote({ body, signatures: [] }))).to.equal("no-signatures");
  });
});
