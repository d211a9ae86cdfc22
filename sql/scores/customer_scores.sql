-- question: Everything we know about each customer, in one row: value, segment, stage, needs and next offer.
-- grain: one row per customer known at as_of
-- depends_on: customer_base, customer_rfm, customer_pyramid, customer_lifecycle, customer_needs, customer_profitability, next_best_category, customer_actions
-- unique_key: customer_id
-- note: Predicted value (customer_clv), the profitability matrix (customer_quadrants) and the next-best action
--   (customer_actions) are NULL for prospects, and p_alive, clv and the quadrant also when clv_model did not converge
--   (docs/lifetime-value.md). All four come from customer_actions, which carries them for every buyer.
-- note: Definitions (ties, purchase occasions, periods, life-cycle stages, the business day): docs/definitions.md.
-- column customer_id varchar: Customer id.
-- column is_prospect boolean: True when the customer has no order line.
-- column lifecycle_stage varchar: prospect, first_time, repeat, loyal, lapsed or won_back (customer_lifecycle).
-- column value_tier varchar: top, big, medium, small, inactive or prospect (customer_pyramid).
-- column rfm_segment varchar: Named RFM segment (customer_rfm).
-- column rfm_cell varchar: R, F and M scores as text, e.g. '545'.
-- column needs_segment varchar: price_oriented, value_oriented or composite (customer_needs).
-- column orders bigint: Purchase orders to date.
-- column net_revenue decimal(38,2): Net revenue to date.
-- column gross_margin decimal(38,2): Gross margin to date.
-- column recency_days bigint: Days since the latest purchase occasion (docs/definitions.md).
-- column tenure_days bigint: Days since the first purchase occasion.
-- column window_net_profit decimal(38,2): Net profit over the value window (customer_profitability).
-- column profit_decile integer: 1 (most profitable 10 %) to 10 over the value window.
-- column next_best_category varchar: Category to offer next (next_best_category).
-- column p_alive double: P(alive) at as_of under the fitted BG/NBD (customer_clv).
-- column clv double: Discounted expected gross margin over the CLV horizon (customer_clv).
-- column profitability_quadrant varchar: best, invest, retain or worst (customer_quadrants); NULL unless active with a clv.
-- column next_action varchar: Next-best action (customer_actions): win_back, retain, nurture, reduce_cost_to_serve, cross_sell, invest or maintain.
with final as (
  select
    b.customer_id,
    b.is_prospect,
    l.lifecycle_stage,
    p.value_tier,
    r.rfm_segment,
    r.rfm_cell,
    n.needs_segment,
    b.orders,
    b.net_revenue,
    b.gross_margin,
    b.recency_days,
    b.tenure_days,
    f.net_profit AS window_net_profit,
    f.profit_decile,
    x.next_best_category,
    a.p_alive,
    a.clv,
    a.profitability_quadrant,
    a.next_action
  from customer_base AS b
  left join customer_rfm AS r on r.customer_id = b.customer_id
  left join customer_pyramid AS p on p.customer_id = b.customer_id
  left join customer_lifecycle AS l on l.customer_id = b.customer_id
  left join customer_needs AS n on n.customer_id = b.customer_id
  left join customer_profitability AS f on f.customer_id = b.customer_id
  left join next_best_category AS x on x.customer_id = b.customer_id
  left join customer_actions AS a on a.customer_id = b.customer_id
)

select * from final
