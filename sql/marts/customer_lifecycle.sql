-- question: Where is each customer in their life with us: prospect, first-time buyer, repeat, loyal, lapsed or won back?
-- grain: one row per customer known at as_of
-- depends_on: customer_base, int_customer_orders
-- unique_key: customer_id
-- note: Rules, first match wins (D = lifecycle.lapsed_after_days, default 365; N = lifecycle.loyal_min_orders, default 4):
--   prospect: no order line on or before as_of;
--   lapsed: no purchase order in the last D days (recency_days > D), or refunds only;
--   won_back: the latest purchase order came more than D days after the one before it;
--   first_time: one purchase order;
--   loyal: at least N purchase orders;
--   repeat: 2 to N − 1 purchase orders.
-- note: D = 365 follows the 12-month active-buyer window of direct marketing; N = 4 is a conventional retail
--   threshold (a customer past the third order). Tune both per business in the config.
-- column customer_id varchar: Customer id.
-- column lifecycle_stage varchar: prospect, first_time, repeat, loyal, lapsed or won_back.
-- column orders bigint: Purchase orders.
-- column first_order_on date: Date of the first purchase order.
-- column last_order_on date: Date of the latest purchase order.
-- column previous_order_on date: Date of the purchase order day before last_order_on, NULL when there is none.
-- column recency_days bigint: Days from last_order_on to as_of.
-- column last_gap_days bigint: Days from previous_order_on to last_order_on.
-- column relationship_days bigint: Days from first_order_on to last_order_on.
with purchase_days as (
  select distinct customer_id, ordered_on
  from int_customer_orders
  where is_purchase
),

latest_two as (
  select
    customer_id,
    ordered_on,
    LAG(ordered_on) OVER (PARTITION BY customer_id ORDER BY ordered_on) AS previous_on,
    ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY ordered_on DESC) AS day_rank
  from purchase_days
),

last_gap as (
  select customer_id, previous_on AS previous_order_on
  from latest_two
  where day_rank = 1
),

final as (
  select
    b.customer_id,
    CAST(
      CASE
        WHEN b.is_prospect THEN 'prospect'
        WHEN b.orders = 0 OR b.recency_days > {{ lifecycle.lapsed_after_days }} THEN 'lapsed'
        WHEN date_diff('day', g.previous_order_on, b.last_order_on) > {{ lifecycle.lapsed_after_days }} THEN 'won_back'
        WHEN b.orders = 1 THEN 'first_time'
        WHEN b.orders >= {{ lifecycle.loyal_min_orders }} THEN 'loyal'
        ELSE 'repeat'
      END AS VARCHAR
    ) AS lifecycle_stage,
    b.orders,
    b.first_order_on,
    b.last_order_on,
    g.previous_order_on,
    b.recency_days,
    date_diff('day', g.previous_order_on, b.last_order_on) AS last_gap_days,
    date_diff('day', b.first_order_on, b.last_order_on) AS relationship_days
  from customer_base AS b
  left join last_gap AS g on g.customer_id = b.customer_id
)

select * from final
