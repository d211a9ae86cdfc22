-- question: What did each order of each customer amount to, and was it a purchase or a return?
-- grain: one row per customer and order
-- depends_on: stg_transactions
-- unique_key: customer_id, order_id
-- note: A purchase order has at least one purchase line (amount > 0), whatever was refunded with it; a return order
--   has at least one refunded line (amount < 0); an exchange is both. Purchase occasions: docs/definitions.md.
-- note: An order whose lines span several days is dated by its first line.
-- column customer_id varchar: Customer id.
-- column order_id varchar: Order id.
-- column ordered_on date: Date of the order's first line.
-- column lines bigint: Order lines.
-- column units bigint: Net units (returned units count negative).
-- column net_amount decimal(38,2): Net revenue of the order (refunds subtracted).
-- column margin decimal(38,6): Gross margin of the order, 6 decimals.
-- column discount decimal(38,2): Discount granted on the order.
-- column is_purchase boolean: True when the order has a line with amount > 0.
-- column is_return boolean: True when the order has a refunded line.
with final as (
  select
    customer_id,
    order_id,
    MIN(ordered_on) AS ordered_on,
    COUNT(*) AS lines,
    CAST(SUM(quantity) AS BIGINT) AS units,
    CAST(SUM(amount) AS DECIMAL(38,2)) AS net_amount,
    CAST(SUM(line_margin) AS DECIMAL(38,6)) AS margin,
    CAST(SUM(discount) AS DECIMAL(38,2)) AS discount,
    bool_or(amount > 0) AS is_purchase,
    bool_or(is_return_line) AS is_return
  from stg_transactions
  group by customer_id, order_id
)

select * from final
