-- question: Are we growing through more, longer and deeper customer relationships (the three growth levers)?
-- grain: one row per run (the comparison period ending at as_of: periods.comparison_months calendar months ending with the as-of month)
-- depends_on: customer_lifecycle, customer_base, int_purchase_occasions, stg_transactions, data_capabilities
-- unique_key: period_end_on
-- note: Periods, purchase occasions and stages: docs/definitions.md. The period is (comparison_as_of, as_of]:
--   periods.comparison_months calendar months (default 3) ending with the as-of month. D = lifecycle.lapsed_after_days,
--   at least 31 × comparison_months (the config checks it), so nobody lapses twice in one period.
-- note: A customer is active at a date when they have a purchase occasion in the D days up to it; they lapse on the
--   day their latest occasion becomes more than D days old, and return with their next occasion.
-- note: More: new customers (first occasion in the period), won-back customers (a return in the period), lost customers
--   (active at the period start and lapsed during the period: some of them returned and are won back too).
--   net_customer_change = new + won back − lost = active_at_end − active_at_start.
-- note: Longer: average relationship length (first to latest occasion) and the churn rate: lost customers / customers
--   active at the period start (at most 1: every lost customer was active at the start).
-- note: Deeper: categories per buying customer, the share buying two or more categories, and the cross-sell rate:
--   of customers who bought before the period and again in it, the share who bought a category new to them.
-- note: Without categories (data_capabilities: no product line has one, every line reads 'unknown') the deeper
--   measures cannot be measured: avg_categories, multi_category_share, cross_sold_customers and cross_sell_rate are
--   NULL and deeper_null_reason says why (one 'unknown' category per customer is not a fact about customers).
-- column period_start_on date: Exclusive start of the period (comparison_as_of).
-- column period_end_on date: End of the period (as_of).
-- column customers bigint: Customers with an order line (not prospects).
-- column prospects bigint: Prospects.
-- column first_time_customers bigint: Customers in stage first_time.
-- column repeat_customers bigint: Customers in stage repeat.
-- column loyal_customers bigint: Customers in stage loyal.
-- column lapsed_customers bigint: Customers in stage lapsed.
-- column won_back_customers bigint: Customers in stage won_back (equal to won_back_in_period).
-- column new_customers bigint: More: customers whose first purchase occasion is in the period.
-- column won_back_in_period bigint: More: customers with a return (an occasion more than D days after the one before it) in the period.
-- column lost_customers bigint: More: customers active at the period start who lapsed during the period.
-- column net_customer_change bigint: new_customers + won_back_in_period − lost_customers.
-- column avg_relationship_days double: Longer: average days from first to latest purchase occasion, over buying customers.
-- column active_at_start bigint: Longer: customers with a purchase occasion in the D days up to the period start.
-- column active_at_end bigint: Customers with a purchase occasion in the D days up to as_of (= active_at_start + net_customer_change).
-- column churn_rate double: Longer: lost_customers / active_at_start, NULL when no one was active.
-- column avg_categories double: Deeper: average distinct categories bought, over buying customers.
-- column multi_category_share double: Deeper: share of buying customers with two or more categories.
-- column cross_sell_base bigint: Deeper: customers who bought before the period and again in it.
-- column cross_sold_customers bigint: Deeper: of those, customers who bought a category in the period they had never bought before.
-- column cross_sell_rate double: cross_sold_customers / cross_sell_base, NULL when the base is empty.
-- column deeper_null_reason varchar: Why avg_categories, multi_category_share, cross_sold_customers and cross_sell_rate are NULL when they cannot be measured (data_capabilities); NULL otherwise.
with occasions as (
  select
    customer_id,
    occasion_on,
    LAG(occasion_on) OVER (PARTITION BY customer_id ORDER BY occasion_on) AS previous_on,
    LEAD(occasion_on) OVER (PARTITION BY customer_id ORDER BY occasion_on) AS next_on
  from int_purchase_occasions
),

per_customer as (
  select
    customer_id,
    MIN(occasion_on) > {{ comparison_as_of }} AS is_new,
    bool_or(
      occasion_on <= {{ comparison_as_of }}
      and date_diff('day', occasion_on, {{ comparison_as_of }}) <= {{ lifecycle.lapsed_after_days }}
    ) AS is_active_at_start,
    bool_or(date_diff('day', occasion_on, {{ as_of }}) <= {{ lifecycle.lapsed_after_days }}) AS is_active_at_end,
    bool_or(
      occasion_on > {{ comparison_as_of }}
      and date_diff('day', previous_on, occasion_on) > {{ lifecycle.lapsed_after_days }}
    ) AS has_returned,
    -- The lapse of an occasion at or before the start with no next one within D days falls in the period.
    bool_or(
      occasion_on <= {{ comparison_as_of }}
      and date_diff('day', occasion_on, {{ comparison_as_of }}) <= {{ lifecycle.lapsed_after_days }}
      and date_diff('day', occasion_on, {{ as_of }}) > {{ lifecycle.lapsed_after_days }}
      and (next_on IS NULL or date_diff('day', occasion_on, next_on) > {{ lifecycle.lapsed_after_days }})
    ) AS has_lapsed
  from occasions
  group by customer_id
),

levers as (
  select
    COUNT(CASE WHEN is_new THEN 1 END) AS new_customers,
    COUNT(CASE WHEN has_returned THEN 1 END) AS won_back_in_period,
    COUNT(CASE WHEN has_lapsed and is_active_at_start THEN 1 END) AS lost_customers,
    COUNT(CASE WHEN is_active_at_start THEN 1 END) AS active_at_start,
    COUNT(CASE WHEN is_active_at_end THEN 1 END) AS active_at_end
  from per_customer
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

categories as (
  select available AS is_available, reason
  from data_capabilities
  where dimension = 'categories'
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
    CAST(v.new_customers AS BIGINT) AS new_customers,
    CAST(v.won_back_in_period AS BIGINT) AS won_back_in_period,
    CAST(v.lost_customers AS BIGINT) AS lost_customers,
    CAST(v.new_customers + v.won_back_in_period - v.lost_customers AS BIGINT) AS net_customer_change,
    s.avg_relationship_days,
    CAST(v.active_at_start AS BIGINT) AS active_at_start,
    CAST(v.active_at_end AS BIGINT) AS active_at_end,
    CAST(v.lost_customers AS DOUBLE) / NULLIF(v.active_at_start, 0) AS churn_rate,
    CASE WHEN c.is_available THEN d.avg_categories END AS avg_categories,
    CASE WHEN c.is_available THEN d.multi_category_share END AS multi_category_share,
    CAST(x.cross_sell_base AS BIGINT) AS cross_sell_base,
    CAST(CASE WHEN c.is_available THEN x.cross_sold_customers END AS BIGINT) AS cross_sold_customers,
    CASE WHEN c.is_available THEN CAST(x.cross_sold_customers AS DOUBLE) / NULLIF(x.cross_sell_base, 0) END
      AS cross_sell_rate,
    CAST(CASE WHEN NOT c.is_available THEN 'categories: ' || c.reason END AS VARCHAR) AS deeper_null_reason
  from stages AS s
  cross join levers AS v
  cross join depth AS d
  cross join cross_sell AS x
  cross join categories AS c
)

select * from final
