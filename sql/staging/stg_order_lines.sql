-- question: Which order lines count in this run, products and non-products, with their category, channel, store and margin filled in?
-- grain: one row per order line dated on or before as_of
-- depends_on: stg_drops, stg_products
-- sources: transactions
-- materialized: temporary
-- note: Overlapping exports count once: an order's lines come from the latest drop, in ingest order (stg_drops), that holds the order. A later export that repeats an order replaces all its lines, so corrections and cancellations are sent as the whole order again.
-- note: A line without a category takes its product's category from the products catalogue (stg_products), a line without a cost quantity × the product's unit cost, and a purchase line without a discount the part of quantity × the product's list price that the amount falls short of (0 when sold at or above it); a value on the line wins (docs/definitions.md, Products catalogue).
-- note: Missing category, channel and store_id read as 'unknown'; a missing quantity as 1.
-- note: When cost is absent (on the line and in the catalogue), margin = amount × margin.default_rate and cost = amount − margin.
-- note: Non-product lines (line_type = 'non_product': postage, fees, adjustments) are here with is_product_line false; stg_transactions keeps the product lines, which every customer and product model reads (docs/definitions.md, Non-product lines). A NULL line_type (a file without the column) is a product line.
-- note: ordered_on is the day of ordered_at in calendar.time_zone, the business's day (docs/definitions.md, Days and the time zone); as_of is a day of that zone too.
-- column order_id varchar: Order, invoice or receipt id.
-- column customer_id varchar: Customer id.
-- column ordered_at timestamp(3): When the order was placed (UTC).
-- column ordered_on date: The order date: the day of ordered_at in calendar.time_zone.
-- column order_month varchar: The month of ordered_at in UTC, YYYY-MM: the partition of the curated transactions (a storage key; models use ordered_on).
-- column product_id varchar: Product (SKU) id, NULL when the source has none.
-- column category varchar: Product category (the line's, else the catalogue's), 'unknown' when absent.
-- column channel varchar: Sales channel, 'unknown' when absent.
-- column store_id varchar: Store or location id, 'unknown' when absent.
-- column quantity integer: Units; negative for returned units.
-- column amount decimal(18,2): Net revenue of the line; negative for a refund or return.
-- column line_cost decimal(18,6): Cost of goods of the line (given, or derived from the default margin rate), 6 decimals.
-- column line_margin decimal(18,6): Gross margin of the line: amount − line_cost, 6 decimals.
-- column discount decimal(18,2): Discount granted on the line (the file's, else for a purchase line quantity × list_price − amount when positive), 0 when absent.
-- column is_return_line boolean: True when the line refunds money (amount < 0).
-- column is_product_line boolean: False for a non-product line (line_type = 'non_product'), true otherwise.
-- column category_source varchar: Where category comes from: 'line', 'products' (the catalogue) or NULL ('unknown').
-- column cost_source varchar: Where line_cost comes from: 'line' (the file's cost), 'products' (quantity × the catalogue's unit cost) or 'default_rate' (amount × (1 − margin.default_rate)).
-- column discount_source varchar: Where discount comes from: 'line' (the file's), 'products' (derived from the catalogue's list price) or NULL (0, unknown).
-- column list_price decimal(18,2): List price of one unit from the products catalogue, NULL when the catalogue does not list the product.
-- column drop_id varchar: Lineage: the drop the line came from.
-- column line_number bigint: Lineage: the record number in that drop.
with sequenced as (
  select t.*, COALESCE(d.ingest_seq, 0) AS ingest_seq
  from transactions AS t
  left join stg_drops AS d on d.drop_id = t.drop_id
),

-- The latest drop of each order (order_id is required), by aggregation rather than a window over every line.
latest as (
  select order_id, MAX(ingest_seq) AS latest_seq
  from sequenced
  group by order_id
),

versions as (
  select s.*
  from sequenced AS s
  join latest AS l on l.order_id = s.order_id and l.latest_seq = s.ingest_seq
),

days as (
  select
    *,
    -- The UTC arm costs nothing; the conversion costs about 0.3 µs a line, so UTC does not pay for it.
    CASE
      WHEN {{ calendar.time_zone }} = 'UTC' THEN CAST(ordered_at AS DATE)
      -- Trino takes only a literal after AT TIME ZONE, and the value is a zone, not an output column:
      ELSE CAST(with_timezone(ordered_at, 'UTC') AT TIME ZONE {{ calendar.time_zone }} AS DATE) -- lint: allow varchar-parameter-column
    END AS ordered_on
  from versions
  where order_month <= {{ as_of_partition_month }}
),

lines as (
  select
    l.order_id,
    l.customer_id,
    l.ordered_at,
    l.ordered_on,
    l.order_month,
    l.product_id,
    COALESCE(l.category, p.category, 'unknown') AS category,
    CASE WHEN l.category IS NOT NULL THEN 'line' WHEN p.category IS NOT NULL THEN 'products' END AS category_source,
    COALESCE(l.channel, 'unknown') AS channel,
    COALESCE(l.store_id, 'unknown') AS store_id,
    COALESCE(l.quantity, 1) AS quantity,
    l.amount,
    COALESCE(l.cost, p.unit_cost * COALESCE(l.quantity, 1)) AS cost,
    CASE WHEN l.cost IS NOT NULL THEN 'line' WHEN p.unit_cost IS NOT NULL THEN 'products' ELSE 'default_rate' END
      AS cost_source,
    COALESCE(
      l.discount,
      CASE
        WHEN p.list_price IS NULL OR l.amount <= CAST(0 AS DECIMAL(18,2)) OR COALESCE(l.quantity, 1) <= 0 THEN NULL
        WHEN p.list_price * COALESCE(l.quantity, 1) > l.amount
          THEN CAST(p.list_price * COALESCE(l.quantity, 1) - l.amount AS DECIMAL(18,2))
        ELSE CAST(0 AS DECIMAL(18,2))
      END,
      CAST(0 AS DECIMAL(18,2))
    ) AS discount,
    CASE
      WHEN l.discount IS NOT NULL THEN 'line'
      WHEN p.list_price IS NOT NULL AND l.amount > CAST(0 AS DECIMAL(18,2)) AND COALESCE(l.quantity, 1) > 0 THEN 'products'
    END AS discount_source,
    p.list_price,
    l.line_type,
    l.drop_id,
    l.line_number
  from days AS l
  left join stg_products AS p on p.product_id = l.product_id
  where l.ordered_on <= {{ as_of }}
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
    CAST(discount AS DECIMAL(18,2)) AS discount,
    amount < CAST(0 AS DECIMAL(18,2)) AS is_return_line,
    COALESCE(line_type, 'product') <> 'non_product' AS is_product_line,
    CAST(category_source AS VARCHAR) AS category_source,
    CAST(cost_source AS VARCHAR) AS cost_source,
    CAST(discount_source AS VARCHAR) AS discount_source,
    CAST(list_price AS DECIMAL(18,2)) AS list_price,
    drop_id,
    line_number
  from lines
)

select * from final
