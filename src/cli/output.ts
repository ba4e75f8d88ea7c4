/** Small output helpers for the CLI: short hashes, progress bars on stderr. */
import { SingleBar, Presets } from "cli-progress";

/** `0x1234abcd…` — enough to tell roots apart in a table. */
export function short(hex: string, chars = 10): string {
  return hex.length <= chars + 1 ? hex : `${hex.slice(0, chars)}…`;
}

/** A progress bar on stderr (hidden when stderr is not a terminal, so logs stay clean). */
export function progress(label: string, total: number): { tick(n?: number): void; stop(): void } {
  if (!process.stderr.isTTY || total <= 0) return { tick: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {eta_formatted}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
}
