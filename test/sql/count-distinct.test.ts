/**
 * Ingest's duplicate count (functions/core/ingest/convert.ts countDistinct): the distinct values of a hash
 * column counted in slices of the hash space, so memory stays within one slice's, must give exactly what one
 * `count(DISTINCT …)` gives, whatever the number of slices.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countDistinct } from "../../functions/core/ingest/convert.ts";
import { type DuckDBSession, openDuckDB } from "../../functions/engines/duckdb/session.ts";

describe("countDistinct", () => {
  let session: DuckDBSession;
  beforeAll(async () => {
    session = await openDuckDB({ threads: 2 });
    // 10,000 rows of 7,919 distinct hashes: the values of i % 7919 hashed, so some repeat once.
    await session.connection.run("CREATE TEMP TABLE t AS SELECT hash(i % 7919) AS h FROM range(10000) r(i)");
  });
  afterAll(() => session.close());

  it("counts the rows and the distinct hashes exactly, in one slice or many", async () => {
    const whole = await session.connection.runAndReadAll("SELECT count(DISTINCT h) AS n FROM t");
    expect(Number(whole.getRowObjectsJS()[0]?.n)).toBe(7919);
    for (const sliceRows of [2_000_000, 10_000, 3_333, 1_000, 7]) {
      expect(await countDistinct(session.connection, "t", "h", sliceRows), `slices of ${sliceRows}`).toEqual({
        rows: 10_000,
        distinct: 7919,
      });
    }
  });

  it("gives zero for an empty table", async () => {
    await session.connection.run("CREATE TEMP TABLE e (h UBIGINT)");
    expect(await countDistinct(session.connection, "e", "h", 7)).toEqual({ rows: 0, distinct: 0 });
  });
});
