import { rm } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { runLocal } from "../../functions/backends/local.ts";
import { parseConfig } from "../../functions/core/config.ts";
import { DuckDBWarehouse } from "../../functions/engines/duckdb/warehouse.ts";
import { tempLake } from "../helpers/lake.ts";
import { read } from "./helpers.ts";

/**
 * Ingest order and overlapping exports (issue 12, case 2), on drops written by the real ingest: three
 * transaction drops whose orders overlap, ingested in an order their names do not follow.
 */
async function overlappingLake() {
  const lake = await tempLake();
  const header = "order_id,customer_id,ordered_at,amount\n";
  // "c" first, then "a", then "b": names sort otherwise.
  await lake.ingest(
    "transactions",
    await lake.file("c.csv", `${header}o1,k1,2024-03-01,10\no2,k1,2024-03-02,4\n`),
  );
  await lake.ingest(
    "transactions",
    await lake.file("a.csv", `${header}o2,k1,2024-03-02,5\no2,k1,2024-03-02,1\n`),
  );
  await lake.ingest(
    "transactions",
    await lake.file("b.csv", `${header}o3,k2,2024-03-03,7\no1,k1,2024-03-01,11\n`),
  );
  return lake;
}

describe("stg_drops and the overlapping exports it orders", () => {
  it("numbers the committed drops in ingest order; stg_transactions keeps each order from its latest drop", async () => {
    const lake = await overlappingLake();
    const warehouse = await DuckDBWarehouse.open(lake.lakeDir);
    try {
      await runLocal({
        lakeDir: lake.lakeDir,
        asOf: "2024-03-31",
        models: ["stg_transactions"],
        config: parseConfig({}, "test config"),
        warehouse,
      });
      const drops = await warehouse.query(
        "SELECT split_part(drop_id, '-', 1) AS drop, dataset, ingest_seq FROM stg_drops ORDER BY ingest_seq",
      );
      expect(drops.rows).toEqual([
        { drop: "c", dataset: "transactions", ingest_seq: "1" },
        { drop: "a", dataset: "transactions", ingest_seq: "2" },
        { drop: "b", dataset: "transactions", ingest_seq: "3" },
      ]);
      const lines = await warehouse.query(
        "SELECT order_id, split_part(drop_id, '-', 1) AS drop, amount FROM stg_transactions ORDER BY 1, 3",
      );
      expect(lines.rows).toEqual([
        { order_id: "o1", drop: "b", amount: "11.00" },
        { order_id: "o2", drop: "a", amount: "1.00" },
        { order_id: "o2", drop: "a", amount: "5.00" },
        { order_id: "o3", drop: "b", amount: "7.00" },
      ]);
    } finally {
      await warehouse.close();
      await rm(lake.root, { recursive: true, force: true });
    }
  });

  it("drop_overlaps counts what each drop replaced and what replaced it", async () => {
    const lake = await overlappingLake();
    try {
      await runLocal({
        lakeDir: lake.lakeDir,
        asOf: "2024-03-31",
        models: ["drop_overlaps"],
        config: parseConfig({}, "test config"),
      });
      const rows = await read(lake.lakeDir, "drop_overlaps", "2024-03-31", "ingest_seq");
      expect(
        rows.map((r) => [
          String(r.drop_id).split("-")[0],
          ...[
            r.orders,
            r.lines,
            r.orders_replaced,
            r.lines_replaced,
            r.orders_replacing,
            r.lines_counted,
          ].map(Number),
        ]),
      ).toEqual([
        ["c", 2, 2, 2, 2, 0, 0],
        ["a", 1, 2, 0, 0, 1, 2],
        ["b", 2, 2, 0, 0, 1, 2],
      ]);
    } finally {
      await rm(lake.root, { recursive: true, force: true });
    }
  });
});
