-- question: Which campaign contacts happened on or before as_of, and what did each cost?
-- grain: one row per campaign and contacted (or held-out) customer, contacted on or before as_of
-- depends_on: stg_drops
-- sources: campaigns, campaign_contacts
-- materialized: view
-- note: The contact date defaults to the campaign's starts_on. Control-group rows carry no contact cost.
-- note: A campaign or contact delivered in several drops keeps its record from the latest drop in ingest order (stg_drops), the last line of it there.
-- note: Contact dates are days of the business (docs/definitions.md#days-and-the-time-zone).
-- column campaign_id varchar: Campaign id.
-- column customer_id varchar: Customer id.
-- column contact_group varchar: treatment (contacted) or control (held out).
-- column contacted_on date: Contact date.
-- column starts_on date: First day of the campaign.
-- column ends_on date: Last day of the campaign's response window.
-- column contact_cost decimal(18,2): Cost of this contact: the campaign's cost_per_contact for treatment, 0 for control.
with campaign_records as (
  select
    c.campaign_id,
    c.starts_on,
    c.ends_on,
    c.cost_per_contact,
    ROW_NUMBER() OVER (
      PARTITION BY c.campaign_id ORDER BY COALESCE(d.ingest_seq, 0) DESC, c.line_number DESC
    ) AS record_rank
  from campaigns AS c
  left join stg_drops AS d on d.drop_id = c.drop_id
),

contact_records as (
  select
    k.campaign_id,
    k.customer_id,
    k."group" AS contact_group,
    k.contacted_on,
    ROW_NUMBER() OVER (
      PARTITION BY k.campaign_id, k.customer_id ORDER BY COALESCE(d.ingest_seq, 0) DESC, k.line_number DESC
    ) AS record_rank
  from campaign_contacts AS k
  left join stg_drops AS d on d.drop_id = k.drop_id
),

final as (
  select
    k.campaign_id,
    k.customer_id,
    k.contact_group,
    COALESCE(k.contacted_on, c.starts_on) AS contacted_on,
    c.starts_on,
    c.ends_on,
    CASE
      WHEN k.contact_group = 'treatment' THEN COALESCE(c.cost_per_contact, CAST(0 AS DECIMAL(18,2)))
      ELSE CAST(0 AS DECIMAL(18,2))
    END AS contact_cost
  from contact_records AS k
  join campaign_records AS c
    on c.campaign_id = k.campaign_id and c.record_rank = 1
  where k.record_rank = 1
    and COALESCE(k.contacted_on, c.starts_on) <= {{ as_of }}
)

select * from final
