-- question: How many buyers share each purchase history (x, t_x, T), the compressed input of the BG/NBD fit?
-- grain: one row per distinct (frequency, recency, age) among the buyers of int_clv_summary
-- depends_on: int_clv_summary
-- unique_key: frequency, recency, age
-- note: One GROUP BY in the warehouse: the fit and the per-customer expectations read these rows, not one per
--   customer (docs/lifetime-value.md). Time unit: days.
-- column frequency bigint: x: repeat purchase days.
-- column recency integer: t_x: days from the first to the last purchase day.
-- column age integer: T: days from the first purchase day to as_of.
-- column customers bigint: Buyers with this (x, t_x, T).
with final as (
  select
    frequency,
    recency,
    age,
    CAST(COUNT(*) AS BIGINT) AS customers
  from int_clv_summary
  group by frequency, recency, age
)

select * from final
