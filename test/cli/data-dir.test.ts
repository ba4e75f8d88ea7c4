/**
 * The `--data DIR` readers on a node-layout data dir (DIR/nodes/<id>/…) written by the in-process
 * nodes (the same NodeService code as `amp node`): `amp events`, `amp proof --data`, `amp erase
 * --data` (every node holding the payload, each in its own erasure log), `amp erasures`,
 * `amp credits … --data`; and the resolver's errors on a dir that is neither layout, or both.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { Archive } from "../../src/archive";
import { federationEventEncoder } from "../../src/batching/encode";
import { Inbox } from "../../src/node/inbox";
import { loadManifestFederations } from "../../src/cli/context";
import { generateEvents } from "../../src/cli/generate";
import type { LocalFederation } from "../../src/node/local";
import { parseProofFile } from "../../src/proof/format";
import { ampInProcess as amp } from "../helpers/cli";
import { writeNodeDir, type NodeDir } from "../helpers/node-dir";
import { quietLogs } from "../consensus/fixture";

interface Row {
  id: string;
  federation: string;
  round: string;
  index: string;
  leaf: string;
}

describe("cli: the --data readers on a node-layout data dir (in-process nodes)", function () {
  this.timeout(600_000);
  quietLogs();
  let dir: string;
  let data: string;
  let fed: LocalFederation;
  let sent: ReadonlyMap<string, string[]>;
  let epoch: string;
  let nodeDir: NodeDir | undefined;

  before(async function () {
    nodeDir = await writeNodeDir("amp-data-dir-", "data-dir-test");
    ({ dir, data, fed, sent, epoch } = nodeDir);
  });

  after(async function () {
    await nodeDir?.close();
  });

  async function rows(...extra: string[]): Promise<Row[]> {
    const r = await amp("events", "--data", data, "--json", ...extra);
    expect(r.code, r.err).to.equal(0);
    return (JSON.parse(r.out) as { result: { events: Row[] } }).result.events;
  }

  it("amp events lists every federation's events from the nodes' archives, anchored rounds included", async () => {
    const list = await rows();
    expect(list.filter((r) => r.federation === "ssid").map((r) => r.id)).to.deep.equal(sent.get("ssid"));
    expect(list.filter((r) => r.federation === "opencore").map((r) => r.id)).to.deep.equal(
      sent.get("opencore"),
    );
    for (const r of list) expect(r.round).to.match(/^[1-9]\d*$/);
    const one = list.find((r) => r.federation === "opencore")!;
    expect(await rows("--id", one.id)).to.deep.equal([one]);
    expect(await rows("--leaf", one.leaf)).to.deep.equal([one]);
    const missing = await amp("events", "--data", data, "--id", "00000000-0000-4000-a000-000000000000");
    expect(missing.code).to.equal(1);
    expect(missing.err).to.match(/no archived event matches id .* in the node-layout data dir .*: 7 nodes/);
  });

  it("amp proof --data builds the proof from a node's archive, and amp verify accepts it on the chain", async () => {
    const row = (await rows()).find((r) => r.federation === "ssid" && r.index === "3")!;
    const out = path.join(dir, "proof.json");
    const p = await amp("proof", row.id, "--data", data, "--out", out);
    expect(p.code, p.err).to.equal(0);
    expect(p.out).to.match(
      /wrote .*proof\.json: event .* at index 3 of 5 in amp\.local\/ssid, round \d+ \(from ssid-[a-z]+-\d's archive\)/,
    );
    const proof = parseProofFile(fs.readFileSync(out, "utf8"));
    expect(proof.event.id).to.equal(row.id);
    expect(proof.anchor.round).to.equal(row.round);
    const v = await amp("verify", out, "--rpc", fed.rpc, "--trust", fed.state.trustPolicy);
    expect(v.code, v.out + v.err).to.equal(0);
    expect(v.out).to.match(/^VALID event /);
    const none = await amp("proof", "00000000-0000-4000-a000-000000000000", "--data", data, "--out", out);
    expect(none.code).to.equal(1);
    expect(none.err).to.match(/no event 00000000-.* in any node's archive of the node-layout data dir/);
  });

  it("amp erase --data erases the payload on every node holding it, each in its own erasure log", async () => {
    const id = sent.get("ssid")![1]!;
    const unknown = await amp(
      "erase",
      "00000000-0000-4000-a000-000000000000",
      "--data",
      data,
      "--reason",
      "GDPR 1",
    );
    expect(unknown.code).to.equal(1);
    expect(unknown.err).to.match(/no event 00000000-.* in any node's archive/);
    const r = await amp("erase", id, "--data", data, "--reason", "GDPR 4711", "--by", "dpo");
    expect(r.code, r.err).to.equal(0);
    const ssid = fed.state.nodes.filter((n) => n.federation === "ssid");
    for (const n of ssid) expect(r.out).to.match(new RegExp(`^${n.id}: erased at `, "m"));
    expect(r.out).to.match(/^opencore-eu-1: not in this node's log$/m);
    // Only the node the events were posted to (the first ssid node) stored payloads; the others
    // appended the batch's canonical digests. Every node holding the event logs the erasure.
    expect(r.out).to.match(/^ssid-eu-1: erased at .*; the leaf keeps only a salted commitment/m);
    expect(r.out).to.match(/^ssid-us-1: erased at .*; the event was ingested in digest form/m);
    expect(r.out).to.contain("1 node(s) held the payload; 4 of 7 nodes hold the event");
    for (const n of ssid) {
      const a = Archive.open(path.join(n.dataDir, "archive.sqlite"));
      try {
        expect(a.getEvent(id)!.payload ?? null).to.equal(null);
        expect(a.erasures().map((e) => [e.eventId, e.reason, e.by])).to.deep.equal([
          [id, "GDPR 4711", "dpo"],
        ]);
      } finally {
        a.close();
      }
    }
    const again = await amp("erase", id, "--data", data, "--reason", "GDPR 4711");
    expect(again.code).to.equal(0);
    expect(again.out).to.match(/^ssid-eu-1: already erased at .* \(nothing changed\)$/m);
    const log = await amp("erasures", "--data", data);
    expect(log.code, log.err).to.equal(0);
    const lines = log.out.trim().split("\n");
    expect(lines[0]).to.equal("node\tevent_id\terased_at\tby\tcommitment\treason");
    expect(lines.slice(1).map((l) => l.split("\t")[0])).to.deep.equal(ssid.map((n) => n.id));
  });

  it("amp erase --data refuses, changing nothing, an event a node acknowledged but did not anchor yet", async () => {
    const [ssid] = loadManifestFederations(fed.state.manifest);
    const pending = federationEventEncoder()(generateEvents(ssid!, 100n, 1, "data-dir-pending")[0]);
    const node = fed.state.nodes.find((n) => n.id === "ssid-us-1")!;
    const inbox = new Inbox(path.join(node.dataDir, "inbox.sqlite"));
    try {
      inbox.add([pending]);
    } finally {
      inbox.close();
    }
    const before = (await amp("erasures", "--data", data)).out;
    const r = await amp("erase", pending.eventId, "--data", data, "--reason", "GDPR 4712");
    expect(r.code).to.equal(1);
    expect(r.err).to.match(
      /is acknowledged by ssid-us-1, not anchored yet: erase it once anchored \(nothing was erased\)/,
    );
    expect((await amp("erasures", "--data", data)).out).to.equal(before);
  });

  it("amp credits show/record --data read the allocations a node stored", async () => {
    const show = await amp("credits", "show", "--data", data, "--epoch", epoch);
    expect(show.code, show.out + show.err).to.equal(0);
    expect(show.err).to.match(/node-layout data dir: reading the allocations stored by [a-z]+-[a-z]+-\d/);
    for (const n of fed.state.nodes) expect(show.out).to.contain(n.id);
    const out = path.join(dir, "record.json");
    const rec = await amp(
      "credits",
      "record",
      "--data",
      data,
      "--epoch",
      epoch,
      "--node",
      "ssid-eu-1",
      "--out",
      out,
    );
    expect(rec.code, rec.err).to.equal(0);
    const record = JSON.parse(fs.readFileSync(out, "utf8")) as { epoch: string; node: string };
    expect(record.epoch).to.equal(epoch);
    expect(record.node).to.equal("ssid-eu-1");
  });

  it("refuses a dir that is neither layout, or both, naming what it found", async () => {
    const empty = path.join(dir, "empty");
    fs.mkdirSync(empty);
    for (const args of [
      ["events", "--data", empty],
      ["proof", "x", "--data", empty, "--out", path.join(dir, "p.json")],
      ["erase", "x", "--data", empty, "--reason", "r"],
    ]) {
      const r = await amp(...args);
      expect(r.code, args.join(" ")).to.equal(1);
      expect(r.err).to.match(
        /no archive at .*archive\.sqlite \(RoundEngine layout\) nor at .*nodes.*<id>.* \(node layout\)/,
      );
    }
    const credits = await amp("credits", "show", "--data", empty);
    expect(credits.code).to.equal(3);
    expect(credits.out + credits.err).to.match(/no archive at .*wrong --data dir\?/);
    const both = path.join(dir, "both");
    fs.cpSync(path.join(data, "nodes", "ssid-eu-1"), path.join(both, "nodes", "ssid-eu-1"), {
      recursive: true,
    });
    Archive.open(path.join(both, "archive.sqlite")).close();
    fs.copyFileSync(
      path.join(data, "nodes", "ssid-eu-1", "anchors.sqlite"),
      path.join(both, "anchors.sqlite"),
    );
    const b = await amp("events", "--data", both);
    expect(b.code).to.equal(1);
    expect(b.err).to.match(/holds both a RoundEngine archive .* and node archives/);
    fs.rmSync(path.join(both, "archive.sqlite"));
    fs.rmSync(path.join(both, "anchors.sqlite"));
    fs.cpSync(path.join(data, "nodes", "ssid-eu-1"), path.join(both, "nodes", "stranger-1"), {
      recursive: true,
    });
    const s = await amp("events", "--data", both);
    expect(s.code).to.equal(1);
    expect(s.err).to.match(
      /node stranger-1 is not in the manifest: pass the --manifest these nodes ran with/,
    );
  });
});
