-- question: How recently, how often and for how much does each customer buy, and which RFM segment is that?
-- grain: one row per customer (scores are NULL for customers without a purchase occasion)
-- depends_on: customer_base
-- unique_key: customer_id
-- note: Scores are quintiles (q = rfm.quantiles = 5) over customers with a purchase occasion: a customer of rank k
--   among n (worst first, RANK(): equal values share the lowest rank among them) scores 1 + floor(q × (k − 1) / n).
--   Equal values always share a score, so a score's group can be larger than n / q and a score can be empty;
--   a population smaller than q still spreads over 1–q.
-- note: Ties: see docs/definitions.md#ties (the rule, and how it compares with pandas qcut and the R rfm package).
-- note: R ranks recency_days (more recent = higher), F purchase occasions (occasions.unit, default days with a
--   purchase: docs/definitions.md#purchase-occasion), M net revenue, over all history to as_of.
-- note: Segment map on R and FM = ceil((F + M) / 2): Champions R5 FM4–5; Loyal R3–4 FM4–5; Potential loyalist
--   R4–5 FM2–3; New R5 FM1; Promising R4 FM1; Need attention R3 FM3; About to sleep R3 FM1–2; Cannot lose them
--   R1–2 FM5; At risk R1–2 FM3–4; Hibernating R2 FM1–2; Lost R1 FM1–2.
-- column customer_id varchar: Customer id.
-- column recency_days bigint: Days since the latest purchase occasion.
-- column frequency bigint: Purchase occasions.
-- column monetary decimal(38,2): Net revenue.
-- column r_score integer: Recency quintile, 5 = most recent.
-- column f_score integer: Frequency quintile, 5 = most purchase occasions.
-- column m_score integer: Monetary quintile, 5 = most revenue.
-- column fm_score integer: ceil((f_score + m_score) / 2), the FM axis of the segment map.
-- column rfm_cell varchar: The three scores as text, e.g. '545'.
-- column rfm_segment varchar: Named segment from the map above.
with buyers as (
  select
    customer_id,
    recency_days,
    occasions,
    net_revenue,
    RANK() OVER (ORDER BY recency_days DESC) AS r_rank,
    RANK() OVER (ORDER BY occasions) AS f_rank,
    RANK() OVER (ORDER BY net_revenue) AS m_rank,
    COUNT(*) OVER () AS buyers
  from customer_base
  where occasions > 0
),

scored as (
  select
    customer_id,
    1 + CAST(FLOOR(CAST({{ rfm.quantiles }} * (r_rank - 1) AS DOUBLE) / buyers) AS INTEGER) AS r_score,
    1 + CAST(FLOOR(CAST({{ rfm.quantiles }} * (f_rank - 1) AS DOUBLE) / buyers) AS INTEGER) AS f_score,
    1 + CAST(FLOOR(CAST({{ rfm.quantiles }} * (m_rank - 1) AS DOUBLE) / buyers) AS INTEGER) AS m_score
  from buyers
),

with_fm as (
  select
    customer_id,
    r_score,
    f_score,
    m_score,
    CAST(FLOOR(CAST(f_score + m_score + 1 AS DOUBLE) / 2e0) AS INTEGER) AS fm_score
  from scored
),

final as (
  select
    b.customer_id,
    b.recency_days,
    b.occasions AS frequency,
    b.net_revenue AS monetary,
    s.r_score,
    s.f_score,
    s.m_score,
    s.fm_score,
    CAST(s.r_score AS VARCHAR) || CAST(s.f_score AS VARCHAR) || CAST(s.m_score AS VARCHAR) AS rfm_cell,
    CAST(
      CASE
        WHEN s.r_score IS NULL THEN NULL
        WHEN s.r_score = 5 AND s.fm_score >= 4 THEN 'Champions'
        WHEN s.r_score >= 3 AND s.fm_score >= 4 THEN 'Loyal'
        WHEN s.r_score >= 4 AND s.fm_score >= 2 THEN 'Potential loyalist'
        WHEN s.r_score = 5 THEN 'New'
        WHEN s.r_score = 4 THEN 'Promising'
        WHEN s.r_score = 3 AND s.fm_score = 3 THEN 'Need attention'
        WHEN s.r_score = 3 THEN 'About to sleep'
        WHEN s.fm_score = 5 THEN 'Cannot lose them'
        WHEN s.fm_score >= 3 THEN 'At risk'
        WHEN s.r_score = 2 THEN 'Hibernating'
        ELSE 'Lost'
      END AS VARCHAR
    ) AS rfm_segment
  from customer_base AS b
  left join with_fm AS s on s.customer_id = b.customer_id
)

select * from final
