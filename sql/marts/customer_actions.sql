-- question: What should we do next with each buyer: win them back, retain them, nurture them, cross-sell, invest, cut the cost to serve them, or keep things as they are?
-- grain: one row per customer with a purchase day on or before as_of (customer_clv)
-- depends_on: customer_clv, customer_lifecycle, customer_quadrants, next_best_category
-- unique_key: customer_id
-- note: One action per buyer, by the first rule that matches (docs/lifetime-value.md, Next-best actions):
--   1 win_back: life-cycle stage lapsed (no purchase occasion for more than lifecycle.lapsed_after_days);
--   2 retain: quadrant best or retain (high current value) and P(alive) falling;
--   3 nurture: life-cycle stage first_time or won_back (a new or renewed relationship);
--   4 reduce_cost_to_serve: quadrant worst (low current and low future value);
--   5 cross_sell: a next best category to offer (next_best_category; offer_category names it);
--   6 invest: quadrant invest (low current, high future value);
--   7 maintain: everyone else.
-- note: P(alive) is falling when comparison_p_alive − p_alive ≥ actions.p_alive_drop: both from the BG/NBD fitted in
--   this run, p_alive on the history as of as_of and comparison_p_alive on the history as of comparison_as_of, so the
--   same inputs always give the same rows. Without a fit (clv_model did not converge) P(alive) and the quadrants are
--   NULL and only rules 1, 3, 5 and 7 can match.
-- note: `crmlake export actions --out DIR` writes one CSV of these rows per action (docs/lifetime-value.md).
-- note: Definitions (life-cycle stages, periods, the business day): docs/definitions.md.
-- column customer_id varchar: Customer id.
-- column next_action varchar: win_back, retain, nurture, reduce_cost_to_serve, cross_sell, invest or maintain.
-- column action_rule integer: The number (1–7) of the rule that chose next_action (the note above).
-- column offer_category varchar: The category to offer when next_action is cross_sell (next_best_category), else NULL.
-- column lifecycle_stage varchar: first_time, repeat, loyal, lapsed or won_back (customer_lifecycle).
-- column profitability_quadrant varchar: best, invest, retain or worst (customer_quadrants); NULL without one.
-- column p_alive double: P(alive) at as_of (customer_clv).
-- column comparison_p_alive double: P(alive) at comparison_as_of from the same parameters; NULL when the first purchase day is later.
-- column p_alive_change double: p_alive − comparison_p_alive (negative when falling); NULL when either is NULL.
-- column is_p_alive_falling boolean: comparison_p_alive − p_alive ≥ actions.p_alive_drop; NULL when either is NULL.
-- column clv double: Future value (customer_clv.clv).
-- column clv_percentile double: Its percentile among the buyers (customer_clv).
with inputs as (
  select
    c.customer_id,
    l.lifecycle_stage,
    q.profitability_quadrant,
    c.p_alive,
    c.comparison_p_alive,
    c.p_alive - c.comparison_p_alive AS p_alive_change,
    c.comparison_p_alive - c.p_alive >= {{ actions.p_alive_drop }} AS is_p_alive_falling,
    n.next_best_category,
    c.clv,
    c.clv_percentile
  from customer_clv AS c
  left join customer_lifecycle AS l on l.customer_id = c.customer_id
  left join customer_quadrants AS q on q.customer_id = c.customer_id
  left join next_best_category AS n on n.customer_id = c.customer_id
),

ruled as (
  select
    inputs.*,
    CASE
      WHEN lifecycle_stage = 'lapsed' THEN 1
      WHEN profitability_quadrant IN ('best', 'retain') and is_p_alive_falling THEN 2
      WHEN lifecycle_stage IN ('first_time', 'won_back') THEN 3
      WHEN profitability_quadrant = 'worst' THEN 4
      WHEN next_best_category IS NOT NULL THEN 5
      WHEN profitability_quadrant = 'invest' THEN 6
      ELSE 7
    END AS action_rule
  from inputs
),

final as (
  select
    customer_id,
    CAST(
      CASE action_rule
        WHEN 1 THEN 'win_back'
        WHEN 2 THEN 'retain'
        WHEN 3 THEN 'nurture'
        WHEN 4 THEN 'reduce_cost_to_serve'
        WHEN 5 THEN 'cross_sell'
        WHEN 6 THEN 'invest'
        ELSE 'maintain'
      END AS VARCHAR
    ) AS next_action,
    CAST(action_rule AS INTEGER) AS action_rule,
    CASE WHEN action_rule = 5 THEN next_best_category END AS offer_category,
    lifecycle_stage,
    profitability_quadrant,
    p_alive,
    comparison_p_alive,
    p_alive_change,
    is_p_alive_falling,
    clv,
    clv_percentile
  from ruled
)

select * from final
