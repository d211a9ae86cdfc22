-- question: Which customers are the top 1 %, the big 4 %, the medium 15 % and the small 80 % by current value?
-- grain: one row per customer known at as_of
-- depends_on: int_customer_value
-- unique_key: customer_id
-- note: Current value is pyramid.value_measure (default gross margin) over the value window (default the 12 calendar
--   months ending with the as-of month; docs/definitions.md, Periods). Active = a purchase occasion in the window.
--   Tier rules, including how ties and small populations are handled, are in int_customer_value.
-- note: Ties: equal values share a rank and so a tier; see docs/definitions.md#ties.
-- column customer_id varchar: Customer id.
-- column value_tier varchar: top, big, medium, small (active customers by value), inactive (no purchase occasion in the window) or prospect (no order line at all).
-- column value_measure varchar: The measure used: gross_margin, net_revenue or net_profit.
-- column value decimal(38,2): Current value (the measure over the window).
-- column value_rank bigint: Rank by value among active customers (1 = most valuable; equal values share the lowest rank among them), NULL when not active.
-- column active_customers bigint: Active customers at as_of.
-- column revenue decimal(38,2): Net revenue in the value window.
-- column gross_margin decimal(38,2): Gross margin in the value window.
-- column net_profit decimal(38,2): Net profit in the value window (gross margin − cost to serve).
with final as (
  select
    customer_id,
    value_tier,
    CAST({{ pyramid.value_measure }} AS VARCHAR) AS value_measure,
    value,
    value_rank,
    active_customers,
    revenue,
    gross_margin,
    net_profit
  from int_customer_value
  where period = 'current'
)

select * from final
