import { subtask } from "hardhat/config";
import {
  TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD,
  TASK_TEST_GET_TEST_FILES,
} from "hardhat/builtin-tasks/task-names";
import path from "node:path";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";
import "@nomicfoundation/hardhat-viem";

/** The exact compiler we pin; the npm `solc` package at this version supplies it offline. */
const SOLC_VERSION = "0.8.28";

// Hardhat cannot download compilers on these machines: serve the solc-js build from node_modules.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return (await runSuper(args)) as unknown;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

// test/helpers (shared fixtures) and test/fixtures (child-process scripts) are not test files.
subtask(TASK_TEST_GET_TEST_FILES, async (args: { testFiles: string[] }, _hre, runSuper) => {
  const files = (await runSuper(args)) as string[];
  const skip = ["helpers", "fixtures"].map((d) => path.join(__dirname, "test", d) + path.sep);
  return files.filter((f) => !skip.some((dir) => path.resolve(f).startsWith(dir)));
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
      metadata: { bytecodeHash: "none" },
    },
  },
  networks: {
    hardhat: { chainId: 31337 },
    localhost: { url: process.env.AMP_RPC_URL ?? "http://127.0.0.1:8545", chainId: 31337 },
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
    currency: "USD",
    noColors: true,
    ...(process.env.REPORT_GAS_FILE ? { outputFile: process.env.REPORT_GAS_FILE } : {}),
  },
  mocha: { timeout: 120_000 },
};

export default config;
