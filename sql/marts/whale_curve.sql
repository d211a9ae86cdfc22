-- question: How much of the total profit do the most profitable x % of customers make (the whale curve)?
-- grain: one row per customer percentile, 1 to 100 (no rows when no customer was active in the value window)
-- depends_on: customer_profitability
-- unique_key: customer_percentile
-- note: Customers with a line or a campaign contact in the value window are sorted by net profit, highest first.
--   Point p covers the first ceil(p × n / 100) of the n customers. Equal profits are ordered by customer_id, which
--   changes no published number: any order of equal profits gives the same cumulative sums (docs/definitions.md#ties).
-- note: Shares are published only when total profit > 0: the curve peaks above 1 (100 %) when unprofitable
--   customers exist and ends at 1. When total profit is 0 or negative a share would be undefined or inverted (the
--   most profitable customers showing a negative share), so cumulative_profit_share is NULL and share_null_reason
--   says why; cumulative_net_profit is published as always.
-- column customer_percentile integer: p, from 1 to 100.
-- column customers bigint: Customers covered by the point: ceil(p × n / 100).
-- column total_customers bigint: n.
-- column cumulative_net_profit decimal(38,2): Net profit of the covered customers.
-- column total_net_profit decimal(38,2): Net profit of all n customers.
-- column cumulative_profit_share double: cumulative_net_profit / total_net_profit; NULL when the total is not positive.
-- column share_null_reason varchar: NULL when the share is published; 'total_net_profit_zero' or
--   'total_net_profit_negative' when it is NULL.
with digits as (
  select d from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS t(d)
),

percentiles as (
  select tens.d * 10 + units.d + 1 AS customer_percentile
  from digits AS tens
  cross join digits AS units
),

ranked as (
  select
    customer_id,
    net_profit,
    ROW_NUMBER() OVER (ORDER BY net_profit DESC, customer_id) AS profit_rank,
    SUM(net_profit) OVER (ORDER BY net_profit DESC, customer_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      AS cumulative_net_profit,
    COUNT(*) OVER () AS total_customers,
    SUM(net_profit) OVER () AS total_net_profit
  from customer_profitability
  where is_in_window
),

final as (
  select
    CAST(p.customer_percentile AS INTEGER) AS customer_percentile,
    CAST(r.profit_rank AS BIGINT) AS customers,
    CAST(r.total_customers AS BIGINT) AS total_customers,
    CAST(r.cumulative_net_profit AS DECIMAL(38,2)) AS cumulative_net_profit,
    CAST(r.total_net_profit AS DECIMAL(38,2)) AS total_net_profit,
    CASE
      WHEN r.total_net_profit > 0 THEN CAST(r.cumulative_net_profit AS DOUBLE) / CAST(r.total_net_profit AS DOUBLE)
    END AS cumulative_profit_share,
    CAST(
      CASE
        WHEN r.total_net_profit = 0 THEN 'total_net_profit_zero'
        WHEN r.total_net_profit < 0 THEN 'total_net_profit_negative'
      END AS VARCHAR
    ) AS share_null_reason
  from percentiles AS p
  join ranked AS r
    on r.profit_rank = CAST(CEIL(CAST(p.customer_percentile * r.total_customers AS DOUBLE) / 100e0) AS BIGINT)
)

select * from final
