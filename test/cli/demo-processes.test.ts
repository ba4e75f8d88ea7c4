/**
 * `amp demo --processes` without starting anything: refused option combinations (usage errors,
 * exit 2, nothing started) and the round table's layout. The full run is test/e2e/demo-processes.test.ts.
 */
import { expect } from "chai";
import { run } from "../../src/cli/main";
import { formatProcessRounds, type ProcessRoundRow } from "../../src/cli/demo-table";

async function amp(...args: string[]): Promise<{ code: number; err: string }> {
  let err = "";
  const code = await run(["node", "amp", ...args], {
    writeOut: () => undefined,
    writeErr: (s) => (err += s),
  });
  return { code, err };
}

describe("amp demo --processes: options and the round table", function () {
  it("refuses the in-process-only --workers, bad values and bad counts with a usage error before starting anything", async function () {
    const cases: [string[], RegExp][] = [
      [["--workers", "2"], /--workers is not available with --processes yet/],
      [["--epoch-seconds", "0"], /--epoch-seconds/],
      [["--drift", "no_such_cause"], /--drift/],
      [["--metrics-listen", "127.0.0.1"], /--metrics-listen must be HOST:PORT/],
      [["--rounds", "0"], /--rounds must be an integer ≥ 1, got "0"/],
      [["--events", "x"], /--events must be an integer ≥ 1, got "x"/],
    ];
    for (const [args, msg] of cases) {
      const r = await amp("demo", "--processes", ...args);
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.err).to.match(msg);
    }
  });

  it("prints a legend, a header and one aligned row per round, evidence last", function () {
    const row = (round: string, evidence: string[]): ProcessRoundRow => ({
      round,
      globalRoot: "0x" + "ab".repeat(32),
      txHash: "0x" + "cd".repeat(32),
      gasUsed: "164366",
      federations: [
        {
          origin: "amp.local/opencore",
          added: "25",
          treeSize: String(25 * Number(round)),
          rootHash: "0x" + "01".repeat(32),
        },
        {
          origin: "amp.local/ssid",
          added: "25",
          treeSize: String(25 * Number(round)),
          rootHash: "0x" + "02".repeat(32),
        },
      ],
      evidence,
    });
    const lines = formatProcessRounds([
      row("1", []),
      row("10", ["ssid-apac-1 wrong-root", "x equivocation"]),
    ]);
    expect(lines[0]).to.match(/^legend: /);
    expect(lines[1]).to.match(/^round\s+opencore\s+ssid\s+global\s+tx\s+gas\s+evidence$/);
    expect(lines[3]).to.match(/^1 {6}\+25=25 0x01010101… {3}\+25=25 0x02020202… /);
    expect(lines[3]!.endsWith("  -")).to.equal(true);
    expect(lines[4]).to.match(/^10\s+\+25=250\s.*ssid-apac-1 wrong-root, x equivocation$/);
    // Columns line up: the global root starts at the same offset in every row.
    const at = (l: string) => l.indexOf("0xabab");
    expect(at(lines[3]!)).to.equal(at(lines[4]!));
    expect(lines[2]).to.match(/^-+( {2}-+)+$/);
  });
});
