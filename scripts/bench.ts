/**
 * `npm run bench -- <name> [args]`: runs one benchmark and prints its JSON.
 * Each entry is a module under scripts/bench/ exporting `main(args)`.
 */
const BENCHES: Record<string, string> = {
  rounds: "./bench/rounds",
  ingest: "./bench/ingest",
  drift: "./bench/drift",
  startup: "./bench/startup",
  federation: "./bench/federation",
  kills: "./bench/kills",
};

async function run(argv: readonly string[]): Promise<void> {
  const [name, ...args] = argv;
  const file = name === undefined ? undefined : BENCHES[name];
  if (file === undefined) {
    console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join("|")}> [args]`);
    process.exit(2);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { main(args: readonly string[]): Promise<void> };
  await mod.main(args);
}

run(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
