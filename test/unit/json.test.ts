import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig, parseConfigText } from "../../functions/core/config.ts";
import { ConfigError } from "../../functions/core/errors.ts";
import { loadProfile, parseProfileText } from "../../functions/core/ingest/profile.ts";
import { parseJson, readJsonFile } from "../../functions/core/json.ts";

const SCHEMA = z.strictObject({ a: z.strictObject({ b: z.int().min(1) }) });
const DOC = { code: "bad_thing" } as const;

/** The ConfigError a call throws (fails the test when it throws something else, or nothing). */
function configError(call: () => unknown): ConfigError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("JSON documents with a schema", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crmlake-json-"));
    await writeFile(join(dir, "broken.json"), '{"a": ');
  });

  it("names the source, the key path and what was expected", () => {
    const error = configError(() => parseJson(SCHEMA, '{"a": {"b": 0}}', "x.json", DOC));
    expect(error.code).toBe("bad_thing");
    expect(error.message).toBe("x.json: a.b: Too small: expected number to be >=1");
    expect(configError(() => parseJson(SCHEMA, '{"a": {"b": 1, "c": 2}}', "x.json", DOC)).message).toBe(
      'x.json: unknown key "c" in a',
    );
  });

  it("turns text that is not JSON into a ConfigError naming the source, not a SyntaxError", () => {
    const error = configError(() => parseJson(SCHEMA, '{"a": ', "x.json", DOC));
    expect(error.message).toMatch(/^x\.json: not valid JSON \(.+\)$/);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it("names a file it cannot read", async () => {
    await expect(readJsonFile(SCHEMA, join(dir, "none.json"), DOC)).rejects.toThrow(
      `${join(dir, "none.json")}: cannot read the file (ENOENT`,
    );
  });

  it("is how the config file, CRMLAKE_CONFIG and source profiles (local or landed) are read", async () => {
    const broken = join(dir, "broken.json");
    const rejections = [
      await loadConfig(broken).catch((e: unknown) => e),
      configError(() => parseConfigText('{"a": ', "CRMLAKE_CONFIG")),
      await loadProfile(broken).catch((e: unknown) => e),
      configError(() => parseProfileText('{"a": ', "s3://landing/profiles/shop.json", "shop")),
    ];
    expect(
      rejections.map((e) => [(e as ConfigError).code, (e as Error).message.replace(/ \(.*$/, "")]),
    ).toEqual([
      ["bad_config", `${broken}: not valid JSON`],
      ["bad_config", "CRMLAKE_CONFIG: not valid JSON"],
      ["bad_profile", `Source profile ${broken}: not valid JSON`],
      ["bad_profile", "Source profile s3://landing/profiles/shop.json: not valid JSON"],
    ]);
  });

  it("names a landed profile after its key unless it names itself", () => {
    expect(parseProfileText("{}", "s3://landing/profiles/shop.json", "shop").name).toBe("shop");
    expect(parseProfileText('{"name": "Shop export"}', "s3://landing/profiles/shop.json", "shop").name).toBe(
      "Shop export",
    );
  });
});
