import { expect } from "chai";
import { encodeAll, federationEventEncoder } from "../../src/batching/encode";
import { canonicalBytes } from "../../src/events/canonical";
import { digestPayload, payloadCommitment, payloadDigest, prepareEvent } from "../../src/events/validate";
import { sha256 } from "../../src/merkle/hash";
import { InvalidInputError } from "../../src/util/errors";
import { makeEvent } from "../fixtures/events";

describe("batching/federationEventEncoder", () => {
  const encode = federationEventEncoder();

  it("commits an inline payload with a fresh secret salt: the leaf covers no payload and no plain digest", () => {
    const inline = makeEvent(42);
    const a = encode(inline);
    const b = encode(inline);
    const payload = canonicalBytes(inline.payload);
    expect(a.payload).to.deep.equal(payload);
    expect(a.salt).to.have.length(32);
    expect(Buffer.from(a.salt!).equals(Buffer.from(b.salt!))).to.equal(false);
    const { payload: _p, ...rest } = inline;
    const committed = canonicalBytes({ ...rest, payload_commitment: payloadCommitment(a.salt!, payload) });
    expect(a.canonical).to.deep.equal(committed);
    expect(a.leafHash).to.deep.equal(
      prepareEvent({ ...rest, payload_commitment: payloadCommitment(a.salt!, payload) }).leaf,
    );
    expect(a.leafHash).to.not.deep.equal(b.leafHash);
    const text = Buffer.from(a.canonical).toString();
    expect(text).to.not.include("did:example:42");
    expect(text).to.not.include(payloadDigest(inline.payload!));
    expect(text).to.not.include(Buffer.from(sha256(payload)).toString("hex"));
  });

  it("hashes an event that already carries payload_digest or payload_commitment as given", () => {
    const digest = digestPayload(makeEvent(7));
    const d = encode(digest);
    expect(d.canonical).to.deep.equal(canonicalBytes(digest));
    expect(d.payload).to.equal(undefined);
    expect(d.salt).to.equal(undefined);
    const { payload_digest: h, ...rest } = digest;
    const c = encode({ ...rest, payload_commitment: h });
    expect(c.canonical).to.deep.equal(canonicalBytes({ ...rest, payload_commitment: h }));
  });

  it("recomputes the same leaf from the archived salt (deterministic with a given salt source)", () => {
    const salt = new Uint8Array(32).fill(7);
    const e = federationEventEncoder(undefined, () => salt);
    expect(e(makeEvent(3)).leafHash).to.deep.equal(e(makeEvent(3)).leafHash);
  });

  it("names the event index, field and rule of the first invalid event", () => {
    const bad = { ...makeEvent(1), timestamp: "yesterday" };
    expect(() => encodeAll(encode, [makeEvent(0), bad])).to.throw(
      InvalidInputError,
      /^events\[1\]: .*\/timestamp/,
    );
    expect(() => encodeAll(encode, "nope" as unknown as unknown[])).to.throw(
      InvalidInputError,
      /array of events/,
    );
  });
});
