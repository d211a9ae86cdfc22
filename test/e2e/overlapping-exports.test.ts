/**
 * Issue 12, case 2 through the command line: overlapping and corrected exports count once, "latest" goes by
 * ingest order (not by file name), and a source that reuses one file name can append instead of replace.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { crmlake } from "../helpers/cli.ts";

const HEADER = "order_id,customer_id,ordered_at,amount";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "crmlake-overlap-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const csv = (name: string, lines: string[], header = HEADER) =>
  writeFile(join(dir, name), `${header}\n${lines.join("\n")}\n`);
const query = (sql: string) => crmlake(["query", sql, "--format", "csv"], dir);
const ok = (args: string[]) => {
  const run = crmlake(args, dir);
  expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
  expect(run.stderr).not.toMatch(/error|✗/i);
  return run;
};

describe("overlapping exports", () => {
  it("count an order once: the latest drop holding it replaces its lines, and drop_overlaps says how much", async () => {
    // Monday's export, and Tuesday's, which repeats Monday's last order with a correction (and one line
    // fewer) and adds a new one.
    await csv("monday.csv", ["o1,c1,2024-03-04,10.00", "o2,c2,2024-03-04,5.00", "o2,c2,2024-03-04,3.00"]);
    await csv("tuesday.csv", ["o2,c2,2024-03-04,6.50", "o3,c1,2024-03-05,1.00"]);
    ok(["ingest", "transactions", "monday.csv", "tuesday.csv"]);
    ok(["run", "--as-of", "2024-03-31", "--models", "customer_base,drop_overlaps"]);

    expect(
      query("select customer_id, orders, lines, net_revenue from customer_base_latest order by 1").stdout,
    ).toBe("customer_id,orders,lines,net_revenue\nc1,2,2,11.00\nc2,1,1,6.50\n");
    expect(
      query(
        "select split_part(drop_id, '-', 1) as drop, ingest_seq, orders, lines, orders_replaced, lines_replaced, orders_replacing, lines_counted from drop_overlaps_latest order by ingest_seq",
      ).stdout,
    ).toBe(
      [
        "drop,ingest_seq,orders,lines,orders_replaced,lines_replaced,orders_replacing,lines_counted",
        "monday,1,2,3,1,2,0,1",
        "tuesday,2,2,2,0,0,1,2",
        "",
      ].join("\n"),
    );
    // The curated data keeps every line as delivered: the replacement is in what the models count.
    expect(query("select count(*) as n from transactions").stdout).toBe("n\n5\n");
  });

  it("take 'latest' in ingest order, not in the order of the file names", async () => {
    await csv("z-first.csv", ["c1,2023-01-01"], "customer_id,signed_up_at");
    await csv("a-second.csv", ["c1,2023-06-01"], "customer_id,signed_up_at");
    ok(["ingest", "customers", "z-first.csv"]);
    ok(["ingest", "customers", "a-second.csv"]);
    await csv("o.csv", ["o1,c1,2024-03-04,10.00"]);
    ok(["ingest", "transactions", "o.csv"]);
    ok(["run", "--as-of", "2024-03-31", "--models", "customer_base"]);
    expect(query("select signed_up_on from customer_base_latest").stdout).toBe("signed_up_on\n2023-06-01\n");

    // Re-ingesting the first file with new content makes it the latest.
    await csv("z-first.csv", ["c1,2022-12-01"], "customer_id,signed_up_at");
    ok(["ingest", "customers", "z-first.csv"]);
    ok(["run", "--as-of", "2024-03-31", "--models", "customer_base"]);
    expect(query("select signed_up_on from customer_base_latest").stdout).toBe("signed_up_on\n2022-12-01\n");
  });
});

describe("a source that reuses one file name", () => {
  it("replaces its previous version by default, and with --append adds each new content beside it", async () => {
    await csv("export.csv", ["o1,c1,2024-03-04,10.00"]);
    ok(["ingest", "transactions", "export.csv"]);
    await csv("export.csv", ["o2,c1,2024-03-05,7.00"]);
    const replaced = ok(["ingest", "transactions", "export.csv"]);
    expect(replaced.stdout).toMatch(/replaced 1 rows of the version ingested on /);
    expect(query("select order_id from transactions order by 1").stdout).toBe("order_id\no2\n");

    await csv("export.csv", ["o3,c1,2024-03-06,2.00", "o2,c1,2024-03-05,7.50"]);
    const appended = ok(["ingest", "transactions", "export.csv", "--append"]);
    expect(appended.stdout).not.toMatch(/replaced/);
    // The same content again is the same drop: nothing is added.
    expect(ok(["ingest", "transactions", "export.csv", "--append"]).stdout).toMatch(/unchanged/);
    expect(query("select order_id, amount from transactions order by 1, 2").stdout).toBe(
      "order_id,amount\no2,7.00\no2,7.50\no3,2.00\n",
    );
    // o2 was sent again with a correction: it counts once, as corrected.
    ok(["run", "--as-of", "2024-03-31", "--models", "customer_base"]);
    expect(query("select orders, net_revenue from customer_base_latest").stdout).toBe(
      "orders,net_revenue\n2,9.50\n",
    );
  });
});
