/**
 * Durable small-file writes: write to a temp file, fsync it, rename over the target, fsync the dir.
 *
 * A write can be cut short without an error: past a file size limit (RLIMIT_FSIZE) or on a full
 * disk `write(2)` writes what fits and returns that count; only the NEXT write fails (EFBIG,
 * ENOSPC). So every write here loops until all bytes are written or a write throws, and a failed
 * write leaves nothing behind: the temp file is removed (the target keeps its old bytes), an
 * appended line is cut back off (the file keeps its old length). The error names the file.
 */
import fs from "node:fs";
import path from "node:path";
import { asStorageWriteError } from "../util/storage";

/** All of `buf` at the fd's position (a short write is retried; the one after it throws). */
function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length;) {
    const n = fs.writeSync(fd, buf, off, buf.length - off);
    if (n <= 0) throw Object.assign(new Error("write wrote nothing"), { code: "EIO" });
    off += n;
  }
}

function failed(e: unknown, file: string, after: string): unknown {
  return asStorageWriteError(e, file, after) ?? e;
}

export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
      writeAll(fd, Buffer.from(data, "utf8"));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw failed(e, file, "the file keeps its previous content");
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

/** Append one line and fsync (JSON-lines logs); on failure the file is cut back to its old length. */
export function appendLineDurable(file: string, line: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, "a", 0o600);
  } catch (e) {
    throw failed(e, file, "nothing was appended");
  }
  try {
    const size = fs.fstatSync(fd).size;
    try {
      writeAll(fd, Buffer.from(line + "\n", "utf8"));
      fs.fsyncSync(fd);
    } catch (e) {
      try {
        fs.ftruncateSync(fd, size); // no torn line for the next append to be glued onto
        fs.fsyncSync(fd);
      } catch {
        // cut on the next open (repairJsonLines drops a torn last line)
      }
      throw failed(e, file, "nothing was appended");
    }
  } finally {
    fs.closeSync(fd);
  }
}
