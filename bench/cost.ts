/**
 * The README's monthly cost estimate (issue 18, item 8), reproducible in two steps:
 *
 *   npx tsx bench/cost.ts measure [--customers 10000,100000,1000000]   # slow: generate, ingest, run
 *   npx tsx bench/cost.ts price                                        # the table, from the measured sizes
 *
 * `measure` builds a lake per size with the command line (`crmlake generate` over its default two years,
 * `ingest` of every dataset, `run --as-of` the last day) in a temporary directory and writes the sizes that
 * decide the bill into bench/cost-results.json: the landed CSV, the curated Parquet per input relation, one
 * as-of of every published model, and the local ingest time. `price` turns them into a monthly estimate, with
 * the bytes a run scans from the Trino tier's measurement (bench/trino-bytes-results.json: see `scannedPerRun`).
 *
 * Nothing here ran on AWS. The Parquet is DuckDB's (ingest writes the same files on the ingest Lambda; a
 * deployment's model files are Athena's UNLOAD output, ZSTD, whose size is close but not the same), and the
 * bytes Athena scans are Trino's reads of the same statements, not Athena's.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const RESULTS = join(ROOT, "bench", "cost-results.json");
const AS_OF = "2024-12-31";
/** The generator's default period (2023-01-01 to 2024-12-31): the measured lake holds this many months. */
const MONTHS_OF_HISTORY = 24;

/**
 * List prices, us-east-1, as published in 2026 and not verified here (no price list in the project's
 * reference material): Athena per TiB scanned with a 10 MB minimum per query (DDL statements free), S3
 * Standard per GB-month, Lambda (x86) per GB-second, a KMS key a month, a standard-resolution alarm per metric
 * it watches a month, a custom metric a month (prorated by the hour, billed only in hours it is sent) and a
 * dashboard a month (an account's first three are free). Free tiers are left out except where they make a
 * service cost nothing at this scale (Glue Data Catalog: the first million objects and requests; SQS and SNS:
 * the first million requests; Lambda requests, KMS requests with S3 bucket keys, CloudWatch Logs: cents).
 */
export const PRICES = {
  athenaPerTiB: 5,
  athenaMinBytesPerQuery: 10 * 1024 ** 2,
  s3PerGiBMonth: 0.023,
  lambdaPerGiBSecond: 0.0000166667,
  kmsPerKeyMonth: 1,
  alarmPerMonth: 0.1,
  customMetricPerMonth: 0.3,
  hoursPerMonth: 730,
  dashboardPerMonth: 3,
} as const;

/** What the deployment has that is billed per month whatever the data (checked by test/infra/operations.test.ts). */
export const DEPLOYMENT = {
  kmsKeys: 2,
  alarms: 17,
  /** Metrics the alarms watch: one each, QuarantineRatio two (a metric math expression). */
  alarmMetrics: 18,
  /**
   * Hours a month in which a handler metric is sent: the scoring metrics once a day with the run, the ingest
   * ones with each day's drops; two hours a day is the bound used.
   */
  customMetricHours: 60,
  dashboards: 1,
  /** Runs a month: the daily schedule. */
  runsPerMonth: 30,
  /** Ingest and scoring Lambda memory (INGEST_SIZING, SCORING_SIZING), GiB. */
  ingestMemoryGiB: 3008 / 1024,
  scoringMemoryGiB: 2,
  /** The scoring Lambda's timeout: the bound on a run's duration (it mostly waits on Athena). */
  scoringTimeoutSeconds: 900,
  /** Snapshots kept per model with the suggested retention (keep_last 30 + keep_month_ends 24). */
  keptSnapshots: 54,
} as const;

export interface SizeMeasure {
  readonly customers: number;
  readonly lines: number;
  /** The generated CSV files, every dataset: what lands in the landing bucket over the two years. */
  readonly landedBytes: number;
  /** Curated Parquet (and the ledger's tables) per input relation, the whole history. */
  readonly inputBytes: Readonly<Record<string, number>>;
  /** One as-of of each published model (models/<model>/as_of=<d>/). */
  readonly modelBytes: Readonly<Record<string, number>>;
  /** Local wall time of ingesting every dataset (this machine, not a Lambda). */
  readonly ingestSeconds: number;
  readonly runSeconds: number;
}

function bytesUnder(path: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const full = join(path, name);
    const st = statSync(full);
    total += st.isDirectory() ? bytesUnder(full) : st.size;
  }
  return total;
}

function crmlake(cwd: string, args: string[]): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, [join(ROOT, "bin", "crmlake.mjs"), ...args], {
    cwd,
    env: { ...process.env, CRMLAKE_FROM_SOURCE: "1" },
    encoding: "utf8",
    maxBuffer: 64 * 1024 ** 2,
  });
  if (run.status !== 0) throw new Error(`crmlake ${args.join(" ")} failed: ${run.stderr}`);
  return (performance.now() - started) / 1000;
}

const INPUT_PLACES: Readonly<Record<string, string>> = {
  drops: join("ledger", "drops"),
  quarantine: "quarantine",
};

function measure(customers: number): SizeMeasure {
  const dir = mkdtempSync(join(tmpdir(), `crmlake-cost-${customers}-`));
  try {
    crmlake(dir, ["generate", "--out", "data", "--customers", String(customers)]);
    const datasets = ["transactions", "customers", "campaigns", "campaign_contacts"];
    let ingestSeconds = 0;
    for (const dataset of datasets) {
      ingestSeconds += crmlake(dir, ["ingest", dataset, join("data", dataset), "--lake", "lake"]);
    }
    const runSeconds = crmlake(dir, ["run", "--lake", "lake", "--as-of", AS_OF]);
    const truth = JSON.parse(readFileSync(join(dir, "data", "ground_truth.json"), "utf8")) as {
      realised?: { lines?: number };
    };
    const inputBytes: Record<string, number> = {};
    for (const relation of [...datasets, "products", "drops", "quarantine"]) {
      inputBytes[relation] = bytesUnder(
        join(dir, "lake", INPUT_PLACES[relation] ?? join("curated", relation)),
      );
    }
    const modelBytes: Record<string, number> = {};
    for (const model of readdirSync(join(dir, "lake", "models"))) {
      modelBytes[model] = bytesUnder(join(dir, "lake", "models", model, `as_of=${AS_OF}`));
    }
    return {
      customers,
      lines: truth.realised?.lines ?? 0,
      landedBytes: datasets.reduce((sum, d) => sum + bytesUnder(join(dir, "data", d)), 0),
      inputBytes,
      modelBytes,
      ingestSeconds,
      runSeconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** bench/trino-bytes.ts's measurement (`npm run bench -- trino-bytes`), tracked beside this script. */
const TRINO_BYTES = join(ROOT, "bench", "trino-bytes-results.json");

export interface TrinoBytes {
  readonly customers: number;
  readonly measured: readonly {
    readonly years: number;
    readonly lines: number;
    readonly curatedTransactionBytes: number;
    readonly runBytes: number;
    readonly scanningStatements: number;
  }[];
}

export function readTrinoBytes(): TrinoBytes {
  return JSON.parse(readFileSync(TRINO_BYTES, "utf8")) as TrinoBytes;
}

/**
 * The bytes Athena scans in one scoring run, and what it bills, from a measurement rather than a model: every
 * model run on the Trino tier through the Athena adapter's own statements (bench/trino-bytes.ts), whose
 * physical input bytes, summed over the run, are a multiple of the curated transactions' Parquet bytes. The
 * two-year lake of that benchmark (the generator's default period, as the lakes priced here) gives the ratio;
 * it scales with the lines (98–107× its floor at 1, 2 and 4 years). Each statement that reads bills at least
 * 10 MB, so the billed bytes are the scanned bytes plus, at most, that minimum for each of them. An estimate:
 * Trino's reader stands in for Athena's, and at 10,000 customers its files are small enough to be read whole,
 * so larger lakes, whose column chunks Athena can skip, likely scan less than this ratio says.
 */
export function scannedPerRun(
  sizes: SizeMeasure,
  trino: TrinoBytes,
): { bytes: number; billedBytes: number; statements: number; ratio: number } {
  const twoYears = trino.measured.find((m) => m.years === 2);
  if (twoYears === undefined) {
    throw new Error(`${TRINO_BYTES} has no two-year measurement: run npm run bench -- trino-bytes`);
  }
  const ratio = twoYears.runBytes / twoYears.curatedTransactionBytes;
  const bytes = ratio * (sizes.inputBytes.transactions ?? 0);
  const statements = twoYears.scanningStatements;
  return { bytes, billedBytes: bytes + statements * PRICES.athenaMinBytesPerQuery, statements, ratio };
}

export interface MonthlyEstimate {
  readonly customers: number;
  readonly lines: number;
  readonly curatedGiB: number;
  readonly snapshotGiB: number;
  readonly scannedGiBPerRun: number;
  readonly statementsPerRun: number;
  /** US dollars a month. */
  readonly athena: number;
  readonly s3: number;
  readonly lambda: number;
  readonly fixed: number;
  readonly total: number;
  /** S3 a month more for every further month, without retention (dollars). */
  readonly s3GrowthWithoutRetention: number;
}

const GiB = 1024 ** 3;

export function estimate(sizes: SizeMeasure, trino: TrinoBytes, customMetrics: number): MonthlyEstimate {
  const scan = scannedPerRun(sizes, trino);
  const athena = ((scan.billedBytes * DEPLOYMENT.runsPerMonth) / 1024 ** 4) * PRICES.athenaPerTiB;
  const curated = Object.values(sizes.inputBytes).reduce((a, b) => a + b, 0);
  const snapshot = Object.values(sizes.modelBytes).reduce((a, b) => a + b, 0);
  // Stored: every landed file and the curated lake (two years, the generator's history; lifecycle rules move
  // landed files to cheaper classes after 30 and 90 days, not counted), and the kept snapshots of every model.
  const stored = sizes.landedBytes + curated + snapshot * DEPLOYMENT.keptSnapshots;
  const s3 = (stored / GiB) * PRICES.s3PerGiBMonth;
  // Ingest: the month's share of the local ingest time (a month of daily drops), on the ingest Lambda's
  // memory; scoring: every run at its timeout (a bound: the Lambda mostly waits on Athena).
  const ingestSeconds = sizes.ingestSeconds / MONTHS_OF_HISTORY;
  const lambda =
    (ingestSeconds * DEPLOYMENT.ingestMemoryGiB +
      DEPLOYMENT.runsPerMonth * DEPLOYMENT.scoringTimeoutSeconds * DEPLOYMENT.scoringMemoryGiB) *
    PRICES.lambdaPerGiBSecond;
  const fixed =
    DEPLOYMENT.kmsKeys * PRICES.kmsPerKeyMonth +
    DEPLOYMENT.alarmMetrics * PRICES.alarmPerMonth +
    customMetrics * PRICES.customMetricPerMonth * (DEPLOYMENT.customMetricHours / PRICES.hoursPerMonth) +
    DEPLOYMENT.dashboards * PRICES.dashboardPerMonth;
  const monthly = sizes.landedBytes / MONTHS_OF_HISTORY + curated / MONTHS_OF_HISTORY;
  return {
    customers: sizes.customers,
    lines: sizes.lines,
    curatedGiB: curated / GiB,
    snapshotGiB: snapshot / GiB,
    scannedGiBPerRun: scan.bytes / GiB,
    statementsPerRun: scan.statements,
    athena,
    s3,
    lambda,
    fixed,
    total: athena + s3 + lambda + fixed,
    s3GrowthWithoutRetention: ((monthly + snapshot * DEPLOYMENT.runsPerMonth) / GiB) * PRICES.s3PerGiBMonth,
  };
}

/** The custom metrics the handlers publish (Powertools EMF: one metric per name and service). */
export function customMetricNames(): string[] {
  const names = new Set<string>();
  for (const handler of ["ingest.ts", "score.ts"]) {
    const text = readFileSync(join(ROOT, "functions", handler), "utf8");
    for (const match of text.matchAll(/addMetric\(\s*"(\w+)"/g)) names.add(`${handler}:${match[1]}`);
  }
  return [...names].sort();
}

const dollars = (n: number) => `$${n < 10 ? n.toFixed(2) : n.toFixed(0)}`;
const gib = (n: number) => (n < 1 ? `${(n * 1024).toFixed(0)} MiB` : `${n.toFixed(1)} GiB`);

export function table(estimates: readonly MonthlyEstimate[]): string {
  const rows: [string, (e: MonthlyEstimate) => string][] = [
    ["order lines (two years)", (e) => e.lines.toLocaleString("en-US")],
    ["curated Parquet (two years)", (e) => gib(e.curatedGiB)],
    ["one as-of of every model", (e) => gib(e.snapshotGiB)],
    ["Athena bytes per run (measured ratio on Trino)", (e) => gib(e.scannedGiBPerRun)],
    ["Athena, 30 runs", (e) => dollars(e.athena)],
    ["S3 (54 snapshots kept)", (e) => dollars(e.s3)],
    ["Lambda (scoring at its timeout)", (e) => dollars(e.lambda)],
    ["KMS, alarms, metrics, dashboard", (e) => dollars(e.fixed)],
    ["**total a month**", (e) => `**${dollars(e.total)}**`],
    ["S3 per month more without retention", (e) => `+${dollars(e.s3GrowthWithoutRetention)}`],
  ];
  const head = `| | ${estimates.map((e) => `${e.customers.toLocaleString("en-US")} customers`).join(" | ")} |`;
  const rule = `|---|${estimates.map(() => "---:").join("|")}|`;
  return [
    head,
    rule,
    ...rows.map(([label, cell]) => `| ${label} | ${estimates.map(cell).join(" | ")} |`),
  ].join("\n");
}

async function main(): Promise<void> {
  const [step, ...args] = process.argv.slice(2);
  if (step === "measure") {
    const at = args.indexOf("--customers");
    const sizes = (at >= 0 ? (args[at + 1] ?? "") : "10000,100000,1000000").split(",").map(Number);
    const measured: SizeMeasure[] = [];
    for (const customers of sizes) {
      console.error(`measuring ${customers} customers…`);
      measured.push(measure(customers));
      writeFileSync(RESULTS, `${JSON.stringify(measured, null, 2)}\n`);
    }
    console.error(`wrote ${RESULTS}`);
    return;
  }
  if (step === "price") {
    const measured = JSON.parse(readFileSync(RESULTS, "utf8")) as SizeMeasure[];
    const trino = readTrinoBytes();
    const metrics = customMetricNames();
    const estimates = measured.map((m) => estimate(m, trino, metrics.length));
    console.log(table(estimates));
    for (const e of estimates) {
      console.log(
        `\n${e.customers} customers: ${e.statementsPerRun} billed statements a run, ${metrics.length} custom metrics`,
      );
    }
    return;
  }
  console.error("usage: npx tsx bench/cost.ts measure [--customers 10000,100000,1000000] | price");
  process.exit(2);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
