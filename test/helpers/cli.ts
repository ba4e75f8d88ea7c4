/** Run the `amp` CLI in this process, capturing what it prints (tests only). */
import { run } from "../../src/cli/main";

export interface Captured {
  code: number;
  out: string;
  err: string;
}

/** Runs `amp ...` in process with console.log (command output) and stdout going to `out`, stderr to `err`. */
async function capture(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const log = console.log;
  console.log = (...xs: unknown[]) => out(xs.map(String).join(" ") + "\n");
  try {
    return await run(["node", "amp", ...args], { writeOut: out, writeErr: err });
  } finally {
    console.log = log;
  }
}

/** Run `amp ...` in process; console.log (command output), stdout and stderr are captured. */
export async function ampInProcess(...args: string[]): Promise<Captured> {
  let out = "";
  let err = "";
  const code = await capture(
    args,
    (s) => (out += s),
    (s) => (err += s),
  );
  return { code, out, err };
}

/** Run `amp ...` in process; what it prints (console.log, stdout and stderr) in one `out`, in order. */
export async function ampMerged(...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await capture(
    args,
    (s) => (out += s),
    (s) => (out += s),
  );
  return { code, out };
}
