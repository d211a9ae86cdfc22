/**
 * Text formats of the generated files (the contract formats of DESIGN.md §3): dates `YYYY-MM-DD`, timestamps
 * `YYYY-MM-DD HH:MM:SS.sss` in UTC, money with two decimals from integer cents (no floating-point rounding
 * on the way out), and the mapping from a day of the period to the file ("period") its lines go to.
 */

import { parseIsoDate } from "../dates.ts";

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date, or undefined when it is not a real calendar date. */
export function epochDayOf(text: string): number | undefined {
  const date = parseIsoDate(text);
  return date === undefined ? undefined : date.getTime() / MS_PER_DAY;
}

/** `YYYY-MM-DD` of a day number (days since 1970-01-01). */
export function isoDate(epochDay: number): string {
  return new Date(epochDay * MS_PER_DAY).toISOString().slice(0, 10);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

/** `HH:MM:SS.sss` of a millisecond offset within a day. */
export function timeOfDay(msOfDay: number): string {
  const h = Math.floor(msOfDay / 3_600_000);
  const m = Math.floor((msOfDay % 3_600_000) / 60_000);
  const s = Math.floor((msOfDay % 60_000) / 1000);
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(msOfDay % 1000)}`;
}

/** Money with two decimals from integer cents: 1234 → "12.34", -5 → "-0.05". */
export function formatCents(cents: number): string {
  const abs = Math.abs(cents);
  const units = Math.floor(abs / 100);
  const rest = abs % 100;
  return `${cents < 0 ? "-" : ""}${units}.${rest < 10 ? "0" : ""}${rest}`;
}

/** Cents as a JSON number with two decimals (a sum kept in integer cents until here). */
export function centsToMoney(cents: number): number {
  return Math.round(cents) / 100;
}

/** A number rounded to `digits` significant decimals, for readable and still deterministic JSON. */
export function round(value: number, digits = 6): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export const FILE_LAYOUTS = ["daily", "monthly", "single"] as const;
export type FileLayout = (typeof FILE_LAYOUTS)[number];

/** How the days of the period map to transaction files. */
export interface Periods {
  /** File stem of each period, e.g. `2024-03` (monthly), `2024-03-05` (daily), `transactions` (single). */
  readonly names: readonly string[];
  /** Period index of each day of the simulated period (day 0 = --from). */
  readonly ofDay: Int32Array;
}

export function buildPeriods(fromEpochDay: number, days: number, layout: FileLayout): Periods {
  const ofDay = new Int32Array(days);
  const names: string[] = [];
  const index = new Map<string, number>();
  for (let day = 0; day < days; day++) {
    const date = isoDate(fromEpochDay + day);
    const name = layout === "daily" ? date : layout === "monthly" ? date.slice(0, 7) : "transactions";
    let period = index.get(name);
    if (period === undefined) {
      period = names.length;
      names.push(name);
      index.set(name, period);
    }
    ofDay[day] = period;
  }
  return { names, ofDay };
}

/** The `YYYY-MM-DD` strings of every day of the period, so the hot loop formats a timestamp without Date. */
export function dayStrings(fromEpochDay: number, days: number): readonly string[] {
  return Array.from({ length: days }, (_, day) => isoDate(fromEpochDay + day));
}
