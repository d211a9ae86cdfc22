-- question: Where does each active customer sit in the profitability matrix: worth much or little now, and much or little in future?
-- grain: one row per customer known at as_of (customer_pyramid)
-- depends_on: customer_pyramid, customer_clv
-- unique_key: customer_id
-- note: Current value is the pyramid's (pyramid.value_measure over the value window, customer_pyramid); future value
--   is customer_clv.clv. A value is high when it is at least its cut-off: quadrants.current_value_cutoff and
--   quadrants.clv_cutoff when configured, else the median over the active customers (the middle value, or the mean
--   of the two middle values; so at least half of them are high). The cut-offs used are on every row.
-- note: best = high current and high future value, invest = low current and high future, retain = high current and
--   low future, worst = low and low (docs/lifetime-value.md). Inactive customers (no purchase occasion in the value
--   window), prospects, and active customers without a clv (clv_model did not converge) have no quadrant (NULL).
-- note: Current value is the pyramid's value measure over its window (docs/definitions.md#periods).
-- column customer_id varchar: Customer id.
-- column value_tier varchar: The pyramid tier (customer_pyramid): inactive and prospect have no quadrant.
-- column is_active boolean: True when the customer has a purchase occasion in the value window (an active pyramid tier).
-- column value_measure varchar: The measure of current value: gross_margin, net_revenue or net_profit.
-- column current_value decimal(38,2): Current value: the measure over the value window (customer_pyramid.value).
-- column clv double: Future value: customer_clv.clv (discounted expected gross margin over the horizon); NULL for prospects, buyers without a fit.
-- column is_high_current_value boolean: current_value ≥ current_value_cutoff; NULL without a quadrant.
-- column is_high_clv boolean: clv ≥ clv_cutoff; NULL without a quadrant.
-- column profitability_quadrant varchar: best, invest, retain or worst; NULL for inactive customers, prospects and customers without a clv.
-- column current_value_cutoff double: The cut-off of current value used in this run.
-- column current_value_cutoff_rule varchar: 'config' (quadrants.current_value_cutoff) or 'median' (of the active customers).
-- column clv_cutoff double: The cut-off of clv used in this run.
-- column clv_cutoff_rule varchar: 'config' (quadrants.clv_cutoff) or 'median' (of the active customers with a clv).
with known as (
  select
    p.customer_id,
    p.value_tier,
    p.value_rank IS NOT NULL AS is_active,
    p.value_measure,
    p.value AS current_value,
    c.clv
  from customer_pyramid AS p
  left join customer_clv AS c on c.customer_id = p.customer_id
),

ranked_value as (
  select
    CAST(current_value AS DOUBLE) AS v,
    ROW_NUMBER() OVER (ORDER BY current_value) AS rn,
    COUNT(*) OVER () AS n
  from known
  where is_active
),

ranked_clv as (
  select
    clv AS v,
    ROW_NUMBER() OVER (ORDER BY clv) AS rn,
    COUNT(*) OVER () AS n
  from known
  where is_active and clv IS NOT NULL
),

-- The median: the middle row, or the mean of the two middle rows (MIN + MAX of them, the same sum on every engine).
value_median as (
  select (MIN(v) + MAX(v)) / 2e0 AS median
  from ranked_value
  where rn = CAST(FLOOR(CAST(n + 1 AS DOUBLE) / 2e0) AS BIGINT) or rn = CAST(CEIL(CAST(n + 1 AS DOUBLE) / 2e0) AS BIGINT)
),

clv_median as (
  select (MIN(v) + MAX(v)) / 2e0 AS median
  from ranked_clv
  where rn = CAST(FLOOR(CAST(n + 1 AS DOUBLE) / 2e0) AS BIGINT) or rn = CAST(CEIL(CAST(n + 1 AS DOUBLE) / 2e0) AS BIGINT)
),

cutoffs as (
  select
    CASE WHEN {{ quadrants.has_current_value_cutoff }} THEN {{ quadrants.current_value_cutoff }} ELSE vm.median END
      AS current_value_cutoff,
    CAST(CASE WHEN {{ quadrants.has_current_value_cutoff }} THEN 'config' ELSE 'median' END AS VARCHAR)
      AS current_value_cutoff_rule,
    CASE WHEN {{ quadrants.has_clv_cutoff }} THEN {{ quadrants.clv_cutoff }} ELSE cm.median END AS clv_cutoff,
    CAST(CASE WHEN {{ quadrants.has_clv_cutoff }} THEN 'config' ELSE 'median' END AS VARCHAR) AS clv_cutoff_rule
  from value_median AS vm
  cross join clv_median AS cm
),

levels as (
  select
    c.customer_id,
    c.value_tier,
    c.is_active,
    c.value_measure,
    c.current_value,
    c.clv,
    CASE
      WHEN c.is_active and c.clv IS NOT NULL and k.current_value_cutoff IS NOT NULL and k.clv_cutoff IS NOT NULL
        THEN CAST(c.current_value AS DOUBLE) >= k.current_value_cutoff
    END AS is_high_current_value,
    CASE
      WHEN c.is_active and c.clv IS NOT NULL and k.current_value_cutoff IS NOT NULL and k.clv_cutoff IS NOT NULL
        THEN c.clv >= k.clv_cutoff
    END AS is_high_clv,
    k.current_value_cutoff,
    k.current_value_cutoff_rule,
    k.clv_cutoff,
    k.clv_cutoff_rule
  from known AS c
  cross join cutoffs AS k
),

final as (
  select
    customer_id,
    value_tier,
    is_active,
    value_measure,
    current_value,
    clv,
    is_high_current_value,
    is_high_clv,
    CAST(
      CASE
        WHEN is_high_current_value and is_high_clv THEN 'best'
        WHEN NOT is_high_current_value and is_high_clv THEN 'invest'
        WHEN is_high_current_value and NOT is_high_clv THEN 'retain'
        WHEN NOT is_high_current_value and NOT is_high_clv THEN 'worst'
      END AS VARCHAR
    ) AS profitability_quadrant,
    CAST(current_value_cutoff AS DOUBLE) AS current_value_cutoff,
    current_value_cutoff_rule,
    CAST(clv_cutoff AS DOUBLE) AS clv_cutoff,
    clv_cutoff_rule
  from levels
)

select * from final
