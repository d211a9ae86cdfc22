-- question: How many customers, and how much revenue and margin, does each tier of the customer pyramid hold?
-- grain: one row per value tier (always six rows: top, big, medium, small, inactive, prospect)
-- depends_on: int_customer_value, int_value_tiers
-- unique_key: value_tier
-- note: Shares are of all customers known at as_of and of the total revenue and margin of the value window;
--   a share is NULL when its total is 0.
-- note: Ties share a tier (docs/definitions.md#ties); the value window is a period of calendar months (docs/definitions.md#periods).
-- column tier_order integer: 1 (top) to 6 (prospect), for sorting.
-- column value_tier varchar: top, big, medium, small, inactive or prospect (int_value_tiers).
-- column tier_share decimal(9,6): Share of the active customers the tier is defined to take (pyramid.top_share, …;
--   small takes the rest), NULL for inactive and prospect. Rank cut-offs round up, so customers may differ slightly.
-- column customers bigint: Customers in the tier.
-- column customer_share double: customers / all customers.
-- column revenue decimal(38,2): Net revenue of the tier's customers in the value window.
-- column revenue_share double: revenue / total revenue.
-- column gross_margin decimal(38,2): Gross margin of the tier's customers in the value window.
-- column margin_share double: gross_margin / total gross margin.
with tiers as (
  select tier_order, value_tier, tier_share from int_value_tiers
),

current_value as (
  select value_tier, revenue, gross_margin
  from int_customer_value
  where period = 'current'
),

per_tier as (
  select
    value_tier,
    COUNT(*) AS customers,
    SUM(revenue) AS revenue,
    SUM(gross_margin) AS gross_margin
  from current_value
  group by value_tier
),

totals as (
  select
    COUNT(*) AS customers,
    SUM(revenue) AS revenue,
    SUM(gross_margin) AS gross_margin
  from current_value
),

final as (
  select
    CAST(t.tier_order AS INTEGER) AS tier_order,
    t.value_tier,
    t.tier_share,
    CAST(COALESCE(p.customers, 0) AS BIGINT) AS customers,
    CAST(COALESCE(p.customers, 0) AS DOUBLE) / NULLIF(x.customers, 0) AS customer_share,
    CAST(COALESCE(p.revenue, 0) AS DECIMAL(38,2)) AS revenue,
    CAST(COALESCE(p.revenue, 0) AS DOUBLE) / NULLIF(CAST(x.revenue AS DOUBLE), 0e0) AS revenue_share,
    CAST(COALESCE(p.gross_margin, 0) AS DECIMAL(38,2)) AS gross_margin,
    CAST(COALESCE(p.gross_margin, 0) AS DOUBLE) / NULLIF(CAST(x.gross_margin AS DOUBLE), 0e0) AS margin_share
  from tiers AS t
  cross join totals AS x
  left join per_tier AS p on p.value_tier = t.value_tier
)

select * from final
