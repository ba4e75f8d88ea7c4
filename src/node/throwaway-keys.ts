/**
 * THROWAWAY key files for a local federation (`amp up` without --keys): every node's keys derived
 * from the public demo label (the same keys `amp deploy` registers without --keys), written as the
 * key files `amp node` loads — `<id>.mldsa.json`, `<id>.keystore.json` (light scrypt, password
 * {@link THROWAWAY_PASSWORD}) and the public `<id>.pub.json`. Never use them for anything real.
 */
import fs from "node:fs";
import { encryptKeystoreJson } from "ethers";
import { DEMO_KEY_LABEL } from "../cli/context";
import {
  deriveThrowawayKeys,
  keystorePath,
  mlDsaKeyPath,
  publicIdentity,
  writeMlDsaKeyFile,
} from "../crypto/keys";
import { publicIdentityPath, writePublicIdentity } from "./roster";

export const THROWAWAY_PASSWORD = "amp-throwaway-demo-password";

export async function writeThrowawayKeys(dir: string, nodeIds: readonly string[]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const id of nodeIds) {
    const keys = deriveThrowawayKeys(DEMO_KEY_LABEL, id);
    if (!fs.existsSync(mlDsaKeyPath(dir, id))) writeMlDsaKeyFile(mlDsaKeyPath(dir, id), keys.mldsa);
    if (!fs.existsSync(keystorePath(dir, id))) {
      const json = await encryptKeystoreJson(
        { address: keys.wallet.address, privateKey: keys.wallet.privateKey },
        THROWAWAY_PASSWORD,
        { scrypt: { N: 1024 } },
      );
      fs.writeFileSync(keystorePath(dir, id), json, { mode: 0o600 });
    }
    if (!fs.existsSync(publicIdentityPath(dir, id))) writePublicIdentity(dir, publicIdentity(keys));
  }
}
