-- question: Which products does the catalogue describe, with their category, brand, list price and unit cost?
-- grain: one row per product id in the products dataset
-- depends_on: stg_drops
-- sources: products
-- materialized: view
-- note: A product delivered in several drops keeps its record from the latest drop in ingest order (stg_drops), the last line of it there.
-- note: stg_order_lines fills the category and the cost of lines that lack them from here (docs/definitions.md, Products catalogue).
-- column product_id varchar: Product id.
-- column category varchar: Category, NULL when the catalogue has none.
-- column brand varchar: Brand.
-- column list_price decimal(18,2): List price of one unit.
-- column unit_cost decimal(18,2): Cost of goods of one unit, NULL when unknown.
with ranked as (
  select
    p.product_id,
    p.category,
    p.brand,
    p.list_price,
    p.cost,
    ROW_NUMBER() OVER (
      PARTITION BY p.product_id ORDER BY COALESCE(d.ingest_seq, 0) DESC, p.line_number DESC
    ) AS record_rank
  from products AS p
  left join stg_drops AS d on d.drop_id = p.drop_id
),

final as (
  select
    product_id,
    category,
    brand,
    list_price,
    cost AS unit_cost
  from ranked
  where record_rank = 1
)

select * from final
