-- question: When did each customer make a purchase: one row per purchase occasion, the unit every customer model counts?
-- grain: one row per customer and purchase occasion on or before as_of (occasions.unit: a day or an order)
-- depends_on: stg_transactions
-- unique_key: customer_id, occasion_key
-- note: Purchase occasion (docs/definitions.md): with occasions.unit = 'day' (default), a day on which the customer
--   has purchase lines (amount > 0); with 'order', an order with purchase lines, dated by its first one. Refunds
--   never cancel an occasion (an exchange whose refund exceeds the purchase is still one); returns are counted apart
--   (customer_base.return_orders, returned_amount).
-- note: RFM frequency, the life cycle, the pyramid's activity and cohort activity all count these rows.
-- column customer_id varchar: Customer id.
-- column occasion_key varchar: The occasion: its day as YYYY-MM-DD (unit day) or its order_id (unit order).
-- column occasion_on date: Date of the occasion (of its first purchase line).
-- column purchase_lines bigint: Purchase lines (amount > 0) in the occasion.
-- column purchase_amount decimal(38,2): Sum of those lines' amounts (refunds not subtracted).
with purchase_lines as (
  select
    customer_id,
    CASE WHEN {{ occasions.unit }} = 'order' THEN order_id ELSE CAST(ordered_on AS VARCHAR) END AS occasion_key,
    ordered_on,
    amount
  from stg_transactions
  where amount > 0
),

final as (
  select
    customer_id,
    occasion_key,
    MIN(ordered_on) AS occasion_on,
    CAST(COUNT(*) AS BIGINT) AS purchase_lines,
    CAST(SUM(amount) AS DECIMAL(38,2)) AS purchase_amount
  from purchase_lines
  group by customer_id, occasion_key
)

select * from final
