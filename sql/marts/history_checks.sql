-- question: Is the history long enough for each rule this run applies, and which periods does it see only in part?
-- grain: one row per check of the run
-- depends_on: stg_order_lines, customer_base
-- unique_key: check_code
-- note: history_from_on is the date of the first order line (product or not) on or before as_of. A rule whose needed_from_on lies before it reads days the lake has no data for, so its figures are biased, never wrong by error: customers seem new, active or lapsed because their earlier purchases are missing (docs/definitions.md, History checks).
-- note: The checks: value_window (the value window, (value_window_start, as_of]); comparison_period ((comparison_as_of, as_of]); comparison_value_window (the value window at comparison_as_of, which pyramid_migration compares with); lifecycle_lapse (a customer lapses when their latest occasion is more than lifecycle.lapsed_after_days = D days old, so seeing one needs an occasion on or before as_of − D − 1); lifecycle_churn (lifecycle_summary's customers active at the start of the comparison period, hence its lost customers and churn_rate, need the D days before comparison_as_of); first_cohort (the first month's cohort holds every customer who bought before the data began, unless each of them signed up on or after its first day); first_month and as_of_month (the first and the last calendar month of the history are partial unless they start on the 1st and end on the month's last day).
-- note: Partial periods are also marked where they appear: is_partial and partial_reason in cohort_retention and performance_by_*.
-- column check_code varchar: The check: value_window, comparison_period, comparison_value_window, lifecycle_lapse, lifecycle_churn, first_cohort, first_month or as_of_month.
-- column affects varchar: The models and columns whose figures the check concerns.
-- column needed_from_on date: The first day the rule reads; NULL for checks of whole months and cohorts.
-- column history_from_on date: Date of the first order line on or before as_of; NULL when there is none.
-- column is_sufficient boolean: True when the history covers what the rule needs (the month is whole, the first cohort is a true cohort); false with no history at all.
-- column message varchar: What the check found, in a sentence; NULL when sufficient.
with history as (
  select MIN(ordered_on) AS history_from_on
  from stg_order_lines
),

first_cohort as (
  select
    COUNT(*) AS members,
    SUM(CASE WHEN b.signed_up_on IS NULL OR b.signed_up_on < h.history_from_on THEN 1 ELSE 0 END) AS earlier
  from customer_base AS b
  cross join history AS h
  where b.first_order_on IS NOT NULL
    and CAST(date_trunc('month', b.first_order_on) AS DATE) = CAST(date_trunc('month', h.history_from_on) AS DATE)
),

rules as (
  select
    'value_window' AS check_code,
    'customer_pyramid, customer_profitability, pyramid_summary, whale_curve, customer_quadrants: the last periods.value_window_months months' AS affects,
    CAST({{ value_window_start }} + INTERVAL '1' DAY AS DATE) AS needed_from_on
  union all
  select
    'comparison_period',
    'lifecycle_summary (new, won back, lost), customer_lifecycle (won_back), pyramid_migration: the last periods.comparison_months months',
    CAST({{ comparison_as_of }} + INTERVAL '1' DAY AS DATE)
  union all
  select
    'comparison_value_window',
    'pyramid_migration (the tiers at comparison_as_of, over their own value window)',
    CAST({{ comparison_window_start }} + INTERVAL '1' DAY AS DATE)
  union all
  select
    'lifecycle_lapse',
    'customer_lifecycle (lapsed), customer_actions (win_back): lifecycle.lapsed_after_days',
    CAST({{ as_of }} - ({{ lifecycle.lapsed_after_days }} + 1) * INTERVAL '1' DAY AS DATE)
  union all
  select
    'lifecycle_churn',
    'lifecycle_summary (active_at_start, lost_customers, churn_rate): lifecycle.lapsed_after_days before the comparison period',
    CAST({{ comparison_as_of }} - ({{ lifecycle.lapsed_after_days }} - 1) * INTERVAL '1' DAY AS DATE)
),

dated as (
  select
    r.check_code,
    r.affects,
    r.needed_from_on,
    h.history_from_on,
    COALESCE(h.history_from_on <= r.needed_from_on, FALSE) AS is_sufficient,
    CASE
      WHEN h.history_from_on IS NULL THEN 'No order line on or before as_of.'
      WHEN h.history_from_on > r.needed_from_on THEN
        'The rule reads from ' || CAST(r.needed_from_on AS VARCHAR) || ' but the history begins on '
          || CAST(h.history_from_on AS VARCHAR) || ' (' || CAST(date_diff('day', r.needed_from_on, h.history_from_on) AS VARCHAR)
          || ' days later): customers whose earlier purchases are missing are counted as if they had none.'
    END AS message
  from rules AS r
  cross join history AS h
),

periods as (
  select
    'first_cohort' AS check_code,
    'cohort_retention (the first cohort month)' AS affects,
    CAST(NULL AS DATE) AS needed_from_on,
    h.history_from_on,
    COALESCE(h.history_from_on IS NOT NULL AND c.earlier = 0, FALSE) AS is_sufficient,
    CASE
      WHEN h.history_from_on IS NULL THEN 'No order line on or before as_of.'
      WHEN c.earlier > 0 THEN
        'The first cohort, ' || CAST(CAST(date_trunc('month', h.history_from_on) AS DATE) AS VARCHAR) || ', holds '
          || CAST(c.members AS VARCHAR) || ' customers, ' || CAST(c.earlier AS VARCHAR)
          || ' of them without a sign-up date on or after the first day of the history: it absorbs every customer acquired before the data began.'
    END AS message
  from history AS h
  cross join first_cohort AS c
  union all
  select
    'first_month',
    'performance_by_category, performance_by_channel, performance_by_store, the report''s monthly charts (the first month)',
    CAST(NULL AS DATE),
    h.history_from_on,
    COALESCE(day(h.history_from_on) = 1, FALSE),
    CASE
      WHEN h.history_from_on IS NULL THEN 'No order line on or before as_of.'
      WHEN day(h.history_from_on) <> 1 THEN
        'The history begins on ' || CAST(h.history_from_on AS VARCHAR) || ': its first month is partial.'
    END
  from history AS h
  union all
  select
    'as_of_month',
    'performance_by_category, performance_by_channel, performance_by_store, cohort_retention, the value window (the as-of month)',
    CAST(NULL AS DATE),
    h.history_from_on,
    NOT {{ as_of_month_is_partial }},
    CASE
      WHEN {{ as_of_month_is_partial }} THEN
        'The as-of month counts up to ' || CAST({{ as_of }} AS VARCHAR) || ' only: its monthly rows are partial.'
    END
  from history AS h
),

final as (
  select
    CAST(check_code AS VARCHAR) AS check_code,
    CAST(affects AS VARCHAR) AS affects,
    needed_from_on,
    history_from_on,
    is_sufficient,
    CAST(message AS VARCHAR) AS message
  from (
    select * from dated
    union all
    select * from periods
  ) AS checks
)

select * from final
