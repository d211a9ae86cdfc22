import { describe, expect, it } from "vitest";
import { CONTRACTS } from "../../functions/core/catalogue/contracts.ts";
import { futureDateChecks, futureDateLimit } from "../../functions/core/ingest/future-dates.ts";

describe("the future-date limit of an ingest", () => {
  it("is the day of ingest in the business's zone plus the tolerance", () => {
    // 23:30 UTC on 6 December is already the 7th in Berlin.
    expect(
      futureDateLimit(new Date("2026-12-06T23:30:00Z"), {
        time_zone: "Europe/Berlin",
        future_date_tolerance_days: 2,
      }),
    ).toEqual({
      ingestDay: "2026-12-07",
      timeZone: "Europe/Berlin",
      toleranceDays: 2,
      lastDay: "2026-12-09",
      // The 10th begins at 23:00 UTC on the 9th in Berlin: a UTC timestamp from then on is too late.
      firstRejectedInstant: "2026-12-09 23:00:00.000",
    });
  });

  it("with no tolerance, accepts today and nothing after it", () => {
    expect(
      futureDateLimit(new Date("2026-12-06T12:00:00Z"), {
        time_zone: "Etc/UTC",
        future_date_tolerance_days: 0,
      }),
    ).toMatchObject({ lastDay: "2026-12-06", firstRejectedInstant: "2026-12-07 00:00:00.000" });
  });

  it("checks the dates of things that happened, not a campaign's plans", () => {
    const limit = futureDateLimit(new Date("2026-12-06T12:00:00Z"), {
      time_zone: "Etc/UTC",
      future_date_tolerance_days: 2,
    });
    const checked = (dataset: keyof typeof CONTRACTS) =>
      futureDateChecks(CONTRACTS[dataset], limit).map((c) => c.when);
    expect(checked("transactions")).toEqual([`"p_ordered_at" >= TIMESTAMP '2026-12-09 00:00:00.000'`]);
    expect(checked("customers")).toEqual([`"p_signed_up_at" > DATE '2026-12-08'`]);
    expect(checked("campaign_contacts")).toEqual([`"p_contacted_on" > DATE '2026-12-08'`]);
    expect(checked("campaigns")).toEqual([]);
    expect(futureDateChecks(CONTRACTS.transactions, limit)[0]?.code).toBe("future_date");
  });
});
