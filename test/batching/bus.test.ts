import { expect } from "chai";
import { InMemoryAuditBus } from "../../src/batching/bus";
import type { StageMetric } from "../../src/batching/metrics";
import { PushbackError } from "../../src/util/errors";

interface TestTopics {
  n: number;
  s: string;
}

/** A handler that blocks until `release()` is called, recording what it received. */
function gate(): { handler: (n: number) => Promise<void>; seen: number[]; release: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const seen: number[] = [];
  return {
    seen,
    release: () => open(),
    handler: async (n) => {
      await opened;
      seen.push(n);
    },
  };
}

describe("batching/InMemoryAuditBus", () => {
  it("delivers each message to every subscriber of its topic, in order, and only of that topic", async () => {
    const bus = new InMemoryAuditBus<TestTopics>();
    const a: number[] = [];
    const b: number[] = [];
    const s: string[] = [];
    bus.subscribe("n", (n) => void a.push(n));
    bus.subscribe("n", async (n) => {
      await new Promise((r) => setImmediate(r));
      b.push(n);
    });
    bus.subscribe("s", (x) => void s.push(x));
    for (let i = 0; i < 50; i++) bus.publish("n", i);
    bus.publish("s", "hello");
    await bus.idle();
    const expected = Array.from({ length: 50 }, (_, i) => i);
    expect(a).to.deep.equal(expected);
    expect(b).to.deep.equal(expected);
    expect(s).to.deep.equal(["hello"]);
  });

  it("pushes back on publishers when a slow subscriber's queue is full, never exceeding the bound", async () => {
    const bus = new InMemoryAuditBus<TestTopics>({ maxQueue: 8 });
    const slow = gate();
    const fast: number[] = [];
    const sub = bus.subscribe("n", slow.handler, { name: "slow" });
    bus.subscribe("n", (n) => void fast.push(n));
    await new Promise((r) => setImmediate(r));

    const accepted: number[] = [];
    let refused = 0;
    for (let i = 0; i < 100; i++) {
      try {
        bus.publish("n", i);
        accepted.push(i);
      } catch (err) {
        expect(err).to.be.instanceOf(PushbackError);
        expect((err as PushbackError).retryAfterMs).to.be.greaterThan(0);
        expect((err as PushbackError).shortMessage).to.match(
          /subscriber slow of topic n is full \(8 queued\)/,
        );
        refused++;
      }
      expect(sub.queueLength).to.be.at.most(8);
      if (i === 0) await new Promise((r) => setImmediate(r)); // first message taken by the handler
    }
    expect(refused).to.equal(100 - accepted.length);
    expect(accepted.length).to.equal(9); // 1 in the handler + 8 queued
    slow.release();
    await bus.idle();
    expect(slow.seen).to.deep.equal(accepted);
    expect(fast).to.deep.equal(accepted); // all-or-nothing: refused messages reached nobody
    bus.publish("n", 1000); // room again
    await bus.idle();
    expect(slow.seen.at(-1)).to.equal(1000);
  });

  it("publishWhenReady waits for room instead of failing, preserving order", async () => {
    const bus = new InMemoryAuditBus<TestTopics>({ maxQueue: 2 });
    const got: number[] = [];
    bus.subscribe("n", async (n) => {
      await new Promise((r) => setTimeout(r, 1));
      got.push(n);
    });
    for (let i = 0; i < 20; i++) await bus.publishWhenReady("n", i);
    await bus.idle();
    expect(got).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
  });

  it("publishWhenReady gives up with PushbackError after its timeout", async () => {
    const bus = new InMemoryAuditBus<TestTopics>({ maxQueue: 1 });
    const slow = gate();
    bus.subscribe("n", slow.handler);
    bus.publish("n", 1);
    await new Promise((r) => setImmediate(r));
    bus.publish("n", 2);
    let caught: unknown;
    await bus.publishWhenReady("n", 3, 20).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(PushbackError);
    slow.release();
    await bus.idle();
    expect(slow.seen).to.deep.equal([1, 2]);
  });

  it("keeps delivering after a handler throws, and stops after unsubscribe", async () => {
    const bus = new InMemoryAuditBus<TestTopics>();
    const got: number[] = [];
    const sub = bus.subscribe("n", (n) => {
      if (n === 1) throw new Error("boom");
      got.push(n);
    });
    [0, 1, 2].forEach((n) => bus.publish("n", n));
    await bus.idle();
    sub.unsubscribe();
    bus.publish("n", 3);
    await bus.idle();
    expect(got).to.deep.equal([0, 2]);
    expect(bus.subscriberCount("n")).to.equal(0);
  });

  it("reports publish and deliver stages to metricsCallback", async () => {
    const metrics: StageMetric[] = [];
    const bus = new InMemoryAuditBus<TestTopics>({ metricsCallback: (m) => metrics.push(m) });
    bus.subscribe("s", () => undefined);
    bus.publish("s", "x");
    await bus.idle();
    expect(metrics.map((m) => [m.stage, m.topic, m.count])).to.deep.equal([
      ["publish", "s", 1],
      ["deliver", "s", 1],
    ]);
    expect(metrics[1]!.latencyMs).to.be.a("number");
  });

  it("refuses a non-positive queue bound", () => {
    expect(() => new InMemoryAuditBus({ maxQueue: 0 })).to.throw(RangeError, /positive integer/);
  });
});
