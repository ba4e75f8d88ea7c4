import { expect } from "chai";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import { InvalidInputError } from "../../src/util/errors";
import { MlDsaPoolError, MlDsaWorkerPool, inlineMlDsa } from "../../src/crypto/mldsa";
import {
  VOTE_CONTEXT,
  WITNESS_CONTEXT,
  checkpointBody,
  formatSignedNote,
  makeSigner,
  parseSignedNote,
  signBody,
  signBodyWith,
  verifyNote,
  verifyNoteWith,
  type NoteError,
} from "../../src/crypto/note";

const ORIGIN = "amp.local/ssid";
const signers = [1, 2, 3].map((i) => {
  const k = deriveThrowawayKeys("mldsa-pool-test", `ssid-${i}`);
  return makeSigner(`${ORIGIN}/ssid-${i}`, k.mldsa.publicKey, k.mldsa.secretKey);
});
const body = checkpointBody({
  origin: ORIGIN,
  treeSize: 12n,
  rootHash: new Uint8Array(32).fill(0xab),
  round: 4n,
  epoch: 1n,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("crypto/mldsa: worker pool", () => {
  let pool: MlDsaWorkerPool;
  before(() => {
    pool = new MlDsaWorkerPool(2);
  });
  after(async () => {
    await pool.close();
  });

  it("signs the same bytes as this thread (deterministic ML-DSA-65 with the context)", async () => {
    for (const context of [VOTE_CONTEXT, WITNESS_CONTEXT] as const) {
      const fromPool = await Promise.all(signers.map((s) => signBodyWith(body, s, context, pool)));
      const inline = signers.map((s) => signBody(body, s, context));
      expect(fromPool.map((s) => Buffer.from(s.signature).toString("hex"))).to.deep.equal(
        inline.map((s) => Buffer.from(s.signature).toString("hex")),
      );
      expect(fromPool.map((s) => s.keyName)).to.deep.equal(signers.map((s) => s.keyName));
    }
  });

  it("verifies notes with the same outcome and error code as the one-by-one check", async () => {
    const note = parseSignedNote(
      formatSignedNote({ body, signatures: signers.map((s) => signBody(body, s, VOTE_CONTEXT)) }),
    );
    const ok = await verifyNoteWith(note, signers, VOTE_CONTEXT, pool);
    expect(ok.map((v) => v.keyName)).to.deep.equal(
      verifyNote(note, signers, VOTE_CONTEXT).map((v) => v.keyName),
    );

    const flipped = Uint8Array.from(note.signatures[1]!.signature);
    flipped[7] = flipped[7]! ^ 1;
    const cases = {
      "bad-signature": {
        ...note,
        signatures: [note.signatures[0]!, { ...note.signatures[1]!, signature: flipped }],
      },
      "wrong-signature-length": {
        ...note,
        signatures: [{ ...note.signatures[0]!, signature: note.signatures[0]!.signature.slice(1) }],
      },
      "duplicate-signature": { ...note, signatures: [note.signatures[0]!, note.signatures[0]!] },
      // The first failing line decides, as in the one-by-one check: here a bad signature before a short one.
      "bad-signature, first": {
        ...note,
        signatures: [
          { ...note.signatures[1]!, signature: flipped },
          { ...note.signatures[0]!, signature: note.signatures[0]!.signature.slice(1) },
        ],
      },
    };
    for (const [name, bad] of Object.entries(cases)) {
      const code = name.split(",")[0]!;
      const e = (await rejection(verifyNoteWith(bad, signers, VOTE_CONTEXT, pool))) as NoteError;
      expect(e.code, name).to.equal(code);
      expect(() => verifyNote(bad, signers, VOTE_CONTEXT))
        .to.throw()
        .with.property("code", code);
    }
    // A vote signature does not verify as a witness cosignature on the pool either.
    const e = (await rejection(verifyNoteWith(note, signers, WITNESS_CONTEXT, pool))) as NoteError;
    expect(e.code).to.equal("bad-signature");
  });

  it("returns false for a wrong signature and rejects work the library refuses, then keeps working", async () => {
    const sig = signBody(body, signers[0]!, VOTE_CONTEXT).signature;
    const msg = new TextEncoder().encode(body);
    const ctx = new TextEncoder().encode(VOTE_CONTEXT);
    expect(await pool.verify(sig, msg, signers[0]!.publicKey, ctx)).to.equal(true);
    expect(await pool.verify(sig, msg, signers[1]!.publicKey, ctx)).to.equal(false);
    const e = await rejection(pool.sign(msg, new Uint8Array(5), ctx));
    // The library's refusal of the input, not a failure of the pool (that would not blame the input).
    expect(e).to.be.instanceOf(InvalidInputError);
    expect(e).to.not.be.instanceOf(MlDsaPoolError);
    expect(e.message).to.match(/^ML-DSA worker: /);
    expect(await pool.verify(sig, msg, signers[0]!.publicKey, ctx)).to.equal(true);
    expect(await inlineMlDsa.verify(sig, msg, signers[0]!.publicKey, ctx)).to.equal(true);
  });

  it("rejects the jobs of a worker that exits, replaces it, and keeps signing", async () => {
    const p = new MlDsaWorkerPool(1);
    try {
      await p.warmUp(); // a worker lost before it loaded the library is not replaced (next test)
      const signer = signers[0]!;
      const jobs = Array.from({ length: 20 }, () => signBodyWith(body, signer, VOTE_CONTEXT, p));
      // Kill the only worker while its queue is full (the pool's internals, for this test only).
      await (
        p as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }
      ).slots[0]!.worker.terminate();
      const settled = await Promise.allSettled(jobs);
      const rejected = settled.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(rejected.length).to.be.greaterThan(0);
      for (const r of rejected) {
        expect(r.reason).to.be.instanceOf(MlDsaPoolError);
        expect((r.reason as Error).message).to.match(/^ML-DSA worker 0 exited \(code \d+\)$/);
      }
      const again = await signBodyWith(body, signer, VOTE_CONTEXT, p);
      expect(Buffer.from(again.signature)).to.deep.equal(
        Buffer.from(signBody(body, signer, VOTE_CONTEXT).signature),
      );
    } finally {
      await p.close();
    }
  });

  it("stops replacing a worker that cannot load the library, and says why", async () => {
    const p = new MlDsaWorkerPool(1);
    try {
      await p.warmUp();
      // The pool's internals, for this test only: the replacement will not find the library.
      const inner = p as unknown as {
        mldsaModule: string;
        slots: { worker: { terminate(): Promise<number> }; dead?: string }[];
      };
      inner.mldsaModule = "/nonexistent/ml-dsa.js";
      await inner.slots[0]!.worker.terminate();
      for (let i = 0; i < 250 && inner.slots[0]!.dead === undefined; i++) await sleep(20);
      const replacement = inner.slots[0]!.worker;
      await sleep(300);
      expect(inner.slots[0]!.worker, "no second replacement").to.equal(replacement);
      const e = await rejection(p.sign(new Uint8Array(1), signers[0]!.secretKey, new Uint8Array(0)));
      expect(e).to.be.instanceOf(MlDsaPoolError);
      expect(e.message).to.match(
        /^ML-DSA worker 0 could not start \(failed: Cannot find module '\/nonexistent\/ml-dsa.js'\)$/,
      );
      expect((e as MlDsaPoolError).kind).to.equal("retry-later");
    } finally {
      await p.close();
    }
  });

  it("refuses a bad size and rejects work after close", async () => {
    expect(() => new MlDsaWorkerPool(0)).to.throw(MlDsaPoolError, /pool size must be ≥ 1/);
    const p = new MlDsaWorkerPool(1);
    await p.close();
    const e = await rejection(p.sign(new Uint8Array(1), signers[0]!.secretKey, new Uint8Array(0)));
    expect(e).to.be.instanceOf(MlDsaPoolError);
    expect(e.message).to.equal("ML-DSA pool is closed");
  });
});
