/**
 * The one parser of a calendar date a user writes (`--as-of`, `--from`/`--to`, a scoring event's asOf, a date
 * parameter): `YYYY-MM-DD`, and a day the calendar has. `2024-02-30` and `2024-2-3` are refused everywhere
 * alike, with the same words, instead of slipping past a regex into an engine's own error.
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The UTC midnight of a real calendar date written `YYYY-MM-DD`; undefined for anything else. */
export function parseIsoDate(text: string): Date | undefined {
  const match = ISO_DATE.exec(text);
  if (match === null) return undefined;
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, Number(match[2]) - 1, Number(match[3])));
  date.setUTCFullYear(Number(match[1]));
  return formatIsoDate(date) === text ? date : undefined;
}

/** Whether `text` is a real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(text: string): boolean {
  return parseIsoDate(text) !== undefined;
}

/**
 * Why `text` is not a date, for an error that names the option first (`--as-of "2024-02-30" is not a real
 * date`): written otherwise than `YYYY-MM-DD`, or written so but not a day of the calendar.
 */
export function notADate(text: string): string {
  return ISO_DATE.test(text) ? `"${text}" is not a real date` : `"${text}" is not a date written YYYY-MM-DD`;
}

/** `YYYY-MM-DD` of a Date's UTC day. */
export function formatIsoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Whether `zone` is an IANA time zone this runtime knows (`Etc/UTC`, `Europe/Berlin`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-CA", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * An IANA zone (checked by isTimeZone) as the models name it: every alias of UTC (`Etc/UTC`, `GMT`, `Zulu`…)
 * becomes `UTC`, so one comparison tells whether a zone's days are UTC days; any other zone stays as written
 * (ICU would rename `America/Argentina/Buenos_Aires` to a legacy link the engines need not know).
 */
export function canonicalZone(zone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone }).resolvedOptions().timeZone === "UTC"
    ? "UTC"
    : zone;
}

/** `YYYY-MM-DD` of the calendar day `instant` falls on in `timeZone` (an IANA zone, checked by isTimeZone). */
export function dayIn(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(instant);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const day = new Date(Date.UTC(2000, part("month") - 1, part("day")));
  day.setUTCFullYear(part("year"));
  return formatIsoDate(day);
}

/** Calendar days from `YYYY-MM-DD` `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  const [a, b] = [parseIsoDate(from), parseIsoDate(to)];
  if (a === undefined || b === undefined) throw new RangeError(`daysBetween: ${notADate(a ? to : from)}`);
  return Math.round((b.getTime() - a.getTime()) / 86_400_000);
}

/** The date `days` calendar days after `YYYY-MM-DD` (before, when negative). */
export function addDays(date: string, days: number): string {
  const day = parseIsoDate(date);
  if (day === undefined) throw new RangeError(`addDays: ${notADate(date)}`);
  return formatIsoDate(new Date(day.getTime() + days * 86_400_000));
}

/** The zone's offset from UTC at `instant`, in milliseconds (its wall clock minus UTC, to the second). */
function offsetAt(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instant));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = new Date(
    Date.UTC(2000, part("month") - 1, part("day"), part("hour"), part("minute"), part("second")),
  );
  wall.setUTCFullYear(part("year"));
  return wall.getTime() - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant the calendar day `YYYY-MM-DD` begins in `timeZone`. Local midnight is UTC midnight minus the
 * zone's offset, read from the zone's clock (a second reading covers an offset that changes in between);
 * where the clock skips midnight (a daylight-saving jump at 00:00), the day begins at the jump.
 */
export function startOfDay(date: string, timeZone: string): Date {
  const midnight = parseIsoDate(date);
  if (midnight === undefined) throw new RangeError(`startOfDay: ${notADate(date)}`);
  const utcMidnight = midnight.getTime();
  let start = utcMidnight - offsetAt(utcMidnight, timeZone);
  start = utcMidnight - offsetAt(start, timeZone);
  if (dayIn(new Date(start), timeZone) !== date) {
    // Midnight does not exist that day: the first instant of the day lies within the next hours.
    let [before, at] = [start, start + 6 * 3_600_000];
    while (at - before > 1) {
      const middle = Math.floor((before + at) / 2);
      if (dayIn(new Date(middle), timeZone) === date) at = middle;
      else before = middle;
    }
    start = at;
  }
  return new Date(start);
}
