-- question: Which product lines count in this run, with their category, channel, store and margin filled in?
-- grain: one row per product line (line_type product or NULL) dated on or before as_of
-- depends_on: stg_order_lines
-- materialized: view
-- note: The product lines of stg_order_lines. Non-product lines (line_type = 'non_product': postage, fees, adjustments) stay in the lake and in stg_order_lines but leave every model that reads this one: customer value, tiers, RFM, orders, occasions and product performance count products only (docs/definitions.md, Non-product lines; non_product_lines reports them).
-- note: Overlapping exports count once: an order's lines come from the latest drop, in ingest order (stg_drops), that holds the order. A later export that repeats an order replaces all its lines, so corrections and cancellations are sent as the whole order again.
-- note: Missing category, channel and store_id read as 'unknown'; a missing quantity as 1.
-- note: When cost is absent, margin = amount × margin.default_rate and cost = amount − margin.
-- note: ordered_on is the day of ordered_at in calendar.time_zone, the business's day (docs/definitions.md, Days and the time zone); as_of is a day of that zone too.
-- column order_id varchar: Order, invoice or receipt id.
-- column customer_id varchar: Customer id.
-- column ordered_at timestamp(3): When the order was placed (UTC).
-- column ordered_on date: The order date: the day of ordered_at in calendar.time_zone.
-- column order_month varchar: The month of ordered_at in UTC, YYYY-MM: the partition of the curated transactions (a storage key; models use ordered_on).
-- column product_id varchar: Product (SKU) id, NULL when the source has none.
-- column category varchar: Product category, 'unknown' when absent.
-- column channel varchar: Sales channel, 'unknown' when absent.
-- column store_id varchar: Store or location id, 'unknown' when absent.
-- column quantity integer: Units; negative for returned units.
-- column amount decimal(18,2): Net revenue of the line; negative for a refund or return.
-- column line_cost decimal(18,6): Cost of goods of the line (given, or derived from the default margin rate), 6 decimals.
-- column line_margin decimal(18,6): Gross margin of the line: amount − line_cost, 6 decimals.
-- column discount decimal(18,2): Discount granted on the line (the file's, else derived from the catalogue's list price: stg_order_lines), 0 when absent.
-- column is_return_line boolean: True when the line refunds money (amount < 0).
-- column drop_id varchar: Lineage: the drop the line came from.
-- column line_number bigint: Lineage: the record number in that drop.
with final as (
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
    line_cost,
    line_margin,
    discount,
    is_return_line,
    drop_id,
    line_number
  from stg_order_lines
  where is_product_line
)

select * from final
