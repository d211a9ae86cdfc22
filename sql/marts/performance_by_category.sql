-- question: What sells in which category each month: revenue, margin, orders and customers?
-- grain: one row per calendar month and category with an order line on or before as_of (the as-of month up to as_of)
-- depends_on: stg_transactions
-- unique_key: month_start_on, category
-- note: Periods: calendar months, the same months as the value window and the comparison period
--   (docs/definitions.md): the last periods.value_window_months rows of a key add up to its value-window figures.
-- note: Revenue and margin are net of refunds; orders and customers count purchase lines (amount > 0) only.
-- note: A missing category reads as 'unknown'.
-- column month_start_on date: First day of the calendar month.
-- column category varchar: Product category of the order lines.
-- column revenue decimal(38,2): Net revenue.
-- column gross_margin decimal(38,2): Gross margin, rounded to cents.
-- column units bigint: Net units.
-- column orders bigint: Distinct orders with a purchase line.
-- column customers bigint: Distinct customers with a purchase line.
with lines as (
  select
    CAST(date_trunc('month', ordered_on) AS DATE) AS month_start_on,
    category,
    customer_id,
    order_id,
    quantity,
    amount,
    line_margin
  from stg_transactions
),

final as (
  select
    month_start_on,
    category,
    CAST(SUM(amount) AS DECIMAL(38,2)) AS revenue,
    CAST(ROUND(SUM(line_margin), 2) AS DECIMAL(38,2)) AS gross_margin,
    CAST(SUM(quantity) AS BIGINT) AS units,
    CAST(COUNT(DISTINCT CASE WHEN amount > 0 THEN order_id END) AS BIGINT) AS orders,
    CAST(COUNT(DISTINCT CASE WHEN amount > 0 THEN customer_id END) AS BIGINT) AS customers
  from lines
  group by month_start_on, category
)

select * from final
