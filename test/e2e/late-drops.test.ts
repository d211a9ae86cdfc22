/**
 * ADR 0016 on the local pipeline (the CLI over a lake directory, real DuckDB): a file dated on or before the
 * latest scored as-of that arrives after it is late; `crmlake ingest` says so and names the re-score; the
 * re-score publishes over the latest as-of, leaves the earlier snapshot's inputs as they were, and afterwards
 * nothing is late; the runs and drops tables tell which drops each run missed.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LATE_FILES_QUERY } from "../../functions/core/catalogue/system-tables-doc.ts";
import { findLateDrops } from "../../functions/core/runner/late-drops.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";
import { LocalModelOutputs } from "../../functions/storage/local-outputs.ts";
import { crmlake, ok, queryRows } from "../helpers/cli.ts";

const HEADER = "order_id,customer_id,ordered_at,amount";

describe("a late file for the latest as-of (ADR 0016)", () => {
  let dir: string;
  let firstRun: string;

  async function file(name: string, lines: string[]): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, `${[HEADER, ...lines].join("\n")}\n`);
    return path;
  }

  function runIdOf(stdout: string): string {
    const id = /^Run (\S+) as of /m.exec(stdout)?.[1];
    if (id === undefined) throw new Error(`no run id in: ${stdout}`);
    return id;
  }

  const customersAsOf = (asOf: string) =>
    queryRows(`SELECT count(*) AS n FROM customer_base WHERE as_of = DATE '${asOf}'`, dir)[0]?.n;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crmlake-late-"));
    ok(
      [
        "ingest",
        "transactions",
        await file("2024-03-31.csv", ["o1,c1,2024-03-01,10", "o2,c2,2024-03-15,20", "o3,c1,2024-03-31,30"]),
      ],
      dir,
    );
    firstRun = runIdOf(ok(["run", "--as-of", "2024-03-31", "--models", "customer_base"], dir));
  }, 240_000);

  it("says nothing of a file dated after the latest as-of", async () => {
    const ingest = crmlake(
      ["ingest", "transactions", await file("2024-04-01.csv", ["o4,c3,2024-04-01,40"])],
      dir,
    );
    expect(ingest.code).toBe(0);
    expect(ingest.stderr).not.toMatch(/note:/);
  });

  it("names the stale as-of, the late drop and the command that re-scores it", async () => {
    const ingest = crmlake(
      ["ingest", "transactions", await file("late-2024-03-30.csv", ["o5,c4,2024-03-30,50"])],
      dir,
    );
    expect(ingest.code).toBe(0);
    expect(ingest.stderr).toMatch(
      new RegExp(
        `^note: the latest as-of 2024-03-31 \\(run ${firstRun}\\) was scored before 1 drop\\(s\\) with data on or before it arrived \\(late-2024-03-30-[0-9a-f]{10}\\); run crmlake run --as-of 2024-03-31 to re-score it$`,
        "m",
      ),
    );
    expect(customersAsOf("2024-03-31")).toBe(2);
    // The drops and runs tables tell which drop the run missed.
    expect(queryRows(LATE_FILES_QUERY, dir)).toEqual([
      expect.objectContaining({ as_of: "2024-03-31", run_id: firstRun, first_business_day: "2024-03-30" }),
    ]);
  });

  it("re-scores the latest as-of with it, keeps the earlier run's inputs as they were, and then nothing is late", async () => {
    const snapshot = join(dir, "lake", "runs", "snapshots", `${firstRun}.json`);
    const before = await readFile(snapshot, "utf8");
    const rescore = runIdOf(ok(["run", "--as-of", "2024-03-31", "--models", "customer_base"], dir));
    expect(customersAsOf("2024-03-31")).toBe(3);
    // Its record says what it re-scored for, as a deployment's late-drop check's does.
    expect(queryRows(`SELECT diagnostics FROM runs WHERE run_id = '${rescore}'`, dir)).toEqual([
      {
        diagnostics: [
          expect.stringMatching(
            new RegExp(
              `^Re-score of 2024-03-31 for late files: 1 drop\\(s\\) with data on or before 2024-03-31 were committed after run ${firstRun} read the ledger \\(.+ UTC\\): late-2024-03-30-[0-9a-f]{10}\\.$`,
            ),
          ),
        ],
      },
    ]);
    expect(await readFile(snapshot, "utf8")).toBe(before);
    expect(JSON.parse(before).drops.map((d: { drop_id: string }) => d.drop_id)).toHaveLength(1);

    const lake = join(dir, "lake");
    const finding = await findLateDrops(new LocalModelOutputs(lake), new LocalObjectStore(lake));
    expect(finding).toMatchObject({
      kind: "found",
      latest: { asOf: "2024-03-31", runId: rescore },
      late: [],
    });
    // The first run still says what it missed; the re-score missed nothing.
    expect(queryRows(LATE_FILES_QUERY, dir).map((r) => r.run_id)).toEqual([firstRun]);
    const ingest = crmlake(
      ["ingest", "transactions", await file("2024-04-02.csv", ["o6,c1,2024-04-02,60"])],
      dir,
    );
    expect(ingest.stderr).not.toMatch(/note:/);
  }, 120_000);
});
