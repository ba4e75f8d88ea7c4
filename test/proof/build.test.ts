import fs from "node:fs";
import { expect } from "chai";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import type { AnchoringRunner } from "../../src/chain/runner";
import type { ManifestFederation } from "../../src/cli/context";
import { buildProofFile, NotAnchoredError } from "../../src/proof/build";
import { parseProofFile, PROOF_FORMAT, serializeProofFile } from "../../src/proof/format";
import { publicClientFor, verifyProof } from "../../src/proof/verify";
import { deployFresh, ingestGenerated, openRunner, runnerFederations, tmpDir, trustOf } from "../e2e/helpers";
import type { TrustRoot } from "../../src/proof/verify";

describe("proof: building proof files", function () {
  let conn: ChainConnection;
  let dir: string;
  let runner: AnchoringRunner;
  let manifest: ManifestFederation[];
  let trust: TrustRoot;
  const originOf = (n: string) => manifest.find((f) => f.name === n)!.origin;

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-proof-");
    const record = await deployFresh(conn, dir);
    trust = await trustOf(conn, record);
    runner = await openRunner(conn, record, dir);
    manifest = (await runnerFederations()).manifest;
    ingestGenerated(runner, manifest, 3);
    await runner.runRound();
    ingestGenerated(runner, manifest, 2);
    await runner.runRound();
    ingestGenerated(runner, manifest, 1); // archived, not anchored
  });

  after(function () {
    runner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const eventAt = (name: string, seq: bigint) => runner.archive.eventsInRange(name, seq, seq + 1n)[0]!;

  it("proves an event against the first anchored round that contains it", function () {
    const early = buildProofFile({
      archive: runner.archive,
      anchors: runner.anchors,
      eventId: eventAt("ssid", 2n).eventId,
      originOf,
    });
    const late = buildProofFile({
      archive: runner.archive,
      anchors: runner.anchors,
      eventId: eventAt("ssid", 3n).eventId,
      originOf,
    });
    expect([early.anchor.round, early.inclusion.treeSize]).to.deep.equal(["1", "3"]);
    expect([late.anchor.round, late.inclusion.treeSize]).to.deep.equal(["2", "5"]);
    expect(early.format).to.equal(PROOF_FORMAT);
    expect(parseProofFile(serializeProofFile(early))).to.deep.equal(early);
  });

  it("writes a digest-only proof that verifies the leaf without the event bytes", async function () {
    const p = buildProofFile({
      archive: runner.archive,
      anchors: runner.anchors,
      eventId: eventAt("opencore", 4n).eventId,
      originOf,
      digestOnly: true,
    });
    expect(p.event.canonical).to.equal(undefined);
    const v = await verifyProof(p, publicClientFor(conn.eip1193), trust);
    expect(v.eventIdChecked).to.equal(false);
    expect(v.index).to.equal(4n);
  });

  it("refuses an archived event that is not anchored yet, saying what to run", function () {
    const pending = eventAt("ssid", 5n);
    expect(() =>
      buildProofFile({
        archive: runner.archive,
        anchors: runner.anchors,
        eventId: pending.eventId,
        originOf,
      }),
    ).to.throw(NotAnchoredError, /not anchored yet: run "amp run"/);
  });

  it("refuses an unknown event id", function () {
    expect(() =>
      buildProofFile({
        archive: runner.archive,
        anchors: runner.anchors,
        eventId: "no-such-event",
        originOf,
      }),
    ).to.throw(/no archived event with id "no-such-event"/);
  });
});
