/**
 * Which key `amp deploy` signs with, for chains where the node holds no unlocked account (any
 * public testnet): an encrypted keystore file (`--keystore FILE`, password from
 * AMP_DEPLOYER_PASSWORD) or a raw key in AMP_DEPLOYER_KEY. Neither: the node's first unlocked
 * account (a dev node). The key is only held by this process and never written anywhere.
 */
import fs from "node:fs";
import { Wallet } from "ethers";
import type { AbstractProvider } from "ethers";
import { InvalidInputError } from "../util/errors";
import { CannotCheckError, UsageError } from "./exit";

export const DEPLOYER_KEY_ENV = "AMP_DEPLOYER_KEY";
export const DEPLOYER_PASSWORD_ENV = "AMP_DEPLOYER_PASSWORD";

/** The deployer wallet, or undefined for "use the node's unlocked account". */
export async function deployerWallet(opts: { keystore?: string }): Promise<Wallet | undefined> {
  const raw = process.env[DEPLOYER_KEY_ENV];
  if (opts.keystore !== undefined) {
    if (raw) {
      throw new UsageError(`give the deployer key once: --keystore or ${DEPLOYER_KEY_ENV}, not both`);
    }
    let json: string;
    try {
      json = fs.readFileSync(opts.keystore, "utf8");
    } catch (err) {
      throw new CannotCheckError(`cannot read the deployer keystore ${opts.keystore}`, { cause: err });
    }
    const password = process.env[DEPLOYER_PASSWORD_ENV];
    if (!password) {
      throw new UsageError(`set ${DEPLOYER_PASSWORD_ENV} to the password of the keystore ${opts.keystore}`);
    }
    try {
      const w = await Wallet.fromEncryptedJson(json, password);
      return new Wallet(w.privateKey);
    } catch (err) {
      throw new UsageError(
        `cannot decrypt the deployer keystore ${opts.keystore}: wrong ${DEPLOYER_PASSWORD_ENV} or not a keystore file`,
        { cause: err },
      );
    }
  }
  if (raw === undefined || raw === "") return undefined;
  if (!/^0x[0-9a-fA-F]{64}$/.test(raw.trim())) {
    throw new UsageError(`${DEPLOYER_KEY_ENV} must be a 0x-prefixed 32-byte hex private key`);
  }
  return new Wallet(raw.trim());
}

/** A deployer key with no balance cannot pay for the deployment: say so before Ignition starts. */
export async function assertFunded(
  provider: AbstractProvider,
  chainId: bigint,
  wallet: Wallet,
): Promise<void> {
  const balance = await provider.getBalance(wallet.address);
  if (balance === 0n) {
    throw new InvalidInputError(
      `the deployer ${wallet.address} has no funds on chain ${chainId}: send it ETH for gas, then run amp deploy again`,
    );
  }
}
