/**
 * Future dates (issue 12, case 4): a row dated after the day of ingest, beyond a tolerance, is quarantined as
 * `future_date`, so that one line dated 2150 cannot become the latest transaction and drag the default as-of
 * of every run with it. "Today" is the day of ingest in the business's time zone (config `calendar`); the
 * tolerance absorbs sources a time zone ahead and orders stamped for the next day. Which columns hold dates
 * of things that have happened is declared in the contracts (ColumnContract.notInFuture).
 */

import { sqlIdent, sqlString } from "../../engines/duckdb/session.ts";
import type { DatasetContract, ReasonCode } from "../catalogue/contracts.ts";
import type { CrmlakeConfig } from "../config.ts";
import { addDays, dayIn, startOfDay } from "../dates.ts";

/** The latest date a drop ingested now may carry, in both forms the checks compare with. */
export interface FutureDateLimit {
  /** The day of ingest in `timeZone`. */
  readonly ingestDay: string;
  readonly timeZone: string;
  readonly toleranceDays: number;
  /** The last day accepted: the ingest day plus the tolerance. A date column may be this day, not later. */
  readonly lastDay: string;
  /**
   * The first instant of the day after lastDay in `timeZone`, as UTC `YYYY-MM-DD HH:MM:SS.mmm`: a timestamp
   * (UTC, as the contract stores it) at or after it falls on a later day in the business's zone.
   */
  readonly firstRejectedInstant: string;
}

export function futureDateLimit(now: Date, calendar: CrmlakeConfig["calendar"]): FutureDateLimit {
  const ingestDay = dayIn(now, calendar.time_zone);
  const lastDay = addDays(ingestDay, calendar.future_date_tolerance_days);
  const instant = startOfDay(addDays(lastDay, 1), calendar.time_zone);
  return {
    ingestDay,
    timeZone: calendar.time_zone,
    toleranceDays: calendar.future_date_tolerance_days,
    lastDay,
    firstRejectedInstant: instant.toISOString().replace("T", " ").replace("Z", ""),
  };
}

/** A row check of the converter: a SQL condition over the parsed columns `p_<name>`, its code and message. */
export interface RowCheck {
  readonly when: string;
  readonly code: ReasonCode;
  readonly message: string;
}

/**
 * The `future_date` checks of a contract's notInFuture columns, as SQL over the converter's parsed values
 * (`p_<column>`, a TIMESTAMP in UTC or a DATE) and raw text (`r_<column>`). Only the literals of `limit` are
 * spliced in: dates the code formatted itself, never input text.
 */
export function futureDateChecks(contract: DatasetContract, limit: FutureDateLimit): RowCheck[] {
  const why = `lies in the future: after ${limit.lastDay} (the day of ingest, ${limit.ingestDay} in ${limit.timeZone}, plus calendar.future_date_tolerance_days = ${limit.toleranceDays})`;
  return contract.columns
    .filter((column) => column.notInFuture === true)
    .flatMap((column): RowCheck[] => {
      const parsed = sqlIdent(`p_${column.name}`);
      const message = `${sqlString(`${column.name} "`)} || ${sqlIdent(`r_${column.name}`)} || ${sqlString(`" ${why}`)}`;
      if (column.type === "timestamp") {
        return [
          {
            when: `${parsed} >= TIMESTAMP '${limit.firstRejectedInstant}'`,
            code: "future_date",
            message,
          },
        ];
      }
      if (column.type === "date") {
        return [{ when: `${parsed} > DATE '${limit.lastDay}'`, code: "future_date", message }];
      }
      return [];
    });
}
