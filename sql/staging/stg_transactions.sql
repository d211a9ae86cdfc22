-- question: Which order lines count in this run, with their category, channel, store and margin filled in?
-- grain: one row per order line dated on or before as_of
-- depends_on: none
-- sources: transactions
-- materialized: view
-- note: Missing category, channel and store_id read as 'unknown'; a missing quantity as 1.
-- note: When cost is absent, margin = amount × margin.default_rate and cost = amount − margin.
-- column order_id: Order, invoice or receipt id.
-- column customer_id: Customer id.
-- column ordered_at: When the order was placed (UTC).
-- column ordered_on: The order date (UTC day of ordered_at).
-- column order_month: The order month, YYYY-MM (partition of the curated transactions).
-- column product_id: Product (SKU) id, NULL when the source has none.
-- column category: Product category, 'unknown' when absent.
-- column channel: Sales channel, 'unknown' when absent.
-- column store_id: Store or location id, 'unknown' when absent.
-- column quantity: Units; negative for returned units.
-- column amount: Net revenue of the line; negative for a refund or return.
-- column line_cost: Cost of goods of the line (given, or derived from the default margin rate), 6 decimals.
-- column line_margin: Gross margin of the line: amount − line_cost, 6 decimals.
-- column discount: Discount granted on the line, 0 when absent.
-- column is_return_line: True when the line refunds money (amount < 0).
-- column drop_id: Lineage: the drop the line came from.
-- column line_number: Lineage: the record number in that drop.
with lines as (
  select
    order_id,
    customer_id,
    ordered_at,
    CAST(ordered_at AS DATE) AS ordered_on,
    order_month,
    product_id,
    COALESCE(category, 'unknown') AS category,
    COALESCE(channel, 'unknown') AS channel,
    COALESCE(store_id, 'unknown') AS store_id,
    COALESCE(quantity, 1) AS quantity,
    amount,
    cost,
    COALESCE(discount, CAST(0 AS DECIMAL(18,2))) AS discount,
    drop_id,
    line_number
  from transactions
  where order_month <= {{ as_of_month }}
    and CAST(ordered_at AS DATE) <= {{ as_of }}
),

final as (
  select
    order_id,
    customer_id,
    ordered_at,
    ordered_on,
    order_month,
    product_id,
    category,
    channel,
    store_id,
    quantity,
    amount,
    CAST(CASE WHEN cost IS NULL THEN amount - amount * {{ margin.default_rate }} ELSE cost END AS DECIMAL(18,6))
      AS line_cost,
    CAST(CASE WHEN cost IS NULL THEN amount * {{ margin.default_rate }} ELSE amount - cost END AS DECIMAL(18,6))
      AS line_margin,
    discount,
    amount < CAST(0 AS DECIMAL(18,2)) AS is_return_line,
    drop_id,
    line_number
  from lines
)

select * from final
