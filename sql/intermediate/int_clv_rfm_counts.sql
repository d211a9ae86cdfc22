-- question: How many buyers share each purchase history (x, t_x, T), as of as_of and as of comparison_as_of: the compressed input of the BG/NBD fit and of its scoring?
-- grain: one row per period ('current', 'comparison') and distinct (frequency, recency, age) among the buyers of int_clv_summary
-- depends_on: int_clv_summary
-- unique_key: period, frequency, recency, age
-- note: One GROUP BY in the warehouse: the fit and the per-customer expectations read these rows, not one per
--   customer (docs/lifetime-value.md). Time unit: days.
-- note: The fit (clv_model) reads the 'current' rows only; clv_expectations scores both periods with the
--   parameters fitted as of as_of ('comparison': the histories as of comparison_as_of, for P(alive) then).
-- note: Purchases are purchase days, whatever the occasions.unit (docs/definitions.md#purchase-occasion).
-- column period varchar: 'current' (histories as of as_of) or 'comparison' (as of comparison_as_of, buyers with a purchase day by then).
-- column frequency bigint: x: repeat purchase days.
-- column recency integer: t_x: days from the first to the last purchase day.
-- column age integer: T: days from the first purchase day to the period's reference date.
-- column customers bigint: Buyers with this (x, t_x, T).
with histories as (
  select CAST('current' AS VARCHAR) AS period, frequency, recency, age
  from int_clv_summary
  union all
  select CAST('comparison' AS VARCHAR) AS period, comparison_frequency, comparison_recency, comparison_age
  from int_clv_summary
  where comparison_frequency IS NOT NULL
),

final as (
  select
    period,
    frequency,
    recency,
    age,
    CAST(COUNT(*) AS BIGINT) AS customers
  from histories
  group by period, frequency, recency, age
)

select * from final
