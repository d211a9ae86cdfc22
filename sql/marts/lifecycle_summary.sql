-- question: Are we growing through more, longer and deeper customer relationships (the three growth levers)?
-- grain: one row per run (the comparison period ending at as_of)
-- depends_on: customer_lifecycle, customer_base, int_customer_orders, stg_transactions
-- unique_key: period_end_on
-- note: The period is (comparison_as_of, as_of]: the last periods.comparison_days days (default 90). D = lifecycle.lapsed_after_days.
-- note: More: new customers (first purchase in the period), won-back customers (a purchase in the period more than D
--   days after the one before), lost customers (not lapsed at the period start, lapsed at its end).
-- note: Longer: average relationship length (first to latest purchase) and the churn rate: lost customers / customers
--   active at the period start (a purchase in the D days up to it).
-- note: Deeper: categories per buying customer, the share buying two or more categories, and the cross-sell rate:
--   of customers who bought before the period and again in it, the share who bought a category new to them.
-- column period_start_on date: Exclusive start of the period (comparison_as_of).
-- column period_end_on date: End of the period (as_of).
-- column customers bigint: Customers with an order line (not prospects).
-- column prospects bigint: Prospects.
-- column first_time_customers bigint: Customers in stage first_time.
-- column repeat_customers bigint: Customers in stage repeat.
-- column loyal_customers bigint: Customers in stage loyal.
-- column lapsed_customers bigint: Customers in stage lapsed.
-- column won_back_customers bigint: Customers in stage won_back.
-- column new_customers bigint: More: customers whose first purchase order is in the period.
-- column won_back_in_period bigint: More: customers with a purchase order in the period more than D days after their previous one.
-- column lost_customers bigint: More: customers not lapsed at the period start and lapsed at its end.
-- column net_customer_change bigint: new_customers + won_back_in_period − lost_customers.
-- column avg_relationship_days double: Longer: average days from first to latest purchase order, over buying customers.
-- column active_at_start bigint: Longer: customers with a purchase order in the D days up to the period start.
-- column churn_rate double: Longer: lost_customers / active_at_start, NULL when no one was active.
-- column avg_categories double: Deeper: average distinct categories bought, over buying customers.
-- column multi_category_share double: Deeper: share of buying customers with two or more categories.
-- column cross_sell_base bigint: Deeper: customers who bought before the period and again in it.
-- column cross_sold_customers bigint: Deeper: of those, customers who bought a category in the period they had never bought before.
-- column cross_sell_rate double: cross_sold_customers / cross_sell_base, NULL when the base is empty.
with purchase_days as (
  select distinct customer_id, ordered_on
  from int_customer_orders
  where is_purchase
),

gaps as (
  select
    customer_id,
    ordered_on,
    LAG(ordered_on) OVER (PARTITION BY customer_id ORDER BY ordered_on) AS previous_on
  from purchase_days
),

won_back as (
  select COUNT(DISTINCT customer_id) AS won_back_in_period
  from gaps
  where ordered_on > {{ comparison_as_of }}
    and date_diff('day', previous_on, ordered_on) > {{ lifecycle.lapsed_after_days }}
),

active_at_start as (
  select COUNT(DISTINCT customer_id) AS active_at_start
  from purchase_days
  where ordered_on <= {{ comparison_as_of }}
    and date_diff('day', ordered_on, {{ comparison_as_of }}) <= {{ lifecycle.lapsed_after_days }}
),

stages as (
  select
    COUNT(CASE WHEN lifecycle_stage <> 'prospect' THEN 1 END) AS customers,
    COUNT(CASE WHEN lifecycle_stage = 'prospect' THEN 1 END) AS prospects,
    COUNT(CASE WHEN lifecycle_stage = 'first_time' THEN 1 END) AS first_time_customers,
    COUNT(CASE WHEN lifecycle_stage = 'repeat' THEN 1 END) AS repeat_customers,
    COUNT(CASE WHEN lifecycle_stage = 'loyal' THEN 1 END) AS loyal_customers,
    COUNT(CASE WHEN lifecycle_stage = 'lapsed' THEN 1 END) AS lapsed_customers,
    COUNT(CASE WHEN lifecycle_stage = 'won_back' THEN 1 END) AS won_back_customers,
    COUNT(CASE WHEN first_order_on > {{ comparison_as_of }} THEN 1 END) AS new_customers,
    COUNT(CASE WHEN
      orders > 0
      and recency_days > {{ lifecycle.lapsed_after_days }}
      and date_diff('day', last_order_on, {{ comparison_as_of }}) <= {{ lifecycle.lapsed_after_days }}
    THEN 1 END) AS lost_customers,
    AVG(CAST(relationship_days AS DOUBLE)) AS avg_relationship_days
  from customer_lifecycle
),

depth as (
  select
    AVG(CAST(categories AS DOUBLE)) AS avg_categories,
    AVG(CASE WHEN categories >= 2 THEN 1e0 ELSE 0e0 END) AS multi_category_share
  from customer_base
  where orders > 0
),

first_category_purchase as (
  select customer_id, category, MIN(ordered_on) AS first_bought_on
  from stg_transactions
  where amount > 0
  group by customer_id, category
),

cross_sell as (
  select
    COUNT(*) AS cross_sell_base,
    COUNT(CASE WHEN has_new_category THEN 1 END) AS cross_sold_customers
  from (
    select
      f.customer_id,
      bool_or(f.first_bought_on > {{ comparison_as_of }}) AS has_new_category
    from first_category_purchase AS f
    join customer_base AS b on b.customer_id = f.customer_id
    where b.first_order_on <= {{ comparison_as_of }}
      and b.last_order_on > {{ comparison_as_of }}
    group by f.customer_id
  ) AS returning_buyers
),

final as (
  select
    {{ comparison_as_of }} AS period_start_on,
    {{ as_of }} AS period_end_on,
    CAST(s.customers AS BIGINT) AS customers,
    CAST(s.prospects AS BIGINT) AS prospects,
    CAST(s.first_time_customers AS BIGINT) AS first_time_customers,
    CAST(s.repeat_customers AS BIGINT) AS repeat_customers,
    CAST(s.loyal_customers AS BIGINT) AS loyal_customers,
    CAST(s.lapsed_customers AS BIGINT) AS lapsed_customers,
    CAST(s.won_back_customers AS BIGINT) AS won_back_customers,
    CAST(s.new_customers AS BIGINT) AS new_customers,
    CAST(w.won_back_in_period AS BIGINT) AS won_back_in_period,
    CAST(s.lost_customers AS BIGINT) AS lost_customers,
    CAST(s.new_customers + w.won_back_in_period - s.lost_customers AS BIGINT) AS net_customer_change,
    s.avg_relationship_days,
    CAST(a.active_at_start AS BIGINT) AS active_at_start,
    CAST(s.lost_customers AS DOUBLE) / NULLIF(a.active_at_start, 0) AS churn_rate,
    d.avg_categories,
    d.multi_category_share,
    CAST(x.cross_sell_base AS BIGINT) AS cross_sell_base,
    CAST(x.cross_sold_customers AS BIGINT) AS cross_sold_customers,
    CAST(x.cross_sold_customers AS DOUBLE) / NULLIF(x.cross_sell_base, 0) AS cross_sell_rate
  from stages AS s
  cross join won_back AS w
  cross join active_at_start AS a
  cross join depth AS d
  cross join cross_sell AS x
)

select * from final
