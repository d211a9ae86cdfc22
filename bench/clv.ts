/**
 * Lifetime-value benchmark (issue 14): the whole CLV stage for N customers (default 1,000,000), read, fit,
 * score and write, as a run computes it on DuckDB: int_clv_rfm_counts (the compressing GROUP BY), the clv_model
 * stage (reads its inputs' Parquet, fits BG/NBD and Gamma-Gamma, writes), the clv_expectations stage (scores each
 * distinct history) and customer_clv (joins back to every customer and writes). Each step is the project's own code
 * (the SQL files rendered with the run's parameters, runner/stage.ts materializeStage).
 *
 * The input is not a pipeline run: int_clv_summary is drawn directly from BG/NBD and Gamma-Gamma (the generator's
 * default parameters, first purchase days uniform over two years, purchase days on a day grid) and written as the
 * Parquet file a run would have staged; int_customer_value, which customer_clv reads for margins, is a view over it.
 * Drawing the input is not timed.
 *
 * Usage: npm run bench -- clv [--customers 1000000] [--runs 3]
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import { DEFAULT_SQL_DIR, loadProjectModels, type Model } from "../functions/core/catalogue/models.ts";
import { defaultConfig } from "../functions/core/config.ts";
import { DEFAULT_OPTIONS } from "../functions/core/generate/options.ts";
import { beta, exponential, gamma, STREAMS, stream, uniformInt } from "../functions/core/generate/random.ts";
import { expandMacros, renderParameters } from "../functions/core/runner/params.ts";
import { encodeParquet } from "../functions/core/runner/parquet.ts";
import { materializeStage, type Stage } from "../functions/core/runner/stage.ts";
import { clvExpectations } from "../functions/core/stages/clv_expectations.ts";
import { clvModel } from "../functions/core/stages/clv_model.ts";
import { DuckDBWarehouse } from "../functions/engines/duckdb/warehouse.ts";
import { LocalModelOutputs } from "../functions/storage/local-outputs.ts";
import { addFigure } from "./summary.ts";

const AS_OF = "2024-12-31";
const DAYS = 731;
const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2023, 0, 1) / DAY_MS;

/** The int_clv_summary columns, drawn; dates as days since the epoch, spend in cents. */
function drawSummary(customers: number, comparisonDay: number): arrow.Table {
  const rng = stream(1, STREAMS.customer, 0);
  const { r, alpha, a, b } = DEFAULT_OPTIONS.bgnbd;
  const gg = DEFAULT_OPTIONS.gammaGamma;
  const n = customers;
  const first = new Int32Array(n);
  const last = new Int32Array(n);
  const frequency = new Int32Array(n);
  const repeatCents = new Float64Array(n);
  const cFrequency = new Int32Array(n);
  const cLast = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const lambda = gamma(rng, r, alpha);
    const p = beta(rng, a, b);
    const nu = gamma(rng, gg.q, gg.gamma);
    const t0 = uniformInt(rng, DAYS) + rng.next();
    let t = t0;
    let day = Math.floor(t0);
    let x = 0;
    let cx = -1;
    let cDay = -1;
    if (day <= comparisonDay) {
      cx = 0;
      cDay = day;
    }
    let spend = 0;
    for (;;) {
      t += exponential(rng, lambda);
      if (t >= DAYS) break;
      const d = Math.floor(t);
      if (d !== day) {
        day = d;
        x++;
        if (d <= comparisonDay && cx >= 0) {
          cx++;
          cDay = d;
        }
      }
      spend += Math.round(gamma(rng, gg.p, nu) * 100);
      if (rng.next() < p) break;
    }
    first[i] = FIRST_DAY + Math.floor(t0);
    last[i] = FIRST_DAY + day;
    frequency[i] = x;
    repeatCents[i] = x > 0 ? spend : 0;
    cFrequency[i] = cx;
    cLast[i] = cDay < 0 ? -1 : FIRST_DAY + cDay;
  }
  return new arrow.Table({
    customer_id: arrow.vectorFromArray(
      Array.from({ length: n }, (_, i) => `c${String(i).padStart(7, "0")}`),
      new arrow.Utf8(),
    ),
    first_day: arrow.makeVector(first),
    last_day: arrow.makeVector(last),
    frequency: arrow.makeVector(frequency),
    repeat_cents: arrow.makeVector(repeatCents),
    comparison_frequency: arrow.makeVector(cFrequency),
    comparison_last_day: arrow.makeVector(cLast),
  });
}

/** int_clv_summary's SELECT over the drawn file, with the types and NULLs its header declares. */
function summaryBody(rawFile: string): string {
  const date = (days: string) => `CAST(DATE '1970-01-01' + CAST(${days} AS INTEGER) AS DATE)`;
  return `SELECT
    customer_id,
    ${date("first_day")} AS first_purchase_on,
    ${date("last_day")} AS last_purchase_on,
    CAST(frequency AS BIGINT) AS frequency,
    CAST(last_day - first_day AS INTEGER) AS recency,
    CAST(date_diff('day', ${date("first_day")}, DATE '${AS_OF}') AS INTEGER) AS age,
    CAST(repeat_cents / 100 AS DECIMAL(38,2)) AS repeat_spend,
    CASE WHEN frequency > 0 THEN repeat_cents / 100e0 / frequency END AS monetary,
    CASE WHEN comparison_frequency >= 0 THEN CAST(comparison_frequency AS BIGINT) END AS comparison_frequency,
    CASE WHEN comparison_frequency >= 0 THEN CAST(comparison_last_day - first_day AS INTEGER) END AS comparison_recency,
    CASE WHEN comparison_frequency >= 0 THEN CAST(date_diff('day', ${date("first_day")}, {{ comparison_as_of }}) AS INTEGER) END AS comparison_age
  FROM read_parquet('${rawFile}')`;
}

interface Timing {
  read_rfm_counts: number;
  clv_model: number;
  clv_expectations: number;
  customer_clv: number;
  total: number;
  /** CPU time of the process over the same steps (DuckDB's threads included), against a shared machine's noise. */
  cpu_user_system: number;
  /** The floor: a row per customer read and written through the same warehouse (not part of total). */
  floor: number;
}

async function once(
  customers: number,
  dir: string,
  raw: string,
): Promise<{ timing: Timing; notes: string[] }> {
  const lake = await mkdtemp(join(dir, "lake-"));
  const config = defaultConfig();
  const literals = renderParameters({ asOf: AS_OF, config });
  const stages: Stage[] = [clvModel, clvExpectations];
  const models = await loadProjectModels(DEFAULT_SQL_DIR, stages);
  const byName = new Map(models.map((m) => [m.name, m]));
  const model = (name: string) => byName.get(name) as Model;
  const outputs = new LocalModelOutputs(lake);
  const warehouse = await DuckDBWarehouse.open(lake);
  const runId = "bench-clv";
  const partition = { column: "as_of", value: AS_OF } as const;
  try {
    // The input, as a run would have staged it (not timed).
    await warehouse.materialize({
      model: "int_clv_summary",
      body: expandMacros(summaryBody(raw), "bench", literals),
      tableLocation: outputs.stagingTable(runId, "int_clv_summary"),
      orderBy: ["customer_id"],
      partition,
    });
    await warehouse.replaceView(
      "int_customer_value",
      "SELECT customer_id, 'current' AS period, repeat_spend AS revenue, CAST(repeat_spend * 0.35 AS DECIMAL(38,2)) AS gross_margin FROM int_clv_summary",
    );
    const sql = async (name: string) => {
      const m = model(name);
      return warehouse.materialize({
        model: name,
        body: expandMacros(m.sql, m.file, literals),
        tableLocation: outputs.stagingTable(runId, name),
        orderBy: m.header.uniqueKey,
        partition,
      });
    };
    const stage = (name: string, code: Stage) =>
      materializeStage({
        model: model(name),
        stage: code,
        models: byName,
        runId,
        asOf: AS_OF,
        config,
        outputs,
        warehouse,
      });
    const clock = () => performance.now();
    const cpuStart = process.cpuUsage();
    const start = clock();
    const counts = await sql("int_clv_rfm_counts");
    const t1 = clock();
    await stage("clv_model", clvModel);
    const t2 = clock();
    await stage("clv_expectations", clvExpectations);
    const t3 = clock();
    const scored = await sql("customer_clv");
    const t4 = clock();
    const cpu = process.cpuUsage(cpuStart);
    // The floor: one row per customer read and written through the same warehouse, as customer_clv is.
    const floorStart = clock();
    await warehouse.materialize({
      model: "clv_floor",
      body: "SELECT customer_id, frequency, repeat_spend FROM int_clv_summary",
      tableLocation: outputs.stagingTable(runId, "clv_floor"),
      orderBy: ["customer_id"],
      partition,
    });
    const floor = clock() - floorStart;
    const fit = await warehouse.query(
      "SELECT model, converged, iterations, diagnostic, r, alpha, a, b, p, q, gamma FROM clv_model ORDER BY model",
    );
    const notes = [
      `${customers} customers, ${counts.rows} distinct (period, x, t_x, T), customer_clv ${scored.rows} rows`,
      ...fit.rows.map((row) => JSON.stringify(row)),
    ];
    return {
      timing: {
        read_rfm_counts: t1 - start,
        clv_model: t2 - t1,
        clv_expectations: t3 - t2,
        customer_clv: t4 - t3,
        total: t4 - start,
        cpu_user_system: (cpu.user + cpu.system) / 1000,
        floor,
      },
      notes,
    };
  } finally {
    await warehouse.close();
    await rm(lake, { recursive: true, force: true });
  }
}

export async function benchClv(args: string[]): Promise<void> {
  const option = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
  };
  const customers = option("customers", 1_000_000);
  const runs = option("runs", 3);
  const dir = await mkdtemp(join(tmpdir(), "crmlake-bench-clv-"));
  try {
    const comparison =
      renderParameters({ asOf: AS_OF, config: defaultConfig() }).get("comparison_as_of") ?? "";
    const comparisonDay = Date.parse(comparison.replace(/^DATE '(.*)'$/, "$1")) / DAY_MS - FIRST_DAY;
    const drawStart = performance.now();
    const raw = join(dir, "summary-raw.parquet");
    await writeFile(raw, encodeParquet(drawSummary(customers, comparisonDay)));
    console.log(`input drawn in ${((performance.now() - drawStart) / 1000).toFixed(1)} s (not timed)`);
    const timings: Timing[] = [];
    for (let run = 0; run < runs; run++) {
      const { timing, notes } = await once(customers, dir, raw);
      if (run === 0) for (const note of notes) console.log(note);
      timings.push(timing);
    }
    const median = (values: number[]) =>
      [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? 0;
    const keys = Object.keys(timings[0] ?? {}) as (keyof Timing)[];
    console.table(
      keys.map((step) => ({
        step,
        "median s": (median(timings.map((t) => t[step])) / 1000).toFixed(2),
        runs: timings.map((t) => (t[step] / 1000).toFixed(2)).join(" "),
      })),
    );
    const total = median(timings.map((t) => t.total)) / 1000;
    const cpu = median(timings.map((t) => t.cpu_user_system)) / 1000;
    const floor = median(timings.map((t) => t.floor)) / 1000;
    addFigure({
      bench: "clv",
      measure: `lifetime-value stage, ${customers.toLocaleString("en-US")} customers, median of ${runs}`,
      value: `${total.toFixed(2)} s`,
      floor: `${floor.toFixed(2)} s (read and write a row per customer)`,
      ratio: total / floor,
      target: "< 10 s (issue 14)",
      met: total < 10,
    });
    console.log(
      `clv stage, ${customers} customers: ${total.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU (medians of ${runs}); target < 10 s: ${total < 10 ? "met" : "NOT met"}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
