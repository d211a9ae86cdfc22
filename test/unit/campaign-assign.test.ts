/**
 * The audience filter language and the hash-based holdout assignment of `crmlake campaign assign`
 * (functions/core/campaigns/), and the balance report it prints.
 */
import { describe, expect, it } from "vitest";
import { balanceReport } from "../../functions/cli/commands/campaign.ts";
import { assignGroups, assignmentHash } from "../../functions/core/campaigns/assign.ts";
import {
  type FilterColumnKind,
  FilterError,
  filterKindOf,
  filterToSql,
} from "../../functions/core/campaigns/filter.ts";

const COLUMNS = new Map<string, FilterColumnKind>([
  ["value_tier", "text"],
  ["lifecycle_stage", "text"],
  ["rfm_cell", "text"],
  ["recency_days", "number"],
  ["net_revenue", "number"],
  ["is_prospect", "boolean"],
]);

function error(filter: string): FilterError {
  try {
    filterToSql(filter, COLUMNS);
  } catch (e) {
    if (e instanceof FilterError) return e;
    throw e;
  }
  throw new Error(`"${filter}" was accepted`);
}

describe("the audience filter", () => {
  it("turns the documented example into a predicate of quoted identifiers and literals", () => {
    expect(filterToSql("value_tier in (top, big) and lifecycle_stage = lapsed", COLUMNS)).toBe(
      `("value_tier" IN ('top', 'big') AND "lifecycle_stage" = 'lapsed')`,
    );
  });

  it("has every operator, not, not in, parentheses, and binds and tighter than or", () => {
    expect(filterToSql("recency_days >= 90 or value_tier = top and not is_prospect = true", COLUMNS)).toBe(
      `("recency_days" >= CAST('90' AS DOUBLE) OR ("value_tier" = 'top' AND (NOT "is_prospect" = TRUE)))`,
    );
    expect(filterToSql("(recency_days > 1.5 or recency_days < -2) and value_tier != small", COLUMNS)).toBe(
      `(("recency_days" > CAST('1.5' AS DOUBLE) OR "recency_days" < CAST('-2' AS DOUBLE)) AND "value_tier" <> 'small')`,
    );
    expect(filterToSql("net_revenue <= 10 AND value_tier NOT IN ('top') Or rfm_cell <> 545", COLUMNS)).toBe(
      `(("net_revenue" <= CAST('10' AS DOUBLE) AND "value_tier" NOT IN ('top')) OR "rfm_cell" <> '545')`,
    );
    expect(filterToSql("is_prospect = FALSE", COLUMNS)).toBe(`"is_prospect" = FALSE`);
  });

  it("keeps quoted text as a literal, doubling quotes: never SQL", () => {
    expect(filterToSql(`lifecycle_stage = 'x'' or 1=1 --'`, COLUMNS)).toBe(
      `"lifecycle_stage" = 'x'' or 1=1 --'`,
    );
    expect(filterToSql(`lifecycle_stage = "won back"`, COLUMNS)).toBe(`"lifecycle_stage" = 'won back'`);
  });

  it.each([
    ["", 1, "the filter is empty"],
    ["value_tier in (top, big", 24, 'expected "," or ")" at position 24, found the end of the filter'],
    ["value_tier = top; drop table x", 17, 'unexpected character ";" at position 17'],
    ["valuetier = top", 1, 'unknown column "valuetier" at position 1; columns: value_tier, lifecycle_stage'],
    ["recency_days > many", 16, 'expected a number for recency_days at position 16, found "many"'],
    ["is_prospect > true", 13, "is_prospect is true or false: compare it with = or !="],
    ["is_prospect = yes", 15, "expected true or false for is_prospect at position 15"],
    ["value_tier = top big", 18, 'expected "and", "or" or the end of the filter at position 18, found "big"'],
    [
      "value_tier top",
      12,
      'expected an operator (=, !=, <, <=, >, >=) or "in" after value_tier at position 12',
    ],
    ["(value_tier = top", 18, 'expected ")" at position 18'],
    ["value_tier = 'top", 14, "the quote opened at position 14 is not closed"],
    ["and value_tier = top", 1, 'expected a column name or "(" at position 1, found "and"'],
    ["value_tier not = top", 16, 'expected "in" after "not" at position 16'],
    ["value_tier = and", 14, "quote it if it is the word and"],
  ])("refuses %j at position %i", (filter, position, message) => {
    const e = error(filter);
    expect(e.position).toBe(position);
    expect(e.message).toContain(message);
    expect(e.code).toBe("bad_filter");
  });

  it("knows which SQL types a filter may compare", () => {
    expect(filterKindOf("VARCHAR")).toBe("text");
    expect(filterKindOf("DECIMAL(38,2)")).toBe("number");
    expect(filterKindOf("BIGINT")).toBe("number");
    expect(filterKindOf("DOUBLE")).toBe("number");
    expect(filterKindOf("BOOLEAN")).toBe("boolean");
    expect(filterKindOf("DATE")).toBeUndefined();
    expect(filterKindOf("VARCHAR[]")).toBeUndefined();
  });
});

describe("hash-based assignment", () => {
  const customers = (n: number, stratum: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => ({
      customerId: `C${String(i).padStart(6, "0")}`,
      stratum: stratum(i),
    }));

  it("is deterministic: the same inputs give the same groups, whatever their order", () => {
    const input = customers(500, (i) => (i % 3 === 0 ? "top" : "small"));
    const a = assignGroups(input, 0.2, "7", "K1");
    expect(assignGroups([...input].reverse(), 0.2, "7", "K1")).toEqual(a);
    expect(assignmentHash("7", "K1", "customer:C000001")).toBe(assignmentHash("7", "K1", "customer:C000001"));
    // Another seed or campaign is another draw.
    const groups = (x: ReturnType<typeof assignGroups>) => x.map((r) => r.group).join();
    expect(groups(assignGroups(input, 0.2, "8", "K1"))).not.toBe(groups(a));
    expect(groups(assignGroups(input, 0.2, "7", "K2"))).not.toBe(groups(a));
  });

  it("gives u uniform on [0, 1): 10,000 hashes, ten bins, χ² below its 0.999 quantile", () => {
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const u = assignmentHash("1", "K", `customer:${i}`);
      expect(u >= 0 && u < 1).toBe(true);
      bins[Math.floor(u * 10)] = (bins[Math.floor(u * 10)] ?? 0) + 1;
    }
    const chi2 = bins.reduce((s, b) => s + (b - 1000) ** 2 / 1000, 0);
    // χ²(9) 0.999 quantile = 27.877.
    expect(chi2).toBeLessThan(27.877);
  });

  it("holds out ⌊n·s⌋ or ⌈n·s⌉ of every stratum, so the share is within binomial slack", () => {
    const tiers = ["top", "big", "medium", "small"];
    const input = customers(
      10_007,
      (i) => tiers[i % 7 === 0 ? 0 : i % 5 === 0 ? 1 : i % 3 === 0 ? 2 : 3] as string,
    );
    for (const [share, seed] of [
      [0.1, "1"],
      [0.25, "2"],
      [0.5, "3"],
    ] as const) {
      const out = assignGroups(input, share, seed, "K");
      expect(out).toHaveLength(input.length);
      for (const tier of tiers) {
        const members = out.filter((a) => a.stratum === tier);
        const control = members.filter((a) => a.group === "control").length;
        expect(control).toBeGreaterThanOrEqual(Math.floor(members.length * share));
        expect(control).toBeLessThanOrEqual(Math.ceil(members.length * share));
      }
      // Far inside the ±3σ band of a Bernoulli draw: √(n·s(1 − s)) ≈ 30 customers at s = 0.1.
      const control = out.filter((a) => a.group === "control").length;
      const sigma = Math.sqrt(input.length * share * (1 - share));
      expect(Math.abs(control - input.length * share)).toBeLessThanOrEqual(3 * sigma);
    }
  });

  it("rounds a stratum's fraction at random: across seeds the expected share is exact", () => {
    // One customer per stratum and s = 0.3: each is held out with probability 0.3 (the stratum's hash).
    const input = customers(2000, (i) => `s${i}`);
    const control = assignGroups(input, 0.3, "9", "K").filter((a) => a.group === "control").length;
    const sigma = Math.sqrt(2000 * 0.3 * 0.7);
    expect(Math.abs(control - 600)).toBeLessThanOrEqual(4 * sigma);
  });

  it("refuses a share outside (0, 1) and a customer listed twice", () => {
    expect(() => assignGroups([], 1, "1", "K")).toThrow(RangeError);
    expect(() =>
      assignGroups(
        [
          { customerId: "a", stratum: "x" },
          { customerId: "a", stratum: "y" },
        ],
        0.5,
        "1",
        "K",
      ),
    ).toThrow(/listed twice/);
  });
});

describe("the balance report", () => {
  it("gives per tier and group the customers and mean recency, orders and spend", () => {
    const profiles = [
      { customerId: "a", tier: "top", recency: 10, frequency: 4, spend: 100 },
      { customerId: "b", tier: "top", recency: 20, frequency: 2, spend: 50 },
      { customerId: "c", tier: "top", recency: null, frequency: 0, spend: 0 },
      { customerId: "d", tier: "small", recency: 300, frequency: 1, spend: 5 },
    ];
    const assignments = [
      { customerId: "a", stratum: "top", group: "treatment" as const },
      { customerId: "b", stratum: "top", group: "treatment" as const },
      { customerId: "c", stratum: "top", group: "control" as const },
      { customerId: "d", stratum: "small", group: "control" as const },
    ];
    const lines = balanceReport(profiles, assignments).split("\n");
    expect(lines[0]).toMatch(
      /^value_tier +group +customers +mean_recency_days +mean_orders +mean_net_revenue$/,
    );
    expect(lines.slice(2, 8).map((l) => l.split(/ +/))).toEqual([
      ["small", "treatment", "0", "NULL", "NULL", "NULL"],
      ["small", "control", "1", "300.0", "1.00", "5.00"],
      ["top", "treatment", "2", "15.0", "3.00", "75.00"],
      ["top", "control", "1", "NULL", "0.00", "0.00"],
      ["all", "treatment", "2", "15.0", "3.00", "75.00"],
      ["all", "control", "2", "300.0", "0.50", "2.50"],
    ]);
    expect(lines.at(-1)).toMatch(
      /^Standardised mean differences.*recency n\/a, orders [\d.-]+, net revenue [\d.-]+$/,
    );
  });
});
