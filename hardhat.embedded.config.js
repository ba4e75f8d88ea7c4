"use strict";
/**
 * The Hardhat config the `amp` command uses for its embedded (in-process) network, e.g. `amp demo`.
 * Plain JavaScript with no plugins, so the compiled CLI and a global install load it without
 * ts-node and without the development toolchain. Compiling and testing use hardhat.config.ts.
 */
module.exports = {
  solidity: "0.8.28",
  networks: { hardhat: { chainId: 31337 } },
};
