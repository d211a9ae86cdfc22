/**
 * Copies project directories (e.g. the SQL models, `sql/`) into a Lambda asset next to the bundle, as the
 * NodejsFunction `afterBundling` hook: esbuild bundles code, not the files a handler reads at run time.
 *
 * The copy is one `node -e` command (fs.cpSync), the same under bash (Linux, macOS, Docker) and cmd.exe.
 * A directory is copied whole, under the same relative path (`sql/marts/x.sql` → `<asset>/sql/marts/x.sql`),
 * so a handler finds it at `/var/task/<dir>` (LAMBDA_TASK_ROOT).
 */
import { statSync } from "node:fs";
import { isAbsolute, join, normalize, sep } from "node:path";

export class DirectoryBundlingError extends Error {
  override name = "DirectoryBundlingError";
}

/**
 * Checks that each entry is a directory inside the project, given relative to it (`sql`, `config/x`), and
 * returns them normalised to `/`-separated paths. Fails synth with the directory named otherwise.
 */
export function checkExtraDirectories(projectRoot: string, directories: readonly string[]): string[] {
  return directories.map((dir) => {
    const relative = normalize(dir).split(sep).join("/").replace(/\/+$/, "");
    if (relative === "" || relative === "." || isAbsolute(dir) || relative.split("/").includes("..")) {
      throw new DirectoryBundlingError(
        `extraDirectories: "${dir}" must be a directory inside the project, relative to its root (e.g. "sql")`,
      );
    }
    let isDirectory = false;
    try {
      isDirectory = statSync(join(projectRoot, relative)).isDirectory();
    } catch {
      isDirectory = false;
    }
    if (!isDirectory) {
      throw new DirectoryBundlingError(
        `extraDirectories: ${join(projectRoot, relative)} is not a directory; it cannot be copied into the asset`,
      );
    }
    return relative;
  });
}

/**
 * The script `node -e` runs: a recursive copy of argv[1] to argv[2]. Written without `$`, backticks, backslashes,
 * `!` or double quotes, so that it means the same inside double quotes to bash (local bundling on Linux and macOS,
 * Docker bundling) and to cmd.exe (local bundling on Windows).
 */
export const COPY_SCRIPT =
  "require('node:fs').cpSync(process.argv[1],process.argv[2],{recursive:true,errorOnExist:true,force:false})";

/**
 * Shell commands (NodejsFunction `afterBundling`) that copy `<inputDir>/<dir>` to `<outputDir>/<dir>`.
 * The copy is Node's own `fs.cpSync` (no `cp -R` whose flags differ between GNU, BSD and Windows); `node` is on
 * the PATH wherever NodejsFunction bundles. `shell` is the shell that will run the commands.
 */
export function directoryCopyCommands(
  inputDir: string,
  directories: readonly string[],
  outputDir: string,
  shell: "posix" | "cmd" = "posix",
): string[] {
  return directories.map(
    (dir) =>
      `node -e "${COPY_SCRIPT}" ${shellQuote(shell, joinFor(shell, inputDir, dir))} ${shellQuote(shell, joinFor(shell, outputDir, dir))}`,
  );
}

/** A path quoted for the shell that runs the hook's commands. */
export function shellQuote(shell: "posix" | "cmd", value: string): string {
  return shell === "cmd" ? cmdQuote(value) : sh(value);
}

/** The shell NodejsFunction runs a hook's commands in: cmd.exe for local bundling on Windows, else bash. */
export function hookShell(inputDir: string, platform: string = process.platform): "posix" | "cmd" {
  // Docker bundling mounts the project at /asset-input and runs bash, whatever the host.
  return platform === "win32" && !inputDir.startsWith("/") ? "cmd" : "posix";
}

/** `<dir>/<relative>` with the separator of the shell's platform. */
export function joinFor(shell: "posix" | "cmd", dir: string, relative: string): string {
  return shell === "cmd" ? `${dir}\\${relative.replaceAll("/", "\\")}` : `${dir}/${relative}`;
}

function sh(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Windows paths cannot contain `"`; `%` would still expand in cmd, so it is refused. */
function cmdQuote(value: string): string {
  if (value.includes('"') || value.includes("%")) {
    throw new DirectoryBundlingError(`cannot quote ${value} for cmd.exe (contains " or %)`);
  }
  return `"${value}"`;
}
