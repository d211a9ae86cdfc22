import { describe, expect, it } from "vitest";
import {
  addDays,
  dayIn,
  daysBetween,
  formatIsoDate,
  isIsoDate,
  isTimeZone,
  notADate,
  parseIsoDate,
  startOfDay,
} from "../../functions/core/dates.ts";

describe("the one date parser", () => {
  it.each(["2024-01-31", "2024-02-29", "2000-02-29", "1970-01-01", "0099-12-31", "9999-12-31"])(
    "accepts the real calendar date %s and gives back the same day",
    (text) => {
      const date = parseIsoDate(text);
      expect(date).toBeDefined();
      expect(formatIsoDate(date as Date)).toBe(text);
    },
  );

  it.each([
    ["2024-02-30", '"2024-02-30" is not a real date'],
    ["2023-02-29", '"2023-02-29" is not a real date'],
    ["1900-02-29", '"1900-02-29" is not a real date'],
    ["2024-13-01", '"2024-13-01" is not a real date'],
    ["2024-04-31", '"2024-04-31" is not a real date'],
    ["2024-00-10", '"2024-00-10" is not a real date'],
    ["2024-2-3", '"2024-2-3" is not a date written YYYY-MM-DD'],
    ["31.01.2024", '"31.01.2024" is not a date written YYYY-MM-DD'],
    [" 2024-01-31", '" 2024-01-31" is not a date written YYYY-MM-DD'],
    ["2024-01-31T00:00:00Z", '"2024-01-31T00:00:00Z" is not a date written YYYY-MM-DD'],
    ["", '"" is not a date written YYYY-MM-DD'],
  ])("refuses %j and says why", (text, why) => {
    expect(parseIsoDate(text)).toBeUndefined();
    expect(isIsoDate(text)).toBe(false);
    expect(notADate(text)).toBe(why);
  });
});

describe("days in a time zone", () => {
  it.each([
    ["2026-12-06T09:59:59Z", "Pacific/Kiritimati", "2026-12-06"],
    ["2026-12-06T10:00:00Z", "Pacific/Kiritimati", "2026-12-07"],
    ["2026-12-06T11:59:59Z", "Etc/GMT+12", "2026-12-05"],
    ["2026-12-06T12:00:00Z", "Etc/GMT+12", "2026-12-06"],
    ["2026-03-28T23:30:00Z", "Europe/Berlin", "2026-03-29"],
    ["2150-01-01T00:00:00Z", "Etc/UTC", "2150-01-01"],
  ])("%s is on the day of %s: %s", (instant, zone, day) => {
    expect(dayIn(new Date(instant), zone)).toBe(day);
  });

  it.each([
    ["2026-12-06", "Etc/UTC", "2026-12-06T00:00:00.000Z"],
    ["2026-12-06", "Europe/Berlin", "2026-12-05T23:00:00.000Z"],
    ["2026-07-06", "Europe/Berlin", "2026-07-05T22:00:00.000Z"],
    // The days daylight saving begins and ends: the offset at midnight is the one before the change.
    ["2026-03-29", "Europe/Berlin", "2026-03-28T23:00:00.000Z"],
    ["2026-10-25", "Europe/Berlin", "2026-10-24T22:00:00.000Z"],
    ["2026-12-06", "Asia/Kathmandu", "2026-12-05T18:15:00.000Z"],
    ["2026-12-06", "Pacific/Kiritimati", "2026-12-05T10:00:00.000Z"],
    // Chile moves its clocks from 00:00 to 01:00: that day begins at 01:00 (-03:00).
    ["2026-09-06", "America/Santiago", "2026-09-06T04:00:00.000Z"],
  ])("the day %s begins in %s at %s", (day, zone, instant) => {
    expect(startOfDay(day, zone).toISOString()).toBe(instant);
  });

  it("adds calendar days across months, years and leap days", () => {
    expect(addDays("2026-12-31", 2)).toBe("2027-01-02");
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
  });

  it("knows IANA time zones and refuses other names", () => {
    expect(["Etc/UTC", "UTC", "Europe/Berlin", "America/Santiago"].map(isTimeZone)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(["Mars/Base", "", "Europe/Berln"].map(isTimeZone)).toEqual([false, false, false]);
  });
});

describe("daysBetween", () => {
  it("counts calendar days across a leap day and a year, either way", () => {
    expect(daysBetween("2024-02-28", "2024-03-01")).toBe(2);
    expect(daysBetween("2023-12-31", "2024-12-31")).toBe(366);
    expect(daysBetween("2024-03-01", "2024-02-28")).toBe(-2);
    expect(() => daysBetween("2024-02-30", "2024-03-01")).toThrow('"2024-02-30" is not a real date');
  });
});
