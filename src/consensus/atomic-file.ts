/** Durable small-file writes: write to a temp file, fsync it, rename over the target, fsync the dir. */
import fs from "node:fs";
import path from "node:path";

export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

/** Append one line and fsync (JSON-lines logs). */
export function appendLineDurable(file: string, line: string): void {
  const fd = fs.openSync(file, "a", 0o600);
  try {
    fs.writeSync(fd, line + "\n");
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
