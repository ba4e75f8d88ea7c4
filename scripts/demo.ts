/**
 * `npm start`: the AMP demo on Hardhat's in-process network (the same code as `amp demo`).
 * Run through `hardhat run` so the embedded network is this process's Hardhat runtime.
 */
import { oneLine } from "../src/util/errors";
import { runDemo } from "../src/cli/demo";

const rounds = Number(process.env.AMP_DEMO_ROUNDS ?? "10");

runDemo({ rounds, events: Number(process.env.AMP_DEMO_EVENTS ?? "25") }).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`amp demo: ${oneLine(err)}\n`);
    process.exit(1);
  },
);
