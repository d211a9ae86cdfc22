/**
 * Issue 18: a scheduled run waits for landed files to be ingested before it pins the ledger, within a bound, and
 * a run that starts with files still pending says so (core/runner/ingest-wait.ts). A fake clock: each sleep
 * advances it, so the bound is exact.
 */
import { describe, expect, it } from "vitest";
import type { IngestBacklog } from "../../functions/core/ports/ingest-backlog.ts";
import { pendingIngestNote, waitForIngest } from "../../functions/core/runner/ingest-wait.ts";

/** A backlog that answers the given depths in turn, then the last one for ever. */
function backlog(...depths: number[]): IngestBacklog & { reads: number } {
  return {
    location: "https://sqs.eu-west-1.amazonaws.com/123456789012/ingest",
    reads: 0,
    async pending() {
      const depth = depths[Math.min(this.reads, depths.length - 1)] ?? 0;
      this.reads++;
      return depth;
    },
  };
}

function clock() {
  let now = 0;
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    slept: () => now,
  };
}

describe("waiting for the ingest queue", () => {
  it("does not wait when the queue is drained", async () => {
    const queue = backlog(0);
    const time = clock();
    const result = await waitForIngest(
      { backlog: queue, maxWaitMs: 300_000, pollMs: 15_000, ...time },
      () => {},
    );
    expect(result).toEqual({ pending: 0, waitedMs: 0, budgetMs: 300_000 });
    expect(queue.reads).toBe(1);
  });

  it("waits until the queue drains, reading it every poll", async () => {
    const queue = backlog(3, 2, 0);
    const time = clock();
    const lines: unknown[] = [];
    const result = await waitForIngest(
      { backlog: queue, maxWaitMs: 300_000, pollMs: 15_000, ...time },
      (message, fields) => lines.push([message, fields?.pending]),
    );
    expect(result).toEqual({ pending: 0, waitedMs: 30_000, budgetMs: 300_000 });
    expect(lines.map((l) => (l as unknown[])[1])).toEqual([3, 2]);
  });

  it("gives up at the bound with what is still pending, never sleeping past it", async () => {
    const queue = backlog(4);
    const time = clock();
    const result = await waitForIngest(
      { backlog: queue, maxWaitMs: 100_000, pollMs: 15_000, ...time },
      () => {},
    );
    // Six polls of 15 s fit in 100 s; a seventh would end at 105 s.
    expect(result).toEqual({ pending: 4, waitedMs: 90_000, budgetMs: 100_000 });
    expect(queue.reads).toBe(7);
    expect(pendingIngestNote(result)).toBe(
      "ingest_backlog: 4 landed file(s) were still waiting for ingest after 90 s (the bound was 100 s); this run does not include them",
    );
  });

  it("takes at most a third of the invocation's remaining time", async () => {
    const time = clock();
    const result = await waitForIngest(
      { backlog: backlog(1), maxWaitMs: 300_000, pollMs: 15_000, remainingMs: () => 120_000, ...time },
      () => {},
    );
    expect(result).toEqual({ pending: 1, waitedMs: 30_000, budgetMs: 40_000 });
  });

  it("does not wait at all with a bound of 0, but still reports the backlog", async () => {
    const queue = backlog(2);
    const result = await waitForIngest(
      { backlog: queue, maxWaitMs: 0, pollMs: 15_000, ...clock() },
      () => {},
    );
    expect(result).toEqual({ pending: 2, waitedMs: 0, budgetMs: 0 });
  });
});
