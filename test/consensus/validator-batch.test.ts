import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import { ValidatorNode } from "../../src/consensus/validator-node";
import type { VoteRequest } from "../../src/consensus/types";
import { FederationLog } from "../../src/log";
import { leafHash, rootHash } from "../../src/merkle";
import { DOMAIN, entries, tmpDir, quietLogs, voteRequest, votedCheckpoint } from "./fixture";

/*
 * The halting case (src/consensus/README.md): a validator must still serve the entries of the batch
 * it signed after a restart, or a coordinator cannot re-propose that batch. The entries are
 * persisted (`<node>.validator-batch.json`) before the signed state.
 */
const ORIGIN = "amp.local/ssid";
const keys = deriveThrowawayKeys("node-test", "v1");
const hex = (e: readonly Uint8Array[]) => e.map((x) => Buffer.from(x).toString("hex"));

/** A vote request for `batch` as a round's whole batch, naming its batch root. */
function request(round: bigint, baseSize: bigint, batch: Uint8Array[]): VoteRequest {
  return {
    ...voteRequest(ORIGIN, round, baseSize, batch.length),
    baseRoot: new FederationLog(ORIGIN).root(),
    batchRoot: rootHash(batch.map((e) => leafHash(e))),
  };
}

describe("consensus/ValidatorNode keeps the entries of the batch it signed across a restart", () => {
  quietLogs();
  let dir: string;
  const batch = entries(ORIGIN, 1, 5);
  const node = () => new ValidatorNode({ origin: ORIGIN, keys, dataDir: dir, domain: DOMAIN });
  const batchFile = () => path.join(dir, "v1.validator-batch.json");

  beforeEach(async () => {
    dir = tmpDir("amp-validator-batch-");
    const v = node();
    v.receiveBatch({ origin: ORIGIN, round: 1n, entries: batch });
    expect(votedCheckpoint(await v.handleVoteRequest(request(1n, 0n, batch))).treeSize).to.equal(5n);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a restarted node serves the signed entries and answers a re-proposal with the same vote", async () => {
    const before = fs.readFileSync(path.join(dir, "v1.validator-state.json"), "utf8");
    const v = node(); // fresh process: empty log, nothing in memory
    expect(hex(v.entries(ORIGIN, 1n, 0, 5))).to.deep.equal(hex(batch));
    expect(hex(v.entries(ORIGIN, 1n, 2, 2))).to.deep.equal(hex(batch.slice(2, 4)));
    const res = await v.handleVoteRequest(request(1n, 0n, batch));
    expect(votedCheckpoint(res).round).to.equal(1n);
    expect(v.log.size, "the log caught up from the persisted batch").to.equal(5n);
    expect(fs.readFileSync(path.join(dir, "v1.validator-state.json"), "utf8")).to.equal(before);
  });

  it("a batch file of another round than the signed state (killed between the two writes) is not served", () => {
    const other = entries(ORIGIN, 2, 3);
    const f = JSON.parse(fs.readFileSync(batchFile(), "utf8")) as { round: string };
    fs.writeFileSync(
      batchFile(),
      JSON.stringify({
        ...f,
        round: "2",
        entries: other.map((e) => Buffer.from(e).toString("base64")),
      }),
    );
    expect(node().entries(ORIGIN, 1n, 0, 5)).to.deep.equal([]);
    expect(node().entries(ORIGIN, 2n, 0, 3)).to.deep.equal([]);
  });

  it("entries that do not reproduce the signed batch root, or an unreadable file, are not served", () => {
    const f = JSON.parse(fs.readFileSync(batchFile(), "utf8")) as { entries: string[] };
    const swapped = [f.entries[1]!, f.entries[0]!, ...f.entries.slice(2)];
    fs.writeFileSync(batchFile(), JSON.stringify({ ...f, entries: swapped }));
    expect(node().entries(ORIGIN, 1n, 0, 5)).to.deep.equal([]);
    fs.writeFileSync(batchFile(), '{"round":"1","batchRoot');
    const v = node();
    expect(v.entries(ORIGIN, 1n, 0, 5)).to.deep.equal([]);
    expect(v.lastSigned()?.round, "the signed state itself still loads").to.equal(1n);
  });
});
