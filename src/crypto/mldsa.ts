/**
 * ML-DSA-65 (FIPS 204) signing and verification, in this thread or on a pool of worker threads.
 *
 * AMP signs deterministically (`extraEntropy: false`) with a FIPS 204 context string, so the same
 * key, message and context give the same signature bytes in any thread. In-process rounds run many
 * nodes on one machine; the pool lets their signatures and verifications use every core, the way
 * separate machines would run them side by side.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";
import { AmpError, InvalidInputError } from "../util/errors";

/** Where ML-DSA work runs. Both methods take raw bytes; the context is the FIPS 204 context. */
export interface MlDsaBackend {
  sign(message: Uint8Array, secretKey: Uint8Array, context: Uint8Array): Promise<Uint8Array>;
  verify(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    context: Uint8Array,
  ): Promise<boolean>;
}

export function mldsaSign(message: Uint8Array, secretKey: Uint8Array, context: Uint8Array): Uint8Array {
  return ml_dsa65.sign(message, secretKey, { context, extraEntropy: false });
}

export function mldsaVerify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  context: Uint8Array,
): boolean {
  return ml_dsa65.verify(signature, message, publicKey, { context });
}

/** Runs the work in this thread, one call after another. */
export const inlineMlDsa: MlDsaBackend = {
  sign: (message, secretKey, context) => Promise.resolve(mldsaSign(message, secretKey, context)),
  verify: (signature, message, publicKey, context) =>
    Promise.resolve(mldsaVerify(signature, message, publicKey, context)),
};

/** A job as posted to a worker (plus its `id`). */
type Job =
  | { op: "sign"; message: Uint8Array; key: Uint8Array; context: Uint8Array }
  | { op: "verify"; signature: Uint8Array; message: Uint8Array; key: Uint8Array; context: Uint8Array };

type Reply =
  | { ready: true }
  | { id: number; ok: true; value: Uint8Array | boolean }
  | { id: number; ok: false; error: string };

// The worker calls the same noble functions with the same options as mldsaSign / mldsaVerify above
// (a test checks that pool and inline signatures are byte-identical). It is plain CommonJS so it
// runs unchanged under ts-node and from dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { ml_dsa65 } = require(workerData.mldsaModule);
parentPort.postMessage({ ready: true });
parentPort.on("message", (job) => {
  try {
    const value = job.op === "sign"
      ? ml_dsa65.sign(job.message, job.key, { context: job.context, extraEntropy: false })
      : ml_dsa65.verify(job.signature, job.message, job.key, { context: job.context });
    parentPort.postMessage({ id: job.id, ok: true, value });
  } catch (e) {
    parentPort.postMessage({ id: job.id, ok: false, error: e && e.message ? e.message : String(e) });
  }
});
`;

/** One worker per available core, at least 2. */
export function defaultMlDsaWorkers(): number {
  return Math.max(2, os.availableParallelism());
}

/** The pool could not do the work (a worker was lost or could not start, or the pool is closed). */
export class MlDsaPoolError extends AmpError {
  override name = "MlDsaPoolError";
  constructor(shortMessage: string) {
    super(shortMessage, { kind: "retry-later" });
  }
}

interface Slot {
  worker: Worker;
  /** The worker loaded the library (a lost worker is replaced only if it had). */
  ready: boolean;
  /** Why this slot takes no more work: its worker could not start. */
  dead?: string;
  readonly pending: Map<number, { resolve: (v: Uint8Array | boolean) => void; reject: (e: Error) => void }>;
  /** Expected work in flight, in verify-equivalents (a signature costs about four verifications). */
  load: number;
}

const COST = { sign: 4, verify: 1 } as const;

/**
 * A fixed pool of worker threads (default: one per available core, at least 2). Work goes to the
 * worker with the least expected work in flight. A worker that fails or exits has its jobs rejected
 * and is replaced; one that cannot even load the library is not (its slot takes no more work).
 * Workers are unref'd, so an idle pool never keeps the process alive; `close()` ends them.
 */
export class MlDsaWorkerPool implements MlDsaBackend {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly mldsaModule = require.resolve("@noble/post-quantum/ml-dsa.js");
  private nextId = 1;
  private closed = false;

  constructor(size: number = defaultMlDsaWorkers()) {
    if (!Number.isInteger(size) || size < 1) throw new MlDsaPoolError(`pool size must be ≥ 1, got ${size}`);
    this.size = size;
    for (let i = 0; i < size; i++) {
      this.slots.push({ worker: this.spawn(i), ready: false, pending: new Map(), load: 0 });
    }
  }

  /** A worker for slot `i` (its handlers look the slot up when they run). */
  private spawn(i: number): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { mldsaModule: this.mldsaModule } });
    worker.on("message", (r: Reply) => {
      const slot = this.slots[i]!;
      if ("ready" in r) {
        slot.ready = true;
        return;
      }
      const p = slot.pending.get(r.id);
      if (!p) return;
      slot.pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      // The library refused the input (as it would in this thread): not a failure of the pool.
      else p.reject(new InvalidInputError(`ML-DSA worker: ${r.error}`));
    });
    const lost = (why: string) => {
      const slot = this.slots[i]!;
      if (this.closed || slot.worker !== worker || slot.dead !== undefined) return; // closing, or stale
      for (const p of slot.pending.values()) p.reject(new MlDsaPoolError(`ML-DSA worker ${i} ${why}`));
      slot.pending.clear();
      if (slot.ready) {
        slot.ready = false;
        slot.worker = this.spawn(i);
      } else {
        slot.dead = `ML-DSA worker ${i} could not start (${why})`;
      }
    };
    worker.on("error", (e) => lost(`failed: ${e.message.split("\n")[0]}`));
    worker.on("exit", (code) => lost(`exited (code ${code})`));
    worker.unref();
    return worker;
  }

  sign(message: Uint8Array, secretKey: Uint8Array, context: Uint8Array): Promise<Uint8Array> {
    return this.run({ op: "sign", message, key: secretKey, context }) as Promise<Uint8Array>;
  }

  verify(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    context: Uint8Array,
  ): Promise<boolean> {
    return this.run({ op: "verify", signature, message, key: publicKey, context }) as Promise<boolean>;
  }

  /**
   * Load the library and run one signature and verification on every worker, so the first real
   * round does not pay for module loading and JIT warm-up.
   */
  async warmUp(): Promise<void> {
    const { publicKey, secretKey } = ml_dsa65.keygen(new Uint8Array(32));
    const message = new Uint8Array(64);
    const context = new Uint8Array(0);
    await Promise.all(
      this.slots.map(async (slot) => {
        const signature = await this.runOn(slot, { op: "sign", message, key: secretKey, context });
        const ok = await this.runOn(slot, {
          op: "verify",
          signature: signature as Uint8Array,
          message,
          key: publicKey,
          context,
        });
        if (ok !== true) throw new MlDsaPoolError("ML-DSA worker failed its self-check (sign, then verify)");
      }),
    );
  }

  /** End the workers; jobs still in flight are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(new MlDsaPoolError("ML-DSA pool is closed"));
      s.pending.clear();
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private run(job: Job): Promise<Uint8Array | boolean> {
    const live = this.slots.filter((s) => s.dead === undefined);
    let slot = live[0] ?? this.slots[0]!;
    for (const s of live) if (s.load < slot.load) slot = s;
    return this.runOn(slot, job);
  }

  private runOn(slot: Slot, job: Job): Promise<Uint8Array | boolean> {
    if (this.closed) return Promise.reject(new MlDsaPoolError("ML-DSA pool is closed"));
    if (slot.dead !== undefined) return Promise.reject(new MlDsaPoolError(slot.dead));
    const id = this.nextId++;
    const cost = COST[job.op];
    slot.load += cost;
    return new Promise<Uint8Array | boolean>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      // Ref the worker while it has work so a pending signature keeps the process alive.
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage({ ...job, id });
    }).finally(() => {
      slot.load -= cost;
      if (slot.pending.size === 0) slot.worker.unref();
    });
  }
}
