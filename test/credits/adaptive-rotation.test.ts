import http from "node:http";
import path from "node:path";
import { expect } from "chai";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { federationIdOf } from "../../src/chain/ids";
import { AnchorReader } from "../../src/chain/round-records";
import type { RoundVotes } from "../../src/consensus/evidence";
import { FaultInjector } from "../../src/consensus/fault-injector";
import type { CreditsExtension } from "../../src/credits/node-extension";
import { ownLedger } from "../../src/credits/node-allocator";
import { checkGuards, planRotation } from "../../src/credits/rotation";
import { Rotator, type RotationOutcome } from "../../src/credits/rotator";
import { createLogger } from "../../src/util/log";
import { AllocationStore } from "../../src/credits/store";
import type { Manifest } from "../../src/manifest";
import type { Roster } from "../../src/node/roster";
import type { NodeService } from "../../src/node/service";
import { PeerClient, PeerError } from "../../src/transport/client";
import { GlobalProofAnchor__factory, ValidatorRegistry__factory } from "../../typechain-types";
import { listenNodes, until } from "../node/helpers";
import { postBatch, testCredits } from "./helpers";

// Sends a corrupted ML-DSA signature in every round: its accuracy is 0, so it loses weight.
const FAULTY = "ssid-eu-2";
const SSID = "amp.local/ssid";
const OPENCORE = "amp.local/opencore";

describe("adaptive governance weights applied on-chain: rotation signed by the outgoing set, nodes follow it", function () {
  this.timeout(300_000);
  let conn: ChainConnection;
  let manifest: Manifest;
  let roster: Roster;
  let record: DeploymentRecord;
  let dir: string;
  let services: NodeService[] = [];
  const exts = new Map<string, CreditsExtension>();
  const rotations: RotationOutcome[] = [];
  const client = new PeerClient({ timeoutMs: 10_000 });
  let closeAll: () => Promise<void>;
  const registry = () =>
    ValidatorRegistry__factory.connect(record.contracts.validatorRegistry, conn.provider);
  const anchorReader = () =>
    new AnchorReader(
      GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider),
      record.deployBlock,
    );
  const addressOf = (id: string) => roster.node(id).member.address;
  let i = 0;
  const submit = () => postBatch(client, roster, manifest, i++);

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    const nodes = await listenNodes("amp-adaptive-", (id) => {
      const ext = testCredits({ adaptiveWeights: true, onRotation: (o) => rotations.push(o) });
      exts.set(id, ext);
      return {
        extensions: [ext],
        ...(id === FAULTY
          ? { faults: new FaultInjector([{ nodeId: FAULTY, kind: "invalid-signature" }]) }
          : {}),
      };
    });
    ({ conn, manifest, roster, record, dir, services } = nodes);
    closeAll = () => nodes.close();
    for (const s of services) await s.start();
  });

  after(async function () {
    await closeAll();
    delete process.env.AMP_LOG_LEVEL;
  });

  it("the faulty node loses weight on-chain epoch after epoch, each step within the cap; opencore (3 nodes) is not rotated", async function () {
    const fid = federationIdOf(SSID);
    await until(
      "ssid rotated twice on-chain (epoch 3)",
      async () => {
        if ((await registry().currentEpoch(fid)) >= 3n) return true;
        await submit();
        await new Promise((r) => setTimeout(r, 300));
        return undefined;
      },
      240_000,
    );
    const [addrs, weights] = await registry().validatorsOf(fid, 2n);
    const w = new Map(addrs.map((a, k) => [a.toLowerCase(), weights[k]!]));
    const faulty = w.get(addressOf(FAULTY).toLowerCase())!;
    expect(faulty, "the faulty node's weight in epoch 2").to.be.lessThan(2500n);
    expect(2500n - faulty, "moved by at most the cap (500 bp of 10 000)").to.be.at.most(500n);
    expect([...w.values()].reduce((a, b) => a + b, 0n)).to.equal(10_000n);
    for (const x of w.values()) expect(3n * x).to.be.lessThan(10_000n);
    // Over epochs: the faulty node keeps losing weight, each step within the cap.
    const faultyIn = async (e: bigint) => {
      const [as, ws] = await registry().validatorsOf(fid, e);
      return ws[as.findIndex((a) => a.toLowerCase() === addressOf(FAULTY).toLowerCase())]!;
    };
    const history = [await faultyIn(1n), await faultyIn(2n), await faultyIn(3n)];
    expect(history[0]).to.equal(2500n);
    for (let k = 1; k < history.length; k++) {
      expect(history[k]!, `epoch ${k + 1}: ${history.join(" → ")}`).to.be.lessThan(history[k - 1]!);
      expect(history[k - 1]! - history[k]!).to.be.at.most(500n);
    }
    expect(await registry().currentEpoch(federationIdOf(OPENCORE))).to.equal(1n);
    const oc = rotations.find((r) => r.origin === OPENCORE);
    expect(oc?.kind).to.equal("unchanged");
    expect(oc && "reason" in oc ? oc.reason : "").to.match(/3 nodes cannot all stay below 1\/3/);
    const done = rotations.filter((r) => r.kind === "rotated" && r.origin === SSID);
    expect(done.length, "one rotation per allocation epoch").to.equal(
      new Set(done.map((r) => r.epoch.toString())).size,
    );
  });

  it("rounds keep anchoring after the rotation, signed under the new epoch; every node follows the registry", async function () {
    const fid = federationIdOf(SSID);
    const epoch = await registry().currentEpoch(fid);
    const start = await anchorReader().nextRound();
    await until(
      `two more rounds anchored, the last with ssid in epoch >= ${epoch}`,
      async () => {
        const next = await anchorReader().nextRound();
        if (next >= start + 2n && (await anchorReader().checkpointOf(next - 1n, fid)).epoch >= epoch)
          return true;
        await submit();
        await new Promise((r) => setTimeout(r, 300));
        return undefined;
      },
      120_000,
    );
    // Every node's roster (its quorum weights and the epoch it asks votes for) follows the registry.
    await until(
      "every node's roster holds the registry's current ssid set",
      async () => {
        const now = await registry().currentEpoch(fid);
        const [addrs, weights] = await registry().validatorsOf(fid, now);
        const want = new Map(addrs.map((a, k) => [a.toLowerCase(), weights[k]!]));
        const ok = services.every((s) => {
          const f = s.node.cfg.roster.federations.find((x) => x.config.origin === SSID)!;
          return (
            f.config.epoch === now &&
            f.config.members.every((m) => want.get(m.address.toLowerCase()) === m.weight)
          );
        });
        if (ok) return true;
        await submit(); // ticks read the registry; rotations may go on meanwhile
        await new Promise((r) => setTimeout(r, 300));
        return undefined;
      },
      60_000,
    );
  });

  it("a node refuses to sign a proposal it does not recompute or that breaks a guard, naming the reason; bad bodies get 400 naming the field", async function () {
    // Stop the background allocations and rotations first (the routes stay up): the answers below
    // are then about one fixed registry state, and the registry cannot move while the test asks.
    for (const x of exts.values()) await x.close();
    const target = roster.node("ssid-us-1");
    const svc = services.find((s) => s.node.id === "ssid-us-1")!;
    const store = new AllocationStore(svc.node.archive);
    const e = store.lastEpoch()!;
    const fid = federationIdOf(SSID);
    const before = await registry().currentEpoch(fid);
    // The deterministic plan for epoch e (the same code the node runs): base weights and proposal.
    const plan = await planRotation({ registry: registry(), roster, store, epoch: e, origin: SSID });
    const cur = plan.current;
    const honest = [...cur.keys()]
      .filter((k) => k !== FAULTY)
      .sort((a, b) => Number(cur.get(b)! - cur.get(a)!));
    const [h0, h1] = [honest[0]!, honest[1]!];
    // A weights object with the given changes first (the guards report the first node that fails).
    const weightsWith = (base: ReadonlyMap<string, bigint>, d: Record<string, bigint>) => {
      const o: Record<string, string> = {};
      for (const k of Object.keys(d)) o[k] = (base.get(k)! + d[k]!).toString();
      for (const [k, v] of base) if (!(k in o)) o[k] = v.toString();
      return o;
    };
    const body = (o: Record<string, unknown>) =>
      JSON.stringify({
        epoch: e.toString(),
        origin: SSID,
        validatorEpoch: (plan.baseEpoch + 1n).toString(),
        weights: weightsWith(cur, {}),
        ...o,
      });
    const post = (url: string, b: string): Promise<PeerError> =>
      client.request(url, { method: "POST", path: "/v1/credits/rotation", body: b, tries: 1 }).then(
        (r) => {
          throw new Error(`answered ${r.status}: ${r.body.toString()}`);
        },
        (x: unknown) => x as PeerError,
      );
    const toThird = 3334n - cur.get(h0)!;
    // Within the guards but not what the node recomputes: the recomputed proposal with 1 moved
    // between two nodes, picked so that it still changes something (near convergence the proposal
    // may move only 1 from the faulty node, and moving it back would be "nothing changes").
    let notRecomputed: Record<string, string> | undefined;
    for (const from of plan.proposed.keys())
      for (const to of plan.proposed.keys()) {
        if (from === to || notRecomputed) continue;
        const o = weightsWith(plan.proposed, { [to]: 1n, [from]: -1n });
        if (checkGuards(cur, new Map(Object.entries(o).map(([k, v]) => [k, BigInt(v)]))) === undefined)
          notRecomputed = o;
      }
    expect(notRecomputed, "a proposal within the guards that is not the recomputed one").to.not.equal(
      undefined,
    );
    for (const [b, status, word] of [
      ["not json", 400, "rotation request"],
      [body({ epoch: "x" }), 400, "epoch"],
      [body({ validatorEpoch: -1 }), 400, "validatorEpoch"],
      [body({ origin: "amp.local/nope" }), 400, "origin"],
      [body({ weights: [] }), 400, "weights"],
      [body({ weights: { ...weightsWith(cur, {}), nobody: "1" } }), 400, "weights.nobody"],
      [body({ weights: { ...weightsWith(cur, {}), [h0]: undefined } }), 400, `weights.${h0}`],
      [body({ weights: { ...weightsWith(cur, {}), [h0]: "0" } }), 400, `weights.${h0}`],
      // Guards, against the set in force when epoch e was recorded.
      [body({}), 422, "nothing changes"],
      [body({ weights: weightsWith(cur, { [h0]: toThird, [h1]: -toThird }) }), 422, "reaches 1/3"],
      [body({ weights: weightsWith(cur, { [h0]: 1n }) }), 422, "sum to"],
      [body({ weights: weightsWith(cur, { [FAULTY]: 501n, [h0]: -501n }) }), 422, "more than the cap"],
      // Within the guards but not what the node recomputes from epoch e's records.
      [body({ weights: notRecomputed }), 422, "not the proposal recomputed"],
      [body({ epoch: (e + 1000n).toString() }), 422, "not recorded here"],
    ] as const) {
      const x = await post(target.url, b);
      expect(x.status, `${b}: ${x.body}`).to.equal(status);
      expect(x.body, `${b}: ${x.body}`).to.contain(word);
    }
    // An opencore node is not a validator of ssid: it refuses too.
    const x = await post(roster.node("opencore-eu-1").url, body({}));
    expect(x.status).to.equal(422);
    expect(x.body).to.contain("not a validator of amp.local/ssid");
    // Refusals store and send nothing: with the rotators stopped, the registry did not move.
    expect(await registry().currentEpoch(fid)).to.equal(before);
    expect(checkGuards(cur, new Map(cur))).to.equal("nothing changes");
    // A restarted allocator (a fresh Rotator) finds a rotated epoch done on-chain: nothing re-sent.
    const rotated = rotations.find((r) => r.kind === "rotated" && r.origin === SSID)!;
    const fresh = new Rotator({
      nodeId: svc.node.id,
      roster: svc.node.cfg.roster,
      store,
      registry: registry(),
      wallet: svc.node.cfg.keys.wallet,
      signer: () => conn.signer(),
      provider: conn.provider,
      client,
      logger: createLogger("test"),
    });
    const again = await fresh.rotateAfter(rotated.epoch);
    expect(again.find((r) => r.origin === SSID)).to.include({ kind: "done" });
    expect(again.find((r) => r.origin === OPENCORE)).to.include({ kind: "unchanged" });
  });

  it("the allocator refuses (and logs) a forged vote in a peer's ledger: only votes verifying under the pinned keys count", async function () {
    // Stop the federation; serve ssid-eu-1's ledger, with forged votes, at its own URL.
    const peer = services.find((s) => s.node.id === "ssid-eu-1")!;
    const reader = services.find((s) => s.node.id === "opencore-eu-1")!;
    for (const s of services) await s.close().catch(() => undefined);
    const ledger = ownLedger(path.join(dir, peer.node.id));
    // A round ssid-eu-1 coordinated whose final checkpoint the chain anchored, with ssid-us-1's vote.
    let idx = -1;
    for (const [k, r] of ledger.rounds.entries()) {
      if (r.final === null || !r.votes.some((v) => v.nodeId === "ssid-us-1")) continue;
      const cp = await anchorReader().checkpointOf(BigInt(r.round), federationIdOf(SSID));
      if (`${cp.treeSize}` === r.final.split("\n")[1]) {
        idx = k;
        break;
      }
    }
    expect(idx, "an anchored round coordinated by ssid-eu-1").to.be.at.least(0);
    const real = ledger.rounds[idx]!;
    const honest = real.votes.find((v) => v.nodeId === "ssid-us-1")!;
    const sig = honest.eip712Signature;
    const flipped = sig.slice(0, 10) + (sig[10] === "0" ? "1" : "0") + sig.slice(11);
    const forged: RoundVotes = {
      ...real,
      votes: [
        ...real.votes.filter((v) => v.nodeId !== "ssid-us-1"),
        // FAULTY never cast a valid vote: another member's note under its name.
        { nodeId: FAULTY, note: honest.note, eip712Signature: honest.eip712Signature },
        // ssid-us-1's vote with one byte of its EIP-712 signature changed.
        { nodeId: "ssid-us-1", note: honest.note, eip712Signature: flipped },
      ],
    };
    const served = {
      rounds: ledger.rounds.map((r, k) => (k === idx ? forged : r)),
      evidence: ledger.evidence,
    };
    const server = http.createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(req.url?.startsWith("/v1/credits/ledger") ? JSON.stringify(served) : "{}");
    });
    const url = new URL(roster.node("ssid-eu-1").url);
    await new Promise<void>((r) => server.listen(Number(url.port), "127.0.0.1", r));
    try {
      const allocator = exts.get(reader.node.id)!.nodeAllocator!;
      const got = await allocator.gather();
      const round = got.rounds.find((r) => r.origin === real.origin && r.round === real.round)!;
      expect(round, "the round still counts (its other votes verify)").to.not.equal(undefined);
      expect(round.votes.map((v) => v.nodeId)).to.not.include(FAULTY);
      expect(round.votes.map((v) => v.nodeId)).to.not.include("ssid-us-1");
      const refused = allocator.refusedVotes.filter((r) => r.peer === "ssid-eu-1" && r.round === real.round);
      expect(refused.map((r) => r.nodeId).sort()).to.deep.equal([FAULTY, "ssid-us-1"].sort());
      expect(refused.find((r) => r.nodeId === FAULTY)!.reason).to.match(/invalid-signature/);
      expect(refused.find((r) => r.nodeId === "ssid-us-1")!.reason).to.match(/EIP-712/);
      // The other rounds' votes all verified (nothing else refused).
      expect(allocator.refusedVotes.filter((r) => r.round !== real.round)).to.deep.equal([]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
