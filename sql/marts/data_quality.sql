-- question: How many exact duplicate lines does each transactions drop hold, how many of them count in this run, how many lines repeat across drops, and how much is non-product?
-- grain: one row per committed transactions drop
-- depends_on: stg_drops, stg_order_lines
-- sources: transactions, drops
-- unique_key: drop_id
-- note: An exact duplicate line repeats an earlier line (by line_number) of the same drop in every contract column (order, customer, time, product, category, channel, store, quantity, amount, cost, discount, line type). Duplicates are kept by default, so the models count each copy; a source profile's duplicate_lines = "quarantine" sends them to the quarantine as duplicate_line instead (docs/ingest.md).
-- note: ledger_duplicate_lines is the ledger's count (drops.rows_duplicate): records of the file that repeat an earlier one in every source field, quarantined records included; the lake's duplicate_lines counts curated lines only, so the two differ when duplicates lack a customer or differ in an ignored column.
-- note: Definitions (exact duplicate lines, non-product lines): docs/definitions.md#duplicate-lines and docs/definitions.md#non-product-lines.
-- note: Across drops: a line another drop holds too is normally an overlapping export, which counts once (stg_order_lines keeps an order's lines from the latest drop holding it; drop_overlaps).
-- note: Counted columns cover the lines that count in this run (stg_order_lines: the latest drop of each order, dated on or before as_of).
-- column drop_id varchar: Drop id.
-- column ingest_seq bigint: Position of the drop in ingest order (stg_drops); 0 for lines whose drop the ledger does not list.
-- column lines bigint: Lines of the drop in the lake.
-- column ledger_duplicate_lines bigint: The ledger's rows_duplicate for the drop; NULL for drops ingested before it was counted.
-- column duplicate_lines bigint: Lines of the drop that repeat an earlier line of the drop exactly.
-- column duplicate_amount decimal(38,2): Their amount.
-- column lines_in_other_drops bigint: Lines of the drop of which another drop holds an exact copy.
-- column counted_lines bigint: Lines of the drop that count in this run.
-- column counted_duplicate_lines bigint: Duplicate lines among them: counted a second (third, …) time by the models.
-- column counted_duplicate_amount decimal(38,2): Their amount.
-- column non_product_lines bigint: Counted lines with line_type non_product, which the customer and product models leave out (non_product_lines).
-- column non_product_amount decimal(38,2): Their amount.
with keyed as (
  -- One window (one sort): the lines of the same content, by drop and record number. A line is a duplicate when
  -- the line before it is of the same drop; the content's first and last drops are the window's ends.
  select
    drop_id,
    line_number,
    amount,
    LAG(drop_id) OVER (
      PARTITION BY order_id, customer_id, ordered_at, product_id, category, channel, store_id, quantity, amount,
        cost, discount, line_type
      ORDER BY drop_id, line_number
    ) = drop_id AS is_duplicate,
    MIN(drop_id) OVER (
      PARTITION BY order_id, customer_id, ordered_at, product_id, category, channel, store_id, quantity, amount,
        cost, discount, line_type
      ORDER BY drop_id, line_number
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS first_drop_id,
    MAX(drop_id) OVER (
      PARTITION BY order_id, customer_id, ordered_at, product_id, category, channel, store_id, quantity, amount,
        cost, discount, line_type
      ORDER BY drop_id, line_number
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS last_drop_id
  from transactions
),

marked as (
  select
    k.drop_id,
    k.amount,
    COALESCE(k.is_duplicate, FALSE) AS is_duplicate,
    k.first_drop_id <> k.last_drop_id AS is_in_other_drops,
    s.line_number IS NOT NULL AS is_counted,
    COALESCE(NOT s.is_product_line, FALSE) AS is_counted_non_product
  from keyed AS k
  left join stg_order_lines AS s on s.drop_id = k.drop_id and s.line_number = k.line_number
),

per_drop as (
  select
    drop_id,
    COUNT(*) AS lines,
    SUM(CASE WHEN is_duplicate THEN 1 ELSE 0 END) AS duplicate_lines,
    SUM(CASE WHEN is_duplicate THEN amount ELSE CAST(0 AS DECIMAL(18,2)) END) AS duplicate_amount,
    SUM(CASE WHEN is_in_other_drops THEN 1 ELSE 0 END) AS lines_in_other_drops,
    SUM(CASE WHEN is_counted THEN 1 ELSE 0 END) AS counted_lines,
    SUM(CASE WHEN is_counted and is_duplicate THEN 1 ELSE 0 END) AS counted_duplicate_lines,
    SUM(CASE WHEN is_counted and is_duplicate THEN amount ELSE CAST(0 AS DECIMAL(18,2)) END)
      AS counted_duplicate_amount,
    SUM(CASE WHEN is_counted_non_product THEN 1 ELSE 0 END) AS non_product_lines,
    SUM(CASE WHEN is_counted_non_product THEN amount ELSE CAST(0 AS DECIMAL(18,2)) END) AS non_product_amount
  from marked
  group by drop_id
),

ledger as (
  select drop_id, rows_duplicate
  from drops
  where ledger_dir = 'drops' and status = 'ok'
),

drop_keys as (
  select drop_id from stg_drops where dataset = 'transactions'
  union
  select drop_id from per_drop
),

final as (
  select
    k.drop_id,
    CAST(COALESCE(d.ingest_seq, 0) AS BIGINT) AS ingest_seq,
    CAST(COALESCE(p.lines, 0) AS BIGINT) AS lines,
    CAST(l.rows_duplicate AS BIGINT) AS ledger_duplicate_lines,
    CAST(COALESCE(p.duplicate_lines, 0) AS BIGINT) AS duplicate_lines,
    CAST(COALESCE(p.duplicate_amount, 0) AS DECIMAL(38,2)) AS duplicate_amount,
    CAST(COALESCE(p.lines_in_other_drops, 0) AS BIGINT) AS lines_in_other_drops,
    CAST(COALESCE(p.counted_lines, 0) AS BIGINT) AS counted_lines,
    CAST(COALESCE(p.counted_duplicate_lines, 0) AS BIGINT) AS counted_duplicate_lines,
    CAST(COALESCE(p.counted_duplicate_amount, 0) AS DECIMAL(38,2)) AS counted_duplicate_amount,
    CAST(COALESCE(p.non_product_lines, 0) AS BIGINT) AS non_product_lines,
    CAST(COALESCE(p.non_product_amount, 0) AS DECIMAL(38,2)) AS non_product_amount
  from drop_keys AS k
  left join stg_drops AS d on d.drop_id = k.drop_id
  left join per_drop AS p on p.drop_id = k.drop_id
  left join ledger AS l on l.drop_id = k.drop_id
)

select * from final
