#!/usr/bin/env node
// The crmlake command. It runs the prebuilt bundle dist/crmlake.mjs (made by `npm ci`, or `npm run build`:
// scripts/build-cli.mjs) when the bundle is there and no source it holds has changed since it was built;
// otherwise, or with CRMLAKE_FROM_SOURCE=1, it runs the TypeScript sources through tsx's loader, so there is
// still no build step between editing a stage and running it (ADR 0012, revising ADR 0001).
import { readFileSync, statSync } from "node:fs";

const root = new URL("../", import.meta.url);

/** The bundle's URL when it is there and up to date with every project source it was built from. */
function freshBundle() {
  if (process.env.CRMLAKE_FROM_SOURCE === "1") return undefined;
  try {
    const meta = JSON.parse(readFileSync(new URL("dist/crmlake.meta.json", root), "utf8"));
    const bundle = new URL("dist/crmlake.mjs", root);
    if (statSync(bundle).mtimeMs < meta.builtAt) return undefined;
    for (const input of meta.inputs) {
      if (statSync(new URL(input, root)).mtimeMs > meta.builtAt) return undefined;
    }
    return bundle;
  } catch {
    // No bundle, or a source it holds is gone: the sources are the truth.
    return undefined;
  }
}

const bundle = freshBundle();
let main;
if (bundle) {
  // Stack traces (--verbose) point into the sources through the bundle's source map.
  if (process.argv.includes("--verbose")) process.setSourceMapsEnabled(true);
  ({ main } = await import(bundle.href));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../functions/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
