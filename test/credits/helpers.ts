/** Shared setup of the credits tests that run the seven nodes in this process (see ../node/helpers). */
import { CreditsExtension, type CreditsExtensionOptions } from "../../src/credits/node-extension";
import { loadManifest, type Manifest } from "../../src/manifest";
import type { Roster } from "../../src/node/roster";
import type { PeerClient } from "../../src/transport/client";
import { ndjson } from "../node/helpers";

/** Short epochs, so that several close within one test. */
export const EPOCH_SECONDS = 2;

/**
 * The credits extension as these tests run it: the shipped manifest's credit section, 2 s epochs,
 * a 700 ms takeover per roster position; `options` add or override.
 */
export function testCredits(options: Partial<CreditsExtensionOptions> = {}): CreditsExtension {
  return new CreditsExtension({
    credit: loadManifest().credit,
    epochSeconds: EPOCH_SECONDS,
    takeoverMs: 700,
    ...options,
  });
}

/**
 * Posts the `i`-th batch of events: 3 ssid events to ssid-us-1 and 2 opencore events to
 * opencore-apac-1 (events 3i… and 2i…). Epochs close in chain time: rounds keep blocks coming.
 */
export async function postBatch(
  client: PeerClient,
  roster: Roster,
  manifest: Manifest,
  i: number,
): Promise<void> {
  await client.request(roster.node("ssid-us-1").url, {
    method: "POST",
    path: "/v1/events",
    body: ndjson(manifest, "ssid", i * 3, 3),
  });
  await client.request(roster.node("opencore-apac-1").url, {
    method: "POST",
    path: "/v1/events",
    body: ndjson(manifest, "opencore", i * 2, 2),
  });
}
