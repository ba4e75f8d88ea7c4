/** Run the `amp` CLI in this process, capturing what it prints (tests only). */
import { run } from "../../src/cli/main";

export interface Captured {
  code: number;
  out: string;
  err: string;
}

/** Run `amp ...` in process; console.log (command output), stdout and stderr are captured. */
export async function ampInProcess(...args: string[]): Promise<Captured> {
  let out = "";
  let err = "";
  const log = console.log;
  console.log = (...xs: unknown[]) => void (out += xs.map(String).join(" ") + "\n");
  try {
    const code = await run(["node", "amp", ...args], {
      writeOut: (s) => (out += s),
      writeErr: (s) => (err += s),
    });
    return { code, out, err };
  } finally {
    console.log = log;
  }
}
