-- question: Who are our customers and what has each bought so far: when, how often, how much, at what margin?
-- grain: one row per customer (on file or with a transaction on or before as_of)
-- depends_on: stg_transactions, stg_customers, int_customer_orders, int_purchase_occasions, data_capabilities
-- unique_key: customer_id
-- note: First and last order dates, recency and tenure are those of purchase occasions (occasions.unit, default a day
--   with purchase lines, whatever was refunded: docs/definitions.md); orders count orders with a purchase line.
-- note: Money columns are net of refunds. A prospect (no line at all) has zeros and NULL dates.
-- note: A customer whose only lines are refunds is not a prospect: orders = 0, net_revenue < 0.
-- note: categories and channels count known values only ('unknown' is not a category). When no product line of the run
--   carries the dimension at all (data_capabilities, with the reason), the column is NULL for every customer rather than
--   a count that reads as a fact.
-- column customer_id varchar: Customer id.
-- column is_prospect boolean: True when the customer has no order line on or before as_of.
-- column signed_up_on date: Sign-up date from the customers dataset, NULL when unknown.
-- column first_order_on date: Date of the first purchase occasion, NULL when none.
-- column last_order_on date: Date of the latest purchase occasion, NULL when none.
-- column orders bigint: Purchase orders (orders with a line of amount > 0).
-- column occasions bigint: Purchase occasions (int_purchase_occasions): RFM frequency and the life cycle count these.
-- column order_days bigint: Distinct days with a purchase order.
-- column return_orders bigint: Orders with at least one refunded line.
-- column lines bigint: Order lines, refunds included.
-- column units bigint: Net units (returned units count negative).
-- column net_revenue decimal(38,2): Sum of line amounts (refunds subtracted).
-- column cost_of_goods decimal(38,2): net_revenue − gross_margin.
-- column gross_margin decimal(38,2): Sum of line margins (cost given, or amount × margin.default_rate), rounded to cents.
-- column returned_amount decimal(38,2): Money refunded (positive).
-- column discounts decimal(38,2): Discounts granted.
-- column categories bigint: Distinct known categories bought (lines with amount > 0); NULL when the run has no categories (data_capabilities).
-- column channels bigint: Distinct known channels bought through (lines with amount > 0); NULL when the run has no channels (data_capabilities).
-- column tenure_days bigint: Days from the first purchase occasion to as_of, NULL when none.
-- column recency_days bigint: Days from the latest purchase occasion to as_of, NULL when none.
with known_customers as (
  select customer_id from stg_customers
  union
  select customer_id from stg_transactions
),

line_totals as (
  select
    customer_id,
    COUNT(*) AS lines,
    CAST(SUM(quantity) AS BIGINT) AS units,
    SUM(amount) AS net_revenue,
    SUM(line_margin) AS gross_margin,
    SUM(CASE WHEN is_return_line THEN -amount ELSE CAST(0 AS DECIMAL(38,2)) END) AS returned_amount,
    SUM(discount) AS discounts,
    COUNT(DISTINCT CASE WHEN amount > 0 AND category <> 'unknown' THEN category END) AS categories,
    COUNT(DISTINCT CASE WHEN amount > 0 AND channel <> 'unknown' THEN channel END) AS channels
  from stg_transactions
  group by customer_id
),

order_totals as (
  select
    customer_id,
    COUNT(CASE WHEN is_purchase THEN 1 END) AS orders,
    COUNT(DISTINCT CASE WHEN is_purchase THEN ordered_on END) AS order_days,
    COUNT(CASE WHEN is_return THEN 1 END) AS return_orders
  from int_customer_orders
  group by customer_id
),

occasion_totals as (
  select
    customer_id,
    MIN(occasion_on) AS first_order_on,
    MAX(occasion_on) AS last_order_on,
    COUNT(*) AS occasions
  from int_purchase_occasions
  group by customer_id
),

capabilities as (
  select
    MAX(CASE WHEN dimension = 'categories' AND available THEN 1 ELSE 0 END) = 1 AS has_categories,
    MAX(CASE WHEN dimension = 'channels' AND available THEN 1 ELSE 0 END) = 1 AS has_channels
  from data_capabilities
),

final as (
  select
    k.customer_id,
    l.customer_id IS NULL AS is_prospect,
    c.signed_up_on,
    p.first_order_on,
    p.last_order_on,
    CAST(COALESCE(o.orders, 0) AS BIGINT) AS orders,
    CAST(COALESCE(p.occasions, 0) AS BIGINT) AS occasions,
    CAST(COALESCE(o.order_days, 0) AS BIGINT) AS order_days,
    CAST(COALESCE(o.return_orders, 0) AS BIGINT) AS return_orders,
    CAST(COALESCE(l.lines, 0) AS BIGINT) AS lines,
    CAST(COALESCE(l.units, 0) AS BIGINT) AS units,
    CAST(COALESCE(l.net_revenue, 0) AS DECIMAL(38,2)) AS net_revenue,
    CAST(COALESCE(l.net_revenue, 0) - CAST(ROUND(COALESCE(l.gross_margin, 0), 2) AS DECIMAL(38,2)) AS DECIMAL(38,2))
      AS cost_of_goods,
    CAST(ROUND(COALESCE(l.gross_margin, 0), 2) AS DECIMAL(38,2)) AS gross_margin,
    CAST(COALESCE(l.returned_amount, 0) AS DECIMAL(38,2)) AS returned_amount,
    CAST(COALESCE(l.discounts, 0) AS DECIMAL(38,2)) AS discounts,
    CAST(CASE WHEN x.has_categories THEN COALESCE(l.categories, 0) END AS BIGINT) AS categories,
    CAST(CASE WHEN x.has_channels THEN COALESCE(l.channels, 0) END AS BIGINT) AS channels,
    date_diff('day', p.first_order_on, {{ as_of }}) AS tenure_days,
    date_diff('day', p.last_order_on, {{ as_of }}) AS recency_days
  from known_customers AS k
  left join stg_customers AS c on c.customer_id = k.customer_id
  left join line_totals AS l on l.customer_id = k.customer_id
  left join order_totals AS o on o.customer_id = k.customer_id
  left join occasion_totals AS p on p.customer_id = k.customer_id
  cross join capabilities AS x
)

select * from final
