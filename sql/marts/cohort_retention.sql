-- question: Of the customers acquired in a month, how many still buy 1, 2, 3 … months later, and for how much?
-- grain: one row per acquisition cohort (calendar month of the first purchase occasion) and month since it, up to the as_of month
-- depends_on: customer_base, int_purchase_occasions, stg_transactions, history_checks
-- unique_key: cohort_month_on, months_since_first
-- note: Calendar months: months_since_first = 12 × (year − cohort year) + (month − cohort month). Month 0 is the
--   acquisition month, so its retention is 1. Every month up to the as_of month has a row, active or not; the as-of
--   month counts up to as_of.
-- note: Periods and purchase occasions: docs/definitions.md. Cohorts and activity count purchase occasions.
-- note: Partial periods are marked (history_checks): the first cohort, the month the history begins in, absorbs every customer who bought before the data began, unless each of its customers signed up (customers.signed_up_at) on or after the first day of the history; the as-of month counts up to as_of only.
-- column cohort_month_on date: First day of the month of the cohort's first purchase occasions.
-- column months_since_first integer: Calendar months since the cohort month (0 = the cohort month).
-- column month_start_on date: First day of the calendar month measured.
-- column cohort_customers bigint: Customers in the cohort.
-- column active_customers bigint: Cohort customers with a purchase occasion in the month.
-- column retention_rate double: active_customers / cohort_customers.
-- column revenue decimal(38,2): Net revenue of the cohort's customers in the month (refunds included).
-- column is_partial boolean: True when the row is partial (partial_reason).
-- column partial_reason varchar: first_cohort (the cohort absorbs customers acquired before the history began), as_of_month (the month measured counts up to as_of, before its last day), both as 'first_cohort, as_of_month', or NULL.
with digits as (
  select d from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS t(d)
),

month_offsets as (
  select hundreds.d * 100 + tens.d * 10 + units.d AS months_since_first
  from digits AS hundreds
  cross join digits AS tens
  cross join digits AS units
),

history as (
  -- The same date on every row of history_checks: read there, not from the order lines again.
  select MAX(history_from_on) AS history_from_on
  from history_checks
),

members as (
  select
    customer_id,
    CAST(date_trunc('month', first_order_on) AS DATE) AS cohort_month_on,
    signed_up_on
  from customer_base
  where first_order_on IS NOT NULL
),

cohorts as (
  select
    m.cohort_month_on,
    COUNT(*) AS cohort_customers,
    -- The history's first month: a customer without a sign-up date on or after its first day may have bought before.
    bool_or(
      m.cohort_month_on = CAST(date_trunc('month', h.history_from_on) AS DATE)
      and (m.signed_up_on IS NULL or m.signed_up_on < h.history_from_on)
    ) AS is_first_partial
  from members AS m
  cross join history AS h
  group by m.cohort_month_on
),

grid as (
  select
    c.cohort_month_on,
    m.months_since_first,
    c.cohort_customers,
    c.is_first_partial
  from cohorts AS c
  join month_offsets AS m
    on m.months_since_first <= (year({{ as_of }}) - year(c.cohort_month_on)) * 12
      + month({{ as_of }}) - month(c.cohort_month_on)
),

activity as (
  select
    m.cohort_month_on,
    (year(o.occasion_on) - year(m.cohort_month_on)) * 12 + month(o.occasion_on) - month(m.cohort_month_on)
      AS months_since_first,
    COUNT(DISTINCT o.customer_id) AS active_customers
  from int_purchase_occasions AS o
  join members AS m on m.customer_id = o.customer_id
  group by 1, 2
),

monthly_revenue as (
  select
    m.cohort_month_on,
    (year(t.ordered_on) - year(m.cohort_month_on)) * 12 + month(t.ordered_on) - month(m.cohort_month_on)
      AS months_since_first,
    SUM(t.amount) AS revenue
  from stg_transactions AS t
  join members AS m on m.customer_id = t.customer_id
  group by 1, 2
),

measured as (
  select
    g.cohort_month_on,
    CAST(g.months_since_first AS INTEGER) AS months_since_first,
    CAST(g.cohort_month_on + g.months_since_first * INTERVAL '1' MONTH AS DATE) AS month_start_on,
    CAST(g.cohort_customers AS BIGINT) AS cohort_customers,
    CAST(COALESCE(a.active_customers, 0) AS BIGINT) AS active_customers,
    CAST(COALESCE(a.active_customers, 0) AS DOUBLE) / g.cohort_customers AS retention_rate,
    CAST(COALESCE(r.revenue, 0) AS DECIMAL(38,2)) AS revenue,
    g.is_first_partial
  from grid AS g
  left join activity AS a
    on a.cohort_month_on = g.cohort_month_on and a.months_since_first = g.months_since_first
  left join monthly_revenue AS r
    on r.cohort_month_on = g.cohort_month_on and r.months_since_first = g.months_since_first
),

marked as (
  select
    measured.*,
    month_start_on = CAST(date_trunc('month', {{ as_of }}) AS DATE) and {{ as_of_month_is_partial }} AS is_last_partial
  from measured
),

final as (
  select
    cohort_month_on,
    months_since_first,
    month_start_on,
    cohort_customers,
    active_customers,
    retention_rate,
    revenue,
    is_first_partial or is_last_partial AS is_partial,
    CAST(
      CASE
        WHEN is_first_partial and is_last_partial THEN 'first_cohort, as_of_month'
        WHEN is_first_partial THEN 'first_cohort'
        WHEN is_last_partial THEN 'as_of_month'
      END AS VARCHAR
    ) AS partial_reason
  from marked
)

select * from final
