/**
 * A separate `npx hardhat node` for end-to-end tests: a free loopback port, a readiness poll, a
 * stop that waits for the exit, funding a fresh (non-default) account from account 0, and reading
 * what a deployment's anchor contract holds.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { JsonRpcProvider, Wallet, parseEther } from "ethers";
import { readDeployment } from "../../src/chain/deployment";
import { GlobalProofAnchor__factory } from "../../typechain-types";

export const ROOT = path.resolve(__dirname, "..", "..");
const HARDHAT = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");

import { freePort } from "../../src/cli/up";

export { freePort };

export async function waitForRpc(url: string, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`no JSON-RPC at ${url} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * `hardhat node` on 127.0.0.1:port (a free port unless given: a restart passes the old one), serving
 * its own in-process network; resolves once it answers JSON-RPC.
 */
export async function startHardhatNode(port?: number): Promise<{ child: ChildProcess; rpc: string }> {
  port ??= await freePort();
  const env = { ...process.env };
  delete env.HARDHAT_NETWORK; // `hardhat node` serves the in-process network itself
  const child = spawn(
    process.execPath,
    [HARDHAT, "node", "--hostname", "127.0.0.1", "--port", String(port)],
    { cwd: ROOT, stdio: "ignore", env },
  );
  const rpc = `http://127.0.0.1:${port}`;
  try {
    await waitForRpc(rpc, 90_000);
  } catch (err) {
    await stopHardhatNode(child);
    throw err;
  }
  return { child, rpc };
}

export function stopHardhatNode(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** A fresh random account holding `eth` ETH, sent from the node's unlocked account 0. */
export async function fundedFreshKey(rpc: string, eth = "10"): Promise<Wallet> {
  const provider = new JsonRpcProvider(rpc, undefined, { cacheTimeout: -1 });
  try {
    const wallet = new Wallet(Wallet.createRandom().privateKey);
    const from = await provider.getSigner(0);
    const tx = await from.sendTransaction({ to: wallet.address, value: parseEther(eth) });
    await tx.wait();
    return wallet;
  } finally {
    provider.destroy();
  }
}

/** Transactions sent so far by `address` (its nonce). */
export async function nonceOf(rpc: string, address: string): Promise<number> {
  const provider = new JsonRpcProvider(rpc, undefined, { cacheTimeout: -1 });
  try {
    return await provider.getTransactionCount(address, "latest");
  } finally {
    provider.destroy();
  }
}

/** The anchor contract of the deployment in `data`: its next round and how many roots it anchored (logs). */
export async function anchoredRounds(rpc: string, data: string): Promise<{ next: bigint; logs: number }> {
  const provider = new JsonRpcProvider(rpc, 31337, { staticNetwork: true });
  try {
    const anchor = GlobalProofAnchor__factory.connect(
      readDeployment(data).contracts.globalProofAnchor,
      provider,
    );
    return {
      next: await anchor.nextRound(),
      logs: (await anchor.queryFilter(anchor.filters.GlobalRootAnchored())).length,
    };
  } finally {
    provider.destroy();
  }
}
