/**
 * `crmlake runs sweep` on a local lake (issue 18, item 6): five runs a day apart, then the retention policy of
 * the run configuration applied through the CLI. A dry run prints the plan and removes nothing; the sweep
 * removes what the policy does not keep, marks those runs deleted in the runs table, and `<model>_latest`
 * still reads the latest as-of. Without a policy nothing is removed.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { addDays, dayIn } from "../../functions/core/dates.ts";
import { crmlake, ok } from "../helpers/cli.ts";

const today = dayIn(new Date(), "Etc/UTC");
/** Five as-ofs a day apart, three weeks ago and more (the orders are older still). */
const AS_OFS = [-26, -25, -24, -23, -22].map((d) => addDays(today, d));
const [d26, d25, d24, d23, d22] = AS_OFS as [string, string, string, string, string];

function orders(): string {
  return [
    "order_id,customer_id,ordered_at,amount",
    `o1,c1,${addDays(today, -60)},10`,
    `o2,c1,${addDays(today, -45)},20`,
    `o3,c2,${addDays(today, -40)},30`,
    `o4,c2,${addDays(today, -35)},40`,
    `o5,c1,${addDays(today, -30)},50`,
    "",
  ].join("\n");
}

function query(sql: string, cwd: string): Record<string, unknown>[] {
  return ok(["query", sql, "--format", "json"], cwd)
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("crmlake runs sweep on a local lake", () => {
  let dir: string;
  const published = async (model: string) =>
    (await readdir(join(dir, "lake", "models", model))).filter((d) => d.startsWith("as_of=")).sort();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crmlake-retention-"));
    await writeFile(join(dir, "orders.csv"), orders());
    ok(["ingest", "transactions", "orders.csv"], dir);
    for (const asOf of AS_OFS) ok(["run", "--as-of", asOf, "--models", "customer_rfm"], dir);
    // Keep the last two, and d25 by name; no month-ends, so that the dates of today's calendar do not matter.
    await writeFile(
      join(dir, "retention.json"),
      JSON.stringify({ retention: { keep_last: 2, keep_month_ends: 0, keep_as_of: [d25] } }),
    );
  }, 300_000);

  it("removes nothing without a retention policy", async () => {
    expect(ok(["runs", "sweep"], dir)).toBe(
      "Retention is off (retention.keep_last is not set in the run configuration): nothing removed from lake.\n",
    );
    expect(await published("customer_rfm")).toEqual(AS_OFS.map((d) => `as_of=${d}`));
  });

  it("prints the plan on a dry run and removes nothing", async () => {
    const out = ok(["runs", "sweep", "--dry-run", "--config", "retention.json"], dir);
    expect(out.split("\n")).toEqual([
      "Retention sweep of lake (keep_last 2, keep_month_ends 0), dry run:",
      expect.stringMatching(new RegExp(`^  would remove ${d26}  \\d+ models$`)),
      `  kept ${d25}  named in retention.keep_as_of`,
      expect.stringMatching(new RegExp(`^  would remove ${d24}  \\d+ models$`)),
      `  kept ${d23}  one of a model's last 2`,
      `  kept ${d22}  a model's latest; one of a model's last 2`,
      "Would remove 2 as-ofs and keep 3 as-ofs; nothing removed (--dry-run).",
      "",
    ]);
    expect(await published("customer_rfm")).toEqual(AS_OFS.map((d) => `as_of=${d}`));
  });

  it("removes what the policy does not keep; the latest view still reads the latest as-of", async () => {
    const out = ok(["runs", "sweep", "--config", "retention.json"], dir);
    expect(out).toContain(`  removed ${d26}  `);
    expect(out).toContain(`  removed ${d24}  `);
    expect(out).toMatch(
      /Removed 2 as-ofs, kept 3 as-ofs\. Their runs are marked deleted in the runs table\.\n$/,
    );

    for (const model of await readdir(join(dir, "lake", "models"))) {
      expect(existsSync(join(dir, "lake", "models", model, `as_of=${d26}`)), model).toBe(false);
      expect(existsSync(join(dir, "lake", "models", model, `as_of=${d24}`)), model).toBe(false);
    }
    expect(await published("customer_rfm")).toEqual([d25, d23, d22].map((d) => `as_of=${d}`));
    expect(
      query("select distinct cast(as_of as varchar) as as_of from customer_rfm_latest", dir).map(
        (r) => r.as_of,
      ),
    ).toEqual([d22]);
    expect(
      query("select cast(as_of as varchar) as as_of, status, error from runs order by as_of", dir),
    ).toEqual([
      {
        as_of: d26,
        status: "deleted",
        error: expect.stringMatching(
          /^Its outputs were removed by the retention sweep on .* \(crmlake runs sweep --lake lake: keep_last 2, keep_month_ends 0\)$/,
        ),
      },
      { as_of: d25, status: "succeeded", error: null },
      { as_of: d24, status: "deleted", error: expect.stringContaining("retention sweep") },
      { as_of: d23, status: "succeeded", error: null },
      { as_of: d22, status: "succeeded", error: null },
    ]);

    // Once swept, the policy holds: a second sweep removes nothing.
    expect(ok(["runs", "sweep", "--config", "retention.json"], dir)).toMatch(
      /Removed 0 as-ofs, kept 3 as-ofs\.\n$/,
    );
  });

  it("refuses a lake that does not exist, and creates none", () => {
    const run = crmlake(["runs", "sweep", "--config", "retention.json", "--lake", "no-such-lake"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      "crmlake runs: No lake at no-such-lake: nothing is published there. Pass --lake DIR",
    );
    expect(existsSync(join(dir, "no-such-lake"))).toBe(false);
  });
});
