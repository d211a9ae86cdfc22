/**
 * openDuckDB (functions/engines/duckdb/session.ts) states every setting that matters: read back from DuckDB,
 * so a binding or version that ignored one would show here.
 */
import { describe, expect, it } from "vitest";
import { openDuckDB } from "../../functions/engines/duckdb/session.ts";

describe("openDuckDB", () => {
  it("sets threads, the memory limit, UTC, no extension downloads, and flushes freed memory at 32 MB", async () => {
    const session = await openDuckDB({ threads: 1, memoryLimit: "300MB" });
    try {
      const reader = await session.connection.runAndReadAll(`SELECT
          current_setting('threads') AS threads,
          current_setting('memory_limit') AS memory_limit,
          current_setting('TimeZone') AS zone,
          current_setting('autoinstall_known_extensions') AS autoinstall,
          current_setting('allocator_background_threads') AS background,
          current_setting('allocator_flush_threshold') AS flush`);
      expect(reader.getRowObjectsJS()[0]).toEqual({
        threads: 1n,
        memory_limit: "286.1 MiB",
        zone: "UTC",
        autoinstall: false,
        background: true,
        flush: "30.5 MiB",
      });
    } finally {
      session.close();
    }
  });
});
