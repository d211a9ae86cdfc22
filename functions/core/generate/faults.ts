/**
 * --dirty: faults that ingest must catch. Every fault is an *extra* row (a copy of the clean row just written,
 * with one field broken) or an extra file, never a change to a clean row: after ingest quarantines the faults,
 * the curated data equals the clean simulation, so every other ground-truth figure holds with or without
 * --dirty. Each faulty row has exactly one fault, named by the reason code ingest must give it
 * (functions/core/catalogue/contracts.ts REASON_CODES).
 */
import type { ReasonCode } from "../catalogue/contracts.ts";
import { type Random, uniformInt } from "./random.ts";
import { type TransactionFields, transactionRow } from "./rows.ts";

export const ROW_FAULTS = [
  "missing_customer_id",
  "bad_timestamp",
  "bad_amount",
] as const satisfies readonly ReasonCode[];
export type RowFault = (typeof ROW_FAULTS)[number];

/** Every fault the generator injects, by the reason code (or ledger status) ingest should report. */
export const FAULT_DESCRIPTIONS = {
  missing_customer_id: "an extra copy of a transaction line with an empty customer_id",
  bad_timestamp: "an extra copy of a transaction line whose ordered_at is not a valid timestamp",
  bad_amount: "an extra copy of a transaction line whose amount is not a number",
  malformed_row: "the last line of one transaction file is cut mid-record (fewer fields, no line end)",
  duplicate: "one transaction file is delivered twice: an identical copy under another name",
} as const;

/** Timestamps no parser should accept: impossible month/day/hour, a placeholder, a spreadsheet error. */
function badTimestamp(rng: Random, orderedAt: string): string {
  const date = orderedAt.slice(0, 10);
  const time = orderedAt.slice(11);
  const choices = [
    `${date.slice(0, 5)}13-45 ${time}`,
    `${date} 25:61:00.000`,
    "0000-00-00 00:00:00.000",
    "#VALUE!",
    "yesterday",
  ];
  return choices[uniformInt(rng, choices.length)] ?? "yesterday";
}

/**
 * Amounts no parser should accept: two decimal points, a spreadsheet error, text, a doubled sign. (Not a
 * trailing minus or a currency symbol: a source profile may legitimately accept those.)
 */
function badAmount(rng: Random, amount: string): string {
  const choices = [`${amount}.5`, "#VALUE!", "n/a", `--${amount}`, "twelve"];
  return choices[uniformInt(rng, choices.length)] ?? "n/a";
}

export function faultyRow(rng: Random, fault: RowFault, clean: TransactionFields): string {
  switch (fault) {
    case "missing_customer_id":
      return transactionRow({ ...clean, customer_id: "" });
    case "bad_timestamp":
      return transactionRow({ ...clean, ordered_at: badTimestamp(rng, clean.ordered_at) });
    case "bad_amount":
      return transactionRow({ ...clean, amount: badAmount(rng, clean.amount) });
  }
}

/**
 * A row cut mid-record: a prefix of `row` that ends before its fourth comma, so that it has at most four of
 * the eleven fields and cannot be mistaken for a complete record.
 */
export function truncatedRow(rng: Random, row: string): string {
  let commas = 0;
  let cutBefore = row.length;
  for (let i = 0; i < row.length; i++) {
    if (row[i] === "," && ++commas === 4) {
      cutBefore = i;
      break;
    }
  }
  return row.slice(0, 1 + uniformInt(rng, Math.max(1, cutBefore - 1)));
}

/** Faulty rows per transaction file and reason code. */
export class FaultCounts {
  readonly byFile = new Map<number, Record<string, number>>();

  add(file: number, reason: RowFault | "malformed_row"): void {
    const counts = this.byFile.get(file) ?? {};
    counts[reason] = (counts[reason] ?? 0) + 1;
    this.byFile.set(file, counts);
  }

  total(file: number): number {
    return Object.values(this.byFile.get(file) ?? {}).reduce((sum, n) => sum + n, 0);
  }
}
