-- question: How much of each transactions drop did later drops replace, and how much did it replace of earlier ones (overlapping or corrected exports)?
-- grain: one row per committed transactions drop
-- depends_on: stg_drops
-- sources: transactions
-- unique_key: drop_id
-- note: An order's lines count from the latest drop in ingest order that holds the order (stg_transactions); the same order in an earlier drop is replaced, whole. Counts cover every committed line, whatever its date: replacement does not depend on the as-of date.
-- note: Definitions (orders dated on the business day): docs/definitions.md#days-and-the-time-zone.
-- column drop_id varchar: Drop id.
-- column ingest_seq bigint: Position of the drop in ingest order (stg_drops; the drops table has its times).
-- column orders bigint: Distinct orders in the drop.
-- column lines bigint: Lines in the drop.
-- column orders_replaced bigint: Orders of this drop that a later drop holds too: their lines here no longer count.
-- column lines_replaced bigint: Lines of those orders in this drop.
-- column orders_replacing bigint: Orders of this drop that an earlier drop held too: this drop's lines replace those.
-- column lines_counted bigint: Lines of this drop that count: lines − lines_replaced.
with drop_orders as (
  select
    t.drop_id,
    t.order_id,
    COALESCE(d.ingest_seq, 0) AS ingest_seq,
    COUNT(*) AS lines
  from transactions AS t
  left join stg_drops AS d on d.drop_id = t.drop_id
  group by t.drop_id, t.order_id, COALESCE(d.ingest_seq, 0)
),

order_span as (
  select
    order_id,
    MIN(ingest_seq) AS first_seq,
    MAX(ingest_seq) AS last_seq
  from drop_orders
  group by order_id
),

per_drop as (
  select
    o.drop_id,
    COUNT(*) AS orders,
    SUM(o.lines) AS lines,
    COUNT(CASE WHEN o.ingest_seq < s.last_seq THEN 1 END) AS orders_replaced,
    SUM(CASE WHEN o.ingest_seq < s.last_seq THEN o.lines ELSE 0 END) AS lines_replaced,
    COUNT(CASE WHEN o.ingest_seq > s.first_seq THEN 1 END) AS orders_replacing
  from drop_orders AS o
  inner join order_span AS s on s.order_id = o.order_id
  group by o.drop_id
),

final as (
  select
    d.drop_id,
    d.ingest_seq,
    CAST(COALESCE(p.orders, 0) AS BIGINT) AS orders,
    CAST(COALESCE(p.lines, 0) AS BIGINT) AS lines,
    CAST(COALESCE(p.orders_replaced, 0) AS BIGINT) AS orders_replaced,
    CAST(COALESCE(p.lines_replaced, 0) AS BIGINT) AS lines_replaced,
    CAST(COALESCE(p.orders_replacing, 0) AS BIGINT) AS orders_replacing,
    CAST(COALESCE(p.lines, 0) - COALESCE(p.lines_replaced, 0) AS BIGINT) AS lines_counted
  from stg_drops AS d
  left join per_drop AS p on p.drop_id = d.drop_id
  where d.dataset = 'transactions'
)

select * from final
