/**
 * Staging the DuckDB binding for another platform runs npm (infra/bundling/duckdb.ts npmInstall). On Windows
 * `npm` is `npm.cmd`, which Node runs only through a shell; npmInvocation avoids the shell where it can.
 */
import { describe, expect, it } from "vitest";
import { npmInvocation } from "../../infra/bundling/duckdb.ts";

const args = [
  "install",
  "--prefix",
  "C:\\Users\\Jo Smith\\p\\.crmlake\\duckdb\\1.2.3-linux-arm64",
  "@duckdb/node-api@1.2.3",
];

describe("npmInvocation", () => {
  it("runs npm's own CLI script under this Node when npm or npx started the synth: no shell, any platform", () => {
    for (const platform of ["win32", "linux", "darwin"]) {
      const cli = "C:\\Program Files\\nodejs\\node_modules\\npm\\bin\\npm-cli.js";
      expect(npmInvocation(args, { npm_execpath: cli }, platform)).toEqual({
        file: process.execPath,
        args: [cli, ...args],
        shell: false,
      });
    }
  });

  it("runs npm from the PATH without a shell on Linux and macOS", () => {
    expect(npmInvocation(args, {}, "linux")).toEqual({ file: "npm", args, shell: false });
    // npx's own script is not npm's CLI.
    expect(
      npmInvocation(args, { npm_execpath: "/usr/lib/node_modules/npm/bin/npx-cli.js" }, "darwin").file,
    ).toBe("npm");
  });

  it("runs npm.cmd through cmd.exe on Windows, every argument quoted (a path with a space stays one)", () => {
    const invocation = npmInvocation(args, {}, "win32");
    expect(invocation.file).toBe("npm.cmd");
    expect(invocation.shell).toBe(true);
    expect(invocation.args).toEqual(args.map((a) => `"${a}"`));
  });
});
