import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect } from "chai";
import { checkThrowawayAllowed } from "../../src/cli/deploy";
import { UsageError } from "../../src/cli/exit";
import { run } from "../../src/cli/main";
import { printable } from "../../src/cli/verify";
import { tmpDir } from "../e2e/helpers";

async function amp(...args: string[]): Promise<{ code: number; err: string }> {
  let err = "";
  const code = await run(["node", "amp", ...args], {
    writeOut: () => undefined,
    writeErr: (s) => (err += s),
  });
  return { code, err };
}

/** A loopback JSON-RPC stub that only answers eth_chainId (enough for the checks before any deploy). */
async function chainStub(chainId: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify(
          method === "eth_chainId"
            ? { jsonrpc: "2.0", id, result: chainId }
            : { jsonrpc: "2.0", id, error: { code: -32601, message: "not in this stub" } },
        ),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("cli: trust roots (issue 8)", function () {
  let dir: string;
  beforeEach(() => (dir = tmpDir("amp-cli-trust-")));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("refuses THROWAWAY DEMO KEYS on a chain other than 31337 unless --throwaway-keys", async function () {
    expect(() => checkThrowawayAllowed(1n, {})).to.throw(
      UsageError,
      /refusing to register THROWAWAY DEMO KEYS on chain 1/,
    );
    expect(() => checkThrowawayAllowed(1n, { throwawayKeys: true })).not.to.throw();
    expect(() => checkThrowawayAllowed(1n, { keys: "/keys" })).not.to.throw();
    expect(() => checkThrowawayAllowed(31337n, {})).not.to.throw();
    const stub = await chainStub("0x1");
    try {
      const data = path.join(dir, "data");
      const r = await amp("deploy", "--rpc", stub.url, "--data", data);
      expect(r.code).to.equal(2);
      expect(r.err.trim().split("\n")).to.have.length(1);
      expect(r.err).to.match(
        /^amp: UsageError: refusing to register THROWAWAY DEMO KEYS on chain 1 .*--keys DIR.*--throwaway-keys/,
      );
      expect(fs.existsSync(path.join(data, "deployment.json"))).to.equal(false);
      const insisted = await amp("deploy", "--rpc", stub.url, "--data", data, "--throwaway-keys");
      expect(insisted.err).not.to.match(/refusing to register THROWAWAY/); // got past the check (the stub cannot deploy)
    } finally {
      await stub.close();
    }
  });

  it("`amp trust export` says what to run when the data dir has no deployment", async function () {
    const r = await amp("trust", "export", "--rpc", "http://127.0.0.1:1", "--data", dir);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/no deployment record at .*: run "amp deploy/);
    expect(fs.existsSync(path.join(dir, "trust.json"))).to.equal(false);
  });

  it("escapes control, bidi and line-separator characters taken from a proof file", function () {
    expect(printable("ok\u001b[31mred\u0007\n\u202eevil\u0085")).to.equal(
      "ok\\u001b[31mred\\u0007\\u000a\\u202eevil\\u0085",
    );
    expect(printable("amp.local/ssid ✓")).to.equal("amp.local/ssid ✓");
  });
});
