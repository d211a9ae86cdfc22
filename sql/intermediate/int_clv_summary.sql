-- question: What does each buyer's purchase history look like to the lifetime-value models: how many repeat purchase days, how recent the last, how long observed, and how much per repeat purchase day?
-- grain: one row per customer with a purchase day on or before as_of
-- depends_on: int_purchase_occasions
-- unique_key: customer_id
-- note: The inputs of BG/NBD and Gamma-Gamma (docs/lifetime-value.md). Time unit: days. A purchase day is a day
--   with a purchase occasion (int_purchase_occasions, docs/definitions.md#purchase-occasion): with occasions.unit
--   = 'order', several orders on one day are still one purchase day.
-- note: Spend is the purchase lines' amount (refunds not subtracted, as the occasion counts them).
-- note: The comparison_* columns are the same history as of comparison_as_of (the purchase days on or before it):
--   clv_expectations scores it with this run's fitted BG/NBD, for the P(alive) trend of customer_actions.
-- column customer_id varchar: Customer id.
-- column first_purchase_on date: First purchase day.
-- column last_purchase_on date: Last purchase day on or before as_of.
-- column frequency bigint: x: purchase days − 1 (repeat purchase days).
-- column recency integer: t_x: days from the first to the last purchase day (0 when x = 0).
-- column age integer: T: days from the first purchase day to as_of.
-- column repeat_spend decimal(38,2): Spend on the repeat purchase days (the first day excluded); 0.00 when x = 0.
-- column monetary double: m̄: repeat_spend / x, the mean spend per repeat purchase day; NULL when x = 0.
-- column comparison_frequency bigint: x as of comparison_as_of (purchase days on or before it − 1); NULL when the
--   first purchase day is after comparison_as_of.
-- column comparison_recency integer: t_x as of comparison_as_of; NULL likewise.
-- column comparison_age integer: T as of comparison_as_of: days from the first purchase day to comparison_as_of; NULL likewise.
with days as (
  select
    customer_id,
    occasion_on,
    SUM(purchase_amount) AS day_amount
  from int_purchase_occasions
  group by customer_id, occasion_on
),

ranked as (
  select
    customer_id,
    occasion_on,
    day_amount,
    ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY occasion_on) AS day_number
  from days
),

per_customer as (
  select
    customer_id,
    MIN(occasion_on) AS first_purchase_on,
    MAX(occasion_on) AS last_purchase_on,
    COUNT(*) AS purchase_days,
    SUM(CASE WHEN day_number > 1 THEN day_amount END) AS repeat_amount,
    COUNT(CASE WHEN occasion_on <= {{ comparison_as_of }} THEN 1 END) AS comparison_days,
    MAX(CASE WHEN occasion_on <= {{ comparison_as_of }} THEN occasion_on END) AS comparison_last_on
  from ranked
  group by customer_id
),

final as (
  select
    customer_id,
    first_purchase_on,
    last_purchase_on,
    CAST(purchase_days - 1 AS BIGINT) AS frequency,
    CAST(date_diff('day', CAST(first_purchase_on AS DATE), CAST(last_purchase_on AS DATE)) AS INTEGER) AS recency,
    CAST(date_diff('day', CAST(first_purchase_on AS DATE), {{ as_of }}) AS INTEGER) AS age,
    CAST(COALESCE(repeat_amount, 0) AS DECIMAL(38,2)) AS repeat_spend,
    CASE
      WHEN purchase_days > 1 THEN CAST(repeat_amount AS DOUBLE) / CAST(purchase_days - 1 AS DOUBLE)
    END AS monetary,
    CASE WHEN comparison_days > 0 THEN CAST(comparison_days - 1 AS BIGINT) END AS comparison_frequency,
    CASE
      WHEN comparison_days > 0
        THEN CAST(date_diff('day', CAST(first_purchase_on AS DATE), CAST(comparison_last_on AS DATE)) AS INTEGER)
    END AS comparison_recency,
    CASE
      WHEN comparison_days > 0
        THEN CAST(date_diff('day', CAST(first_purchase_on AS DATE), {{ comparison_as_of }}) AS INTEGER)
    END AS comparison_age
  from per_customer
)

select * from final
