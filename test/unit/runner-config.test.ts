import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultConfig, loadConfig, parseConfig } from "../../functions/core/config.ts";

function configError(value: unknown): string {
  try {
    parseConfig(value, "crmlake.config.json");
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the config to be rejected");
}

describe("config", () => {
  it("gives every field its documented default", () => {
    const config = defaultConfig();
    expect(config.pyramid).toEqual({
      top_share: 0.01,
      big_share: 0.04,
      medium_share: 0.15,
      value_measure: "gross_margin",
    });
    expect(config.periods).toEqual({ value_window_months: 12, comparison_months: 3 });
    expect(config.occasions).toEqual({ unit: "day" });
    expect(config.margin.default_rate).toBe(0.3);
    expect(config.clv).toEqual({
      horizon_months: 12,
      annual_discount_rate: 0.1,
      parameter_drift_threshold: 0.25,
    });
    // No cut-off configured: the profitability matrix splits the active customers at the medians.
    expect(config.quadrants).toEqual({});
    expect(config.actions).toEqual({ p_alive_drop: 0.1 });
    expect(config.lifecycle).toEqual({ loyal_min_occasions: 4, lapsed_after_days: 365 });
  });

  it("ships an example file that spells out exactly the defaults", async () => {
    const example = JSON.parse(await readFile("examples/crmlake.config.json", "utf8"));
    expect(parseConfig(example, "examples/crmlake.config.json")).toEqual(defaultConfig());
    expect(example).toEqual(defaultConfig());
  });

  it("keeps the defaults of the fields a partial file leaves out", () => {
    const config = parseConfig({ pyramid: { value_measure: "net_revenue" } }, "f");
    expect(config.pyramid.value_measure).toBe("net_revenue");
    expect(config.pyramid.top_share).toBe(0.01);
  });

  it("rejects unknown keys, naming the file and the key path", () => {
    expect(configError({ pyramid: { top_shar: 0.02 } })).toBe(
      'crmlake.config.json: unknown key "top_shar" in pyramid',
    );
    expect(configError({ pyramids: {} })).toBe(
      'crmlake.config.json: unknown key "pyramids" at the top level',
    );
  });

  it("says what was expected for a bad value", () => {
    expect(configError({ periods: { value_window_months: 0 } })).toBe(
      "crmlake.config.json: periods.value_window_months: Too small: expected number to be >=1",
    );
    expect(configError({ margin: { default_rate: 1.5 } })).toBe(
      "crmlake.config.json: margin.default_rate: Too big: expected number to be <=1",
    );
    expect(configError({ lifecycle: { loyal_min_occasions: "four" } })).toBe(
      "crmlake.config.json: lifecycle.loyal_min_occasions: Invalid input: expected number, received string",
    );
    expect(configError({ pyramid: { value_measure: "sales" } })).toMatch(
      /^crmlake\.config\.json: pyramid\.value_measure: Invalid option: expected one of "gross_margin"\|"net_revenue"\|"net_profit"/,
    );
    expect(configError({ cost_to_serve: { per_order: 1.234 } })).toBe(
      "crmlake.config.json: cost_to_serve.per_order: expected at most 2 decimal places",
    );
    expect(configError({ pyramid: { top_share: 0.5, big_share: 0.4, medium_share: 0.2 } })).toBe(
      "crmlake.config.json: pyramid: expected top_share + big_share + medium_share ≤ 1 (small takes the rest)",
    );
  });

  it("names the file when it is missing or not JSON", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-config-"));
    await expect(loadConfig(join(dir, "nope.json"))).rejects.toThrow(
      `${join(dir, "nope.json")}: cannot read`,
    );
    await writeFile(join(dir, "bad.json"), "{ pyramid: }");
    await expect(loadConfig(join(dir, "bad.json"))).rejects.toThrow(
      `${join(dir, "bad.json")}: not valid JSON`,
    );
    await writeFile(join(dir, "ok.json"), JSON.stringify({ periods: { comparison_months: 1 } }));
    expect((await loadConfig(join(dir, "ok.json"))).periods.comparison_months).toBe(1);
    // Settings renamed by issue 13 are refused with the new name (the old ones meant orders and days).
    await writeFile(join(dir, "old.json"), JSON.stringify({ periods: { comparison_days: 30 } }));
    await expect(loadConfig(join(dir, "old.json"))).rejects.toThrow(
      "periods.comparison_days: replaced by periods.comparison_months",
    );
    await writeFile(join(dir, "old2.json"), JSON.stringify({ lifecycle: { loyal_min_orders: 3 } }));
    await expect(loadConfig(join(dir, "old2.json"))).rejects.toThrow(
      "lifecycle.loyal_min_orders: renamed lifecycle.loyal_min_occasions",
    );
    // A lapse shorter than the comparison period makes no sense (issue 13, case 2).
    await writeFile(join(dir, "short.json"), JSON.stringify({ lifecycle: { lapsed_after_days: 30 } }));
    await expect(loadConfig(join(dir, "short.json"))).rejects.toThrow(
      "lifecycle.lapsed_after_days: 30 days is shorter than the comparison period",
    );
  });
});
