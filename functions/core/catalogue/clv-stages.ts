/**
 * The lifetime-value stages (issue 14, docs/lifetime-value.md), declared: clv_model fits BG/NBD and Gamma-Gamma,
 * clv_expectations scores each distinct purchase history with the fitted BG/NBD. Listed in STAGE_DECLARATIONS
 * (stages.ts); their code is in core/stages/clv_model.ts and core/stages/clv_expectations.ts.
 */
import { declareStage, type StageDeclaration } from "./models.ts";

export const CLV_MODEL = declareStage({
  name: "clv_model",
  layer: "marts",
  header: `-- question: Which BG/NBD and Gamma-Gamma parameters fit the buyers' purchase histories, how precisely, and did the fit succeed?
-- grain: one row per model ('bg_nbd', 'gamma_gamma') and as_of (the partition column)
-- depends_on: int_clv_rfm_counts, int_clv_summary
-- unique_key: model
-- note: Computed in TypeScript (functions/core/stages/clv_model.ts, functions/core/stats/clv-fit.ts): maximum likelihood in log-parameter space, BFGS with analytic gradients from three starts, standard errors from the observed information. docs/lifetime-value.md explains the models, their assumptions and each column.
-- note: Purchases are purchase days and time is counted in business days (docs/definitions.md#purchase-occasion).
-- note: When the data cannot support a fit (too few repeat buyers, a parameter running to a bound of its search range, a singular Hessian, no convergence, Gamma-Gamma q ≤ 1) the parameters and standard errors are NULL, converged is false and diagnostic says why with the numbers.
-- column model varchar: 'bg_nbd' (purchase days) or 'gamma_gamma' (spend per purchase day).
-- column time_unit varchar: 'day': alpha is in days, the purchase rate λ per day.
-- column r double: BG/NBD: shape of the Gamma distribution of purchase rates λ; NULL for gamma_gamma or without a fit.
-- column alpha double: BG/NBD: rate of that Gamma distribution, in days (mean λ = r / alpha purchase days per day).
-- column a double: BG/NBD: Beta(a, b) distribution of the drop-out probability after each repeat purchase day.
-- column b double: BG/NBD: see a.
-- column p double: Gamma-Gamma: shape of one purchase day's spend given the customer's ν.
-- column q double: Gamma-Gamma: shape of the Gamma distribution of ν across customers.
-- column gamma double: Gamma-Gamma: rate of that distribution, in currency units (mean spend p·gamma/(q − 1)).
-- column r_se double: Standard error of r (delta method from the log-parameter scale).
-- column alpha_se double: Standard error of alpha.
-- column a_se double: Standard error of a.
-- column b_se double: Standard error of b.
-- column p_se double: Standard error of p.
-- column q_se double: Standard error of q.
-- column gamma_se double: Standard error of gamma.
-- column log_likelihood double: Log-likelihood at the best point found (also when not converged); NULL when no fit was attempted.
-- column n_customers bigint: Customers the model was fitted on (bg_nbd: every buyer; gamma_gamma: buyers with x > 0 and positive repeat spend).
-- column converged boolean: True when the parameters are published: gradient below 1e-6, inside the search range, Hessian negative definite.
-- column iterations integer: BFGS iterations of the best start.
-- column diagnostic varchar: '' when converged with nothing to note; otherwise what went wrong (or what to know), in plain words with the numbers.`,
});

export const CLV_EXPECTATIONS = declareStage({
  name: "clv_expectations",
  layer: "marts",
  header: `-- question: For each distinct purchase history, how likely is the customer still alive (now, and at the comparison date), and how many purchase days do we expect over the CLV horizon?
-- grain: one row per period ('current', 'comparison') and distinct (frequency, recency, age) of int_clv_rfm_counts
-- depends_on: int_clv_rfm_counts, clv_model
-- unique_key: period, frequency, recency, age
-- note: Computed in TypeScript (functions/core/stages/clv_expectations.ts) with the fitted BG/NBD of clv_model: once per distinct history, joined back to customers by customer_clv. NULL expectations when BG/NBD did not converge.
-- note: Purchases are purchase days (docs/definitions.md#purchase-occasion).
-- note: The horizon is clv.horizon_months calendar months after as_of (horizon_days); the discounted count discounts each month's expected purchase days at clv.annual_discount_rate to the middle of that month.
-- note: 'comparison' rows are the histories as of comparison_as_of scored with the same parameters (fitted as of as_of): only p_alive, P(alive) at comparison_as_of, for the trend customer_actions reads; their expectations are NULL.
-- column period varchar: 'current' (histories as of as_of) or 'comparison' (as of comparison_as_of).
-- column frequency bigint: x: repeat purchase days.
-- column recency integer: t_x, days.
-- column age integer: T, days (to the period's reference date).
-- column customers bigint: Buyers with this history.
-- column p_alive double: P(alive | x, t_x, T) at the period's reference date (as_of or comparison_as_of).
-- column expected_purchases double: Expected purchase days in the horizon, E[Y(horizon_days) | x, t_x, T]; NULL on 'comparison' rows.
-- column discounted_purchases double: The same, each month's expected purchase days multiplied by (1 + clv.annual_discount_rate)^(−t/365.25), t the days from as_of to the middle of the month; NULL on 'comparison' rows.
-- column horizon_days integer: Days from as_of to the end of the horizon; NULL on 'comparison' rows.`,
});

export const CLV_STAGE_DECLARATIONS: readonly StageDeclaration[] = [CLV_MODEL, CLV_EXPECTATIONS];
