-- question: How many active customers are in each quadrant of the profitability matrix, and what are they worth now and in future?
-- grain: one row per profitability quadrant (always four: best, invest, retain, worst)
-- depends_on: customer_quadrants
-- unique_key: profitability_quadrant
-- note: Counts and sums over the customers of customer_quadrants with that quadrant (active customers with a clv);
--   an empty quadrant has 0 customers and 0 values. The cut-offs are the run's (customer_quadrants).
-- note: Current value is the pyramid's value measure over its window (docs/definitions.md#periods).
-- column quadrant_order integer: 1 (best), 2 (invest), 3 (retain), 4 (worst), for sorting.
-- column profitability_quadrant varchar: best, invest, retain or worst.
-- column is_high_current_value boolean: True for the quadrants of high current value (best, retain).
-- column is_high_clv boolean: True for the quadrants of high future value (best, invest).
-- column customers bigint: Active customers in the quadrant.
-- column customer_share double: customers / the customers with a quadrant; NULL when no customer has one.
-- column current_value decimal(38,2): Sum of their current value (pyramid.value_measure over the value window).
-- column clv double: Sum of their clv (future value: discounted expected gross margin over the CLV horizon).
-- column value_measure varchar: The measure of current value: gross_margin, net_revenue or net_profit.
-- column current_value_cutoff double: The cut-off of current value used (customer_quadrants).
-- column current_value_cutoff_rule varchar: 'config' or 'median'.
-- column clv_cutoff double: The cut-off of clv used.
-- column clv_cutoff_rule varchar: 'config' or 'median'.
with quadrants as (
  select quadrant_order, profitability_quadrant, is_high_current_value, is_high_clv
  from (
    values
      (1, 'best', TRUE, TRUE),
      (2, 'invest', FALSE, TRUE),
      (3, 'retain', TRUE, FALSE),
      (4, 'worst', FALSE, FALSE)
  ) AS q (quadrant_order, profitability_quadrant, is_high_current_value, is_high_clv)
),

members as (
  select
    profitability_quadrant,
    COUNT(*) AS customers,
    SUM(current_value) AS current_value,
    SUM(clv) AS clv
  from customer_quadrants
  where profitability_quadrant IS NOT NULL
  group by profitability_quadrant
),

run_cutoffs as (
  select
    CAST({{ pyramid.value_measure }} AS VARCHAR) AS value_measure,
    MAX(current_value_cutoff) AS current_value_cutoff,
    MAX(current_value_cutoff_rule) AS current_value_cutoff_rule,
    MAX(clv_cutoff) AS clv_cutoff,
    MAX(clv_cutoff_rule) AS clv_cutoff_rule,
    COUNT(profitability_quadrant) AS placed
  from customer_quadrants
),

final as (
  select
    CAST(q.quadrant_order AS INTEGER) AS quadrant_order,
    CAST(q.profitability_quadrant AS VARCHAR) AS profitability_quadrant,
    q.is_high_current_value,
    q.is_high_clv,
    CAST(COALESCE(m.customers, 0) AS BIGINT) AS customers,
    CAST(COALESCE(m.customers, 0) AS DOUBLE) / NULLIF(CAST(k.placed AS DOUBLE), 0e0) AS customer_share,
    CAST(COALESCE(m.current_value, 0) AS DECIMAL(38,2)) AS current_value,
    COALESCE(m.clv, 0e0) AS clv,
    k.value_measure,
    k.current_value_cutoff,
    CAST(k.current_value_cutoff_rule AS VARCHAR) AS current_value_cutoff_rule,
    k.clv_cutoff,
    CAST(k.clv_cutoff_rule AS VARCHAR) AS clv_cutoff_rule
  from quadrants AS q
  cross join run_cutoffs AS k
  left join members AS m on m.profitability_quadrant = q.profitability_quadrant
)

select * from final
