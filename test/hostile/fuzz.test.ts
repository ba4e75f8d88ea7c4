/**
 * Property-based fuzzing (fast-check) of the parsers that take bytes from outside: the proof file,
 * the C2SP signed note / checkpoint body, votes as a peer sends them, and the I-JSON text parser.
 * Properties: no input makes them throw anything but their typed AmpError, and nothing invalid is
 * accepted (checked against an oracle written independently of the parser).
 */
import { expect } from "chai";
import fc from "fast-check";
import { signCheckpoint } from "../../src/consensus/anchor-signature";
import { checkVote, memberVerifier } from "../../src/consensus/vote-check";
import type { FederationConfig } from "../../src/consensus/types";
import {
  checkpointBody,
  formatSignedNote,
  makeSigner,
  makeVerifier,
  NoteError,
  parseCheckpointBody,
  parseSignedNote,
  signBody,
  verifyNote,
  VOTE_CONTEXT,
  type Checkpoint,
} from "../../src/crypto/note";
import { IJsonError, parseIJson } from "../../src/events/ijson";
import { firstSyntaxError } from "../../src/events/json-syntax";
import { parseProofFile } from "../../src/proof/format";
import { federationMembers } from "../../src/rounds/federation";
import { AmpError, InvalidInputError } from "../../src/util/errors";
import { DOMAIN, spec } from "../consensus/fixture";
import { validProof } from "../fixtures/hostile/proof-cases";

const RUNS = Number(process.env.AMP_FUZZ_RUNS ?? 300);

/** Text mutations: replace, insert or delete characters at random places. */
function mutated(base: string): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat({ max: base.length }),
    kind: fc.constantFrom("replace", "insert", "delete"),
    text: fc.string({ unit: "binary", minLength: 1, maxLength: 4 }),
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) =>
    edits.reduce((s, e) => {
      const at = Math.min(e.at, s.length);
      if (e.kind === "insert") return s.slice(0, at) + e.text + s.slice(at);
      if (e.kind === "delete") return s.slice(0, at) + s.slice(at + e.text.length);
      return s.slice(0, at) + e.text + s.slice(at + e.text.length);
    }, base),
  );
}

function outcome(fn: () => unknown): { ok: true; value: unknown } | { ok: false; err: unknown } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, err };
  }
}

// The proof-file oracle: every field's shape, written independently of src/proof/format.ts.
const HASH = /^0x[0-9a-f]{64}$/;
const U64 = /^(0|[1-9][0-9]{0,19})$/;
function oracleAcceptsProof(p: unknown): boolean {
  const o = p as Record<string, Record<string, unknown> | undefined>;
  const keys = (x: unknown, k: string[]): boolean =>
    typeof x === "object" && x !== null && !Array.isArray(x) && Object.keys(x).every((y) => k.includes(y));
  const str = (x: unknown, re: RegExp): boolean => typeof x === "string" && re.test(x);
  if (!keys(o, ["format", "event", "federation", "inclusion", "checkpoint", "nexus", "anchor"])) return false;
  const { event, federation, inclusion, checkpoint, nexus, anchor } = o;
  return (
    (o.format as unknown) === "amp-proof/v1" &&
    keys(event, ["id", "canonical", "leafHash"]) &&
    str(event?.id, /^.+$/s) &&
    (event?.canonical === undefined || typeof event.canonical === "string") &&
    str(event?.leafHash, HASH) &&
    str(federation?.origin, /^[\x21-\x7e]{1,255}$/) &&
    str(federation?.federationId, HASH) &&
    str(inclusion?.index, U64) &&
    str(inclusion?.treeSize, U64) &&
    Array.isArray(inclusion?.path) &&
    (inclusion.path as unknown[]).every((h) => str(h, HASH)) &&
    str(checkpoint?.rootHash, HASH) &&
    Array.isArray(checkpoint?.signatures) &&
    (checkpoint.signatures as unknown[]).length >= 1 &&
    (checkpoint.signatures as unknown[]).every((s) => str(s, /^0x[0-9a-f]{130}$/)) &&
    str(nexus?.globalRoot, HASH) &&
    str(anchor?.contract, /^0x[0-9a-fA-F]{40}$/) &&
    str(anchor?.txHash, HASH)
  );
}

describe("fuzzing: hostile bytes at the parsers (fast-check)", function () {
  this.timeout(600_000);

  it("parseIJson: only IJsonError; accepts only what JSON.parse accepts, with the same value; refuses valid JSON only for an I-JSON rule", () => {
    const jsonish = fc.string({
      unit: fc.constantFrom(...'{}[]:,"\\ ntrufalse0123456789.eE+-\u00e9\ud800\ufffe'),
      maxLength: 30,
    });
    fc.assert(
      fc.property(fc.oneof(jsonish, fc.string({ unit: "binary" }), fc.json()), (text) => {
        const r = outcome(() => parseIJson(text));
        const native = outcome(() => JSON.parse(text) as unknown);
        expect(firstSyntaxError(text) === undefined).to.equal(native.ok);
        if (r.ok) {
          expect(native.ok).to.equal(true);
          if (native.ok) expect(r.value).to.deep.equal(native.value);
        } else {
          expect(r.err).to.be.instanceOf(IJsonError);
          const rule = String((r.err as IJsonError).meta.rule);
          expect(/malformed JSON/.test(rule), rule).to.equal(!native.ok);
        }
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it("parseProofFile: only InvalidInputError; whatever it accepts has every field in shape", () => {
    const valid = JSON.stringify(validProof(), null, 2);
    fc.assert(
      fc.property(
        fc.oneof(
          mutated(valid),
          fc.string({ unit: "binary" }),
          fc.json(),
          mutated(JSON.stringify(validProof())),
        ),
        (text) => {
          const r = outcome(() => parseProofFile(text));
          if (r.ok) expect(oracleAcceptsProof(r.value), text).to.equal(true);
          else expect(r.err).to.be.instanceOf(InvalidInputError);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  it("parseProofFile: a field replaced by any JSON value of another shape is refused, naming it", () => {
    const leaves = [
      "event.leafHash",
      "inclusion.index",
      "checkpoint.rootHash",
      "anchor.contract",
      "nexus.round",
      "federation.origin",
    ];
    fc.assert(
      fc.property(fc.constantFrom(...leaves), fc.jsonValue(), (path, value) => {
        const p = JSON.parse(JSON.stringify(validProof())) as Record<string, Record<string, unknown>>;
        const [a, b] = path.split(".") as [string, string];
        p[a]![b] = value;
        const r = outcome(() => parseProofFile(JSON.stringify(p)));
        if (r.ok) {
          expect(oracleAcceptsProof(r.value)).to.equal(true); // e.g. another well-formed hash
        } else {
          expect(r.err).to.be.instanceOf(InvalidInputError);
          expect((r.err as InvalidInputError).shortMessage).to.include(path);
        }
      }),
      { numRuns: RUNS },
    );
  });

  describe("signed notes and votes", () => {
    const fedSpec = spec("amp.local/ssid", 4);
    const members = federationMembers(fedSpec);
    const fed: FederationConfig = { origin: "amp.local/ssid", epoch: 1n, members };
    const keys = fedSpec.nodes[0]!.keys;
    const signer = makeSigner(members[0]!.keyName, keys.mldsa.publicKey, keys.mldsa.secretKey);
    const verifier = makeVerifier(signer.keyName, signer.publicKey);
    const cp: Checkpoint = {
      origin: fed.origin,
      treeSize: 77n,
      rootHash: new Uint8Array(32).fill(4),
      round: 5n,
      epoch: 1n,
    };
    const body = checkpointBody(cp);
    const note = formatSignedNote({ body, signatures: [signBody(body, signer, VOTE_CONTEXT)] });
    const eip = signCheckpoint(keys.wallet, DOMAIN, cp);

    it("parseSignedNote / parseCheckpointBody: only NoteError; a mutated note never verifies with another body", () => {
      fc.assert(
        fc.property(fc.oneof(mutated(note), fc.string({ unit: "binary" }), fc.string()), (text) => {
          const r = outcome(() => {
            const n = parseSignedNote(text);
            const c = parseCheckpointBody(n.body);
            verifyNote(n, [verifier], VOTE_CONTEXT, { rejectUnknown: true });
            return c;
          });
          // Accepted: the signed body must be exactly the one that was signed.
          if (r.ok) expect(checkpointBody(r.value as Checkpoint)).to.equal(body);
          else expect(r.err, String(r.err)).to.be.instanceOf(NoteError);
        }),
        { numRuns: RUNS },
      );
    });

    it("checkVote: never throws, never accepts anything but the voter's own signed checkpoint", async () => {
      const honest = { nodeId: members[0]!.nodeId, note, eip712Signature: eip };
      const vote = fc.oneof(
        fc.record({ nodeId: fc.string(), note: mutated(note), eip712Signature: fc.constant(eip) }),
        fc.record({ nodeId: fc.string(), note: fc.constant(note), eip712Signature: mutated(eip) }),
        fc.anything(),
        fc.record({ note: fc.anything(), eip712Signature: fc.anything() }),
      );
      await fc.assert(
        fc.asyncProperty(vote, async (v) => {
          const r = await checkVote(
            v as typeof honest,
            members[0]!,
            memberVerifier(members[0]!),
            fed,
            cp.round,
            DOMAIN,
          );
          if (r.ok) {
            expect(checkpointBody(r.checkpoint)).to.equal(body);
            expect(((v as typeof honest).eip712Signature ?? "").toLowerCase()).to.equal(eip.toLowerCase());
          } else expect(r.detail).to.be.a("string");
        }),
        { numRuns: RUNS },
      );
      expect(
        (await checkVote(honest, members[0]!, memberVerifier(members[0]!), fed, cp.round, DOMAIN)).ok,
      ).to.equal(true);
    });
  });

  it("every refusal above is an AmpError with a one-line message", () => {
    for (const text of ["", "{", "\u0000", "[1,]"]) {
      const r = outcome(() => parseProofFile(text));
      expect(r.ok).to.equal(false);
      if (!r.ok) {
        expect(r.err).to.be.instanceOf(AmpError);
        expect((r.err as AmpError).shortMessage).to.not.include("\n");
      }
    }
  });
});
