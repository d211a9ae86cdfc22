-- question: What do the non-product lines (postage, fees, manual adjustments, discounts) amount to, which the customer and product models leave out?
-- grain: one row per product id of the non-product lines dated on or before as_of
-- depends_on: stg_order_lines
-- unique_key: product_id
-- note: Non-product lines have line_type = 'non_product', set at ingest by the file or by a source profile's non_product_lines (docs/definitions.md, Non-product lines). They stay in the lake and in stg_order_lines; stg_transactions, and so customer value, tiers, RFM, orders, occasions and performance, leave them out. This table is where they are counted.
-- note: Overlapping exports count once, as everywhere (stg_order_lines). A non-product line without a product id reads as 'unknown'.
-- column product_id varchar: Product id of the lines (POST, BANK CHARGES, …), 'unknown' when absent.
-- column lines bigint: Non-product lines.
-- column orders bigint: Distinct orders holding them.
-- column customers bigint: Distinct customers.
-- column net_amount decimal(38,2): Sum of their amounts.
-- column charged_amount decimal(38,2): Sum of the positive amounts (charged to customers, e.g. postage).
-- column credited_amount decimal(38,2): Sum of the negative amounts, as a positive number (credited, e.g. a discount or an adjustment).
-- column first_ordered_on date: Date of the first such line.
-- column last_ordered_on date: Date of the latest such line.
with lines as (
  select
    COALESCE(product_id, 'unknown') AS product_id,
    order_id,
    customer_id,
    ordered_on,
    amount
  from stg_order_lines
  where NOT is_product_line
),

final as (
  select
    product_id,
    CAST(COUNT(*) AS BIGINT) AS lines,
    CAST(COUNT(DISTINCT order_id) AS BIGINT) AS orders,
    CAST(COUNT(DISTINCT customer_id) AS BIGINT) AS customers,
    CAST(SUM(amount) AS DECIMAL(38,2)) AS net_amount,
    CAST(SUM(CASE WHEN amount > 0 THEN amount ELSE CAST(0 AS DECIMAL(18,2)) END) AS DECIMAL(38,2)) AS charged_amount,
    CAST(SUM(CASE WHEN amount < 0 THEN -amount ELSE CAST(0 AS DECIMAL(18,2)) END) AS DECIMAL(38,2)) AS credited_amount,
    MIN(ordered_on) AS first_ordered_on,
    MAX(ordered_on) AS last_ordered_on
  from lines
  group by product_id
)

select * from final
