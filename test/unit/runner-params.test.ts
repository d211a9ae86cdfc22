import { describe, expect, it } from "vitest";
import { defaultConfig, parseConfig } from "../../functions/core/config.ts";
import {
  expandMacros,
  minusDays,
  minusMonths,
  monthEndBefore,
  renderLiteral,
  renderParameters,
} from "../../functions/core/runner/params.ts";

describe("run parameters", () => {
  it("renders each type as a typed literal", () => {
    expect(renderLiteral("d", { kind: "date" }, "2024-01-31")).toBe("DATE '2024-01-31'");
    expect(renderLiteral("i", { kind: "integer" }, 90)).toBe("90");
    expect(renderLiteral("i", { kind: "integer" }, -3)).toBe("(-3)");
    expect(renderLiteral("x", { kind: "double" }, 0.2)).toBe("0.2e0");
    expect(renderLiteral("x", { kind: "double" }, 1e-7)).toBe("1e-7");
    expect(renderLiteral("r", { kind: "decimal", precision: 9, scale: 4 }, 0.3)).toBe(
      "CAST(0.3000 AS DECIMAL(9,4))",
    );
    expect(renderLiteral("s", { kind: "varchar" }, "gross_margin")).toBe("'gross_margin'");
    expect(renderLiteral("b", { kind: "boolean" }, true)).toBe("TRUE");
  });

  it("refuses values that do not fit their type instead of building SQL from them", () => {
    expect(() => renderLiteral("d", { kind: "date" }, "2024-02-30")).toThrow(
      'Parameter d = "2024-02-30" is not a real date written YYYY-MM-DD',
    );
    expect(() => renderLiteral("s", { kind: "varchar" }, "x' OR 1=1 --")).toThrow(/is not a plain word/);
    expect(() => renderLiteral("i", { kind: "integer" }, 1.5)).toThrow(/is not an integer/);
    expect(() => renderLiteral("r", { kind: "decimal", precision: 9, scale: 4 }, 0.12345)).toThrow(
      /at most 4 decimals/,
    );
    expect(() => renderLiteral("r", { kind: "decimal", precision: 4, scale: 2 }, 123.45)).toThrow(
      /DECIMAL\(4,2\)/,
    );
  });

  it("derives window dates with end-of-month clamping like CAST(d - INTERVAL 'n' MONTH AS DATE)", () => {
    expect(minusMonths("2024-03-31", 1)).toBe("2024-02-29");
    expect(minusMonths("2024-02-29", 12)).toBe("2023-02-28");
    expect(minusMonths("2024-01-31", 12)).toBe("2023-01-31");
    expect(minusMonths("2024-01-15", 13)).toBe("2022-12-15");
    expect(minusDays("2024-03-01", 1)).toBe("2024-02-29");
    expect(minusDays("2024-01-31", 90)).toBe("2023-11-02");
    // Periods of calendar months ending with the as-of month start after the month end before them (issue 13).
    expect(monthEndBefore("2024-06-15", 3)).toBe("2024-03-31");
    expect(monthEndBefore("2024-12-31", 12)).toBe("2023-12-31");
    expect(monthEndBefore("2024-03-01", 1)).toBe("2024-02-29");
    expect(monthEndBefore("2024-01-10", 15)).toBe("2022-10-31");
  });

  it("renders the business time zone canonically, so every alias of UTC takes the UTC arm", () => {
    const zone = (time_zone: string) =>
      renderParameters({ asOf: "2024-01-31", config: parseConfig({ calendar: { time_zone } }, "test") }).get(
        "calendar.time_zone",
      );
    expect(["Etc/UTC", "GMT", "Etc/GMT+0", "Zulu"].map(zone)).toEqual(["'UTC'", "'UTC'", "'UTC'", "'UTC'"]);
    expect(zone("America/Argentina/Buenos_Aires")).toBe("'America/Argentina/Buenos_Aires'");
    expect(zone("Etc/GMT+5")).toBe("'Etc/GMT+5'");
  });

  it("renders the run's parameters from the as-of date and the config", () => {
    const literals = renderParameters({ asOf: "2024-01-31", config: defaultConfig() });
    expect(literals.get("as_of")).toBe("DATE '2024-01-31'");
    // The day after as-of is in February: west of UTC, an order of January 31 evening is stamped February 1 UTC.
    expect(literals.get("as_of_partition_month")).toBe("'2024-02'");
    expect(
      renderParameters({ asOf: "2024-01-30", config: defaultConfig() }).get("as_of_partition_month"),
    ).toBe("'2024-01'");
    expect(literals.get("calendar.time_zone")).toBe("'UTC'");
    // The as-of month is partial unless as_of is its last day (leap February included).
    expect(literals.get("as_of_month_is_partial")).toBe("FALSE");
    const partial = (asOf: string) =>
      renderParameters({ asOf, config: defaultConfig() }).get("as_of_month_is_partial");
    expect(["2024-01-30", "2024-02-28", "2024-02-29", "2023-02-28", "9999-12-31"].map(partial)).toEqual([
      "TRUE",
      "TRUE",
      "FALSE",
      "FALSE",
      "FALSE",
    ]);
    // Calendar months ending with the as-of month (issue 13): January 2024 back to February 2023; the comparison
    // period November 2023 to January 2024.
    expect(literals.get("value_window_start")).toBe("DATE '2023-01-31'");
    expect(literals.get("comparison_as_of")).toBe("DATE '2023-10-31'");
    expect(literals.get("comparison_window_start")).toBe("DATE '2022-10-31'");
    expect(literals.get("margin.default_rate")).toBe("CAST(0.3000 AS DECIMAL(9,4))");
    expect(literals.get("pyramid.top_share")).toBe("CAST(0.010000 AS DECIMAL(9,6))");
    expect(literals.get("cost_to_serve.per_order")).toBe("CAST(5.00 AS DECIMAL(18,2))");
    expect(() => renderParameters({ asOf: "31/01/2024", config: defaultConfig() })).toThrow(
      'as_of "31/01/2024" is not a date written YYYY-MM-DD',
    );
  });

  it("expands {{ name }} and explains unknown names and stray braces with the line", () => {
    const literals = new Map([
      ["as_of", "DATE '2024-01-31'"],
      ["lifecycle.loyal_min_orders", "4"],
    ]);
    expect(
      expandMacros("select {{as_of}} AS d,\n {{ lifecycle.loyal_min_orders }} AS n", "m.sql", literals),
    ).toBe("select DATE '2024-01-31' AS d,\n 4 AS n");
    expect(() => expandMacros("select 1,\n{{ as_off }}", "m.sql", literals)).toThrow(
      'm.sql:2: unknown parameter "as_off" in {{ as_off }}. Did you mean "as_of"? Known parameters: as_of, lifecycle.loyal_min_orders',
    );
    expect(() => expandMacros("select 1,\n\n{{ as_of }", "m.sql", literals)).toThrow(
      'm.sql:3: unmatched "{{"; a parameter is written {{ name }}',
    );
  });
});
