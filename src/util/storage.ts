/**
 * Failed writes to local storage (a full disk, a file size limit — RLIMIT_FSIZE, `ulimit -f` — or a
 * read-only data dir), told apart from every other error so that the CLI exits 3 and a node's HTTP
 * API answers 503 with a message naming the file and the cause. The write was a transaction or an
 * atomic file replacement: nothing half-written is kept.
 */
import { AmpError } from "./errors";

const CAUSES: [RegExp, string][] = [
  [/^SQLITE_FULL/, "the disk is full"],
  [/^SQLITE_READONLY/, "the data dir is read-only"],
  [/^SQLITE_CANTOPEN/, "a database file cannot be opened (missing or read-only data dir?)"],
  [/^SQLITE_IOERR/, "the disk is full, a file size limit was hit (ulimit -f) or the data dir is read-only"],
  [/^ENOSPC$/, "the disk is full"],
  [/^EFBIG$/, "a file size limit was hit (ulimit -f)"],
  [/^EROFS$/, "the data dir is read-only"],
  [/^EDQUOT$/, "the disk quota is exhausted"],
];

/** The storage cause of `err` (walking its causes): what happened, the error code and its message. */
export function storageCause(
  err: unknown,
): { what: string; code: string; message: string; file: string | undefined } | undefined {
  let e: unknown = err;
  let file: string | undefined;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    // The file, when an error on the way names it (AmpError meta.path; Node fs errors: path).
    const named = e instanceof AmpError ? e.meta.path : (e as { path?: unknown }).path;
    if (file === undefined && typeof named === "string") file = named;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      const hit = CAUSES.find(([re]) => re.test(code));
      if (hit) {
        const first = e.message.split("\n")[0]!;
        // "EFBIG: file too large, write" already starts with its code; SQLite's messages do not.
        return { what: hit[1], code, message: first.startsWith(code) ? first : `${code}: ${first}`, file };
      }
    }
    e = e.cause;
  }
  return undefined;
}

/** A write to `path` failed for lack of space or write access; retry once the operator fixed it. */
export class StorageWriteError extends AmpError {
  override name = "StorageWriteError";
  constructor(shortMessage: string, path: string, code: string, cause: unknown) {
    super(shortMessage, { kind: "retry-later", cause, meta: { path, code } });
  }
}

/**
 * `err` as a StorageWriteError naming `file` when it is a storage failure (else undefined):
 * "cannot write to storage: the disk is full (SQLITE_FULL: …) — /data/inbox.sqlite; …".
 */
export function asStorageWriteError(
  err: unknown,
  file: string,
  after: string,
): StorageWriteError | undefined {
  if (err instanceof StorageWriteError) return err;
  const c = storageCause(err);
  if (!c) return undefined;
  return new StorageWriteError(
    `cannot write to storage: ${c.what} (${c.message}) — ${c.file ?? file}; ${after}`,
    c.file ?? file,
    c.code,
    err,
  );
}
