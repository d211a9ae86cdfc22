import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { Vector } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decimalValues } from "../../functions/core/runner/arrow-columns.ts";
import { decodeParquet, type encodeParquet, PARQUET_WASM_FILE } from "../../functions/core/runner/parquet.ts";
import { openDuckDB, sqlString } from "../../functions/engines/duckdb/session.ts";
import { checkExtraDirectories, directoryCopyCommands, hookShell } from "../../infra/bundling/directories.ts";
import {
  copyCommands,
  type DuckdbInstaller,
  ELF_MACHINE,
  elfMachine,
  NPM_CPU,
  PACKAGE_COPY_SCRIPT,
  resolveDuckdbPackages,
} from "../../infra/bundling/duckdb.ts";
import { PARQUET_WASM_FILES } from "../../infra/bundling/parquet-wasm.ts";
import type { ArchitectureName } from "../../infra/config.ts";
import { PROJECT_ROOT } from "../../infra/config.ts";
import { DEFAULT_ENTRIES } from "../../infra/stacks/crmlake-stack.ts";
import { cleanup, logicalId, type Synth, synth } from "./helpers.ts";

const installedVersion = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, "node_modules/@duckdb/node-api/package.json"), "utf8")) as {
    version: string;
  }
).version;

/**
 * The real ingest handler; the scoring handler too once it exists (until then a fixture stands in, and the
 * test says so), because the stack bundles both.
 */
const scoreEntry = existsSync(join(PROJECT_ROOT, DEFAULT_ENTRIES.score))
  ? DEFAULT_ENTRIES.score
  : "test/infra/fixtures/score-handler.ts";
if (scoreEntry !== DEFAULT_ENTRIES.score) {
  console.warn(`${DEFAULT_ENTRIES.score} does not exist yet: bundling ${scoreEntry} in its place.`);
}

describe("ingest asset, bundled for real (esbuild, no Docker)", () => {
  let b: Synth;
  const asset = (fn: "ingest" | "scoring") => {
    const resources = b.template.toJSON().Resources as Record<
      string,
      { Properties: { Code: { S3Key: string } } }
    >;
    const code = resources[logicalId(b, b.stack[fn].function)]?.Properties.Code;
    if (code === undefined) throw new Error(`no code for ${fn}`);
    return join(b.outdir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
  };

  beforeAll(() => {
    b = synth(
      { "crmlake:placeholderCode": false, "crmlake:architecture": "x86_64" },
      { entries: { ingest: DEFAULT_ENTRIES.ingest, score: scoreEntry } },
    );
  });
  afterAll(() => cleanup(b));

  it("holds the ESM bundle with its source map, DuckDB left external", () => {
    const dir = asset("ingest");
    expect(readdirSync(dir).sort()).toEqual(["index.mjs", "index.mjs.map", "node_modules"]);
    const bundle = readFileSync(join(dir, "index.mjs"), "utf8");
    // Imported where DuckDB is first opened (functions/engines/duckdb/session.ts), not bundled.
    expect(bundle).toMatch(/(?:from\s*|import\(\s*)"@duckdb\/node-api"/);
    expect(bundle).toContain("//# sourceMappingURL=index.mjs.map");
  });

  it("holds the x86_64 Linux binding of the installed DuckDB version, and no other binding", () => {
    const modules = join(asset("ingest"), "node_modules");
    expect(readdirSync(modules).sort()).toEqual(["@duckdb", "detect-libc"]);
    expect(readdirSync(join(modules, "@duckdb")).sort()).toEqual([
      "node-api",
      "node-bindings",
      "node-bindings-linux-x64",
    ]);
    const binding = join(modules, "@duckdb", "node-bindings-linux-x64");
    expect(elfMachine(join(binding, "duckdb.node"))).toBe(ELF_MACHINE.x86_64);
    for (const pkg of ["node-api", "node-bindings", "node-bindings-linux-x64"]) {
      const json = JSON.parse(readFileSync(join(modules, "@duckdb", pkg, "package.json"), "utf8"));
      expect(json.version).toBe(installedVersion);
    }
  });

  it("bundles both functions with the CrmlakeFunction defaults", () => {
    const resources = b.template.toJSON().Resources as Record<
      string,
      { Properties: Record<string, unknown> }
    >;
    for (const fn of [b.stack.ingest, b.stack.scoring]) {
      expect(resources[logicalId(b, fn.function)]?.Properties).toMatchObject({
        Runtime: "nodejs22.x",
        Handler: "index.handler",
        Architectures: ["x86_64"],
        TracingConfig: { Mode: "Active" },
        Environment: { Variables: expect.objectContaining({ NODE_OPTIONS: "--enable-source-maps" }) },
      });
    }
  });

  it("ships no DuckDB with the scoring Lambda", () => {
    const dir = asset("scoring");
    expect(readdirSync(dir).sort()).toEqual(["index.mjs", "index.mjs.map", "node_modules", "sql"]);
    expect(readdirSync(join(dir, "node_modules"))).toEqual(["parquet-wasm"]);
    expect(readFileSync(join(dir, "index.mjs"), "utf8")).not.toMatch(/@duckdb|duckdb\.node/);
  });

  it("ships parquet-wasm's WebAssembly module with the scoring Lambda, where the bundle resolves it, and not with ingest", () => {
    const dir = asset("scoring");
    const shipped = join(dir, "node_modules", "parquet-wasm");
    expect(
      readdirSync(shipped, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => relative(shipped, join(e.parentPath, e.name)).split(sep).join("/"))
        .sort(),
    ).toEqual([...PARQUET_WASM_FILES].sort());
    const installed = join(PROJECT_ROOT, "node_modules", "parquet-wasm");
    for (const file of PARQUET_WASM_FILES) {
      expect(readFileSync(join(shipped, file)).equals(readFileSync(join(installed, file))), file).toBe(true);
    }
    // Resolved from the bundle's own location, as functions/core/runner/parquet.ts resolves it.
    expect(createRequire(join(dir, "index.mjs")).resolve(PARQUET_WASM_FILE)).toBe(
      join(shipped, "esm", "parquet_wasm_bg.wasm"),
    );
    expect(existsSync(join(asset("ingest"), "node_modules", "parquet-wasm"))).toBe(false);
  });

  it("decodes and encodes Parquet with the bundled scoring Lambda's codec and the asset's module", async () => {
    const dir = asset("scoring");
    const file = join(b.outdir, "duckdb.parquet");
    const session = await openDuckDB({ threads: 1 });
    try {
      await session.connection.run(
        `COPY (SELECT * FROM (VALUES ('c1', CAST(-12345678901.23 AS DECIMAL(18,2))), ('c2', NULL)) AS t(customer_id, revenue))
          TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    } finally {
      session.close();
    }
    const saved = { ...process.env };
    Object.assign(process.env, {
      LAKE_BUCKET: "crmlake-test-lake",
      ATHENA_WORKGROUP: "crmlake",
      GLUE_DATABASE: "crmlake_db",
    });
    let bundled: {
      handler?: unknown;
      decodeParquet: typeof decodeParquet;
      encodeParquet: typeof encodeParquet;
    };
    try {
      bundled = (await import(pathToFileURL(join(dir, "index.mjs")).href)) as typeof bundled;
    } finally {
      for (const key of ["LAKE_BUCKET", "ATHENA_WORKGROUP", "GLUE_DATABASE"]) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
    expect(typeof bundled.handler).toBe("function");

    const table = bundled.decodeParquet(readFileSync(file), file);
    expect(table.numRows).toBe(2);
    expect(table.getChild("customer_id")?.toArray()).toEqual(["c1", "c2"]);
    // Encoded by the bundle, decoded by the repository's codec: the same rows and types.
    const back = decodeParquet(bundled.encodeParquet(table), "bundled.parquet");
    expect(back.schema.fields.map((f) => `${f.name} ${f.type}`)).toEqual([
      "customer_id Utf8",
      "revenue Decimal[18e+2]",
    ]);
    expect(decimalValues(back.getChild("revenue") as Vector)).toEqual([-1234567890123n, null]);
  });

  it("ships every SQL model of the project with the scoring Lambda, where CRMLAKE_SQL_DIR points", () => {
    const sqlFiles = (root: string) =>
      readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith(".sql"))
        .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join("/"))
        .sort();
    const project = sqlFiles(join(PROJECT_ROOT, "sql"));
    expect(project.length).toBeGreaterThan(0);
    const shipped = join(asset("scoring"), "sql");
    expect(sqlFiles(shipped)).toEqual(project);
    for (const file of project) {
      expect(readFileSync(join(shipped, file), "utf8"), file).toBe(
        readFileSync(join(PROJECT_ROOT, "sql", file), "utf8"),
      );
    }
    // Lambda unpacks the asset under /var/task: <asset>/sql is /var/task/sql.
    const resources = b.template.toJSON().Resources as Record<
      string,
      { Properties: { Environment: { Variables: Record<string, unknown> } } }
    >;
    const variables = resources[logicalId(b, b.stack.scoring.function)]?.Properties.Environment.Variables;
    expect(variables?.CRMLAKE_SQL_DIR).toBe("/var/task/sql");
    expect(
      resources[logicalId(b, b.stack.ingest.function)]?.Properties.Environment.Variables,
    ).not.toHaveProperty("CRMLAKE_SQL_DIR");
  });

  const hostMatches = process.platform === "linux" && process.arch === "x64";
  // CI runs on x86_64 Linux: there the loading tests must run, never be skipped.
  if (!hostMatches && process.env.CI) {
    throw new Error(
      `CI must run on linux-x64 to load the Lambda asset; this is ${process.platform}-${process.arch}`,
    );
  }
  if (!hostMatches) {
    console.warn(
      `Not loading the x86_64 Linux asset on ${process.platform}-${process.arch}: it cannot run here.`,
    );
  }

  it.runIf(hostMatches)(
    "runs a DuckDB query with the binding from the asset's own node_modules",
    async () => {
      const dir = asset("ingest");
      const require = createRequire(join(dir, "index.mjs"));
      expect(
        require.resolve("@duckdb/node-bindings-linux-x64/duckdb.node").startsWith(join(dir, "node_modules")),
      ).toBe(true);
      const { DuckDBInstance } = require("@duckdb/node-api") as typeof import("@duckdb/node-api");
      const instance = await DuckDBInstance.create(":memory:");
      const connection = await instance.connect();
      const reader = await connection.runAndReadAll("select 6 * 7 as answer");
      expect(reader.getRows()).toEqual([[42]]);
      connection.closeSync();
      instance.closeSync();
    },
  );

  it.runIf(hostMatches)("loads the bundled ingest handler as the Lambda runtime would", async () => {
    const saved = process.env.LAKE_BUCKET;
    process.env.LAKE_BUCKET = "crmlake-test-lake";
    try {
      const mod = (await import(pathToFileURL(join(asset("ingest"), "index.mjs")).href)) as {
        handler?: unknown;
      };
      expect(typeof mod.handler).toBe("function");
    } finally {
      if (saved === undefined) delete process.env.LAKE_BUCKET;
      else process.env.LAKE_BUCKET = saved;
    }
  });
});

/** A fake node_modules with DuckDB's packages; the binding is a 20-byte ELF header of the given machine. */
function fakePackages(
  root: string,
  options: { version: string; cpu?: "x64" | "arm64"; machine?: number; bindingVersion?: string },
) {
  const write = (pkg: string, version: string) => {
    mkdirSync(join(root, "node_modules", pkg), { recursive: true });
    writeFileSync(join(root, "node_modules", pkg, "package.json"), JSON.stringify({ name: pkg, version }));
  };
  write("@duckdb/node-api", options.version);
  write("@duckdb/node-bindings", options.version);
  write("detect-libc", "2.1.2");
  if (options.cpu !== undefined) {
    const pkg = `@duckdb/node-bindings-linux-${options.cpu}`;
    write(pkg, options.bindingVersion ?? options.version);
    const header = Buffer.alloc(20);
    header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    header.writeUInt16LE(options.machine ?? (options.cpu === "x64" ? 0x3e : 0xb7), 18);
    writeFileSync(join(root, "node_modules", pkg, "duckdb.node"), header);
  }
}

describe("resolveDuckdbPackages", () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "crmlake-duckdb-"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const project = (name: string) => {
    const dir = join(root, name);
    fakePackages(dir, { version: "1.2.3", cpu: "x64" });
    return dir;
  };
  const staging = (dir: string, cpu: string) => join(dir, ".crmlake", "duckdb", `1.2.3-linux-${cpu}`);
  const failInstall: DuckdbInstaller = () => {
    throw new Error("npm must not run");
  };

  it("uses the project's node_modules when synth runs on Linux with the Lambda's CPU", () => {
    const dir = project("same-host");
    const found = resolveDuckdbPackages({
      projectRoot: dir,
      architecture: "x86_64",
      host: { platform: "linux", arch: "x64" },
      install: failInstall,
    });
    expect(found.version).toBe("1.2.3");
    expect(found.packages.map((p) => [p.name, p.dir])).toEqual([
      ["@duckdb/node-api", join(dir, "node_modules/@duckdb/node-api")],
      ["@duckdb/node-bindings", join(dir, "node_modules/@duckdb/node-bindings")],
      ["detect-libc", join(dir, "node_modules/detect-libc")],
      ["@duckdb/node-bindings-linux-x64", join(dir, "node_modules/@duckdb/node-bindings-linux-x64")],
    ]);
  });

  it.each([
    ["x86_64", { platform: "darwin", arch: "arm64" }],
    ["arm64", { platform: "linux", arch: "x64" }],
  ] as [ArchitectureName, { platform: string; arch: string }][])(
    "stages the %s binding once with npm when the host is %o",
    (architecture, host) => {
      const dir = project(`stage-${architecture}`);
      const calls: [string, string, string][] = [];
      const install: DuckdbInstaller = (target, version, cpu) => {
        calls.push([target, version, cpu]);
        fakePackages(target, { version, cpu });
      };
      const first = resolveDuckdbPackages({ projectRoot: dir, architecture, host, install });
      const second = resolveDuckdbPackages({ projectRoot: dir, architecture, host, install });
      const cpu = NPM_CPU[architecture];
      expect(calls).toEqual([[staging(dir, cpu), "1.2.3", cpu]]);
      expect(second).toEqual(first);
      expect(first.packages.at(-1)).toEqual({
        name: `@duckdb/node-bindings-linux-${cpu}`,
        dir: join(staging(dir, cpu), "node_modules", `@duckdb/node-bindings-linux-${cpu}`),
      });
    },
  );

  it("refuses a binding that npm silently skipped (not published for this version)", () => {
    const dir = project("skipped");
    expect(() =>
      resolveDuckdbPackages({
        projectRoot: dir,
        architecture: "arm64",
        host: { platform: "linux", arch: "x64" },
        install: (target, version) => fakePackages(target, { version }),
      }),
    ).toThrow(
      /@duckdb\/node-bindings-linux-arm64@1\.2\.3 is missing .*not published for this version .*crmlake:architecture=x86_64/,
    );
  });

  it("refuses a binding built for another machine", () => {
    const dir = project("wrong-machine");
    expect(() =>
      resolveDuckdbPackages({
        projectRoot: dir,
        architecture: "arm64",
        host: { platform: "linux", arch: "x64" },
        install: (target, version) => fakePackages(target, { version, cpu: "arm64", machine: 0x3e }),
      }),
    ).toThrow(/duckdb\.node is not a Linux arm64 library \(ELF machine 62\)/);
  });

  it("refuses a binding of another version than @duckdb/node-api", () => {
    const dir = join(root, "mismatch");
    fakePackages(dir, { version: "1.2.3", cpu: "x64", bindingVersion: "1.2.2" });
    expect(() =>
      resolveDuckdbPackages({
        projectRoot: dir,
        architecture: "x86_64",
        host: { platform: "linux", arch: "x64" },
      }),
    ).toThrow(/node-bindings-linux-x64 in .* is version 1\.2\.2; @duckdb\/node-api 1\.2\.3 needs 1\.2\.3/);
  });

  it("says to run npm ci when DuckDB is not installed at all", () => {
    const dir = join(root, "empty");
    mkdirSync(dir, { recursive: true });
    expect(() => resolveDuckdbPackages({ projectRoot: dir, architecture: "x86_64" })).toThrow(/run "npm ci"/);
  });

  it("explains a failed npm install", () => {
    const dir = project("offline");
    expect(() =>
      resolveDuckdbPackages({
        projectRoot: dir,
        architecture: "arm64",
        host: { platform: "linux", arch: "x64" },
        install: () => {
          throw new Error("getaddrinfo ENOTFOUND registry.npmjs.org");
        },
      }),
    ).toThrow(
      /Could not stage DuckDB 1\.2\.3 for linux-arm64 .*ENOTFOUND.*fetched from the npm registry once/,
    );
  });
});

describe("copyCommands", () => {
  let root: string;
  beforeAll(() => {
    // Odd paths: a quote and a space, and a package reached through a symbolic link (npm links workspaces).
    root = mkdtempSync(join(tmpdir(), "crmlake o'neil-"));
    const real = join(root, "store", "node-api");
    mkdirSync(join(real, "dist"), { recursive: true });
    writeFileSync(join(real, "package.json"), '{"version":"1.2.3"}');
    writeFileSync(join(real, "dist", "index.js"), "module.exports = 1;\n");
    mkdirSync(join(root, "project", "node_modules", "@duckdb"), { recursive: true });
    symlinkSync(real, join(root, "project", "node_modules", "@duckdb", "node-api"));
    mkdirSync(join(root, "out dir"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const packages = () => ({
    version: "1.2.3",
    architecture: "x86_64" as const,
    packages: [
      { name: "@duckdb/node-api", dir: join(root, "project", "node_modules", "@duckdb", "node-api") },
    ],
  });

  it("copies each package with Node's fs (no mkdir -p, no cp -RL), through a real shell, following links", () => {
    const commands = copyCommands(packages(), join(root, "out dir"));
    expect(commands).toHaveLength(1);
    for (const command of commands) {
      expect(command).toMatch(/^node -e "/);
      expect(command).not.toMatch(/mkdir|cp -R/);
      execFileSync("bash", ["-c", command]);
    }
    const copied = join(root, "out dir", "node_modules", "@duckdb", "node-api");
    // The parent directories were created, and the link was copied as the files it points at.
    expect(lstatSync(copied).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(copied, "dist", "index.js"), "utf8")).toBe("module.exports = 1;\n");
    // A second copy into the same asset fails rather than merging two versions.
    expect(() => execFileSync("bash", ["-c", commands[0] ?? ""], { stdio: "ignore" })).toThrow();
  });

  it("quotes for cmd.exe when the hook runs there (local bundling on Windows)", () => {
    const [command] = copyCommands(
      {
        ...packages(),
        packages: [{ name: "@duckdb/node-api", dir: "C:\\p\\node_modules\\@duckdb\\node-api" }],
      },
      "C:\\out dir",
      "cmd",
    );
    expect(command).toBe(
      `node -e "${PACKAGE_COPY_SCRIPT}" "C:\\p\\node_modules\\@duckdb\\node-api" "C:\\out dir\\node_modules\\@duckdb\\node-api"`,
    );
    // The script means the same to bash and cmd.exe: nothing either would expand or unquote.
    expect(PACKAGE_COPY_SCRIPT).not.toMatch(/[$`\\!"%]/);
  });
});

describe("directoryCopyCommands", () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "crmlake it's dirs-"));
    mkdirSync(join(root, "project", "sql", "marts"), { recursive: true });
    writeFileSync(join(root, "project", "sql", "marts", "a.sql"), "select 1\n");
    writeFileSync(join(root, "project", "sql", "b.sql"), "select 2\n");
    mkdirSync(join(root, "out"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("copies a directory tree under the same relative path, through a real shell, quoting odd paths", () => {
    const commands = directoryCopyCommands(join(root, "project"), ["sql"], join(root, "out"));
    expect(commands).toHaveLength(1);
    for (const command of commands) execFileSync("bash", ["-c", command]);
    expect(readFileSync(join(root, "out", "sql", "marts", "a.sql"), "utf8")).toBe("select 1\n");
    expect(readFileSync(join(root, "out", "sql", "b.sql"), "utf8")).toBe("select 2\n");
    // A second copy into the same asset fails rather than merging two trees.
    expect(() => execFileSync("bash", ["-c", commands[0] ?? ""], { stdio: "ignore" })).toThrow();
  });

  it("quotes for cmd.exe on a Windows host, and for bash in Docker", () => {
    expect(hookShell("C:\\p", "win32")).toBe("cmd");
    expect(hookShell("/asset-input", "win32")).toBe("posix");
    expect(hookShell("/home/p", "linux")).toBe("posix");
    const [command] = directoryCopyCommands("C:\\p", ["sql/models"], "C:\\out dir", "cmd");
    expect(command).toMatch(/^node -e "[^"$`\\!]+" "C:\\p\\sql\\models" "C:\\out dir\\sql\\models"$/);
  });

  it("accepts only existing directories inside the project", () => {
    const project = join(root, "project");
    expect(checkExtraDirectories(project, ["sql/", "./sql/marts"])).toEqual(["sql", "sql/marts"]);
    expect(() => checkExtraDirectories(project, ["../out"])).toThrow(
      /must be a directory inside the project/,
    );
    expect(() => checkExtraDirectories(project, [join(project, "sql")])).toThrow(/relative to its root/);
    expect(() => checkExtraDirectories(project, ["missing"])).toThrow(/missing is not a directory/);
    expect(() => checkExtraDirectories(project, ["sql/b.sql"])).toThrow(/is not a directory/);
  });
});
