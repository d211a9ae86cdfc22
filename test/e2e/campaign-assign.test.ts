/**
 * `crmlake campaign assign` and `plan` through the real CLI, on a generated lake: the drops go through ingest
 * (the ledger lists them), the campaigns record carries the planned share, the assignment is deterministic and
 * stratified, and a run evaluates the campaign with its sample-ratio check. User mistakes are one line.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { crmlake, ok, queryRows } from "../helpers/cli.ts";

const FILTER = "value_tier in (top, big, medium) and lifecycle_stage != prospect";
/** Campaign WB1's assignment: the same lake, filter and seed give the same groups. */
const ASSIGN_WB1 = ["campaign", "assign", "--campaign", "WB1", "--where", FILTER, "--control-share", "0.2"];
const SEED = ["--seed", "42"];

describe("crmlake campaign", () => {
  let dir: string;
  let audience: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crmlake-campaign-"));
    ok(["generate", "--out", "drops", "--customers", "1200", "--seed", "5", "--files", "single"], dir);
    for (const dataset of ["transactions", "customers", "campaigns", "campaign_contacts"]) {
      ok(["ingest", dataset, `drops/${dataset}`], dir);
    }
    ok(["run", "--as-of", "2024-12-31"], dir);
    audience = queryRows(
      `select count(*) AS n from customer_scores_latest where value_tier in ('top', 'big', 'medium') and lifecycle_stage <> 'prospect'`,
      dir,
    )[0]?.n as number;
  }, 240_000);

  it("assigns a stratified holdout, ingests both drops and prints the balance report", async () => {
    const out = ok([...ASSIGN_WB1, ...SEED, "--starts-on", "2025-01-06", "--cost-per-contact", "0.50"], dir);
    expect(out).toMatch(
      new RegExp(`^Campaign WB1: ${audience} customers of customer_scores as of 2024-12-31`),
    );
    expect(out).toMatch(/✓ WB1-campaign\.csv → 1 rows: 1 ok, 0 quarantined/);
    expect(out).toMatch(new RegExp(`✓ WB1-contacts\\.csv → ${audience} rows: ${audience} ok, 0 quarantined`));
    expect(out).toMatch(/^value_tier +group +customers +mean_recency_days +mean_orders +mean_net_revenue$/m);
    expect(out).toMatch(/^all +control +\d+ /m);
    expect(out).toMatch(/^Standardised mean differences/m);

    // The ledger recorded both drops; the campaigns record has the planned share and the window.
    const drops = ok(
      [
        "query",
        "select dataset, rows_ok from drops where source like '%WB1-%' order by 1",
        "--format",
        "csv",
      ],
      dir,
    );
    expect(drops).toBe(`dataset,rows_ok\ncampaign_contacts,${audience}\ncampaigns,1\n`);
    expect(
      ok(
        [
          "query",
          "select starts_on, ends_on, cost_per_contact, planned_control_share from campaigns where campaign_id = 'WB1'",
          "--format",
          "csv",
        ],
        dir,
      ),
    ).toBe("starts_on,ends_on,cost_per_contact,planned_control_share\n2025-01-06,2025-02-04,0.50,0.200000\n");

    // Per tier, ⌊n·0.2⌋ or ⌈n·0.2⌉ are held out.
    const tiers = queryRows(
      `select s.value_tier, count(*) AS n, count(*) filter (where k."group" = 'control') AS control
       from campaign_contacts k join customer_scores_latest s using (customer_id)
       where k.campaign_id = 'WB1' group by 1 order by 1`,
      dir,
    ) as { value_tier: string; n: number; control: number }[];
    expect(tiers.map((t) => t.value_tier)).toEqual(["big", "medium", "top"]);
    for (const t of tiers) {
      expect(t.control).toBeGreaterThanOrEqual(Math.floor(t.n * 0.2));
      expect(t.control).toBeLessThanOrEqual(Math.ceil(t.n * 0.2));
    }

    // The same lake, filter and seed give the same file; running it again replaces the earlier assignment.
    const first = await readFile(join(dir, "assignments", "WB1-contacts.csv"), "utf8");
    ok([...ASSIGN_WB1, ...SEED], dir);
    expect(await readFile(join(dir, "assignments", "WB1-contacts.csv"), "utf8")).toBe(first);
    expect(
      ok(
        ["query", "select count(*) AS n from campaign_contacts where campaign_id = 'WB1'", "--format", "csv"],
        dir,
      ),
    ).toBe(`n\n${audience}\n`);
    // The record kept its dates and cost from the lake.
    expect(
      ok(
        [
          "query",
          "select count(*) AS n, min(cost_per_contact) AS c from campaigns where campaign_id = 'WB1'",
          "--format",
          "csv",
        ],
        dir,
      ),
    ).toBe("n,c\n1,0.50\n");
  });

  it("evaluates the assigned campaign with its planned split in campaign_results", () => {
    ok(["run", "--as-of", "2025-01-20"], dir);
    const row = queryRows(
      "select treatment_n + control_n AS n, planned_control_share, sample_ratio_p_value, flags from campaign_results_latest where campaign_id = 'WB1'",
      dir,
    )[0] as { n: number; planned_control_share: number; sample_ratio_p_value: number; flags: string };
    expect(row.n).toBe(audience);
    expect(row.planned_control_share).toBe(0.2);
    // Stratified assignment holds the split to a customer per tier: nowhere near a mismatch.
    expect(row.sample_ratio_p_value).toBeGreaterThan(0.5);
    expect(row.flags).toContain("window_not_closed");
    expect(row.flags).not.toContain("sample_ratio_mismatch");
    // The generator's campaigns carry its control share too.
    const generated = ok(
      [
        "query",
        "select distinct planned_control_share from campaign_results_latest where campaign_id like 'CMP%'",
        "--format",
        "csv",
      ],
      dir,
    );
    expect(generated).toBe("planned_control_share\n0.2\n");
  });

  // The run above made 2025-01-20 the latest as-of.
  it("plans the sample size from the lake's own variance", () => {
    const out = ok(["campaign", "plan", "--uplift", "0.02", "--where", "lifecycle_stage != prospect"], dir);
    const lines = out.trim().split("\n");
    expect(lines[0]).toMatch(
      /^Population: [\d,]+ customers of customer_scores as of 2025-01-20 \(lifecycle_stage != prospect\)$/,
    );
    // The baseline rate p from the window, then n = (z_0.975 + z_0.8)²·((p + δ)(1 − p − δ)/0.9 + p(1 − p)/0.1)/δ².
    const match = /\(([\d,]+) of ([\d,]+) customers bought in the 30 days to 2025-01-20\)/.exec(
      lines[1] ?? "",
    );
    expect(match).not.toBeNull();
    const p = Number(match?.[1]?.replaceAll(",", "")) / Number(match?.[2]?.replaceAll(",", ""));
    const z = 1.959963984540054 + 0.8416212335729142;
    const total = (z * z * (((p + 0.02) * (0.98 - p)) / 0.9 + (p * (1 - p)) / 0.1)) / 0.0004;
    const treated = Math.ceil(total * 0.9 - 1e-9);
    const control = Math.ceil(total * 0.1 - 1e-9);
    expect(lines[3]).toBe(
      `  ${(treated + control).toLocaleString("en-US")} customers: ${treated.toLocaleString("en-US")} treated, ${control.toLocaleString("en-US")} held out as control`,
    );
    const revenue = ok(
      ["campaign", "plan", "--uplift", "5", "--metric", "revenue", "--control-share", "0.5"],
      dir,
    );
    expect(revenue).toMatch(/^Baseline: revenue per customer [\d.]+, standard deviation [\d.]+/m);
    expect(revenue).toMatch(/^ {2}[\d,]+ customers: [\d,]+ treated, [\d,]+ held out as control$/m);
  });

  it.each([
    [
      [
        "campaign",
        "assign",
        "--campaign",
        "X",
        "--control-share",
        "0.1",
        "--where",
        "value_tier in (top, big",
      ],
      'crmlake campaign: --where: expected "," or ")" at position 24, found the end of the filter: value_tier in (top, big',
    ],
    [
      [
        "campaign",
        "assign",
        "--campaign",
        "X",
        "--control-share",
        "0.1",
        "--where",
        "value_tier = top; drop table campaigns",
      ],
      'crmlake campaign: --where: unexpected character ";" at position 17',
    ],
    [
      ["campaign", "assign", "--campaign", "X", "--control-share", "1"],
      'crmlake campaign: --control-share must be a number strictly between 0 and 1 with at most 6 decimals, got "1"',
    ],
    [
      ["campaign", "assign", "--control-share", "0.1"],
      'crmlake campaign: --campaign is required. See "crmlake campaign --help".',
    ],
    [
      ["campaign", "assign", "--campaign", "X", "--control-share", "0.1", "--where", "value_tier = nobody"],
      "crmlake campaign: --where value_tier = nobody: no customer of customer_scores as of 2025-01-20 matches",
    ],
    [
      ["campaign", "plan", "--uplift", "2"],
      "crmlake campaign: --uplift for the response rate is a fraction (0.02 = 2 points), got 2",
    ],
    [
      ["campaign", "plan", "--uplift", "0.02", "--lake", "elsewhere"],
      "crmlake campaign: Lake directory elsewhere does not exist. Pass --lake DIR",
    ],
    [
      ["campaign", "launch"],
      'crmlake campaign: Unknown sub-command "launch": use assign or plan. See "crmlake campaign --help".',
    ],
  ])("refuses %j in one line, exit code 2", (args, message) => {
    const run = crmlake(args, dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain(message);
  });
});
