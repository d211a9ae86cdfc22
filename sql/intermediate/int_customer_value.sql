-- question: What is each customer worth over the value window, now and one comparison period ago, and in which pyramid tier does that put them?
-- grain: one row per customer known at the reference date and period ('current' at as_of, 'comparison' at comparison_as_of)
-- depends_on: stg_transactions, stg_customers, stg_campaign_contacts, int_customer_orders, int_purchase_occasions, int_value_tiers
-- unique_key: customer_id, period
-- note: The value window of a reference date R is the periods.value_window_months calendar months ending with R's
--   month, R's month up to R (docs/definitions.md, Periods): it starts after the last day of the month
--   value_window_months months before R's month. The comparison reference date is the last day before the
--   comparison period (comparison_as_of).
-- note: A customer is known at R when on file without a sign-up date, signed up on or before R, or with a line on or before R.
-- note: Tiers (int_value_tiers defines them): prospect = no line on or before R; inactive = no purchase occasion
--   (docs/definitions.md) in the window; the active ones are ranked by value (highest first, RANK(): equal values share the lowest rank
--   among them, so they share a tier) and, with n active customers, rank k is top when k ≤ ceil(n × top_share),
--   big when k ≤ ceil(n × (top_share + big_share)), medium when k ≤ ceil(n × (top_share + big_share +
--   medium_share)), small otherwise.
-- note: Ties: see docs/definitions.md#ties.
-- note: cost_to_serve = purchase orders × cost_to_serve.per_order + return orders × cost_to_serve.per_return
--   + the cost of treatment contacts in the window (when cost_to_serve.include_campaign_contacts).
-- column customer_id varchar: Customer id.
-- column period varchar: 'current' (reference date as_of) or 'comparison' (reference date comparison_as_of).
-- column reference_on date: The reference date R.
-- column window_start_on date: Exclusive start of the value window.
-- column has_history boolean: True when the customer has an order line on or before R.
-- column window_lines bigint: Order lines in the window.
-- column window_contacts bigint: Campaign contacts (treatment or control) in the window.
-- column orders bigint: Purchase orders in the window.
-- column return_orders bigint: Return orders in the window.
-- column revenue decimal(38,2): Net revenue in the window.
-- column cost_of_goods decimal(38,2): revenue − gross_margin.
-- column gross_margin decimal(38,2): Gross margin in the window, rounded to cents.
-- column order_cost decimal(38,2): orders × cost_to_serve.per_order.
-- column return_cost decimal(38,2): return_orders × cost_to_serve.per_return.
-- column contact_cost decimal(38,2): Cost of the customer's campaign contacts in the window.
-- column cost_to_serve decimal(38,2): order_cost + return_cost + contact_cost.
-- column net_profit decimal(38,2): gross_margin − cost_to_serve.
-- column is_active boolean: True when the customer has a purchase occasion (int_purchase_occasions) in the window.
-- column value decimal(38,2): The pyramid's value measure (pyramid.value_measure) over the window.
-- column value_rank bigint: Rank by value among active customers of the period (1 = most valuable; equal values
--   share the lowest rank among them), NULL when inactive.
-- column active_customers bigint: Active customers in the period (n above).
-- column value_tier varchar: top, big, medium, small, inactive or prospect (int_value_tiers).
with periods as (
  select CAST('current' AS VARCHAR) AS period, {{ as_of }} AS reference_on, {{ value_window_start }} AS window_start_on
  union all
  select CAST('comparison' AS VARCHAR) AS period, {{ comparison_as_of }} AS reference_on, {{ comparison_window_start }} AS window_start_on
),

first_seen as (
  select customer_id, bool_or(is_undated) AS is_undated, MIN(seen_on) AS seen_on
  from (
    select customer_id, signed_up_on IS NULL AS is_undated, signed_up_on AS seen_on from stg_customers
    union all
    select customer_id, FALSE AS is_undated, MIN(ordered_on) AS seen_on from stg_transactions group by customer_id
  ) AS sightings
  group by customer_id
),

known as (
  select p.period, p.reference_on, p.window_start_on, f.customer_id
  from periods AS p
  join first_seen AS f on f.is_undated or f.seen_on <= p.reference_on
),

history as (
  select p.period, t.customer_id
  from periods AS p
  join stg_transactions AS t on t.ordered_on <= p.reference_on
  group by p.period, t.customer_id
),

window_lines as (
  select
    p.period,
    t.customer_id,
    COUNT(*) AS lines,
    SUM(t.amount) AS revenue,
    SUM(t.line_margin) AS margin
  from periods AS p
  join stg_transactions AS t on t.ordered_on > p.window_start_on and t.ordered_on <= p.reference_on
  group by p.period, t.customer_id
),

window_orders as (
  select
    p.period,
    o.customer_id,
    COUNT(CASE WHEN o.is_purchase THEN 1 END) AS orders,
    COUNT(CASE WHEN o.is_return THEN 1 END) AS return_orders
  from periods AS p
  join int_customer_orders AS o on o.ordered_on > p.window_start_on and o.ordered_on <= p.reference_on
  group by p.period, o.customer_id
),

window_occasions as (
  select p.period, o.customer_id, COUNT(*) AS occasions
  from periods AS p
  join int_purchase_occasions AS o on o.occasion_on > p.window_start_on and o.occasion_on <= p.reference_on
  group by p.period, o.customer_id
),

window_contacts as (
  select
    p.period,
    c.customer_id,
    COUNT(*) AS contacts,
    SUM(CASE WHEN {{ cost_to_serve.include_campaign_contacts }} THEN c.contact_cost ELSE CAST(0 AS DECIMAL(38,2)) END)
      AS contact_cost
  from periods AS p
  join stg_campaign_contacts AS c on c.contacted_on > p.window_start_on and c.contacted_on <= p.reference_on
  group by p.period, c.customer_id
),

measured as (
  select
    k.customer_id,
    k.period,
    k.reference_on,
    k.window_start_on,
    h.customer_id IS NOT NULL AS has_history,
    CAST(COALESCE(l.lines, 0) AS BIGINT) AS window_lines,
    CAST(COALESCE(c.contacts, 0) AS BIGINT) AS window_contacts,
    CAST(COALESCE(o.orders, 0) AS BIGINT) AS orders,
    CAST(COALESCE(o.return_orders, 0) AS BIGINT) AS return_orders,
    CAST(COALESCE(l.revenue, 0) AS DECIMAL(38,2)) AS revenue,
    CAST(ROUND(COALESCE(l.margin, 0), 2) AS DECIMAL(38,2)) AS gross_margin,
    CAST(COALESCE(c.contact_cost, 0) AS DECIMAL(38,2)) AS contact_cost,
    COALESCE(v.occasions, 0) > 0 AS is_active
  from known AS k
  left join history AS h on h.period = k.period and h.customer_id = k.customer_id
  left join window_lines AS l on l.period = k.period and l.customer_id = k.customer_id
  left join window_orders AS o on o.period = k.period and o.customer_id = k.customer_id
  left join window_contacts AS c on c.period = k.period and c.customer_id = k.customer_id
  left join window_occasions AS v on v.period = k.period and v.customer_id = k.customer_id
),

costed as (
  select
    customer_id,
    period,
    reference_on,
    window_start_on,
    has_history,
    window_lines,
    window_contacts,
    orders,
    return_orders,
    revenue,
    CAST(revenue - gross_margin AS DECIMAL(38,2)) AS cost_of_goods,
    gross_margin,
    CAST(orders * {{ cost_to_serve.per_order }} AS DECIMAL(38,2)) AS order_cost,
    CAST(return_orders * {{ cost_to_serve.per_return }} AS DECIMAL(38,2)) AS return_cost,
    contact_cost,
    CAST(orders * {{ cost_to_serve.per_order }} + return_orders * {{ cost_to_serve.per_return }} + contact_cost
      AS DECIMAL(38,2)) AS cost_to_serve,
    is_active
  from measured
),

valued as (
  select
    customer_id,
    period,
    reference_on,
    window_start_on,
    has_history,
    window_lines,
    window_contacts,
    orders,
    return_orders,
    revenue,
    cost_of_goods,
    gross_margin,
    order_cost,
    return_cost,
    contact_cost,
    cost_to_serve,
    CAST(gross_margin - cost_to_serve AS DECIMAL(38,2)) AS net_profit,
    is_active,
    CAST(
      CASE {{ pyramid.value_measure }}
        WHEN 'net_revenue' THEN revenue
        WHEN 'net_profit' THEN gross_margin - cost_to_serve
        ELSE gross_margin
      END AS DECIMAL(38,2)
    ) AS value
  from costed
),

ranked as (
  select
    valued.*,
    CASE
      WHEN is_active THEN RANK() OVER (PARTITION BY period, is_active ORDER BY value DESC)
    END AS value_rank,
    CAST(SUM(CASE WHEN is_active THEN 1 ELSE 0 END) OVER (PARTITION BY period) AS BIGINT) AS active_customers
  from valued
),

final as (
  select
    r.customer_id,
    r.period,
    r.reference_on,
    r.window_start_on,
    r.has_history,
    r.window_lines,
    r.window_contacts,
    r.orders,
    r.return_orders,
    r.revenue,
    r.cost_of_goods,
    r.gross_margin,
    r.order_cost,
    r.return_cost,
    r.contact_cost,
    r.cost_to_serve,
    r.net_profit,
    r.is_active,
    r.value,
    CAST(r.value_rank AS BIGINT) AS value_rank,
    r.active_customers,
    CAST(t.value_tier AS VARCHAR) AS value_tier
  from ranked AS r
  -- Exactly one tier matches: the active tiers split the ranks 1..n between them (see int_value_tiers).
  left join int_value_tiers AS t
    on t.has_history = r.has_history
    and t.is_active = r.is_active
    and (
      NOT t.is_active
      or (
        r.value_rank > CEIL(r.active_customers * t.share_above)
        and r.value_rank <= CEIL(r.active_customers * t.cumulative_share)
      )
    )
)

select * from final
