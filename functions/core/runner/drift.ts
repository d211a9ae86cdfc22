/**
 * Drift of the figures stages follow across runs (stage.ts StageWatch; clv_model's fitted parameters): a note in
 * the run record's `diagnostics` for each figure that moved by more than its stage's threshold since the latest
 * earlier successful run that recorded figures of that stage. Notes, not failures: a parameter may move because
 * the customers changed. Model rows are never touched (docs/lifetime-value.md, Parameter drift).
 */
import type { RunRecord } from "./runs.ts";

/** The figures of one stage in one run, keyed without the stage prefix. */
function stageFigures(record: RunRecord, stage: string): Map<string, number> | undefined {
  const prefix = `${stage}.`;
  const entries = Object.entries(record.figures ?? {}).filter(([key]) => key.startsWith(prefix));
  return entries.length === 0
    ? undefined
    : new Map(entries.map(([key, value]) => [key.slice(prefix.length), value]));
}

/** A figure as text: six significant digits, no trailing zeros. */
function figure(value: number): string {
  return String(Number(value.toPrecision(6)));
}

function percent(share: number): string {
  return `${Number((share * 100).toPrecision(3))} %`;
}

/**
 * The drift notes of `current` against the earlier records: for each stage in `thresholds`, the latest run
 * (by started_at) other than `current` that succeeded before it started and recorded figures of that stage.
 */
export function driftDiagnostics(
  current: RunRecord,
  thresholds: ReadonlyMap<string, number>,
  earlier: readonly RunRecord[],
): string[] {
  const notes: string[] = [];
  for (const [stage, threshold] of thresholds) {
    const now = stageFigures(current, stage) ?? new Map<string, number>();
    const previous = earlier
      .filter(
        (r) =>
          r.run_id !== current.run_id &&
          r.status === "succeeded" &&
          r.started_at < current.started_at &&
          stageFigures(r, stage) !== undefined,
      )
      .sort((a, b) => (a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : 0))[0];
    if (previous === undefined) continue;
    const then = stageFigures(previous, stage) ?? new Map<string, number>();
    const since = `since run ${previous.run_id} (as of ${previous.as_of})`;
    const names = [...new Set([...then.keys(), ...now.keys()])].sort();
    for (const name of names) {
      const before = then.get(name);
      const after = now.get(name);
      if (before === undefined && after !== undefined) {
        notes.push(`${stage}.${name} is ${figure(after)}; it had no value ${since}.`);
      } else if (before !== undefined && after === undefined) {
        notes.push(
          `${stage}.${name} has no value (the stage did not estimate it); it was ${figure(before)} ${since}.`,
        );
      } else if (before !== undefined && after !== undefined) {
        const change =
          before === 0 ? (after === 0 ? 0 : Number.POSITIVE_INFINITY) : (after - before) / Math.abs(before);
        if (Math.abs(change) > threshold) {
          const moved = Number.isFinite(change)
            ? `${change > 0 ? "+" : "−"}${percent(Math.abs(change))}`
            : "from 0";
          notes.push(
            `${stage}.${name} moved ${moved} ${since}: ${figure(before)} → ${figure(after)}, more than the threshold of ${percent(threshold)}.`,
          );
        }
      }
    }
  }
  return notes;
}
