-- question: For each campaign, what did the treatment and the control group each sum to in the response window and before contact: the per-arm sums campaign_results builds its statistics on?
-- grain: one row per campaign that started on or before as_of
-- depends_on: stg_drops, stg_campaign_contacts, stg_transactions
-- sources: campaigns, campaign_contacts
-- unique_key: campaign_id
-- note: A customer's response window is [contacted_on, ends_on], cut at as_of. A customer responds with an order
--   line of amount > 0 in it; revenue and margin are the net amount and gross margin of every line in it (refunds
--   subtracted), 0 for a customer who bought nothing, each rounded to the cent per customer. Sums of squares are
--   exact decimals, so the variances campaign_results takes from them are the same on every engine.
-- note: The pre-period is the 365 days before contacted_on: spend is its net amount, orders its distinct orders with
--   a purchase line; recency counts the days from the last order line before contacted_on (any time) to it.
-- note: A customer's group is the one stg_campaign_contacts keeps (the latest record). both_groups_customers counts
--   the customers whose latest drop for the campaign lists them in both groups. A customer is cross-treated when
--   another campaign's treatment group contacted them within this campaign's window; two control groups are not.
-- note: A campaign with no contacts on or before as_of has a row of zeros. The campaign record is the latest one
--   in ingest order, as in stg_campaign_contacts.
-- note: Contact and order dates are days of the business (docs/definitions.md#days-and-the-time-zone); a response is line-level (docs/campaigns.md), not a purchase occasion.
-- column campaign_id varchar: Campaign id.
-- column starts_on date: First day of the campaign.
-- column ends_on date: Last day of the response window.
-- column cost_per_contact decimal(18,2): Cost of each treated contact (0 when absent).
-- column fixed_cost decimal(18,2): Fixed cost of the campaign (0 when absent).
-- column planned_control_share decimal(9,6): Planned share of the audience held out as control; NULL when the campaign record gives none.
-- column both_groups_customers bigint: Customers the campaign's latest drop for them lists in both groups.
-- column treatment_n bigint: Customers in the treatment group contacted on or before as_of.
-- column treatment_responders bigint: Treated customers with a purchase line in their window.
-- column treatment_revenue decimal(38,2): Sum over treated customers of their net revenue in the window.
-- column treatment_revenue_sq decimal(38,4): Sum over treated customers of the square of that revenue.
-- column treatment_margin decimal(38,2): Sum over treated customers of their gross margin in the window.
-- column treatment_margin_sq decimal(38,4): Sum over treated customers of the square of that margin.
-- column treatment_pre_spend decimal(38,2): Sum over treated customers of their pre-period net amount.
-- column treatment_pre_spend_sq decimal(38,4): Sum of its squares.
-- column treatment_pre_spend_revenue decimal(38,4): Sum over treated customers of pre-period spend × window revenue (CUPED's cross products).
-- column treatment_pre_orders bigint: Sum over treated customers of their pre-period purchase orders.
-- column treatment_pre_orders_sq bigint: Sum of its squares.
-- column treatment_with_history bigint: Treated customers with an order line before contact.
-- column treatment_recency bigint: Sum over those of the days from the last line before contact to contact.
-- column treatment_recency_sq bigint: Sum of its squares.
-- column treatment_cross_treated bigint: Treated customers another campaign treated within the window.
-- column control_n bigint: Customers in the control group held out on or before as_of.
-- column control_responders bigint: Control customers with a purchase line in their window.
-- column control_revenue decimal(38,2): As treatment_revenue, for the control group.
-- column control_revenue_sq decimal(38,4): As treatment_revenue_sq, for the control group.
-- column control_margin decimal(38,2): As treatment_margin, for the control group.
-- column control_margin_sq decimal(38,4): As treatment_margin_sq, for the control group.
-- column control_pre_spend decimal(38,2): As treatment_pre_spend, for the control group.
-- column control_pre_spend_sq decimal(38,4): As treatment_pre_spend_sq, for the control group.
-- column control_pre_spend_revenue decimal(38,4): As treatment_pre_spend_revenue, for the control group.
-- column control_pre_orders bigint: As treatment_pre_orders, for the control group.
-- column control_pre_orders_sq bigint: As treatment_pre_orders_sq, for the control group.
-- column control_with_history bigint: As treatment_with_history, for the control group.
-- column control_recency bigint: As treatment_recency, for the control group.
-- column control_recency_sq bigint: As treatment_recency_sq, for the control group.
-- column control_cross_treated bigint: Control customers another campaign treated within the window.
with campaign_records as (
  select
    c.campaign_id,
    c.starts_on,
    c.ends_on,
    COALESCE(c.cost_per_contact, CAST(0 AS DECIMAL(18,2))) AS cost_per_contact,
    COALESCE(c.fixed_cost, CAST(0 AS DECIMAL(18,2))) AS fixed_cost,
    c.planned_control_share,
    ROW_NUMBER() OVER (
      PARTITION BY c.campaign_id ORDER BY COALESCE(d.ingest_seq, 0) DESC, c.line_number DESC
    ) AS record_rank
  from campaigns AS c
  left join stg_drops AS d on d.drop_id = c.drop_id
),

campaign as (
  select campaign_id, starts_on, ends_on, cost_per_contact, fixed_cost, planned_control_share
  from campaign_records
  where record_rank = 1 and starts_on <= {{ as_of }}
),

contacts as (
  select campaign_id, customer_id, contact_group, contacted_on, ends_on
  from stg_campaign_contacts
  where contact_group in ('treatment', 'control')
),

raw_contacts as (
  select
    k.campaign_id,
    k.customer_id,
    k."group" AS contact_group,
    COALESCE(d.ingest_seq, 0) AS ingest_seq,
    MAX(COALESCE(d.ingest_seq, 0)) OVER (PARTITION BY k.campaign_id, k.customer_id) AS latest_seq
  from campaign_contacts AS k
  left join stg_drops AS d on d.drop_id = k.drop_id
),

both_groups as (
  select r.campaign_id, COUNT(*) AS customers
  from (
    select campaign_id, customer_id
    from raw_contacts
    where ingest_seq = latest_seq
    group by campaign_id, customer_id
    having COUNT(DISTINCT contact_group) > 1
  ) AS r
  join contacts AS k on k.campaign_id = r.campaign_id and k.customer_id = r.customer_id
  group by r.campaign_id
),

cross_treated as (
  select distinct a.campaign_id, a.customer_id
  from contacts AS a
  join contacts AS b
    on b.customer_id = a.customer_id
    and b.campaign_id <> a.campaign_id
    and b.contact_group = 'treatment'
    and b.contacted_on between a.contacted_on and a.ends_on
),

outcomes as (
  select
    k.campaign_id,
    k.customer_id,
    k.contact_group,
    k.contacted_on,
    COALESCE(bool_or(t.amount > 0 and t.ordered_on >= k.contacted_on), false) AS responded,
    CAST(COALESCE(SUM(CASE WHEN t.ordered_on >= k.contacted_on THEN t.amount END), 0) AS DECIMAL(18,2)) AS revenue,
    CAST(
      ROUND(COALESCE(SUM(CASE WHEN t.ordered_on >= k.contacted_on THEN t.line_margin END), 0), 2) AS DECIMAL(18,2)
    ) AS margin,
    CAST(COALESCE(SUM(
      CASE
        WHEN t.ordered_on < k.contacted_on
          and t.ordered_on >= CAST(k.contacted_on - INTERVAL '365' DAY AS DATE)
          THEN t.amount
      END
    ), 0) AS DECIMAL(18,2)) AS pre_spend,
    COUNT(DISTINCT
      CASE
        WHEN t.ordered_on < k.contacted_on
          and t.ordered_on >= CAST(k.contacted_on - INTERVAL '365' DAY AS DATE)
          and t.amount > 0
          THEN t.order_id
      END
    ) AS pre_orders,
    MAX(CASE WHEN t.ordered_on < k.contacted_on THEN t.ordered_on END) AS last_before
  from contacts AS k
  left join stg_transactions AS t
    on t.customer_id = k.customer_id and t.ordered_on <= k.ends_on
  group by k.campaign_id, k.customer_id, k.contact_group, k.contacted_on
),

measured as (
  select
    o.campaign_id,
    o.contact_group,
    CASE WHEN o.responded THEN 1 ELSE 0 END AS responded,
    o.revenue,
    CAST(o.revenue * o.revenue AS DECIMAL(38,4)) AS revenue_sq,
    o.margin,
    CAST(o.margin * o.margin AS DECIMAL(38,4)) AS margin_sq,
    o.pre_spend,
    CAST(o.pre_spend * o.pre_spend AS DECIMAL(38,4)) AS pre_spend_sq,
    CAST(o.pre_spend * o.revenue AS DECIMAL(38,4)) AS pre_spend_revenue,
    o.pre_orders,
    o.pre_orders * o.pre_orders AS pre_orders_sq,
    CASE WHEN o.last_before IS NULL THEN 0 ELSE 1 END AS with_history,
    date_diff('day', CAST(o.last_before AS DATE), o.contacted_on) AS recency,
    CASE WHEN x.customer_id IS NULL THEN 0 ELSE 1 END AS cross_treated
  from outcomes AS o
  left join cross_treated AS x on x.campaign_id = o.campaign_id and x.customer_id = o.customer_id
),

arms as (
  select
    campaign_id,
    COUNT(CASE WHEN contact_group = 'treatment' THEN 1 END) AS treatment_n,
    SUM(CASE WHEN contact_group = 'treatment' THEN responded ELSE 0 END) AS treatment_responders,
    SUM(CASE WHEN contact_group = 'treatment' THEN revenue END) AS treatment_revenue,
    SUM(CASE WHEN contact_group = 'treatment' THEN revenue_sq END) AS treatment_revenue_sq,
    SUM(CASE WHEN contact_group = 'treatment' THEN margin END) AS treatment_margin,
    SUM(CASE WHEN contact_group = 'treatment' THEN margin_sq END) AS treatment_margin_sq,
    SUM(CASE WHEN contact_group = 'treatment' THEN pre_spend END) AS treatment_pre_spend,
    SUM(CASE WHEN contact_group = 'treatment' THEN pre_spend_sq END) AS treatment_pre_spend_sq,
    SUM(CASE WHEN contact_group = 'treatment' THEN pre_spend_revenue END) AS treatment_pre_spend_revenue,
    SUM(CASE WHEN contact_group = 'treatment' THEN pre_orders ELSE 0 END) AS treatment_pre_orders,
    SUM(CASE WHEN contact_group = 'treatment' THEN pre_orders_sq ELSE 0 END) AS treatment_pre_orders_sq,
    SUM(CASE WHEN contact_group = 'treatment' THEN with_history ELSE 0 END) AS treatment_with_history,
    SUM(CASE WHEN contact_group = 'treatment' THEN recency ELSE 0 END) AS treatment_recency,
    SUM(CASE WHEN contact_group = 'treatment' THEN recency * recency ELSE 0 END) AS treatment_recency_sq,
    SUM(CASE WHEN contact_group = 'treatment' THEN cross_treated ELSE 0 END) AS treatment_cross_treated,
    COUNT(CASE WHEN contact_group = 'control' THEN 1 END) AS control_n,
    SUM(CASE WHEN contact_group = 'control' THEN responded ELSE 0 END) AS control_responders,
    SUM(CASE WHEN contact_group = 'control' THEN revenue END) AS control_revenue,
    SUM(CASE WHEN contact_group = 'control' THEN revenue_sq END) AS control_revenue_sq,
    SUM(CASE WHEN contact_group = 'control' THEN margin END) AS control_margin,
    SUM(CASE WHEN contact_group = 'control' THEN margin_sq END) AS control_margin_sq,
    SUM(CASE WHEN contact_group = 'control' THEN pre_spend END) AS control_pre_spend,
    SUM(CASE WHEN contact_group = 'control' THEN pre_spend_sq END) AS control_pre_spend_sq,
    SUM(CASE WHEN contact_group = 'control' THEN pre_spend_revenue END) AS control_pre_spend_revenue,
    SUM(CASE WHEN contact_group = 'control' THEN pre_orders ELSE 0 END) AS control_pre_orders,
    SUM(CASE WHEN contact_group = 'control' THEN pre_orders_sq ELSE 0 END) AS control_pre_orders_sq,
    SUM(CASE WHEN contact_group = 'control' THEN with_history ELSE 0 END) AS control_with_history,
    SUM(CASE WHEN contact_group = 'control' THEN recency ELSE 0 END) AS control_recency,
    SUM(CASE WHEN contact_group = 'control' THEN recency * recency ELSE 0 END) AS control_recency_sq,
    SUM(CASE WHEN contact_group = 'control' THEN cross_treated ELSE 0 END) AS control_cross_treated
  from measured
  group by campaign_id
),

final as (
  select
    c.campaign_id,
    c.starts_on,
    c.ends_on,
    c.cost_per_contact,
    c.fixed_cost,
    c.planned_control_share,
    CAST(COALESCE(b.customers, 0) AS BIGINT) AS both_groups_customers,
    CAST(COALESCE(a.treatment_n, 0) AS BIGINT) AS treatment_n,
    CAST(COALESCE(a.treatment_responders, 0) AS BIGINT) AS treatment_responders,
    CAST(COALESCE(a.treatment_revenue, 0) AS DECIMAL(38,2)) AS treatment_revenue,
    CAST(COALESCE(a.treatment_revenue_sq, 0) AS DECIMAL(38,4)) AS treatment_revenue_sq,
    CAST(COALESCE(a.treatment_margin, 0) AS DECIMAL(38,2)) AS treatment_margin,
    CAST(COALESCE(a.treatment_margin_sq, 0) AS DECIMAL(38,4)) AS treatment_margin_sq,
    CAST(COALESCE(a.treatment_pre_spend, 0) AS DECIMAL(38,2)) AS treatment_pre_spend,
    CAST(COALESCE(a.treatment_pre_spend_sq, 0) AS DECIMAL(38,4)) AS treatment_pre_spend_sq,
    CAST(COALESCE(a.treatment_pre_spend_revenue, 0) AS DECIMAL(38,4)) AS treatment_pre_spend_revenue,
    CAST(COALESCE(a.treatment_pre_orders, 0) AS BIGINT) AS treatment_pre_orders,
    CAST(COALESCE(a.treatment_pre_orders_sq, 0) AS BIGINT) AS treatment_pre_orders_sq,
    CAST(COALESCE(a.treatment_with_history, 0) AS BIGINT) AS treatment_with_history,
    CAST(COALESCE(a.treatment_recency, 0) AS BIGINT) AS treatment_recency,
    CAST(COALESCE(a.treatment_recency_sq, 0) AS BIGINT) AS treatment_recency_sq,
    CAST(COALESCE(a.treatment_cross_treated, 0) AS BIGINT) AS treatment_cross_treated,
    CAST(COALESCE(a.control_n, 0) AS BIGINT) AS control_n,
    CAST(COALESCE(a.control_responders, 0) AS BIGINT) AS control_responders,
    CAST(COALESCE(a.control_revenue, 0) AS DECIMAL(38,2)) AS control_revenue,
    CAST(COALESCE(a.control_revenue_sq, 0) AS DECIMAL(38,4)) AS control_revenue_sq,
    CAST(COALESCE(a.control_margin, 0) AS DECIMAL(38,2)) AS control_margin,
    CAST(COALESCE(a.control_margin_sq, 0) AS DECIMAL(38,4)) AS control_margin_sq,
    CAST(COALESCE(a.control_pre_spend, 0) AS DECIMAL(38,2)) AS control_pre_spend,
    CAST(COALESCE(a.control_pre_spend_sq, 0) AS DECIMAL(38,4)) AS control_pre_spend_sq,
    CAST(COALESCE(a.control_pre_spend_revenue, 0) AS DECIMAL(38,4)) AS control_pre_spend_revenue,
    CAST(COALESCE(a.control_pre_orders, 0) AS BIGINT) AS control_pre_orders,
    CAST(COALESCE(a.control_pre_orders_sq, 0) AS BIGINT) AS control_pre_orders_sq,
    CAST(COALESCE(a.control_with_history, 0) AS BIGINT) AS control_with_history,
    CAST(COALESCE(a.control_recency, 0) AS BIGINT) AS control_recency,
    CAST(COALESCE(a.control_recency_sq, 0) AS BIGINT) AS control_recency_sq,
    CAST(COALESCE(a.control_cross_treated, 0) AS BIGINT) AS control_cross_treated
  from campaign AS c
  left join arms AS a on a.campaign_id = c.campaign_id
  left join both_groups AS b on b.campaign_id = c.campaign_id
)

select * from final
