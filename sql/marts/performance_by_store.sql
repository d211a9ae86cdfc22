-- question: What sells in which store each month: revenue, margin, orders and customers?
-- grain: one row per calendar month and store_id with an order line on or before as_of (the as-of month up to as_of)
-- depends_on: stg_transactions, history_checks
-- unique_key: month_start_on, store_id
-- note: Periods: calendar months, the same months as the value window and the comparison period
--   (docs/definitions.md): the last periods.value_window_months rows of a key add up to its value-window figures.
-- note: Revenue and margin are net of refunds; orders and customers count purchase lines (amount > 0) only.
-- note: A missing store_id reads as 'unknown'.
-- note: Partial months are marked (history_checks): the as-of month before its last day, and the first month of the history (history_from_on, the first order line, product or not) when it begins after the 1st.
-- column month_start_on date: First day of the calendar month.
-- column store_id varchar: The store id.
-- column revenue decimal(38,2): Net revenue.
-- column gross_margin decimal(38,2): Gross margin, rounded to cents.
-- column units bigint: Net units.
-- column orders bigint: Distinct orders with a purchase line.
-- column customers bigint: Distinct customers with a purchase line.
-- column is_partial boolean: True when the lake sees the month only in part (partial_reason).
-- column partial_reason varchar: first_month (the history begins after the month's first day), as_of_month (the month counts up to as_of, before its last day), both as 'first_month, as_of_month', or NULL for a whole month.
with history as (
  -- The same date on every row of history_checks: read there, not from the order lines again.
  select MAX(history_from_on) AS history_from_on
  from history_checks
),

lines as (
  select
    CAST(date_trunc('month', ordered_on) AS DATE) AS month_start_on,
    store_id,
    customer_id,
    order_id,
    quantity,
    amount,
    line_margin
  from stg_transactions
),

monthly as (
  select
    month_start_on,
    store_id,
    CAST(SUM(amount) AS DECIMAL(38,2)) AS revenue,
    CAST(ROUND(SUM(line_margin), 2) AS DECIMAL(38,2)) AS gross_margin,
    CAST(SUM(quantity) AS BIGINT) AS units,
    CAST(COUNT(DISTINCT CASE WHEN amount > 0 THEN order_id END) AS BIGINT) AS orders,
    CAST(COUNT(DISTINCT CASE WHEN amount > 0 THEN customer_id END) AS BIGINT) AS customers
  from lines
  group by month_start_on, store_id
),

marked as (
  select
    m.*,
    m.month_start_on = CAST(date_trunc('month', h.history_from_on) AS DATE) and day(h.history_from_on) <> 1
      AS is_first_partial,
    m.month_start_on = CAST(date_trunc('month', {{ as_of }}) AS DATE) and {{ as_of_month_is_partial }} AS is_last_partial
  from monthly AS m
  cross join history AS h
),

final as (
  select
    month_start_on,
    store_id,
    revenue,
    gross_margin,
    units,
    orders,
    customers,
    is_first_partial or is_last_partial AS is_partial,
    CAST(
      CASE
        WHEN is_first_partial and is_last_partial THEN 'first_month, as_of_month'
        WHEN is_first_partial THEN 'first_month'
        WHEN is_last_partial THEN 'as_of_month'
      END AS VARCHAR
    ) AS partial_reason
  from marked
)

select * from final
