-- question: Which dimensions do this run's inputs carry, and which measures cannot be measured without them?
-- grain: one row per dimension (categories, channels, stores, discounts, costs, campaigns, sign_up_dates)
-- depends_on: stg_order_lines, stg_customers, stg_campaign_contacts
-- unique_key: dimension
-- note: Computed from the run's inputs: the product lines of stg_order_lines (overlaps resolved, dated on or before as_of), the customers on file (stg_customers) and the campaign contacts on or before as_of (stg_campaign_contacts). A dimension is available when at least one row carries it: a category, channel or store other than 'unknown', a discount above 0, a cost given with the line, a campaign contact, a sign-up date.
-- note: Models read this table: where a dimension is absent, the measures that need it are NULL with the reason beside them (lifecycle_summary's deeper measures without categories, customer_needs' segment without discounts), and tables keep their columns (docs/definitions.md, Data capabilities). The report says "cannot be measured" with the reason instead of a figure.
-- note: Costs: without them gross margin is amount × margin.default_rate, an assumption, not a measure; the models still publish it.
-- column dimension varchar: categories, channels, stores, discounts, costs, campaigns or sign_up_dates.
-- column available boolean: True when at least one row of the inputs carries the dimension.
-- column rows_with bigint: Rows that carry it: product lines for line dimensions, campaign contacts, customers with a sign-up date.
-- column rows_total bigint: Rows it could be on: product lines, campaign contacts, customers on file.
-- column affects varchar: The models and measures that need the dimension.
-- column reason varchar: Why the dimension is absent, in a phrase a report can print after "cannot be measured: "; NULL when available.
with lines as (
  select
    COUNT(*) AS product_lines,
    COUNT(CASE WHEN category <> 'unknown' THEN 1 END) AS with_category,
    COUNT(CASE WHEN channel <> 'unknown' THEN 1 END) AS with_channel,
    COUNT(CASE WHEN store_id <> 'unknown' THEN 1 END) AS with_store,
    COUNT(CASE WHEN discount > CAST(0 AS DECIMAL(18,2)) THEN 1 END) AS with_discount,
    COUNT(CASE WHEN cost_source <> 'default_rate' THEN 1 END) AS with_cost
  from stg_order_lines
  where is_product_line
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
    'lifecycle_summary (avg_categories, multi_category_share, cross_sold_customers, cross_sell_rate), product_affinity, next_best_category, performance_by_category' AS affects,
    'no product line has a category (every line reads ''unknown'')' AS missing
  from lines AS l
  union all
  select
    'channels',
    l.with_channel,
    l.product_lines,
    'performance_by_channel',
    'no product line has a channel (every line reads ''unknown'')'
  from lines AS l
  union all
  select
    'stores',
    l.with_store,
    l.product_lines,
    'performance_by_store',
    'no product line has a store (every line reads ''unknown'')'
  from lines AS l
  union all
  select
    'discounts',
    l.with_discount,
    l.product_lines,
    'customer_needs (discount_share, needs_segment)',
    'no product line has a discount, so buying on discount cannot be told from buying cheap items'
  from lines AS l
  union all
  select
    'costs',
    l.with_cost,
    l.product_lines,
    'gross margin and profit everywhere: without costs they are amount × margin.default_rate',
    'no product line has a cost: margins are amount × margin.default_rate, an assumption'
  from lines AS l
  union all
  select
    'campaigns',
    c.contacts,
    c.contacts,
    'campaign_results',
    'no campaign contact on or before as_of'
  from contacts AS c
  union all
  select
    'sign_up_dates',
    k.with_sign_up,
    k.customers,
    'history_checks (first_cohort), customer_base (signed_up_on)',
    CASE
      WHEN k.customers = 0 THEN 'no customers file'
      ELSE 'no customer on file has a sign-up date'
    END
  from customer_file AS k
),

final as (
  select
    CAST(dimension AS VARCHAR) AS dimension,
    rows_with > 0 AS available,
    CAST(rows_with AS BIGINT) AS rows_with,
    CAST(rows_total AS BIGINT) AS rows_total,
    CAST(affects AS VARCHAR) AS affects,
    CAST(CASE WHEN rows_with = 0 THEN missing END AS VARCHAR) AS reason
  from dimensions
)

select * from final
