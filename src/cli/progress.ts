/**
 * Progress of long work (`amp ingest`/`amp submit` of large files, `amp run --rounds N`, `amp up`
 * start-up), always on stderr — stdout keeps the command's result (and is the only thing on
 * stdout with --json). On a terminal: one live status line, redrawn at most every 100 ms and
 * replaced by a final line. Elsewhere (pipes, CI, log files): plain lines, one per 10 % step of a
 * known total (else at most one per `intervalMs`), then a final line. `AMP_PROGRESS=off` silences it.
 */

export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  /** Where to write (default process.stderr). */
  readonly stream?: ProgressStream;
  /** What is counted, e.g. "events", "rounds" (default "items"). */
  readonly unit?: string;
  /** Without a known total, plain lines at most this often (default 5000 ms). */
  readonly intervalMs?: number;
  /** Clock (ms), for tests. */
  readonly now?: () => number;
}

export interface Progress {
  /** `done` so far (absolute), with an optional short note (e.g. the current step). */
  update(done: number, note?: string): void;
  /** `n` more done. */
  tick(n?: number, note?: string): void;
  /** The final line (a summary note optional). */
  stop(note?: string): void;
}

const SILENT: Progress = { update: () => undefined, tick: () => undefined, stop: () => undefined };

export function startProgress(
  label: string,
  total: number | undefined,
  opts: ProgressOptions = {},
): Progress {
  if (process.env.AMP_PROGRESS === "off") return SILENT;
  const out = opts.stream ?? process.stderr;
  const tty = out.isTTY === true;
  const now = opts.now ?? Date.now;
  const unit = opts.unit ?? "items";
  const t0 = now();
  const known = total !== undefined && total > 0;
  let done = 0;
  let note = "";
  let lastDraw = -Infinity;
  let nextStep = 1; // the next 10 % step a plain line is written at
  let lastLine = t0;
  let stopped = false;

  const text = (): string => {
    const secs = (now() - t0) / 1000;
    const rate = secs > 0 ? ` ${Math.round(done / secs)} ${unit}/s` : "";
    const count = known
      ? `${done}/${total} ${unit} (${Math.floor((100 * done) / total)}%)`
      : `${done} ${unit}`;
    return `${label}: ${count}${done > 0 ? rate : ""}${note ? ` ${note}` : ""}`;
  };
  const show = (): void => {
    if (stopped) return;
    if (tty) {
      if (now() - lastDraw < 100 && !(known && done >= total)) return;
      lastDraw = now();
      out.write(`\r\x1b[2K${text()}`);
      return;
    }
    if (known) {
      const step = Math.floor((10 * done) / total);
      if (step < nextStep || done >= total) return; // the final line says 100 %
      nextStep = step + 1;
    } else {
      if (now() - lastLine < (opts.intervalMs ?? 5000)) return;
      lastLine = now();
    }
    out.write(`${text()}\n`);
  };
  return {
    update(n, what) {
      done = n;
      if (what !== undefined) note = what;
      show();
    },
    tick(n = 1, what) {
      this.update(done + n, what);
    },
    stop(what) {
      if (stopped) return;
      if (what !== undefined) note = what;
      const secs = ((now() - t0) / 1000).toFixed(1);
      const line = `${label}: ${known ? `${done}/${total}` : `${done}`} ${unit} in ${secs} s${note ? ` ${note}` : ""}`;
      out.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
      stopped = true;
    },
  };
}
