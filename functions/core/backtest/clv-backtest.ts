/**
 * `crmlake backtest` (issue 14, item 7; docs/lifetime-value.md, "Backtest"): fits BG/NBD as of a past date and
 * compares its expected purchase days over the following horizon with the purchase days that came.
 *
 * It reads past its as-of, so it is not a run and publishes no model output: its own path (BACKTEST_LAYOUT),
 * one partition per (as_of, horizon_days), replaced by a re-run. The histories are the project's own models:
 * int_clv_summary rendered as of the as-of (exactly what `crmlake run --as-of` fits on, so only data dated on or
 * before it), kept aside, then int_purchase_occasions rendered as of the end of the holdout for the purchase days
 * after the as-of. Both are read compressed: one row per distinct (x, t_x, T, holdout purchase days).
 */
import { BACKTEST_LAYOUT } from "../catalogue/layout.ts";
import {
  DEFAULT_SQL_DIR,
  loadProjectModels,
  type StageDeclaration,
  selectModels,
} from "../catalogue/models.ts";
import { type CrmlakeConfig, defaultConfig } from "../config.ts";
import { addDays, daysBetween, isIsoDate, notADate } from "../dates.ts";
import { ensureLakeFormat } from "../ledger/format.ts";
import { takeSnapshot } from "../ledger/ledger.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import type { Warehouse } from "../ports/warehouse.ts";
import { expandMacros, renderParameters } from "../runner/params.ts";
import { encodeParquet } from "../runner/parquet.ts";
import {
  BACKTEST_TABLES,
  BacktestError,
  type BacktestEvaluation,
  backtestTables,
  evaluateClvBacktest,
  type HoldoutHistory,
  type HoldoutWeek,
} from "./clv-evaluate.ts";

export interface ClvBacktestOptions {
  readonly asOf: string;
  readonly horizonDays: number;
  readonly config?: CrmlakeConfig;
  /** An engine over the lake (the caller opens and closes it). */
  readonly warehouse: Warehouse;
  /** The lake: its ledger is snapshotted, and the tables are written into it. */
  readonly lake: ObjectStore;
  /** The project's stages, so that the catalogue validates as a whole (none of them is computed). */
  readonly stages: readonly StageDeclaration[];
  /** Where the calibration histories are kept while the holdout is read (a scratch directory). */
  readonly scratchLocation: string;
  readonly sqlDir?: string;
  readonly upgradeCommand?: string;
  readonly log?: (line: string) => void;
}

export interface ClvBacktestResult extends BacktestEvaluation {
  readonly asOf: string;
  readonly horizonDays: number;
  /** Keys written, relative to the lake. */
  readonly written: readonly string[];
}

/** The longest horizon accepted: ten years of days. */
const MAX_HORIZON_DAYS = 3660;

/** The calibration histories, kept aside under this name while the views are rendered as of the holdout's end. */
const CALIBRATION = "clv_backtest_calibration";

export async function runClvBacktest(options: ClvBacktestOptions): Promise<ClvBacktestResult> {
  const { asOf, horizonDays, warehouse, lake } = options;
  const config = options.config ?? defaultConfig();
  const log = options.log ?? (() => {});
  if (!isIsoDate(asOf)) throw new BacktestError("bad_as_of", `--as-of ${notADate(asOf)}`);
  if (!Number.isInteger(horizonDays) || horizonDays < 1 || horizonDays > MAX_HORIZON_DAYS) {
    throw new BacktestError(
      "bad_horizon",
      `--horizon must be a whole number of days from 1 to ${MAX_HORIZON_DAYS}, got ${horizonDays}`,
    );
  }
  await ensureLakeFormat(lake, options.upgradeCommand ?? "crmlake doctor --upgrade", { create: false });
  await warehouse.attachInputs(await takeSnapshot(lake));

  const end = addDays(asOf, horizonDays);
  const latest = (
    await warehouse.query("SELECT CAST(MAX(ordered_at) AS DATE) AS latest_on FROM transactions")
  ).rows[0]?.latest_on;
  if (typeof latest !== "string") {
    throw new BacktestError(
      "no_transactions",
      `The lake ${lake.location} has no transactions: ingest data first.`,
    );
  }
  if (end > latest) {
    const days = daysBetween(asOf, latest);
    const shorter = days >= 1 ? `, or a horizon of at most ${days} days as of ${asOf}` : "";
    throw new BacktestError(
      "horizon_beyond_data",
      `--as-of ${asOf} with --horizon ${horizonDays} days ends on ${end}, after the data's last day ${latest}: the holdout would miss purchases that are not in the lake. Choose an --as-of on or before ${addDays(latest, -horizonDays)}${shorter}.`,
    );
  }

  const models = await loadProjectModels(options.sqlDir ?? DEFAULT_SQL_DIR, options.stages);
  const plan = selectModels(models, ["int_clv_summary"]);
  const renderAsOf = async (date: string) => {
    const literals = renderParameters({ asOf: date, config });
    for (const model of plan) {
      await warehouse.replaceView(model.name, expandMacros(model.sql, model.file, literals));
    }
  };

  log(`backtest: histories as of ${asOf}`);
  await renderAsOf(asOf);
  await warehouse.materialize({
    model: CALIBRATION,
    body: "SELECT customer_id, frequency, recency, age FROM int_clv_summary",
    tableLocation: options.scratchLocation,
    orderBy: [],
    partition: { column: "as_of", value: asOf },
  });
  log(`backtest: purchase days from ${addDays(asOf, 1)} to ${end}`);
  await renderAsOf(end);
  const asOfLiteral = `DATE '${asOf}'`;
  const holdoutDays = `SELECT DISTINCT customer_id, occasion_on FROM int_purchase_occasions WHERE occasion_on > ${asOfLiteral}`;
  const histories: HoldoutHistory[] = (
    await warehouse.query(
      `WITH holdout AS (
         SELECT customer_id, COUNT(*) AS purchases FROM (${holdoutDays}) AS d GROUP BY customer_id
       )
       SELECT c.frequency, c.recency, c.age, CAST(COALESCE(h.purchases, 0) AS BIGINT) AS holdout,
              CAST(COUNT(*) AS BIGINT) AS customers
       FROM ${CALIBRATION} AS c LEFT JOIN holdout AS h ON h.customer_id = c.customer_id
       GROUP BY c.frequency, c.recency, c.age, COALESCE(h.purchases, 0)`,
    )
  ).rows.map((row) => ({
    frequency: Number(row.frequency),
    recency: Number(row.recency),
    age: Number(row.age),
    holdout: Number(row.holdout),
    customers: Number(row.customers),
  }));
  const weeks: HoldoutWeek[] = (
    await warehouse.query(
      `SELECT CAST(FLOOR((date_diff('day', ${asOfLiteral}, d.occasion_on) - 1) / 7e0) AS INTEGER) + 1 AS week,
              CAST(COUNT(*) AS BIGINT) AS purchases
       FROM (${holdoutDays}) AS d JOIN ${CALIBRATION} AS c ON c.customer_id = d.customer_id
       GROUP BY 1`,
    )
  ).rows.map((row) => ({ week: Number(row.week), purchases: Number(row.purchases) }));

  log(`backtest: fitting BG/NBD on ${histories.reduce((s, h) => s + h.customers, 0)} buyers`);
  const evaluation = evaluateClvBacktest(histories, weeks, asOf, horizonDays);
  const tables = backtestTables(evaluation);
  const written: string[] = [];
  for (const table of BACKTEST_TABLES) {
    const key = BACKTEST_LAYOUT.dataKey(table, asOf, horizonDays);
    await lake.put(key, encodeParquet(tables[table]));
    written.push(key);
  }
  return { ...evaluation, asOf, horizonDays, written };
}

export { BacktestError } from "./clv-evaluate.ts";
