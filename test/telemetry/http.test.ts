import { expect } from "chai";
import { run } from "../../src/cli/main";
import { AmpMetrics, parseListen, serveMetrics, startMetrics } from "../../src/telemetry";
import { InvalidInputError } from "../../src/util/errors";
import { parseExposition, valueOf } from "../helpers/prom";

describe("telemetry: the /metrics server", function () {
  it("serves GET and HEAD /metrics, 404 elsewhere, 405 for other methods, and stops on close", async function () {
    const m = new AmpMetrics({ processMetrics: false });
    const server = await serveMetrics(m, "127.0.0.1:0");
    try {
      expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      m.rounds.inc({ status: "failed" });
      const res = await fetch(server.url);
      expect(res.status).to.equal(200);
      expect(valueOf(parseExposition(await res.text()), "amp_rounds_total", { status: "failed" })).to.equal(
        1,
      );
      const head = await fetch(server.url, { method: "HEAD" });
      expect([head.status, await head.text()]).to.deep.equal([200, ""]);
      expect((await fetch(server.url.replace("/metrics", "/"))).status).to.equal(404);
      const post = await fetch(server.url, { method: "POST", body: "x" });
      expect([post.status, post.headers.get("allow")]).to.deep.equal([405, "GET, HEAD"]);
    } finally {
      await server.close();
    }
    let refused: unknown;
    await fetch(server.url).catch((e: unknown) => (refused = e));
    expect(refused, "still listening after close()").to.be.instanceOf(Error);
  });

  it("keeps one registry per node: two nodes in one process count separately, with their labels", async function () {
    const a = new AmpMetrics({ defaultLabels: { node: "ssid-eu-1" }, processMetrics: false });
    const b = new AmpMetrics({ defaultLabels: { node: "oc-1" }, processMetrics: false });
    a.anchored({ status: "anchored", round: 5n, gasUsed: 100n, witnessedToAnchoredMs: 20 });
    const fa = parseExposition(await a.metrics());
    const fb = parseExposition(await b.metrics());
    expect(valueOf(fa, "amp_last_anchored_round", { node: "ssid-eu-1" })).to.equal(5);
    expect(valueOf(fb, "amp_last_anchored_round", { node: "oc-1" })).to.equal(0);
    expect(valueOf(fb, "amp_anchors_total", { status: "anchored" })).to.equal(undefined);
  });

  it("never lets an observer failure reach the pipeline", function () {
    const m = new AmpMetrics({ processMetrics: false });
    expect(() => m.evidence("f", "n", "wrong-root")).to.not.throw();
    expect(() => m.ingested("f", Number.NaN, -1)).to.not.throw(); // prom-client refuses a negative inc
  });

  it("parses host:port and refuses anything else naming the flag", function () {
    expect(parseListen("127.0.0.1:0")).to.deep.equal({ host: "127.0.0.1", port: 0 });
    expect(parseListen("[::1]:9464")).to.deep.equal({ host: "::1", port: 9464 });
    expect(parseListen("localhost:9464")).to.deep.equal({ host: "localhost", port: 9464 });
    for (const bad of ["9464", "127.0.0.1", "127.0.0.1:99999", ":9464", "http://127.0.0.1:9464", "a b:1"]) {
      expect(() => parseListen(bad), bad)
        .to.throw(InvalidInputError, /--metrics-listen must be HOST:PORT/)
        .with.property("message")
        .that.includes(bad);
    }
  });

  it("startMetrics prints the URL it serves, and without a value serves nothing", async function () {
    const lines: string[] = [];
    const none = await startMetrics(undefined, (l) => lines.push(l));
    expect([none.metrics, lines]).to.deep.equal([undefined, []]);
    await none.close();
    const t = await startMetrics("127.0.0.1:0", (l) => lines.push(l));
    try {
      expect(lines).to.have.length(1);
      const url = /^metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)$/.exec(lines[0]!)?.[1];
      expect(url, lines[0]).to.be.a("string");
      expect((await fetch(url!)).status).to.equal(200);
    } finally {
      await t.close();
    }
  });

  it("amp run and amp demo exit 2 on a malformed --metrics-listen before starting anything", async function () {
    for (const argv of [
      ["run", "--rpc", "http://127.0.0.1:1", "--data", "/nonexistent", "--metrics-listen", "nope"],
      ["demo", "--metrics-listen", "127.0.0.1"],
    ]) {
      let err = "";
      const code = await run(["node", "amp", ...argv], {
        writeOut: () => undefined,
        writeErr: (s) => (err += s),
      });
      expect(code, argv.join(" ")).to.equal(2);
      expect(err).to.match(/--metrics-listen must be HOST:PORT/);
    }
  });
});
