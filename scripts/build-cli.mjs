#!/usr/bin/env node
// Builds the command line's bundle, dist/crmlake.mjs (ADR 0012): one ESM file with the TypeScript sources and
// their pure-JavaScript dependencies, so `crmlake` starts without transpiling. DuckDB's native module stays
// external. Run by `npm ci` / `npm install` (the `prepare` script) and by `npm run build`.
//
// dist/crmlake.meta.json lists the project's source files the bundle holds and when it was built:
// bin/crmlake.mjs runs the sources through tsx instead when any of them is newer (or gone), so an edit
// is never hidden behind a stale bundle.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outDir = join(root, "dist");
const outFile = join(outDir, "crmlake.mjs");
const metaFile = join(outDir, "crmlake.meta.json");

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  // An install without devDependencies (npm ci --omit=dev): the command line runs its sources through tsx.
  console.warn(
    "crmlake: esbuild is not installed, so no CLI bundle was built; crmlake runs its sources with tsx",
  );
  process.exit(0);
}

/**
 * A source's `import.meta.url` is its own location, which the sources use to find the repository's sql/ and
 * docs/ (functions/core/catalogue/models.ts) and to resolve packages: in the bundle it is rewritten to the
 * source file's URL, reached from the bundle's own, so every such path resolves as it does from the sources.
 */
const sourceUrls = {
  name: "source-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.split(sep).includes("node_modules")) return undefined;
      const text = await readFile(args.path, "utf8");
      if (!text.includes("import.meta.url")) return undefined;
      const fromBundle = relative(outDir, args.path).split(sep).join("/");
      const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: text.replaceAll("import.meta.url", url), loader: "ts" };
    });
  },
};

const started = Date.now();
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const result = await esbuild.build({
  // The metafile's paths are relative to this, whatever directory the build was started from.
  absWorkingDir: root,
  entryPoints: { crmlake: join(root, "functions/cli/main.ts") },
  outdir: outDir,
  // What a command loads on demand (the AWS SDK for an S3 lake) is a chunk of its own, beside the bundle
  // (same directory, so the rewritten import.meta.url below holds for every chunk).
  splitting: true,
  chunkNames: "crmlake-[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // DuckDB loads a native addon found next to its package: it is used from node_modules, never bundled.
  external: ["@duckdb/*"],
  // Bundled CommonJS dependencies (the AWS SDK among them) call require(); give ESM one.
  banner: {
    js: "import { createRequire as __crmlakeRequire } from 'node:module'; const require = __crmlakeRequire(import.meta.url);",
  },
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  sourcemap: "linked",
  sourcesContent: false,
  metafile: true,
  logLevel: "warning",
  plugins: [sourceUrls],
});

// esbuild writes the metafile's paths with "/" on every platform.
const inputs = Object.keys(result.metafile.inputs)
  .filter((input) => !input.startsWith("node_modules/"))
  .sort();
await writeFile(metaFile, `${JSON.stringify({ builtAt: started, inputs }, null, 2)}\n`);
const bytes = result.metafile.outputs[relative(root, outFile).split(sep).join("/")]?.bytes ?? 0;
console.log(
  `crmlake: built ${relative(root, outFile)} (${(bytes / 1e6).toFixed(1)} MB, ${inputs.length} project sources) in ${Date.now() - started} ms`,
);
