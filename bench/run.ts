/** `npm run bench [-- <name> [options]]`: runs the named benchmark, or all of them. */
import { benchIngest } from "./ingest.ts";

const BENCHES: Record<string, (args: string[]) => Promise<void>> = { ingest: benchIngest };

const [name, ...args] = process.argv.slice(2);
const selected = name && !name.startsWith("--") ? [name] : Object.keys(BENCHES);
for (const bench of selected) {
  const run = BENCHES[bench];
  if (!run) {
    console.error(`Unknown benchmark "${bench}". Known: ${Object.keys(BENCHES).join(", ")}`);
    process.exit(2);
  }
  console.log(`== bench ${bench}`);
  await run(name === bench ? args : process.argv.slice(2));
}
