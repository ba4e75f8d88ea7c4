/** The Rounds page's witness-cosignature row, checked against what a verifier computes. */
import { expect } from "chai";
import type { Page } from "playwright-core";
import { quorumThreshold } from "../../src/consensus/quorum";
import { parseSignedNote } from "../../src/crypto/note";
import type { ProofFile } from "../../src/proof/format";
import type { NoteWeight } from "../../src/proof/verify-note";

/**
 * The row of (round, origin, witness federation `w.origin`) shows exactly `w` — what
 * `checkSignedNote` found for that federation's cosignatures in `proof`'s note — with the cosigners
 * named from the note's signature lines, the quorum reached and nothing refused.
 */
export async function expectWitnessRow(
  page: Page,
  round: string,
  origin: string,
  proof: ProofFile,
  w: NoteWeight,
): Promise<void> {
  const lines = parseSignedNote(proof.checkpoint.signedNote!).signatures.map((x) => x.keyName);
  const named = lines.filter((k) => k.startsWith(`${w.origin}/`)).map((k) => k.split("/").pop());
  expect(named.length).to.equal(w.signatures);
  const row = page.locator(`#witnesses tr[data-key="${round}/${origin}/${w.origin}"] td`);
  await row.first().waitFor({ timeout: 30_000 });
  expect(await row.allTextContents(), `${round} ${origin}`).to.deep.equal([
    round,
    origin,
    `${w.origin} (${w.epoch})`,
    named.join(", "),
    String(w.signatures),
    `${w.signedWeight} / ${w.totalWeight}, needs ${quorumThreshold(w.totalWeight)}`,
    "yes",
    "none",
  ]);
}
