-- question: Which customers are on file as of the run date?
-- grain: one row per customer in the customers dataset who signed up on or before as_of (or has no sign-up date)
-- depends_on: stg_drops
-- sources: customers
-- materialized: view
-- note: A customer delivered in several drops keeps its record from the latest drop in ingest order (stg_drops), the last line of it there.
-- note: Sign-up dates are days of the business (docs/definitions.md#days-and-the-time-zone).
-- column customer_id varchar: Customer id.
-- column signed_up_on date: Sign-up date, NULL when unknown.
-- column country varchar: Country.
-- column region varchar: Region.
-- column acquisition_channel varchar: Channel through which the customer was acquired.
with ranked as (
  select
    c.customer_id,
    c.signed_up_at,
    c.country,
    c.region,
    c.acquisition_channel,
    ROW_NUMBER() OVER (
      PARTITION BY c.customer_id ORDER BY COALESCE(d.ingest_seq, 0) DESC, c.line_number DESC
    ) AS record_rank
  from customers AS c
  left join stg_drops AS d on d.drop_id = c.drop_id
  where c.signed_up_at IS NULL or c.signed_up_at <= {{ as_of }}
),

final as (
  select
    customer_id,
    signed_up_at AS signed_up_on,
    country,
    region,
    acquisition_channel
  from ranked
  where record_rank = 1
)

select * from final
