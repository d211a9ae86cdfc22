-- question: Which categories are bought together, and how much more often than by chance (support, confidence, lift)?
-- grain: one row per ordered pair of distinct categories (antecedent → consequent) bought together in at least affinity.min_pair_baskets baskets
-- depends_on: stg_transactions
-- unique_key: antecedent_category, consequent_category
-- note: A basket is all purchase lines (amount > 0) of a customer (affinity.basket = customer, the default: cross-sell)
--   or of one order (affinity.basket = order: market basket). Lines of category 'unknown' are left out.
-- note: support = pair_baskets / total_baskets; confidence = pair_baskets / antecedent_baskets;
--   lift = confidence / (consequent_baskets / total_baskets). Lift > 1: bought together more often than by chance.
-- note: Without categories (data_capabilities: no product line has one) the table is empty, and data_capabilities'
--   categories row gives the reason the report prints.
-- note: Definitions (purchase lines, the business day): docs/definitions.md.
-- column antecedent_category varchar: The category already bought (A).
-- column consequent_category varchar: The category bought with it (B).
-- column pair_baskets bigint: Baskets with both A and B.
-- column antecedent_baskets bigint: Baskets with A.
-- column consequent_baskets bigint: Baskets with B.
-- column total_baskets bigint: Baskets with any categorised purchase line.
-- column support double: pair_baskets / total_baskets.
-- column confidence double: pair_baskets / antecedent_baskets, the probability of B given A.
-- column lift double: confidence / (consequent_baskets / total_baskets).
with basket_categories as (
  select distinct
    CASE WHEN {{ affinity.basket }} = 'order' THEN customer_id || '|' || order_id ELSE customer_id END AS basket_id,
    category
  from stg_transactions
  where amount > 0 and category <> 'unknown'
),

totals as (
  select COUNT(DISTINCT basket_id) AS total_baskets from basket_categories
),

category_baskets as (
  select category, COUNT(*) AS baskets from basket_categories group by category
),

-- A pair's baskets are a subset of each category's, so a category in fewer than affinity.min_pair_baskets baskets is
-- in no reported pair: leaving it out before the self-join is exact, and the join meets only frequent categories.
frequent_basket_categories as (
  select bc.basket_id, bc.category
  from basket_categories AS bc
  join category_baskets AS cb on cb.category = bc.category
  where cb.baskets >= {{ affinity.min_pair_baskets }}
),

-- Each unordered pair once (a.category < b.category): pair_baskets is symmetric.
unordered_pairs as (
  select a.category AS first_category, b.category AS second_category, COUNT(*) AS pair_baskets
  from frequent_basket_categories AS a
  join frequent_basket_categories AS b on b.basket_id = a.basket_id and b.category > a.category
  group by a.category, b.category
  having COUNT(*) >= {{ affinity.min_pair_baskets }}
),

-- Both directions of each pair, from one reference to unordered_pairs (Trino inlines a CTE at every reference).
pairs as (
  select
    CASE WHEN d.direction = 1 THEN u.first_category ELSE u.second_category END AS antecedent_category,
    CASE WHEN d.direction = 1 THEN u.second_category ELSE u.first_category END AS consequent_category,
    u.pair_baskets
  from unordered_pairs AS u
  cross join (VALUES (1), (2)) AS d (direction)
),

final as (
  select
    p.antecedent_category,
    p.consequent_category,
    CAST(p.pair_baskets AS BIGINT) AS pair_baskets,
    CAST(ca.baskets AS BIGINT) AS antecedent_baskets,
    CAST(cc.baskets AS BIGINT) AS consequent_baskets,
    CAST(t.total_baskets AS BIGINT) AS total_baskets,
    CAST(p.pair_baskets AS DOUBLE) / t.total_baskets AS support,
    CAST(p.pair_baskets AS DOUBLE) / ca.baskets AS confidence,
    CAST(p.pair_baskets AS DOUBLE) * t.total_baskets / (CAST(ca.baskets AS DOUBLE) * cc.baskets) AS lift
  from pairs AS p
  cross join totals AS t
  join category_baskets AS ca on ca.category = p.antecedent_category
  join category_baskets AS cc on cc.category = p.consequent_category
)

select * from final
