/**
 * Re-verifying the votes of a ledger served by a peer before they count as credit inputs. A
 * ledger line is written by the round's coordinator; without this check a coordinator (or anyone
 * serving its ledger) could add votes a node never cast, or drop the signature work altogether.
 *
 * Every vote must carry the ML-DSA signed note of its voter (exactly one signature, the key
 * pinned in the roster, context amp/vote/v1) over a checkpoint of that round, origin and of the
 * epoch of the round's final checkpoint, and an EIP-712 signature recovering to the voter's
 * pinned address (src/consensus/vote-check.ts, the same check the coordinator ran). A vote that
 * fails is dropped from the line and logged (with the peer that served it); the rest of the line
 * still counts. Nothing here is taken from the ledger except the votes themselves.
 */
import { createHash } from "node:crypto";
import type { RoundVotes } from "../consensus/evidence";
import type { AnchorDomain, FederationConfig } from "../consensus/types";
import { checkVote, memberVerifier } from "../consensus/vote-check";
import { parseCheckpointBody } from "../crypto/note";
import { oneLine } from "../util/errors";
import type { Roster } from "../node/roster";
import type { Logger } from "../util/log";

/** A vote refused while re-verifying a ledger. */
export interface RefusedVote {
  readonly peer: string;
  readonly origin: string;
  readonly round: string;
  readonly nodeId: string;
  readonly reason: string;
}

/** Refused votes kept in memory (all of them are logged). */
const MAX_REFUSED_KEPT = 1000;

export class LedgerVoteChecker {
  /** SHA-256 of the vote with its round context → refusal reason ("" = valid). */
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly roster: Roster,
    private readonly domain: AnchorDomain,
    private readonly logger: Logger,
  ) {}

  /** Why the vote is refused, or undefined when it verifies against the pinned roster keys. */
  private async refusal(r: RoundVotes, v: RoundVotes["votes"][number]): Promise<string | undefined> {
    const key = createHash("sha256")
      .update(JSON.stringify([r.origin, r.round, r.final, v.nodeId, v.note, v.eip712Signature]))
      .digest("hex");
    const known = this.cache.get(key);
    if (known !== undefined) return known === "" ? undefined : known;
    const reason = await this.check(r, v);
    this.cache.set(key, reason ?? "");
    return reason;
  }

  private async check(r: RoundVotes, v: RoundVotes["votes"][number]): Promise<string | undefined> {
    const fed = this.roster.federations.find((f) => f.config.origin === r.origin);
    if (!fed) return `unknown origin ${r.origin}`;
    const member = fed.config.members.find((m) => m.nodeId === v.nodeId);
    if (!member) return `${String(v.nodeId)} is not a member of ${r.origin}`;
    if (typeof v.note !== "string" || typeof v.eip712Signature !== "string") return "vote fields missing";
    let epoch: bigint;
    try {
      epoch = parseCheckpointBody(r.final ?? "").epoch;
    } catch (e) {
      return `final checkpoint does not parse: ${oneLine(e)}`;
    }
    // Membership and keys come from the roster (pinned); the epoch from the anchored final body.
    const config: FederationConfig = { origin: r.origin, epoch, members: fed.config.members };
    let round: bigint;
    try {
      round = BigInt(r.round);
    } catch {
      return `round ${JSON.stringify(r.round)} is not a number`;
    }
    const c = await checkVote(
      { nodeId: v.nodeId, note: v.note, eip712Signature: v.eip712Signature },
      member,
      memberVerifier(member),
      config,
      round,
      this.domain,
    );
    return c.ok ? undefined : `${c.fault}: ${c.detail}`;
  }

  /**
   * The line with only the votes that verify; every refused vote is logged (warn) and returned in
   * `refused` (tests, metrics).
   */
  async verify(peer: string, r: RoundVotes, refused: RefusedVote[] = []): Promise<RoundVotes> {
    type LedgerVote = RoundVotes["votes"][number];
    const votes: LedgerVote[] = [];
    const all: readonly LedgerVote[] = Array.isArray(r.votes) ? r.votes : [];
    for (const v of all) {
      const reason = await this.refusal(r, v);
      if (reason === undefined) {
        votes.push(v);
        continue;
      }
      const out = { peer, origin: r.origin, round: String(r.round), nodeId: String(v.nodeId), reason };
      if (refused.length < MAX_REFUSED_KEPT) refused.push(out);
      this.logger.warn("credits: forged vote in a ledger refused", { ...out });
    }
    return votes.length === r.votes.length ? r : { ...r, votes };
  }
}
