-- question: Which dimensions do this run's inputs carry, and which measures cannot be measured without them?
-- grain: one row per dimension (categories, channels, stores, discounts, costs, campaigns, sign_up_dates, products)
-- depends_on: stg_order_lines, stg_customers, stg_campaign_contacts, stg_products
-- unique_key: dimension
-- note: Computed from the run's inputs: the product lines of stg_order_lines (overlaps resolved, dated on or before as_of), the customers on file (stg_customers) and the campaign contacts on or before as_of (stg_campaign_contacts). A dimension is available when at least one row carries it: a category, channel or store other than 'unknown', a discount above 0 (or one derived from the catalogue's list price, even 0: the price paid is then known against the list), a cost given with the line, a campaign contact, a sign-up date, a product in the products catalogue.
-- note: The products catalogue (stg_products) fills the category, the cost and the discount (from the list price) of lines that lack them (stg_order_lines): rows_from_products says how many product lines took each from it, and such lines count as carrying the dimension.
-- note: Models read this table: where a dimension is absent, the measures that need it are NULL with the reason beside them (lifecycle_summary's deeper measures without categories, customer_needs' segment without discounts), and tables keep their columns (docs/definitions.md, Data capabilities). The report says "cannot be measured" with the reason instead of a figure.
-- note: Costs: without them gross margin is amount × margin.default_rate, an assumption, not a measure; the models still publish it.
-- column dimension varchar: categories, channels, stores, discounts, costs, campaigns, sign_up_dates or products.
-- column available boolean: True when at least one row of the inputs carries the dimension.
-- column rows_with bigint: Rows that carry it: product lines for line dimensions, campaign contacts, customers with a sign-up date, product lines whose product the catalogue lists.
-- column rows_total bigint: Rows it could be on: product lines, campaign contacts, customers on file; for products, the product lines.
-- column rows_from_products bigint: Product lines whose category (for categories), cost (for costs), discount (for discounts), or any of these (for products) came from the products catalogue; 0 for the other dimensions.
-- column affects varchar: The models and measures that need the dimension.
-- column reason varchar: Why the dimension is absent, in a phrase a report can print after "cannot be measured: "; NULL when available.
with lines as (
  select
    COUNT(*) AS product_lines,
    COUNT(CASE WHEN o.category <> 'unknown' THEN 1 END) AS with_category,
    COUNT(CASE WHEN o.channel <> 'unknown' THEN 1 END) AS with_channel,
    COUNT(CASE WHEN o.store_id <> 'unknown' THEN 1 END) AS with_store,
    COUNT(CASE WHEN o.discount > CAST(0 AS DECIMAL(18,2)) OR o.discount_source = 'products' THEN 1 END) AS with_discount,
    COUNT(CASE WHEN o.cost_source <> 'default_rate' THEN 1 END) AS with_cost,
    COUNT(CASE WHEN o.category_source = 'products' THEN 1 END) AS category_from_products,
    COUNT(CASE WHEN o.cost_source = 'products' THEN 1 END) AS cost_from_products,
    COUNT(CASE WHEN o.discount_source = 'products' THEN 1 END) AS discount_from_products,
    COUNT(
      CASE WHEN o.category_source = 'products' OR o.cost_source = 'products' OR o.discount_source = 'products' THEN 1 END
    ) AS filled_from_products,
    COUNT(c.product_id) AS in_catalogue
  from stg_order_lines AS o
  left join stg_products AS c on c.product_id = o.product_id
  where o.is_product_line
),

catalogue as (
  select COUNT(*) AS products from stg_products
),

contacts as (
  select COUNT(*) AS contacts from stg_campaign_contacts
),

customer_file as (
  select COUNT(*) AS customers, COUNT(signed_up_on) AS with_sign_up from stg_customers
),

dimensions as (
  select
    'categories' AS dimension,
    l.with_category AS rows_with,
    l.product_lines AS rows_total,
    l.category_from_products AS rows_from_products,
    'lifecycle_summary (avg_categories, multi_category_share, cross_sold_customers, cross_sell_rate), product_affinity, next_best_category, performance_by_category' AS affects,
    'no product line has a category (every line reads ''unknown'')' AS missing
  from lines AS l
  union all
  select
    'channels',
    l.with_channel,
    l.product_lines,
    0,
    'performance_by_channel',
    'no product line has a channel (every line reads ''unknown'')'
  from lines AS l
  union all
  select
    'stores',
    l.with_store,
    l.product_lines,
    0,
    'performance_by_store',
    'no product line has a store (every line reads ''unknown'')'
  from lines AS l
  union all
  select
    'discounts',
    l.with_discount,
    l.product_lines,
    l.discount_from_products,
    'customer_needs (discount_share, needs_segment)',
    'no product line has a discount, so buying on discount cannot be told from buying cheap items'
  from lines AS l
  union all
  select
    'costs',
    l.with_cost,
    l.product_lines,
    l.cost_from_products,
    'gross margin and profit everywhere: without costs they are amount × margin.default_rate',
    'no product line has a cost: margins are amount × margin.default_rate, an assumption'
  from lines AS l
  union all
  select
    'campaigns',
    c.contacts,
    c.contacts,
    0,
    'campaign_results',
    'no campaign contact on or before as_of'
  from contacts AS c
  union all
  select
    'sign_up_dates',
    k.with_sign_up,
    k.customers,
    0,
    'history_checks (first_cohort), customer_base (signed_up_on)',
    CASE
      WHEN k.customers = 0 THEN 'no customers file'
      ELSE 'no customer on file has a sign-up date'
    END
  from customer_file AS k
  union all
  select
    'products',
    CASE WHEN p.products = 0 THEN 0 ELSE l.in_catalogue END,
    l.product_lines,
    l.filled_from_products,
    'stg_order_lines (category, cost and discount of lines that lack them), so every model that reads them',
    CASE
      WHEN p.products = 0 THEN 'no products catalogue'
      ELSE 'no product line is of a product the catalogue lists'
    END
  from lines AS l
  cross join catalogue AS p
),

final as (
  select
    CAST(dimension AS VARCHAR) AS dimension,
    rows_with > 0 AS available,
    CAST(rows_with AS BIGINT) AS rows_with,
    CAST(rows_total AS BIGINT) AS rows_total,
    CAST(rows_from_products AS BIGINT) AS rows_from_products,
    CAST(affects AS VARCHAR) AS affects,
    CAST(CASE WHEN rows_with = 0 THEN missing END AS VARCHAR) AS reason
  from dimensions
)

select * from final
