-- question: In what order were the committed drops ingested: the order that decides which record of a key is the latest?
-- grain: one row per committed drop (the version the ledger lists)
-- depends_on: none
-- sources: drops
-- materialized: view
-- note: Ingest order is the order in which drops' committed versions finished ingesting (ties by drop_id), not the order of their names or dates: re-ingesting a file makes it the latest.
-- note: Ingest times are UTC instants, not business days (docs/definitions.md#days-and-the-time-zone).
-- column drop_id varchar: Drop id.
-- column dataset varchar: Dataset the drop was ingested as.
-- column ingested_at timestamp(3): When the ingest of the drop's committed version finished (UTC).
-- column ingest_seq bigint: Position in ingest order: 1 for the first drop ingested.
with committed as (
  select
    drop_id,
    dataset,
    finished_at
  from drops
  where ledger_dir = 'drops' and status = 'ok'
),

final as (
  select
    drop_id,
    dataset,
    finished_at AS ingested_at,
    ROW_NUMBER() OVER (ORDER BY finished_at, drop_id) AS ingest_seq
  from committed
)

select * from final
