/**
 * The TypeScript stages of the project, declared: name, layer and header (catalogue/models.ts
 * StageDeclaration), apart from their code. The Glue tables of the stack and the generated docs read these;
 * each stage's code (core/stages/) is built on its declaration and registered in core/stages/index.ts, which
 * only the composition roots import (docs/adr/0008-layout-and-architecture-rules.md).
 */

import { CLV_STAGE_DECLARATIONS } from "./clv-stages.ts";
import {
  DEFAULT_SQL_DIR,
  declareStage,
  loadProjectModels,
  type Model,
  type StageDeclaration,
} from "./models.ts";

/** Campaign evaluation against the control group (issue 15, docs/campaigns.md). */
export const CAMPAIGN_RESULTS = declareStage({
  name: "campaign_results",
  layer: "marts",
  header: `-- question: Did each campaign work: how many more customers bought, how much more they spent, is that more than chance, and did it pay for itself?
-- grain: one row per campaign that started on or before as_of
-- depends_on: int_campaign_arms
-- unique_key: campaign_id
-- note: Computed in TypeScript (functions/core/stages/campaign_results.ts) from the per-arm sums of int_campaign_arms, with functions/core/stats. docs/campaigns.md explains each column and flag.
-- note: Contact and order dates are days of the business (docs/definitions.md#days-and-the-time-zone).
-- note: Intervals are 95 %. A figure that does not exist (an empty group, no variance, no cost) is NULL, and flags says why.
-- column campaign_id varchar: Campaign id.
-- column treatment_n bigint: Customers in the treatment group (contacted on or before as_of).
-- column control_n bigint: Customers in the control group.
-- column treatment_responders bigint: Treated customers with an order line of amount > 0 in their response window.
-- column control_responders bigint: Control customers with such a line.
-- column treatment_response_rate double: treatment_responders / treatment_n; NULL for an empty group.
-- column control_response_rate double: control_responders / control_n; NULL for an empty group.
-- column response_uplift double: Treatment rate − control rate.
-- column response_uplift_ci_low double: Lower end of the uplift's 95 % Wald interval; NULL when its standard error is 0.
-- column response_uplift_ci_high double: Upper end of that interval.
-- column response_p_value double: Two-sided p-value of the pooled two-proportion z-test; NULL when nobody or everybody responded.
-- column treatment_revenue_per_customer double: Mean net revenue of a treated customer in the window, zeros included.
-- column control_revenue_per_customer double: Mean net revenue of a control customer in the window, zeros included.
-- column revenue_uplift_per_customer double: Treatment mean − control mean.
-- column revenue_uplift_ci_low double: Lower end of its 95 % Welch interval; NULL below two customers in a group or without variance.
-- column revenue_uplift_ci_high double: Upper end of that interval.
-- column revenue_p_value double: Two-sided p-value of Welch's t-test.
-- column cuped_theta double: CUPED's θ = cov(revenue, pre-period spend)/var(pre-period spend), pooled within the groups; NULL when pre-period spend does not vary (flag no_variance_reduction).
-- column cuped_revenue_uplift_per_customer double: Revenue uplift per customer adjusted for pre-period spend: the difference of the means of revenue − θ·(pre-period spend − its mean).
-- column cuped_revenue_uplift_ci_low double: Lower end of its 95 % Welch interval.
-- column cuped_revenue_uplift_ci_high double: Upper end of that interval.
-- column cuped_revenue_p_value double: Two-sided p-value of Welch's t-test on the adjusted revenues.
-- column cuped_variance_reduction double: 1 − (adjusted standard error / unadjusted standard error)²: the share of the variance the adjustment removed; 0 or less is no gain (flag no_variance_reduction).
-- column incremental_responders double: response_uplift × treatment_n: responders the campaign caused.
-- column incremental_revenue double: revenue_uplift_per_customer × treatment_n.
-- column incremental_margin double: Gross-margin uplift per customer × treatment_n.
-- column campaign_cost decimal(38,2): fixed_cost + cost_per_contact × treatment_n.
-- column roi double: (incremental_margin − campaign_cost) / campaign_cost; NULL without cost (flag no_cost).
-- column roi_ci_low double: Lower end of the ROI's 95 % interval: the Welch interval of the margin uplift, times treatment_n, less the cost, over the cost (the cost is known, so this is exact).
-- column roi_ci_high double: Upper end of that interval.
-- column window_ends_on date: Last day of the response window; before it the results are provisional (flag window_not_closed).
-- column contaminated_customers bigint: Customers listed in both groups, or treated by another campaign within the window (flag contamination).
-- column response_mde double: Smallest response uplift this sample detects with 80 % power at the 5 % level, at the pooled rate (flag insufficient_sample).
-- column revenue_mde double: Smallest revenue uplift per customer it detects so, at the observed variances.
-- column pre_period_max_smd double: Largest absolute standardised mean difference of pre-contact spend, orders and recency (flag pre_period_imbalance above 0.1).
-- column planned_control_share double: The campaign record's planned control share; NULL when it gives none (then no sample-ratio check).
-- column sample_ratio_p_value double: p-value of Pearson's χ² test (1 degree of freedom) of treatment_n and control_n against the planned split (flag sample_ratio_mismatch below 0.001); NULL without a planned share.
-- column flags varchar: The guards that fired, comma-separated in a fixed order (docs/campaigns.md); '' when none.`,
});

export const STAGE_DECLARATIONS: readonly StageDeclaration[] = [CAMPAIGN_RESULTS, ...CLV_STAGE_DECLARATIONS];

/** The catalogue's whole plan: the SQL models under `sqlDir` and the declared stages (Glue tables, docs). */
export function loadCatalogueModels(sqlDir: string = DEFAULT_SQL_DIR): Promise<Model[]> {
  return loadProjectModels(sqlDir, STAGE_DECLARATIONS);
}
