-- question: How did customers move between pyramid tiers over the comparison period (default the 3 calendar months ending with the as-of month)?
-- grain: one row per (tier at comparison_as_of, tier at as_of): always 36 rows
-- depends_on: int_customer_value, int_value_tiers
-- unique_key: previous_tier, current_tier
-- note: Both tiers are computed in the same run with the same rules, at as_of and at comparison_as_of
--   (the last day before the comparison period: periods.comparison_months calendar months ending with the as-of
--   month; docs/definitions.md, Periods). A customer not yet known at comparison_as_of counts as a prospect then
--   (the tier without history in int_value_tiers).
-- column previous_tier_order integer: 1 (top) to 6 (prospect), for sorting.
-- column previous_tier varchar: Tier at comparison_as_of.
-- column current_tier_order integer: 1 (top) to 6 (prospect), for sorting.
-- column current_tier varchar: Tier at as_of.
-- column customers bigint: Customers who moved from previous_tier to current_tier.
-- column revenue decimal(38,2): Their net revenue in the current value window.
-- column previous_revenue decimal(38,2): Their net revenue in the value window ending at comparison_as_of.
with tiers as (
  select tier_order, value_tier from int_value_tiers
),

unknown_tier as (
  select value_tier from int_value_tiers where NOT has_history
),

current_value as (
  select customer_id, value_tier, revenue from int_customer_value where period = 'current'
),

previous_value as (
  select customer_id, value_tier, revenue from int_customer_value where period = 'comparison'
),

moves as (
  select
    COALESCE(p.value_tier, u.value_tier) AS previous_tier,
    c.value_tier AS current_tier,
    COUNT(*) AS customers,
    SUM(c.revenue) AS revenue,
    SUM(COALESCE(p.revenue, CAST(0 AS DECIMAL(38,2)))) AS previous_revenue
  from current_value AS c
  cross join unknown_tier AS u
  left join previous_value AS p on p.customer_id = c.customer_id
  group by 1, 2
),

final as (
  select
    CAST(pt.tier_order AS INTEGER) AS previous_tier_order,
    pt.value_tier AS previous_tier,
    CAST(ct.tier_order AS INTEGER) AS current_tier_order,
    ct.value_tier AS current_tier,
    CAST(COALESCE(m.customers, 0) AS BIGINT) AS customers,
    CAST(COALESCE(m.revenue, 0) AS DECIMAL(38,2)) AS revenue,
    CAST(COALESCE(m.previous_revenue, 0) AS DECIMAL(38,2)) AS previous_revenue
  from tiers AS pt
  cross join tiers AS ct
  left join moves AS m on m.previous_tier = pt.value_tier and m.current_tier = ct.value_tier
)

select * from final
