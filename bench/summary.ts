/**
 * The summary of `npm run bench` (issue 17, item 5): each benchmark adds its headline figures, each beside the
 * floor measured in the same run, and bench/run.ts writes them as one markdown table (bench/results.md) and as
 * JSON (bench/results.json) after the benchmarks it ran.
 */
export interface Figure {
  /** The benchmark: ingest, startup, run, affinity, clv, report, demo, trino-bytes. */
  readonly bench: string;
  /** What was measured, with its size: "ingest, 1,000,000 lines". */
  readonly measure: string;
  /** The figure, with its unit: "3.29 s". */
  readonly value: string;
  /** The floor it is compared with, measured in the same run, with what it is: "2.15 s (typed read → Parquet)". */
  readonly floor: string;
  /** value / floor, when both are of one unit. */
  readonly ratio: number | null;
  /** The target for it, in words: "≤ 1.5× floor"; empty when there is none. */
  readonly target: string;
  /** Whether the target holds in this run; null without a target. */
  readonly met: boolean | null;
}

export const figures: Figure[] = [];

export function addFigure(figure: Figure): void {
  figures.push(figure);
}

/** A markdown table of rows of strings. */
export function markdown(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

export function summaryTable(all: readonly Figure[]): string {
  return markdown(
    ["bench", "measure", "figure", "same-run floor", "× floor", "target", "met"],
    all.map((f) => [
      f.bench,
      f.measure,
      f.value,
      f.floor,
      f.ratio === null ? "" : f.ratio.toFixed(2),
      f.target,
      f.met === null ? "" : f.met ? "yes" : "**no**",
    ]),
  );
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
