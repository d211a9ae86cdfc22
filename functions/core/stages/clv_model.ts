import * as arrow from "apache-arrow";
import { CLV_MODEL } from "../catalogue/clv-stages.ts";
import { implementStage, type Stage } from "../runner/stage.ts";
import {
  type FitResult,
  fitBgNbd,
  fitGammaGamma,
  type RfmCount,
  type SpendRecord,
} from "../stats/clv-fit.ts";
import { numberColumn, utf8Equals } from "./columns.ts";

function column(table: arrow.Table | undefined, model: string, name: string): arrow.Vector {
  const vector = table?.getChild(name);
  if (vector == null) throw new Error(`${model}.${name} is not an input of clv_model`);
  return vector;
}

/** The periods of int_clv_rfm_counts: the histories as of as_of, and as of comparison_as_of. */
export type RfmPeriod = "current" | "comparison";

/** The distinct (x, t_x, T) of one period with their counts, as the fit (period 'current') reads them. */
export function readRfmCounts(table: arrow.Table | undefined, period: RfmPeriod): RfmCount[] {
  const model = "int_clv_rfm_counts";
  const inPeriod = utf8Equals(column(table, model, "period"), period);
  const frequency = numberColumn(column(table, model, "frequency"));
  const recency = numberColumn(column(table, model, "recency"));
  const age = numberColumn(column(table, model, "age"));
  const customers = numberColumn(column(table, model, "customers"));
  const rows: RfmCount[] = [];
  for (let i = 0; i < frequency.length; i++) {
    if (inPeriod[i] !== 1) continue;
    rows.push({
      frequency: frequency[i] as number,
      recency: recency[i] as number,
      age: age[i] as number,
      customers: customers[i] as number,
    });
  }
  return rows;
}

function readSpend(table: arrow.Table | undefined): SpendRecord[] {
  const model = "int_clv_summary";
  const frequency = numberColumn(column(table, model, "frequency"));
  const monetary = numberColumn(column(table, model, "monetary"));
  const rows: SpendRecord[] = [];
  for (let i = 0; i < frequency.length; i++) {
    const x = frequency[i] as number;
    const m = monetary[i] as number;
    // NULL monetary is NaN, never > 0.
    if (x > 0 && m > 0) rows.push({ frequency: x, monetary: m, customers: 1 });
  }
  return rows;
}

const f64 = () => new arrow.Float64();

/**
 * The parameters each row of clv_model publishes, in the header's column order (with their `_se` columns after
 * them): the figures a run follows for drift (runner/drift.ts).
 */
const PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  bg_nbd: ["r", "alpha", "a", "b"],
  gamma_gamma: ["p", "q", "gamma"],
};

/** `bg_nbd.r`, …, `gamma_gamma.gamma` → the published value, null when the fit published none. */
export function clvModelFigures(output: arrow.Table): Record<string, number | null> {
  const figures: Record<string, number | null> = {};
  const models = output.getChild("model");
  for (let i = 0; i < output.numRows; i++) {
    const model = models?.get(i) as string;
    for (const name of PARAMETERS[model] ?? []) {
      figures[`${model}.${name}`] = (output.getChild(name)?.get(i) as number | null) ?? null;
    }
  }
  return figures;
}

/**
 * Fits BG/NBD on the compressed histories and Gamma-Gamma on the repeat buyers' mean spend (clv_model's header).
 * Of the per-customer int_clv_summary it reads x and m̄ only.
 */
export const clvModel: Stage = {
  ...implementStage(
    CLV_MODEL,
    ({ inputs }) => {
      const bg = fitBgNbd(readRfmCounts(inputs.get("int_clv_rfm_counts"), "current"));
      const gg = fitGammaGamma(readSpend(inputs.get("int_clv_summary")));
      const rows = [
        { model: "bg_nbd", fit: bg },
        { model: "gamma_gamma", fit: gg },
      ];
      // One column per parameter of either model (r … gamma; with `_se`, its standard error): the model's own row
      // holds it, the other row NULL.
      const perParameter = (suffix: string, pick: (fit: FitResult) => readonly number[] | null) =>
        Object.fromEntries(
          Object.entries(PARAMETERS).flatMap(([model, names]) =>
            names.map((name, i) => [
              `${name}${suffix}`,
              arrow.vectorFromArray(
                rows.map((row) => (row.model === model ? (pick(row.fit)?.[i] ?? null) : null)),
                f64(),
              ),
            ]),
          ),
        );
      return new arrow.Table({
        model: arrow.vectorFromArray(
          rows.map((row) => row.model),
          new arrow.Utf8(),
        ),
        time_unit: arrow.vectorFromArray(
          rows.map(() => "day"),
          new arrow.Utf8(),
        ),
        ...perParameter("", (fit) => fit.parameters),
        ...perParameter("_se", (fit) => fit.standardErrors),
        log_likelihood: arrow.vectorFromArray(
          rows.map((row) => row.fit.logLikelihood),
          f64(),
        ),
        n_customers: arrow.vectorFromArray(
          rows.map((row) => BigInt(row.fit.customers)),
          new arrow.Int64(),
        ),
        converged: arrow.vectorFromArray(
          rows.map((row) => row.fit.converged),
          new arrow.Bool(),
        ),
        iterations: arrow.vectorFromArray(
          rows.map((row) => row.fit.iterations),
          new arrow.Int32(),
        ),
        diagnostic: arrow.vectorFromArray(
          rows.map((row) => row.fit.diagnostic),
          new arrow.Utf8(),
        ),
      });
    },
    {
      figures: clvModelFigures,
      threshold: (config) => config.clv.parameter_drift_threshold,
    },
  ),
  reads: { int_clv_summary: ["frequency", "monetary"] },
};
