-- question: Does each customer buy on price, on value, or a mix of both (needs-based segment)?
-- grain: one row per customer known at as_of
-- depends_on: customer_base, stg_transactions, data_capabilities
-- unique_key: customer_id
-- note: Over purchase lines (amount > 0 and quantity > 0) on or before as_of.
--   discount_share = discounts / (amount + discounts): the share of list value given away.
--   price_index = amount / Σ(quantity × the category's average unit price): 1 = pays the category average,
--   below 1 buys cheaper items; a category's average unit price is Σ amount / Σ quantity over all customers.
-- note: Rules, first match wins: price_oriented when discount_share ≥ needs.price_discount_share_min (0.2) or
--   price_index ≤ needs.price_index_max (0.9); value_oriented when discount_share < needs.value_discount_share_max
--   (0.05) and price_index ≥ needs.value_price_index_min (1.1); composite otherwise. NULL without purchase lines.
-- note: Without discounts (data_capabilities: no product line has one) buying on discount cannot be told from
--   buying cheap items: discount_share and needs_segment are NULL and needs_null_reason says why; price_index stays.
-- note: Definitions (purchase lines, periods, the business day): docs/definitions.md.
-- column customer_id varchar: Customer id.
-- column purchase_lines bigint: Purchase lines.
-- column list_value decimal(38,2): amount + discounts of the purchase lines.
-- column discounts decimal(38,2): Discounts granted on the purchase lines.
-- column discount_share double: discounts / list_value; NULL without discounts in the data.
-- column price_index double: What the customer paid relative to the category average prices for the same units.
-- column needs_segment varchar: price_oriented, value_oriented or composite; NULL without purchase lines or without discounts in the data.
-- column needs_null_reason varchar: Why needs_segment is NULL for a customer with purchase lines (a dimension it needs is missing: data_capabilities); NULL otherwise.
with purchase_lines as (
  select customer_id, category, quantity, amount, discount
  from stg_transactions
  where amount > 0 and quantity > 0
),

customer_categories as (
  select
    customer_id,
    category,
    COUNT(*) AS lines,
    SUM(quantity) AS quantity,
    SUM(amount) AS amount,
    SUM(discount) AS discount
  from purchase_lines
  group by customer_id, category
),

category_totals as (
  select category, SUM(quantity) AS quantity, SUM(amount) AS amount
  from customer_categories
  group by category
),

-- What the customer's units would have cost at the category average price, summed in category order with a ROWS
-- frame: a DOUBLE sum in a fixed order gives the same bits on every run (a GROUP BY sum need not).
at_category_prices as (
  select
    c.customer_id,
    SUM(CAST(c.quantity AS DOUBLE) * CAST(t.amount AS DOUBLE) / t.quantity) OVER (
      PARTITION BY c.customer_id ORDER BY c.category ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS expected_amount,
    ROW_NUMBER() OVER (PARTITION BY c.customer_id ORDER BY c.category DESC) AS category_rank
  from customer_categories AS c
  join category_totals AS t on t.category = c.category
),

per_customer as (
  select
    customer_id,
    SUM(lines) AS purchase_lines,
    SUM(amount) AS amount,
    SUM(amount + discount) AS list_value,
    SUM(discount) AS discounts
  from customer_categories
  group by customer_id
),

measured as (
  select
    p.customer_id,
    p.purchase_lines,
    p.list_value,
    p.discounts,
    CAST(p.discounts AS DOUBLE) / NULLIF(CAST(p.list_value AS DOUBLE), 0e0) AS discount_share,
    CAST(p.amount AS DOUBLE) / NULLIF(e.expected_amount, 0e0) AS price_index
  from per_customer AS p
  join at_category_prices AS e on e.customer_id = p.customer_id and e.category_rank = 1
),

discounts as (
  select available AS is_available, reason
  from data_capabilities
  where dimension = 'discounts'
),

final as (
  select
    b.customer_id,
    CAST(COALESCE(m.purchase_lines, 0) AS BIGINT) AS purchase_lines,
    CAST(COALESCE(m.list_value, 0) AS DECIMAL(38,2)) AS list_value,
    CAST(COALESCE(m.discounts, 0) AS DECIMAL(38,2)) AS discounts,
    CASE WHEN x.is_available THEN m.discount_share END AS discount_share,
    m.price_index,
    CAST(
      CASE
        WHEN m.customer_id IS NULL OR NOT x.is_available THEN NULL
        WHEN m.discount_share >= {{ needs.price_discount_share_min }}
          OR m.price_index <= {{ needs.price_index_max }} THEN 'price_oriented'
        WHEN m.discount_share < {{ needs.value_discount_share_max }}
          AND m.price_index >= {{ needs.value_price_index_min }} THEN 'value_oriented'
        ELSE 'composite'
      END AS VARCHAR
    ) AS needs_segment,
    CAST(
      CASE WHEN m.customer_id IS NOT NULL AND NOT x.is_available THEN 'discounts: ' || x.reason END AS VARCHAR
    ) AS needs_null_reason
  from customer_base AS b
  cross join discounts AS x
  left join measured AS m on m.customer_id = b.customer_id
)

select * from final
