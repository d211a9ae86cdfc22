/**
 * Ships DuckDB (`@duckdb/node-api`) inside the ingest Lambda's asset, with the native binding that matches
 * the Lambda's architecture.
 *
 * esbuild cannot bundle a native addon, so the DuckDB packages stay external and are copied next to the
 * bundle (`<asset>/node_modules/...`) after esbuild ran. Which copy:
 * - the project's own `node_modules` when the host is Linux on the Lambda's CPU (CI, x86_64 default):
 *   exactly the version the lock file pins and the tests ran, and no network at synth;
 * - otherwise a staging directory, `.crmlake/duckdb/<version>-linux-<cpu>/`, filled once with
 *   `npm install --os=linux --cpu=<cpu> --libc=glibc` (the Lambda runtimes are Amazon Linux, glibc).
 *
 * npm skips an optional dependency it cannot find without a word, and `@duckdb/node-bindings` lists every
 * platform binding as optional: a missing binding would only show as a crash of the deployed Lambda.
 * So the binding is checked here, before anything is copied: present, same version as `@duckdb/node-api`
 * expects, and an ELF shared object for the right machine.
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import type { ArchitectureName } from "../config.ts";
import { joinFor, shellQuote } from "./directories.ts";

/** ELF e_machine of each Lambda architecture (the two bytes at offset 18 of the header, little-endian). */
export const ELF_MACHINE: Readonly<Record<ArchitectureName, number>> = { x86_64: 0x3e, arm64: 0xb7 };

/** npm's (and Node's) name of each Lambda architecture. */
export const NPM_CPU: Readonly<Record<ArchitectureName, "x64" | "arm64">> = { x86_64: "x64", arm64: "arm64" };

export function bindingPackageName(architecture: ArchitectureName): string {
  return `@duckdb/node-bindings-linux-${NPM_CPU[architecture]}`;
}

export class DuckdbBundlingError extends Error {
  override name = "DuckdbBundlingError";
}

export interface DuckdbPackage {
  /** Name under `node_modules/` (`@duckdb/node-api`, `detect-libc`, …). */
  readonly name: string;
  /** Where the package is on this machine. */
  readonly dir: string;
}

export interface DuckdbPackages {
  readonly version: string;
  readonly architecture: ArchitectureName;
  /** The packages to copy, the binding last. */
  readonly packages: readonly DuckdbPackage[];
}

/** Installs `@duckdb/node-api@<version>` for Linux on `cpu` into `<dir>/node_modules`. */
export type DuckdbInstaller = (dir: string, version: string, cpu: "x64" | "arm64") => void;

/**
 * How to run npm from this process without a shell where possible: npm's own CLI script under this Node when
 * npm or npx started us (`npm_execpath`, e.g. `npx cdk synth`), else `npm` on the PATH. On Windows that is
 * `npm.cmd`, which Node runs only through a shell (since 20.12, CVE-2024-27980): then cmd.exe, with every
 * argument quoted for it.
 */
export function npmInvocation(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: string = process.platform,
): { file: string; args: string[]; shell: boolean } {
  const cli = env.npm_execpath;
  if (cli !== undefined && /npm-cli\.c?js$/.test(cli)) {
    return { file: process.execPath, args: [cli, ...args], shell: false };
  }
  if (platform === "win32") {
    return { file: "npm.cmd", args: args.map((a) => shellQuote("cmd", a)), shell: true };
  }
  return { file: "npm", args: [...args], shell: false };
}

export const npmInstall: DuckdbInstaller = (dir, version, cpu) => {
  const npm = npmInvocation([
    "install",
    "--no-save",
    "--no-package-lock",
    "--ignore-scripts",
    "--no-audit",
    "--no-fund",
    "--os=linux",
    `--cpu=${cpu}`,
    "--libc=glibc",
    "--prefix",
    dir,
    `@duckdb/node-api@${version}`,
  ]);
  execFileSync(npm.file, npm.args, { stdio: ["ignore", "ignore", "inherit"], shell: npm.shell });
};

export interface ResolveOptions {
  readonly projectRoot: string;
  readonly architecture: ArchitectureName;
  readonly install?: DuckdbInstaller;
  /** The machine synth runs on (defaults to this process's); a parameter so tests can play a Mac. */
  readonly host?: { readonly platform: string; readonly arch: string };
}

/** Finds (staging them first if needed) the DuckDB packages for a Linux Lambda of `architecture`. */
export function resolveDuckdbPackages(options: ResolveOptions): DuckdbPackages {
  const { projectRoot, architecture } = options;
  const host = options.host ?? { platform: process.platform, arch: process.arch };
  const cpu = NPM_CPU[architecture];
  const api = readPackageJson(join(projectRoot, "node_modules", "@duckdb", "node-api"));
  if (api === undefined) {
    throw new DuckdbBundlingError(
      `@duckdb/node-api is not installed under ${projectRoot}/node_modules; run "npm ci" before synth`,
    );
  }
  const version = api.version;
  const binding = bindingPackageName(architecture);

  let root = projectRoot;
  if (host.platform !== "linux" || host.arch !== cpu) {
    root = join(projectRoot, ".crmlake", "duckdb", `${version}-linux-${cpu}`);
    if (!existsSync(join(root, "node_modules", binding, "duckdb.node"))) {
      try {
        (options.install ?? npmInstall)(root, version, cpu);
      } catch (error) {
        throw new DuckdbBundlingError(
          `Could not stage DuckDB ${version} for linux-${cpu} in ${root} (${(error as Error).message}). ` +
            "It is fetched from the npm registry once; connect and synth again.",
        );
      }
    }
  }

  const modules = join(root, "node_modules");
  const bindingDir = join(modules, binding);
  if (!existsSync(join(bindingDir, "duckdb.node"))) {
    throw new DuckdbBundlingError(
      `${binding}@${version} is missing from ${modules}: npm skips an optional binding it cannot find, ` +
        `so it is probably not published for this version (check: npm view ${binding} versions). ` +
        `Pin @duckdb/node-api to a version that has it, or use -c crmlake:architecture=` +
        `${architecture === "arm64" ? "x86_64" : "arm64"}.`,
    );
  }
  const bindingsDir = join(modules, "@duckdb", "node-bindings");
  for (const [name, dir] of [
    [binding, bindingDir],
    ["@duckdb/node-bindings", bindingsDir],
  ] as const) {
    const found = readPackageJson(dir)?.version;
    if (found !== version) {
      throw new DuckdbBundlingError(
        `${name} in ${dir} is version ${found ?? "(none)"}; @duckdb/node-api ${version} needs ${version}`,
      );
    }
  }
  const machine = elfMachine(join(bindingDir, "duckdb.node"));
  if (machine !== ELF_MACHINE[architecture]) {
    throw new DuckdbBundlingError(
      `${bindingDir}/duckdb.node is not a Linux ${architecture} library (ELF machine ${machine ?? "none"})`,
    );
  }
  // detect-libc is the bindings' only dependency; npm may hoist it or nest it.
  const nested = join(bindingsDir, "node_modules", "detect-libc");
  const detectLibc = existsSync(nested) ? nested : join(modules, "detect-libc");
  if (readPackageJson(detectLibc) === undefined) {
    throw new DuckdbBundlingError(`detect-libc (needed by @duckdb/node-bindings) is missing from ${modules}`);
  }

  return {
    version,
    architecture,
    packages: [
      { name: "@duckdb/node-api", dir: join(modules, "@duckdb", "node-api") },
      { name: "@duckdb/node-bindings", dir: bindingsDir },
      { name: "detect-libc", dir: detectLibc },
      { name: binding, dir: bindingDir },
    ],
  };
}

/**
 * The script `node -e` runs: a recursive copy of argv[1] to argv[2] that follows symbolic links (npm links
 * workspace packages; the asset must hold the files) and creates the parent directories. Written without `$`,
 * backticks, backslashes, `!` or double quotes, like COPY_SCRIPT in directories.ts.
 */
export const PACKAGE_COPY_SCRIPT =
  "require('node:fs').cpSync(process.argv[1],process.argv[2],{recursive:true,dereference:true,errorOnExist:true,force:false})";

/**
 * Commands (NodejsFunction `afterBundling`) that copy the packages into the asset's node_modules: one
 * `node -e` per package, Node's own fs.cpSync, so the same under bash and cmd.exe (no `mkdir -p`, no `cp -RL`).
 * `shell` is the shell that will run them (hookShell).
 */
export function copyCommands(
  packages: DuckdbPackages,
  outputDir: string,
  shell: "posix" | "cmd" = "posix",
): string[] {
  return packages.packages.map(
    (p) =>
      `node -e "${PACKAGE_COPY_SCRIPT}" ${shellQuote(shell, p.dir)} ${shellQuote(shell, joinFor(shell, outputDir, `node_modules/${p.name}`))}`,
  );
}

/** The ELF e_machine of a file, or undefined when it is not an ELF file. */
export function elfMachine(file: string): number | undefined {
  const header = Buffer.alloc(20);
  const fd = openSync(file, "r");
  try {
    if (readSync(fd, header, 0, 20, 0) < 20) return undefined;
  } finally {
    closeSync(fd);
  }
  const isElf = header[0] === 0x7f && header.toString("latin1", 1, 4) === "ELF";
  return isElf ? header.readUInt16LE(18) : undefined;
}

function readPackageJson(dir: string): { version: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const version = (parsed as { version?: unknown }).version;
    return typeof version === "string" ? { version } : undefined;
  } catch {
    return undefined;
  }
}
