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
