-- question: Which customers are on file as of the run date?
-- grain: one row per customer in the customers dataset who signed up on or before as_of (or has no sign-up date)
-- depends_on: none
-- sources: customers
-- materialized: view
-- note: A customer delivered in several drops keeps the record of the greatest (drop_id, line_number).
-- column customer_id varchar: Customer id.
-- column signed_up_on date: Sign-up date, NULL when unknown.
-- column country varchar: Country.
-- column region varchar: Region.
-- column acquisition_channel varchar: Channel through which the customer was acquired.
with ranked as (
  select
    customer_id,
    signed_up_at,
    country,
    region,
    acquisition_channel,
    ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY drop_id DESC, line_number DESC) AS record_rank
  from customers
  where signed_up_at IS NULL or signed_up_at <= {{ as_of }}
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
