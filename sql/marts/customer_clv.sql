-- question: What is each buyer likely to be worth over the CLV horizon: are they still alive, how often will they buy, how much per purchase, and what margin is that today?
-- grain: one row per customer with a purchase day on or before as_of (int_clv_summary)
-- depends_on: int_clv_summary, clv_expectations, clv_model, int_customer_value
-- unique_key: customer_id
-- note: BG/NBD and Gamma-Gamma as fitted in clv_model (docs/lifetime-value.md). Purchases are purchase days;
--   the horizon is clv.horizon_months calendar months after as_of.
-- note: clv = discounted expected purchase days × expected spend per purchase day × margin rate: the expected
--   gross margin over the horizon, in the currency of the amounts, discounted to as_of at clv.annual_discount_rate
--   (each month's expected purchases discounted to the middle of the month). Spend and purchases are independent
--   under the models, so the expectation of the product is the product of the expectations.
-- note: NULL columns mean the model behind them did not converge (clv_model.diagnostic says why).
-- note: Purchases are purchase days, whatever the occasions.unit (docs/definitions.md#purchase-occasion).
-- column customer_id varchar: Customer id.
-- column frequency bigint: x: repeat purchase days (int_clv_summary).
-- column recency integer: t_x, days.
-- column age integer: T, days.
-- column p_alive double: P(alive) at as_of under BG/NBD.
-- column comparison_p_alive double: P(alive) at comparison_as_of from the same fitted parameters and the history as of
--   then (clv_expectations, period 'comparison'); NULL when the first purchase day is after comparison_as_of.
-- column expected_purchases double: Expected purchase days in the horizon.
-- column expected_spend double: Expected spend per purchase day: Gamma-Gamma's conditional mean (p·γ + p·x·m̄)/(p·x + q − 1) for x > 0 with positive mean repeat spend m̄, otherwise the population mean p·γ/(q − 1).
-- column margin_rate double: gross_margin / revenue of the customer over the value window (int_customer_value, current period) when that revenue is positive, else margin.default_rate.
-- column margin_rate_source varchar: 'customer' or 'default' (which of the two margin_rate is).
-- column expected_revenue double: expected_purchases × expected_spend, undiscounted, currency units.
-- column clv double: discounted expected purchases × expected_spend × margin_rate, currency units at as_of.
-- column clv_percentile double: 100 × PERCENT_RANK of clv among customers with a clv: 0 for the lowest, 100 for the highest; NULL without clv.
with gamma_gamma as (
  select p, q, gamma
  from clv_model
  where model = 'gamma_gamma' and converged
),

margins as (
  select
    customer_id,
    CASE WHEN revenue > 0 THEN CAST(gross_margin AS DOUBLE) / CAST(revenue AS DOUBLE) END AS own_rate
  from int_customer_value
  where period = 'current'
),

scored as (
  select
    s.customer_id,
    s.frequency,
    s.recency,
    s.age,
    e.p_alive,
    c.p_alive AS comparison_p_alive,
    e.expected_purchases,
    e.discounted_purchases,
    CASE
      WHEN s.frequency > 0 AND s.monetary > 0
        THEN (g.p * g.gamma + g.p * CAST(s.frequency AS DOUBLE) * s.monetary) / (g.p * CAST(s.frequency AS DOUBLE) + g.q - 1e0)
      ELSE g.p * g.gamma / (g.q - 1e0)
    END AS expected_spend,
    COALESCE(m.own_rate, CAST({{ margin.default_rate }} AS DOUBLE)) AS margin_rate,
    CASE WHEN m.own_rate IS NULL THEN 'default' ELSE 'customer' END AS margin_rate_source
  from int_clv_summary AS s
  left join clv_expectations AS e
    on e.period = 'current' and e.frequency = s.frequency and e.recency = s.recency and e.age = s.age
  left join clv_expectations AS c
    on c.period = 'comparison'
    and c.frequency = s.comparison_frequency
    and c.recency = s.comparison_recency
    and c.age = s.comparison_age
  left join gamma_gamma AS g on true
  left join margins AS m on m.customer_id = s.customer_id
),

valued as (
  select
    customer_id,
    frequency,
    recency,
    age,
    p_alive,
    comparison_p_alive,
    expected_purchases,
    expected_spend,
    margin_rate,
    CAST(margin_rate_source AS VARCHAR) AS margin_rate_source,
    expected_purchases * expected_spend AS expected_revenue,
    discounted_purchases * expected_spend * margin_rate AS clv
  from scored
),

final as (
  select
    customer_id,
    frequency,
    recency,
    age,
    p_alive,
    comparison_p_alive,
    expected_purchases,
    expected_spend,
    margin_rate,
    margin_rate_source,
    expected_revenue,
    clv,
    CASE
      WHEN clv IS NOT NULL THEN 100e0 * PERCENT_RANK() OVER (PARTITION BY clv IS NULL ORDER BY clv)
    END AS clv_percentile
  from valued
)

select * from final
