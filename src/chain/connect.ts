/**
 * Connections to an EVM chain: a JSON-RPC URL (a separate `npx hardhat node`, anvil, geth --dev…)
 * or any EIP-1193 provider (Hardhat's in-process network). One shape for both, so deploy, anchor
 * and verify code never cares which.
 */
import { BrowserProvider, JsonRpcProvider, Network, Wallet } from "ethers";
import type { AbstractProvider, Signer, TransactionReceipt } from "ethers";
import path from "node:path";
import { AmpError, InvalidInputError } from "../util/errors";
import { projectRoot } from "./artifacts";

/** The minimal EIP-1193 surface that Ignition, viem and ethers all accept. */
export interface Eip1193 {
  request(args: { method: string; params?: readonly unknown[] | object }): Promise<unknown>;
}

export interface ChainConnection {
  /** "embedded" for the in-process network, else the RPC URL. */
  readonly label: string;
  readonly chainId: bigint;
  readonly provider: AbstractProvider;
  readonly eip1193: Eip1193;
  /**
   * The account that sends transactions: the connection's local signer if it has one (deployer
   * key), else AMP_SUBMITTER_KEY if set, else the node's first unlocked account.
   */
  signer(): Promise<Signer>;
  close(): void;
}

/** The chain cannot be reached or answered nonsense. */
export class ChainUnavailableError extends AmpError {
  override name = "ChainUnavailableError";
  constructor(shortMessage: string, cause?: unknown) {
    super(shortMessage, { kind: "retry-later", cause });
  }
}

const RPC_DEADLINE_MS = 10_000;
/** Receipts on dev chains arrive at once; poll often so waits are short. */
const POLLING_MS = 250;

/** The innermost cause's message ("connect ECONNREFUSED 127.0.0.1:1", "other side closed"). */
function rootReason(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message.split("\n")[0]! : String(e);
}

async function rpcChainId(url: string, deadlineMs: number): Promise<bigint> {
  let res: Response | undefined;
  // A second try on a transport failure: a pooled keep-alive socket the server has just closed
  // fails the first POST although the node is up.
  for (let attempt = 1; res === undefined; attempt++) {
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(deadlineMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && err.name === "TimeoutError";
      if (attempt < 2 && !timedOut) continue;
      throw new ChainUnavailableError(
        `no JSON-RPC answer from ${url} (is the node running?): ${rootReason(err)}`,
        err,
      );
    }
  }
  const body = (await res.json().catch(() => undefined)) as { result?: unknown } | undefined;
  if (!res.ok || typeof body?.result !== "string") {
    throw new ChainUnavailableError(`${url} did not answer eth_chainId (HTTP ${res.status})`);
  }
  return BigInt(body.result);
}

function submitterFrom(
  provider: AbstractProvider & { getSigner(i?: number): Promise<Signer> },
  local?: Wallet,
) {
  return async (): Promise<Signer> => {
    if (local) return local.connect(provider);
    const key = process.env.AMP_SUBMITTER_KEY;
    if (key) {
      if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
        throw new InvalidInputError("AMP_SUBMITTER_KEY must be a 0x-prefixed 32-byte hex private key");
      }
      return new Wallet(key, provider);
    }
    return provider.getSigner(0);
  };
}

export interface RpcOptions {
  /**
   * Sign every transaction locally with this key (a deployer on a chain without unlocked
   * accounts): the connection's `eth_accounts` is this one account, `eth_sendTransaction` is
   * signed here and sent raw, and `signer()` is this wallet.
   */
  localSigner?: Wallet;
}

type TxParams = Record<string, string | undefined>;

/** An EIP-1193 view of `provider` whose only account is `wallet`, signing transactions locally. */
export function locallySigned(provider: JsonRpcProvider, wallet: Wallet, chainId: bigint): Eip1193 {
  const signer = wallet.connect(provider);
  const big = (x: string): bigint => BigInt(x);
  return {
    request: async ({ method, params }) => {
      const list = (params ?? []) as unknown[];
      if (method === "eth_accounts" || method === "eth_requestAccounts") return [wallet.address];
      if (method === "eth_sendTransaction") {
        const tx = (list[0] ?? {}) as TxParams;
        if (tx.from !== undefined && tx.from.toLowerCase() !== wallet.address.toLowerCase()) {
          throw new InvalidInputError(`cannot sign for ${tx.from}: the deployer key is ${wallet.address}`);
        }
        const populated = await signer.populateTransaction({
          chainId,
          ...(tx.to ? { to: tx.to } : {}),
          ...(tx.data ? { data: tx.data } : {}),
          ...(tx.value ? { value: big(tx.value) } : {}),
          ...(tx.gas ? { gasLimit: big(tx.gas) } : {}),
          ...(tx.nonce ? { nonce: Number(big(tx.nonce)) } : {}),
          ...(tx.maxFeePerGas ? { maxFeePerGas: big(tx.maxFeePerGas) } : {}),
          ...(tx.maxPriorityFeePerGas ? { maxPriorityFeePerGas: big(tx.maxPriorityFeePerGas) } : {}),
          ...(tx.gasPrice ? { gasPrice: big(tx.gasPrice) } : {}),
        });
        const raw = await signer.signTransaction(populated);
        return (await provider.send("eth_sendRawTransaction", [raw])) as unknown;
      }
      if (method === "eth_sign" || method.startsWith("eth_signTypedData") || method === "personal_sign") {
        throw new InvalidInputError(`${method} is not available on a locally signing connection`);
      }
      return (await provider.send(method, list)) as unknown;
    },
  };
}

/** Connect to a JSON-RPC endpoint; fails fast with a clear error if it does not answer. */
export async function connectRpc(url: string, opts: RpcOptions = {}): Promise<ChainConnection> {
  if (!/^https?:\/\//.test(url)) throw new InvalidInputError(`--rpc must be an http(s) URL, got "${url}"`);
  const chainId = await rpcChainId(url, RPC_DEADLINE_MS);
  const network = Network.from(chainId);
  // No request cache: a locally signing wallet asks for its pending nonce before every
  // transaction, and a cached answer would reuse the nonce of the transaction just sent.
  // No batch stall: ethers otherwise holds every call 10 ms to batch it with later ones, and a
  // round makes ~15 calls one after the other (catch-up, anchor transaction); calls issued in the
  // same turn of the event loop (Promise.all) are still sent as one batch.
  const provider = new JsonRpcProvider(url, network, {
    staticNetwork: network,
    pollingInterval: POLLING_MS,
    cacheTimeout: -1,
    batchStallTime: 0,
  });
  const eip1193: Eip1193 = opts.localSigner
    ? locallySigned(provider, opts.localSigner, chainId)
    : {
        request: ({ method, params }) =>
          provider.send(method, (params ?? []) as unknown[] | Record<string, unknown>),
      };
  return {
    label: url,
    chainId,
    provider,
    eip1193,
    signer: submitterFrom(provider, opts.localSigner),
    close: () => provider.destroy(),
  };
}

/** Wrap an EIP-1193 provider (Hardhat's in-process network, a test's provider). */
export async function connectEip1193(eip1193: Eip1193, label: string): Promise<ChainConnection> {
  const provider = new BrowserProvider(eip1193, undefined, { pollingInterval: POLLING_MS });
  const chainId = (await provider.getNetwork()).chainId;
  return {
    label,
    chainId,
    provider,
    eip1193,
    signer: submitterFrom(provider),
    close: () => provider.destroy(),
  };
}

/**
 * Hardhat's in-process network. Loads the project's Hardhat runtime (the caller may already be
 * running inside it, e.g. under `hardhat test` or `hardhat run`).
 */
export async function connectEmbedded(): Promise<ChainConnection> {
  // Find this project's Hardhat config from any working directory. The plain-JS embedded config
  // loads without ts-node (compiled CLI, global install); under `hardhat test`/`hardhat run` the
  // runtime already exists and keeps its own config.
  process.env.HARDHAT_CONFIG ??= path.join(projectRoot(), "hardhat.embedded.config.js");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hre = require("hardhat") as { network: { name: string; provider: Eip1193 } };
  if (hre.network.name !== "hardhat") {
    throw new InvalidInputError(
      `the embedded network needs HARDHAT_NETWORK unset or "hardhat", got "${hre.network.name}"`,
    );
  }
  return connectEip1193(hre.network.provider, "embedded");
}

/**
 * Poll for a transaction's receipt with a deadline. Dev chains mine at once and may never mine
 * another block, so this does not wait for a "new block" event the way ethers' wait helpers do.
 */
export async function waitForReceipt(
  provider: AbstractProvider,
  hash: string,
  timeoutMs = 60_000,
): Promise<TransactionReceipt> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (receipt) return receipt;
    if (Date.now() > deadline) {
      throw new AmpError(`no receipt for transaction ${hash} within ${timeoutMs} ms`, {
        kind: "retry-later",
      });
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
