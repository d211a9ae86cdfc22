/**
 * The profitability matrix (customer_quadrants, quadrant_summary), the next-best actions (customer_actions) and
 * their columns in customer_scores, through the real runner on a lake worked out by hand.
 *
 * The two lifetime-value stages are replaced by stages with the same declarations and fixed outputs, so that
 * P(alive) and clv are numbers one can compute by hand (the real stages are tested in clv.test.ts and
 * test/unit/stats-clv-fit.test.ts): clv_model publishes Gamma-Gamma p = 1, q = 2, γ = 10, so a buyer's expected
 * spend is (10 + x·m̄)/(x + 1), and 10 for x = 0; clv_expectations gives every current history 1 discounted
 * purchase day and the P(alive) of the table below (1 for the others). Every cost is 0, so the margin rate is 1
 * and clv = expected spend (the default rate 0.3 for a customer without revenue in the value window).
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as arrow from "apache-arrow";
import { describe, expect, it } from "vitest";
import { runLocal } from "../../functions/backends/local.ts";
import { NEXT_ACTIONS } from "../../functions/core/catalogue/actions.ts";
import { CLV_EXPECTATIONS, CLV_MODEL } from "../../functions/core/catalogue/clv-stages.ts";
import { type ConfigInput, parseConfig } from "../../functions/core/config.ts";
import { implementStage, type Stage } from "../../functions/core/runner/stage.ts";
import { clvModel as clvModelStage, readRfmCounts } from "../../functions/core/stages/clv_model.ts";
import { STAGES } from "../../functions/core/stages/index.ts";
import { attachModelViews } from "../../functions/engines/duckdb/model-views.ts";
import { openDuckDB } from "../../functions/engines/duckdb/session.ts";
import type { TransactionFixture } from "./helpers.ts";
import { makeLake, pick, read, removeLake } from "./helpers.ts";

const AS_OF = "2024-06-30";
// comparison_as_of = 2024-03-31 (three calendar months ending with June); the value window is (2023-06-30, 2024-06-30].

const line = (
  order_id: string,
  customer_id: string,
  ordered_at: string,
  amount: string,
  category = "books",
): TransactionFixture => ({ order_id, customer_id, ordered_at, amount, category, cost: "0.00" });

const TRANSACTIONS: TransactionFixture[] = [
  // Two purchase days each (x = 1, lifecycle repeat): current value = the two amounts, clv = (10 + second)/2.
  line("b1", "best", "2024-01-20", "100.00"),
  line("b2", "best", "2024-02-20", "90.00"), // 190, clv 50
  line("r1", "retainer", "2024-01-10", "140.00"),
  line("r2", "retainer", "2024-02-09", "10.00"), // 150, clv 10
  line("w1", "worst", "2024-04-10", "5.00"),
  line("w2", "worst", "2024-05-10", "10.00"), // 15, clv 10
  line("i1", "investee", "2024-04-05", "5.00"),
  line("i2", "investee", "2024-05-05", "50.00"), // 55, clv 30
  line("c1", "crosser", "2024-04-15", "5.00", "toys"),
  line("c2", "crosser", "2024-05-15", "70.00", "toys"), // 75, clv 40
  line("g1", "gamer", "2024-02-01", "40.00", "toys"),
  line("g2", "gamer", "2024-03-01", "40.00", "games"), // 80, clv 25
  // One purchase day in the window: first_time, x = 0: 30, clv 10.
  line("n1", "newbie", "2024-06-01", "30.00"),
  // Last bought 2023-01-10, 537 days before as_of: lapsed, inactive; x = 0, clv 10 × the default rate 0.3 = 3.
  line("l1", "lapser", "2023-01-10", "50.00"),
];

/**
 * P(alive) by history (period, x, t_x, T); the others get 1.
 * retainer: first day 2024-01-10, t_x = 30; T = 172 at as_of, 81 at comparison_as_of: 0.75 → 0.5, a drop of 0.25.
 * gamer: 2024-02-01, t_x = 29; T = 150 and 59: 0.625 → 0.5, a drop of 0.125 (exactly the threshold below).
 * best: 2024-01-20, t_x = 31; T = 162 and 71: 0.62 → 0.5, a drop of 0.12 (below it).
 */
const P_ALIVE = new Map([
  ["current|1|30|172", 0.5],
  ["comparison|1|30|81", 0.75],
  ["current|1|29|150", 0.5],
  ["comparison|1|29|59", 0.625],
  ["current|1|31|162", 0.5],
  ["comparison|1|31|71", 0.62],
]);

const f64 = (values: (number | null)[]) => arrow.vectorFromArray(values, new arrow.Float64());

/** clv_model with fixed parameters (BG/NBD r as given), and the real stage's drift watch. */
const fixedModel = (r = 1, q = 2) =>
  implementStage(
    CLV_MODEL,
    () => {
      const both = (bg: number | null, gg: number | null) => f64([bg, gg]);
      const none = () => f64([null, null]);
      return new arrow.Table({
        model: arrow.vectorFromArray(["bg_nbd", "gamma_gamma"], new arrow.Utf8()),
        time_unit: arrow.vectorFromArray(["day", "day"], new arrow.Utf8()),
        r: both(r, null),
        alpha: both(10, null),
        a: both(1, null),
        b: both(1, null),
        p: both(null, 1),
        q: both(null, q),
        gamma: both(null, 10),
        r_se: none(),
        alpha_se: none(),
        a_se: none(),
        b_se: none(),
        p_se: none(),
        q_se: none(),
        gamma_se: none(),
        log_likelihood: none(),
        n_customers: arrow.vectorFromArray([8n, 6n], new arrow.Int64()),
        converged: arrow.vectorFromArray([true, true], new arrow.Bool()),
        iterations: arrow.vectorFromArray([0, 0], new arrow.Int32()),
        diagnostic: arrow.vectorFromArray(["fixed by the test", "fixed by the test"], new arrow.Utf8()),
      });
    },
    clvModelStage.watch,
  );

const fixedExpectations = implementStage(CLV_EXPECTATIONS, ({ inputs }) => {
  const table = inputs.get("int_clv_rfm_counts");
  const rows = [
    ...readRfmCounts(table, "current").map((c) => ({ ...c, period: "current" })),
    ...readRfmCounts(table, "comparison").map((c) => ({ ...c, period: "comparison" })),
  ];
  const current = rows.map((r) => r.period === "current");
  return new arrow.Table({
    period: arrow.vectorFromArray(
      rows.map((r) => r.period),
      new arrow.Utf8(),
    ),
    frequency: arrow.vectorFromArray(
      rows.map((r) => BigInt(r.frequency)),
      new arrow.Int64(),
    ),
    recency: arrow.vectorFromArray(
      rows.map((r) => r.recency),
      new arrow.Int32(),
    ),
    age: arrow.vectorFromArray(
      rows.map((r) => r.age),
      new arrow.Int32(),
    ),
    customers: arrow.vectorFromArray(
      rows.map((r) => BigInt(r.customers)),
      new arrow.Int64(),
    ),
    p_alive: f64(rows.map((r) => P_ALIVE.get(`${r.period}|${r.frequency}|${r.recency}|${r.age}`) ?? 1)),
    expected_purchases: f64(current.map((c) => (c ? 1 : null))),
    discounted_purchases: f64(current.map((c) => (c ? 1 : null))),
    horizon_days: arrow.vectorFromArray(
      current.map((c) => (c ? 366 : null)),
      new arrow.Int32(),
    ),
  });
});

const FIXED_STAGES: Stage[] = STAGES.map((s) =>
  s.name === "clv_model" ? fixedModel() : s.name === "clv_expectations" ? fixedExpectations : s,
);

async function runFixture(config: ConfigInput, models: string[]) {
  const lake = await makeLake({
    customers: [{ customer_id: "prospect", signed_up_at: "2024-01-01" }],
    transactions: TRANSACTIONS,
  });
  await runLocal({
    lakeDir: lake,
    asOf: AS_OF,
    models,
    stages: FIXED_STAGES,
    // Every category pair counts (the one pair here is toys and games, in one basket).
    config: parseConfig({ affinity: { min_pair_baskets: 1 }, ...config }, "test config"),
  });
  return lake;
}

describe("customer_quadrants and quadrant_summary", () => {
  it("split the active customers at the medians, a value equal to its median counting as high", async () => {
    const lake = await runFixture({}, ["quadrant_summary"]);
    try {
      const rows = await read(lake, "customer_quadrants", AS_OF, "customer_id");
      // Tiers of 7 active customers: top ceil(0.07) = 1 (rank 1), big none (ceil(0.35) = 1), medium rank 2 (ceil(1.4)
      // = 2), the rest small. Active current values 15, 30, 55, 75, 80, 150, 190: median 75 (crosser). Active clv 10, 10, 10, 25, 30,
      // 40, 50: median 25 (gamer). lapser is inactive, prospect a prospect: no quadrant.
      expect(
        pick(rows, [
          "customer_id",
          "value_tier",
          "is_active",
          "current_value",
          "clv",
          "is_high_current_value",
          "is_high_clv",
          "profitability_quadrant",
        ]),
      ).toEqual(
        [
          ["best", "top", true, "190.00", 50, true, true, "best"],
          ["crosser", "small", true, "75.00", 40, true, true, "best"],
          ["gamer", "small", true, "80.00", 25, true, true, "best"],
          ["investee", "small", true, "55.00", 30, false, true, "invest"],
          ["lapser", "inactive", false, "0.00", 3, null, null, null],
          ["newbie", "small", true, "30.00", 10, false, false, "worst"],
          ["prospect", "prospect", false, "0.00", null, null, null, null],
          ["retainer", "medium", true, "150.00", 10, true, false, "retain"],
          ["worst", "small", true, "15.00", 10, false, false, "worst"],
        ].map(
          ([customer_id, value_tier, is_active, current_value, clv, high_now, high_future, quadrant]) => ({
            customer_id,
            value_tier,
            is_active,
            current_value,
            clv,
            is_high_current_value: high_now,
            is_high_clv: high_future,
            profitability_quadrant: quadrant,
          }),
        ),
      );
      for (const row of rows) {
        expect(
          pick([row], ["current_value_cutoff", "current_value_cutoff_rule", "clv_cutoff", "clv_cutoff_rule"]),
        ).toEqual([
          {
            current_value_cutoff: 75,
            current_value_cutoff_rule: "median",
            clv_cutoff: 25,
            clv_cutoff_rule: "median",
          },
        ]);
      }
      // best: 190 + 75 + 80 = 345 now, 50 + 40 + 25 = 115 in future; 7 customers have a quadrant.
      expect(await read(lake, "quadrant_summary", AS_OF, "quadrant_order")).toEqual(
        [
          ["best", true, true, "3", 3 / 7, "345.00", 115],
          ["invest", false, true, "1", 1 / 7, "55.00", 30],
          ["retain", true, false, "1", 1 / 7, "150.00", 10],
          ["worst", false, false, "2", 2 / 7, "45.00", 20],
        ].map(([quadrant, high_now, high_future, customers, share, current_value, clv], i) => ({
          quadrant_order: i + 1,
          profitability_quadrant: quadrant,
          is_high_current_value: high_now,
          is_high_clv: high_future,
          customers,
          customer_share: share,
          current_value,
          clv,
          value_measure: "gross_margin",
          current_value_cutoff: 75,
          current_value_cutoff_rule: "median",
          clv_cutoff: 25,
          clv_cutoff_rule: "median",
        })),
      );
    } finally {
      await removeLake(lake);
    }
  }, 60_000);

  it("use configured cut-offs, say so, and give an empty quadrant zeros", async () => {
    const lake = await runFixture({ quadrants: { current_value_cutoff: 150, clv_cutoff: 40 } }, [
      "quadrant_summary",
    ]);
    try {
      const rows = await read(lake, "customer_quadrants", AS_OF, "customer_id");
      // retainer's 150 equals the cut-off: high; crosser's clv 40 equals its cut-off: high.
      expect(rows.map((r) => [r.customer_id, r.profitability_quadrant])).toEqual([
        ["best", "best"],
        ["crosser", "invest"],
        ["gamer", "worst"],
        ["investee", "worst"],
        ["lapser", null],
        ["newbie", "worst"],
        ["prospect", null],
        ["retainer", "retain"],
        ["worst", "worst"],
      ]);
      expect(rows[0]).toMatchObject({
        current_value_cutoff: 150,
        current_value_cutoff_rule: "config",
        clv_cutoff: 40,
        clv_cutoff_rule: "config",
      });
      const summary = await read(lake, "quadrant_summary", AS_OF, "quadrant_order");
      expect(summary.map((s) => [s.profitability_quadrant, s.customers, s.current_value, s.clv])).toEqual([
        ["best", "1", "190.00", 50],
        ["invest", "1", "75.00", 40],
        ["retain", "1", "150.00", 10],
        ["worst", "4", "180.00", 75],
      ]);
    } finally {
      await removeLake(lake);
    }
  }, 60_000);
});

describe("customer_actions", () => {
  it("applies the first matching rule to each buyer, P(alive) falling by at least actions.p_alive_drop", async () => {
    const lake = await runFixture({ actions: { p_alive_drop: 0.125 } }, [
      "customer_actions",
      "customer_scores",
    ]);
    try {
      const rows = await read(lake, "customer_actions", AS_OF, "customer_id");
      expect(
        pick(rows, [
          "customer_id",
          "next_action",
          "action_rule",
          "offer_category",
          "lifecycle_stage",
          "profitability_quadrant",
          "p_alive",
          "comparison_p_alive",
          "p_alive_change",
          "is_p_alive_falling",
        ]),
      ).toEqual(
        [
          // best (quadrant best): P(alive) fell by 0.12 < 0.125, no category to offer (books only): maintain.
          ["best", "maintain", 7, null, "repeat", "best", 0.5, 0.62, 0.5 - 0.62, false],
          // crosser (best, no history at comparison_as_of): toys → games has lift 4 (8 buyers, 2 with toys, 1
          // with games, 1 with both): cross_sell games, before invest or maintain.
          ["crosser", "cross_sell", 5, "games", "repeat", "best", 1, null, null, null],
          // gamer (best): fell by exactly 0.125: retain.
          ["gamer", "retain", 2, null, "repeat", "best", 0.5, 0.625, -0.125, true],
          // investee: invest, no category.
          ["investee", "invest", 6, null, "repeat", "invest", 1, null, null, null],
          // lapser: lapsed comes first (x = 0: P(alive) is 1 under BG/NBD, however long ago).
          ["lapser", "win_back", 1, null, "lapsed", null, 1, 1, 0, false],
          // newbie: first_time is nurtured, though in the worst quadrant.
          ["newbie", "nurture", 3, null, "first_time", "worst", 1, null, null, null],
          // retainer (quadrant retain): fell by 0.25: retain.
          ["retainer", "retain", 2, null, "repeat", "retain", 0.5, 0.75, -0.25, true],
          // worst: low now and in future: reduce_cost_to_serve.
          ["worst", "reduce_cost_to_serve", 4, null, "repeat", "worst", 1, null, null, null],
        ].map(([customer_id, next_action, rule, offer, stage, quadrant, now, then, change, falling]) => ({
          customer_id,
          next_action,
          action_rule: rule,
          offer_category: offer,
          lifecycle_stage: stage,
          profitability_quadrant: quadrant,
          p_alive: now,
          comparison_p_alive: then,
          p_alive_change: change,
          is_p_alive_falling: falling,
        })),
      );
      expect(rows.find((r) => r.customer_id === "best")).toMatchObject({ clv: 50, clv_percentile: 100 });

      // customer_scores carries P(alive), clv, the quadrant and the action; the prospect has none of them.
      const scores = await read(lake, "customer_scores", AS_OF, "customer_id");
      expect(
        pick(scores, ["customer_id", "p_alive", "clv", "profitability_quadrant", "next_action"]),
      ).toEqual([
        {
          customer_id: "best",
          p_alive: 0.5,
          clv: 50,
          profitability_quadrant: "best",
          next_action: "maintain",
        },
        {
          customer_id: "crosser",
          p_alive: 1,
          clv: 40,
          profitability_quadrant: "best",
          next_action: "cross_sell",
        },
        {
          customer_id: "gamer",
          p_alive: 0.5,
          clv: 25,
          profitability_quadrant: "best",
          next_action: "retain",
        },
        {
          customer_id: "investee",
          p_alive: 1,
          clv: 30,
          profitability_quadrant: "invest",
          next_action: "invest",
        },
        { customer_id: "lapser", p_alive: 1, clv: 3, profitability_quadrant: null, next_action: "win_back" },
        {
          customer_id: "newbie",
          p_alive: 1,
          clv: 10,
          profitability_quadrant: "worst",
          next_action: "nurture",
        },
        {
          customer_id: "prospect",
          p_alive: null,
          clv: null,
          profitability_quadrant: null,
          next_action: null,
        },
        {
          customer_id: "retainer",
          p_alive: 0.5,
          clv: 10,
          profitability_quadrant: "retain",
          next_action: "retain",
        },
        {
          customer_id: "worst",
          p_alive: 1,
          clv: 10,
          profitability_quadrant: "worst",
          next_action: "reduce_cost_to_serve",
        },
      ]);
    } finally {
      await removeLake(lake);
    }
  }, 60_000);

  it("gives the same rows for the same inputs", async () => {
    const first = await runFixture({}, ["customer_actions"]);
    const second = await runFixture({}, ["customer_actions"]);
    try {
      const a = await read(first, "customer_actions", AS_OF, "customer_id");
      expect(a.length).toBe(8);
      expect(await read(second, "customer_actions", AS_OF, "customer_id")).toEqual(a);
      // With the default drop of 0.1, best's fall of 0.12 is falling too.
      expect(a.find((r) => r.customer_id === "best")?.next_action).toBe("retain");
    } finally {
      await removeLake(first);
      await removeLake(second);
    }
  }, 60_000);
});

function crmlake(args: string[]) {
  const run = spawnSync(process.execPath, [resolve("bin/crmlake.mjs"), ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("crmlake export actions", () => {
  it("writes one CSV per action, header-only for an action nobody gets, and refuses bad arguments in one line", async () => {
    const lake = await runFixture({}, ["customer_actions"]);
    const out = await mkdtemp(join(tmpdir(), "crmlake-actions-"));
    try {
      const done = crmlake(["export", "actions", "--out", join(out, "lists"), "--lake", lake]);
      expect([done.code, done.stderr]).toEqual([0, ""]);
      expect(done.stdout).toContain(`Next-best actions as of ${AS_OF} written to ${join(out, "lists")}:`);
      expect(done.stdout).toMatch(/retain\.csv\s+3 customers\n/);
      expect(done.stdout).toMatch(/maintain\.csv\s+0 customers\n/);
      expect((await readdir(join(out, "lists"))).sort()).toEqual(NEXT_ACTIONS.map((a) => `${a}.csv`).sort());
      const header =
        "customer_id,next_action,action_rule,offer_category,lifecycle_stage,profitability_quadrant,p_alive,comparison_p_alive,p_alive_change,is_p_alive_falling,clv,clv_percentile,as_of";
      const lines = async (action: string) =>
        (await readFile(join(out, "lists", `${action}.csv`), "utf8")).trimEnd().split("\n");
      // With the default drop 0.1: best (0.12), gamer (0.125) and retainer (0.25) are falling.
      const retain = await lines("retain");
      expect(retain[0]).toBe(header);
      expect(retain.slice(1).map((l) => l.split(",").slice(0, 3).join(","))).toEqual([
        "best,retain,2",
        "gamer,retain,2",
        "retainer,retain,2",
      ]);
      expect(await lines("cross_sell")).toEqual([
        header,
        `crosser,cross_sell,5,games,repeat,best,1.0,,,,40.0,${(6 / 7) * 100},${AS_OF}`,
      ]);
      expect(await lines("maintain")).toEqual([header]);
      // The run itself wrote the same lists into the lake, under exports/actions/ (as_of=<d>/ and latest/).
      for (const action of NEXT_ACTIONS) {
        const exported = await readFile(join(out, "lists", `${action}.csv`), "utf8");
        for (const folder of [`as_of=${AS_OF}`, "latest"]) {
          expect(await readFile(join(lake, "exports", "actions", folder, `${action}.csv`), "utf8")).toBe(
            exported,
          );
        }
      }

      const bad = (args: string[]) => {
        const run = crmlake(["export", ...args]);
        return [run.code, run.stderr.trim(), run.stdout];
      };
      expect(bad(["actions", "--lake", lake])).toEqual([
        2,
        `crmlake export: Missing --out DIR. Usage: crmlake export actions --out DIR [--as-of YYYY-MM-DD] [--lake DIR | --stack NAME]`,
        "",
      ]);
      expect(bad(["customers", "--out", out])[1]).toMatch(
        /^crmlake export: Unknown export "customers". Usage: /,
      );
      expect(bad(["actions", "--out", out, "--as-of", "2024-02-30", "--lake", lake]).slice(0, 1)).toEqual([
        2,
      ]);
      expect(bad(["actions", "--out", out, "--as-of", "2024-05-31", "--lake", lake])).toEqual([
        1,
        `crmlake export: customer_actions has no rows as of 2024-05-31 in ${lake}; published as-ofs: ${AS_OF}`,
        "",
      ]);
      expect(bad(["actions", "--out", out, "--lake", join(out, "nowhere")])).toEqual([
        1,
        `crmlake export: No lake at ${join(out, "nowhere")}: nothing is published there. Pass --lake DIR`,
        "",
      ]);
    } finally {
      await removeLake(lake);
      await rm(out, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("parameter drift in the run record", () => {
  it("notes each clv_model parameter that moved more than clv.parameter_drift_threshold since the latest successful run", async () => {
    const lake = await makeLake({ transactions: TRANSACTIONS });
    const runWith = (r: number, q: number) =>
      runLocal({
        lakeDir: lake,
        asOf: AS_OF,
        models: ["clv_model"],
        stages: FIXED_STAGES.map((s) => (s.name === "clv_model" ? fixedModel(r, q) : s)),
        config: parseConfig({}, "test config"),
      });
    try {
      const first = await runWith(1, 2);
      // r 1 → 1.2 is +20 %, within the default 25 %; q 2 → 3 is +50 %.
      const second = await runWith(1.2, 3);
      // Compared with the second run, not the first: nothing moved.
      const third = await runWith(1.2, 3);
      const session = await openDuckDB({ threads: 1 });
      try {
        await attachModelViews(session.connection, lake);
        const runs = (
          await session.connection.runAndReadAll(
            `SELECT run_id, cardinality(figures) AS n, figures['clv_model.bg_nbd.r'] AS r, figures['clv_model.gamma_gamma.q'] AS q, diagnostics FROM runs ORDER BY started_at`,
          )
        ).getRowObjectsJson();
        expect(runs).toEqual([
          { run_id: first.runId, n: "7", r: 1, q: 2, diagnostics: [] },
          {
            run_id: second.runId,
            n: "7",
            r: 1.2,
            q: 3,
            diagnostics: [
              `clv_model.gamma_gamma.q moved +50 % since run ${first.runId} (as of ${AS_OF}): 2 → 3, more than the threshold of 25 %.`,
            ],
          },
          { run_id: third.runId, n: "7", r: 1.2, q: 3, diagnostics: [] },
        ]);
      } finally {
        session.close();
      }
    } finally {
      await removeLake(lake);
    }
  }, 120_000);
});
