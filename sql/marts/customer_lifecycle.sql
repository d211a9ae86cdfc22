-- question: Where is each customer in their life with us: prospect, first-time buyer, repeat, loyal, lapsed or won back?
-- grain: one row per customer known at as_of
-- depends_on: customer_base, int_purchase_occasions
-- unique_key: customer_id
-- note: Stages are states at as_of, counted in purchase occasions (docs/definitions.md: Purchase occasion, Periods,
--   Life-cycle stages). D = lifecycle.lapsed_after_days (default 365), N = lifecycle.loyal_min_occasions (default 4).
-- note: Rules, first match wins:
--   prospect: no order line on or before as_of;
--   lapsed: no purchase occasion in the last D days (recency_days > D), or refunds only;
--   won_back: the customer returned (an occasion more than D days after the one before it) in the comparison
--     period (periods.comparison_months calendar months ending with the as-of month), whatever they bought since;
--   first_time: one purchase occasion;
--   loyal: at least N purchase occasions;
--   repeat: 2 to N − 1 purchase occasions.
-- note: D = 365 follows the 12-month active-buyer window of direct marketing; N = 4 is a conventional retail
--   threshold (a customer past the third purchase). Tune both per business in the config.
-- column customer_id varchar: Customer id.
-- column lifecycle_stage varchar: prospect, first_time, repeat, loyal, lapsed or won_back.
-- column occasions bigint: Purchase occasions.
-- column first_order_on date: Date of the first purchase occasion.
-- column last_order_on date: Date of the latest purchase occasion.
-- column previous_order_on date: Date of the purchase occasion before last_order_on, NULL when there is none.
-- column returned_on date: Date of the latest return (an occasion more than D days after the one before it), NULL when none.
-- column recency_days bigint: Days from last_order_on to as_of.
-- column last_gap_days bigint: Days from previous_order_on to last_order_on.
-- column relationship_days bigint: Days from first_order_on to last_order_on.
with gaps as (
  select
    customer_id,
    occasion_on,
    LAG(occasion_on) OVER (PARTITION BY customer_id ORDER BY occasion_on) AS previous_on,
    ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY occasion_on DESC) AS occasion_rank
  from int_purchase_occasions
),

per_customer as (
  select
    customer_id,
    MAX(CASE WHEN occasion_rank = 1 THEN previous_on END) AS previous_order_on,
    MAX(CASE WHEN date_diff('day', previous_on, occasion_on) > {{ lifecycle.lapsed_after_days }} THEN occasion_on END)
      AS returned_on
  from gaps
  group by customer_id
),

final as (
  select
    b.customer_id,
    CAST(
      CASE
        WHEN b.is_prospect THEN 'prospect'
        WHEN b.occasions = 0 OR b.recency_days > {{ lifecycle.lapsed_after_days }} THEN 'lapsed'
        WHEN g.returned_on > {{ comparison_as_of }} THEN 'won_back'
        WHEN b.occasions = 1 THEN 'first_time'
        WHEN b.occasions >= {{ lifecycle.loyal_min_occasions }} THEN 'loyal'
        ELSE 'repeat'
      END AS VARCHAR
    ) AS lifecycle_stage,
    b.occasions,
    b.first_order_on,
    b.last_order_on,
    g.previous_order_on,
    g.returned_on,
    b.recency_days,
    date_diff('day', g.previous_order_on, b.last_order_on) AS last_gap_days,
    date_diff('day', b.first_order_on, b.last_order_on) AS relationship_days
  from customer_base AS b
  left join per_customer AS g on g.customer_id = b.customer_id
)

select * from final
