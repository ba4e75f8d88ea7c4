import { expect } from "chai";
import { encodeAll, federationEventEncoder } from "../../src/batching/encode";
import { canonicalBytes } from "../../src/events/canonical";
import { digestPayload, prepareEvent } from "../../src/events/validate";
import { InvalidInputError } from "../../src/util/errors";
import { makeEvent } from "../fixtures/events";

describe("batching/federationEventEncoder", () => {
  const encode = federationEventEncoder();

  it("gives an inline-payload event the same canonical bytes and leaf as its digest form", () => {
    const inline = makeEvent(42);
    const digest = digestPayload(inline);
    const a = encode(inline);
    const b = encode(digest);
    expect(a.canonical).to.deep.equal(b.canonical);
    expect(a.leafHash).to.deep.equal(b.leafHash);
    expect(a.leafHash).to.deep.equal(prepareEvent(digest).leaf);
    expect(a.payload).to.deep.equal(canonicalBytes(inline.payload));
    expect(b.payload).to.equal(undefined);
    expect(Buffer.from(a.canonical).includes(Buffer.from("did:example:42"))).to.equal(false);
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
