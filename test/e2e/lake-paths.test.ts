/**
 * Issue 12, case 6 (in part): a lake path is a path, never a pattern. DuckDB expands `*`, `?` and `[…]` in
 * every path it reads, so `--lake 'x/lake*'` used to read a neighbouring lake's files too, and a `[` broke
 * queries; the views now read explicit, escaped file lists.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crmlake } from "../helpers/cli.ts";

describe("lake paths with glob characters", () => {
  it.each(["lake*", "lake[1]", "lake?"])(
    "%s reads its own files only, beside a lake the pattern would match",
    async (name) => {
      const dir = await mkdtemp(join(tmpdir(), "crmlake-paths-"));
      await mkdir(join(dir, "x"), { recursive: true });
      await writeFile(join(dir, "a.csv"), "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-05,10.00\n");
      await writeFile(
        join(dir, "b.csv"),
        "order_id,customer_id,ordered_at,amount\no2,c2,2024-01-06,20.00\no3,c3,2024-01-07,30.00\n",
      );
      // A neighbour whose name the pattern matches: lake1, lakeX.
      expect(crmlake(["ingest", "transactions", "b.csv", "--lake", "x/lake1"], dir).code).toBe(0);
      expect(crmlake(["ingest", "transactions", "b.csv", "--lake", "x/lakeX"], dir).code).toBe(0);
      expect(crmlake(["ingest", "transactions", "a.csv", "--lake", `x/${name}`], dir).code).toBe(0);
      const read = crmlake(
        ["query", "select order_id from transactions", "--lake", `x/${name}`, "--format", "csv"],
        dir,
      );
      expect(read.stderr).toBe("");
      expect(read.stdout).toBe("order_id\no1\n");
      expect(
        crmlake(["run", "--lake", `x/${name}`, "--as-of", "2024-01-31", "--models", "customer_base"], dir)
          .code,
      ).toBe(0);
      const customers = crmlake(
        ["query", "select count(*) as n from customer_base_latest", "--lake", `x/${name}`, "--format", "csv"],
        dir,
      );
      expect(customers.stdout).toBe("n\n1\n");
    },
  );
});
