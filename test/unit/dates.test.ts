import { describe, expect, it } from "vitest";
import { formatIsoDate, isIsoDate, notADate, parseIsoDate } from "../../functions/core/dates.ts";

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
