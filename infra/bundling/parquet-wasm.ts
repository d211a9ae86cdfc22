/**
 * Ships parquet-wasm's WebAssembly module with every Lambda whose bundle carries parquet-wasm: the scoring
 * Lambda, whose runner reads and writes the Parquet of TypeScript stages with it
 * (functions/core/runner/parquet.ts, docs/adr/0007-typescript-stages.md).
 *
 * esbuild bundles the package's JavaScript, not the .wasm file that JavaScript compiles at run time. The
 * runner finds the file as Node finds a package file, `parquet-wasm/esm/parquet_wasm_bg.wasm` resolved from
 * the bundle's own location, so the file is copied with the package.json that declares that export (and the
 * licences) to `<asset>/node_modules/parquet-wasm/`. WebAssembly runs on x86_64 and arm64 alike: one copy.
 *
 * Whether a function needs it is read from its bundle after esbuild ran (the bundled glue code names the file),
 * so a function that never reaches Parquet (ingest) does not carry 4.8 MB it would never load. Like
 * directories.ts, the copy is one `node -e` command, the same under bash and cmd.exe.
 */
import { joinFor, shellQuote } from "./directories.ts";

/** The package, and the files of it the runtime needs, relative to the package's directory. */
export const PARQUET_WASM_PACKAGE = "parquet-wasm";
export const PARQUET_WASM_FILES = [
  "package.json",
  "LICENSE_APACHE",
  "LICENSE_MIT",
  "esm/parquet_wasm_bg.wasm",
] as const;

/** A string that the bundled parquet-wasm glue code holds (it names its module), and no other bundle does. */
export const PARQUET_WASM_MARKER = "parquet_wasm_bg.wasm";

const quoted = (value: string) => `'${value}'`;

/**
 * The script `node -e` runs: when `<argv[2]>/index.mjs` holds the marker, copy the files from the package
 * directory argv[1] to `<argv[2]>/node_modules/parquet-wasm/`. Written without `$`, backticks, backslashes,
 * `!` or double quotes (see COPY_SCRIPT in directories.ts).
 */
export const WASM_COPY_SCRIPT = [
  "const fs=require('node:fs'),path=require('node:path'),[from,out]=process.argv.slice(1);",
  `if(fs.readFileSync(path.join(out,'index.mjs'),'utf8').includes(${quoted(PARQUET_WASM_MARKER)})){`,
  `for(const file of [${PARQUET_WASM_FILES.map(quoted).join(",")}]){`,
  `const to=path.join(out,'node_modules',${quoted(PARQUET_WASM_PACKAGE)},file);`,
  "fs.mkdirSync(path.dirname(to),{recursive:true});fs.copyFileSync(path.join(from,file),to);}}",
].join("");

/**
 * The NodejsFunction `afterBundling` command that copies the module into the asset when the bundle needs it.
 * `inputDir` is the project root (its node_modules holds the locked version the tests ran).
 */
export function parquetWasmCopyCommands(
  inputDir: string,
  outputDir: string,
  shell: "posix" | "cmd" = "posix",
): string[] {
  const packageDir = joinFor(shell, inputDir, `node_modules/${PARQUET_WASM_PACKAGE}`);
  return [`node -e "${WASM_COPY_SCRIPT}" ${shellQuote(shell, packageDir)} ${shellQuote(shell, outputDir)}`];
}
