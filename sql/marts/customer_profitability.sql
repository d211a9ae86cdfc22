-- question: What does each customer earn us over the value window once goods and the cost to serve are paid?
-- grain: one row per customer known at as_of
-- depends_on: int_customer_value
-- unique_key: customer_id
-- note: Over the value window (default the 12 calendar months ending with the as-of month; docs/definitions.md,
--   Periods). Cost to serve = purchase orders ×
--   cost_to_serve.per_order + return orders × cost_to_serve.per_return + treatment contacts' cost_per_contact.
-- note: Deciles rank customers with a line or a contact in the window by net profit, highest first (RANK(): equal
--   profits share the lowest rank among them, so they share a decile): rank k of n is decile
--   1 + floor(10 × (k − 1) / n). Others have no decile.
-- note: Ties: see docs/definitions.md#ties.
-- column customer_id varchar: Customer id.
-- column is_in_window boolean: True when the customer has an order line or a campaign contact in the window.
-- column orders bigint: Purchase orders in the window.
-- column return_orders bigint: Return orders in the window.
-- column revenue decimal(38,2): Net revenue.
-- column cost_of_goods decimal(38,2): Cost of goods (given, or revenue × (1 − margin.default_rate)).
-- column gross_margin decimal(38,2): revenue − cost_of_goods.
-- column order_cost decimal(38,2): orders × cost_to_serve.per_order.
-- column return_cost decimal(38,2): return_orders × cost_to_serve.per_return.
-- column contact_cost decimal(38,2): Cost of the customer's campaign contacts.
-- column cost_to_serve decimal(38,2): order_cost + return_cost + contact_cost.
-- column net_profit decimal(38,2): gross_margin − cost_to_serve.
-- column profit_decile integer: 1 (most profitable 10 %) to 10, NULL when not in the window.
with current_value as (
  select
    customer_id,
    window_lines > 0 or window_contacts > 0 AS is_in_window,
    orders,
    return_orders,
    revenue,
    cost_of_goods,
    gross_margin,
    order_cost,
    return_cost,
    contact_cost,
    cost_to_serve,
    net_profit
  from int_customer_value
  where period = 'current'
),

ranked as (
  select
    customer_id,
    RANK() OVER (ORDER BY net_profit DESC) AS profit_rank,
    COUNT(*) OVER () AS ranked_customers
  from current_value
  where is_in_window
),

final as (
  select
    c.customer_id,
    c.is_in_window,
    c.orders,
    c.return_orders,
    c.revenue,
    c.cost_of_goods,
    c.gross_margin,
    c.order_cost,
    c.return_cost,
    c.contact_cost,
    c.cost_to_serve,
    c.net_profit,
    1 + CAST(FLOOR(CAST(10 * (r.profit_rank - 1) AS DOUBLE) / r.ranked_customers) AS INTEGER) AS profit_decile
  from current_value AS c
  left join ranked AS r on r.customer_id = c.customer_id
)

select * from final
