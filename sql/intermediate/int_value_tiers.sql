-- question: Which tiers make up the customer pyramid, in which order, and which share of the active customers does each take?
-- grain: one row per value tier (always six: top, big, medium, small, inactive, prospect)
-- depends_on: none
-- materialized: view
-- unique_key: value_tier
-- note: The one definition of the value tiers: int_customer_value puts every customer in one, pyramid_summary and
--   pyramid_migration list them, and the report reads them (names and shares) from pyramid_summary.
-- note: A customer is in the tier whose has_history and is_active are the customer's; an active customer of value
--   rank k among n active customers is in the active tier with ceil(n × share_above) < k ≤ ceil(n × cumulative_share).
-- note: Ties share a tier (docs/definitions.md#ties); the value window is a period of calendar months (docs/definitions.md#periods).
-- column tier_order integer: 1 (top) to 6 (prospect), for sorting.
-- column value_tier varchar: top, big, medium, small, inactive or prospect.
-- column has_history boolean: True for the tiers of customers with an order line on or before the reference date.
-- column is_active boolean: True for the tiers of active customers (a purchase occasion in the value window), ranked by value.
-- column tier_share decimal(9,6): Share of the active customers the tier takes (pyramid.top_share, pyramid.big_share,
--   pyramid.medium_share; small takes the rest), NULL for inactive and prospect.
-- column share_above decimal(9,6): Sum of tier_share of the tiers above this one, NULL for inactive and prospect.
-- column cumulative_share decimal(9,6): share_above + tier_share, NULL for inactive and prospect.
with tiers as (
  select tier_order, value_tier, has_history, is_active, tier_share
  from (
    values
      (1, 'top', TRUE, TRUE, {{ pyramid.top_share }}),
      (2, 'big', TRUE, TRUE, {{ pyramid.big_share }}),
      (3, 'medium', TRUE, TRUE, {{ pyramid.medium_share }}),
      (4, 'small', TRUE, TRUE, 1 - {{ pyramid.top_share }} - {{ pyramid.big_share }} - {{ pyramid.medium_share }}),
      (5, 'inactive', TRUE, FALSE, NULL),
      (6, 'prospect', FALSE, FALSE, NULL)
  ) AS t (tier_order, value_tier, has_history, is_active, tier_share)
),

final as (
  select
    CAST(tier_order AS INTEGER) AS tier_order,
    CAST(value_tier AS VARCHAR) AS value_tier,
    has_history,
    is_active,
    CAST(tier_share AS DECIMAL(9,6)) AS tier_share,
    CAST(
      CASE WHEN is_active THEN
        COALESCE(SUM(tier_share) OVER (
          PARTITION BY is_active ORDER BY tier_order ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0)
      END AS DECIMAL(9,6)
    ) AS share_above,
    CAST(
      CASE WHEN is_active THEN
        SUM(tier_share) OVER (
          PARTITION BY is_active ORDER BY tier_order ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        )
      END AS DECIMAL(9,6)
    ) AS cumulative_share
  from tiers
)

select * from final
