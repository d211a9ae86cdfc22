-- question: Which category should we offer each customer next (cross-sell)?
-- grain: one row per customer with a purchase order on or before as_of
-- depends_on: product_affinity, stg_transactions, customer_base, data_capabilities
-- unique_key: customer_id
-- note: Candidates are consequents of product_affinity rules whose antecedent the customer bought, that the customer
--   has not bought, with lift > affinity.min_lift. The best has the highest lift, then the highest confidence, then
--   the first category name (and antecedent) in alphabetical order. NULL when there is no candidate.
-- note: Without categories (data_capabilities: no product line has one) there are no rules: every customer keeps
--   a row, next_best_category is NULL and next_best_null_reason says why.
-- note: Definitions (purchase lines, the business day): docs/definitions.md.
-- column customer_id varchar: Customer id.
-- column next_best_category varchar: Category to offer, NULL when none qualifies.
-- column because_of_category varchar: The bought category (antecedent) behind the recommendation.
-- column lift double: Lift of the rule because_of_category → next_best_category.
-- column confidence double: Confidence of that rule.
-- column next_best_null_reason varchar: Why no customer can get a next category when a dimension it needs is missing ('categories: …', from data_capabilities); NULL otherwise, also when simply no rule qualifies.
with bought as (
  select distinct customer_id, category
  from stg_transactions
  where amount > 0
),

bought_counts as (
  select customer_id, COUNT(*) AS categories from bought group by customer_id
),

-- The rules of each antecedent in the order candidates are ranked in (the antecedent is fixed within a partition).
ranked_rules as (
  select
    antecedent_category,
    consequent_category,
    lift,
    confidence,
    ROW_NUMBER() OVER (
      PARTITION BY antecedent_category
      ORDER BY lift DESC, confidence DESC, consequent_category
    ) AS rule_rank
  from product_affinity
  where lift > {{ affinity.min_lift }}
),

-- Exact pruning: a customer who bought k categories has bought at most k - 1 consequents of antecedent A (not A
-- itself), so A's first rule with a consequent not bought ranks at most k among A's rules, and every later rule of
-- A ranks below it. The best candidate is therefore among the rules ranked 1..k of the antecedents bought.
candidates as (
  select
    b.customer_id,
    r.consequent_category,
    r.antecedent_category,
    r.lift,
    r.confidence,
    ROW_NUMBER() OVER (
      PARTITION BY b.customer_id
      ORDER BY r.lift DESC, r.confidence DESC, r.consequent_category, r.antecedent_category
    ) AS candidate_rank
  from bought AS b
  join bought_counts AS k on k.customer_id = b.customer_id
  join ranked_rules AS r on r.antecedent_category = b.category and r.rule_rank <= k.categories
  left join bought AS already on already.customer_id = b.customer_id and already.category = r.consequent_category
  where already.customer_id IS NULL
),

categories as (
  select available AS is_available, reason
  from data_capabilities
  where dimension = 'categories'
),

final as (
  select
    c.customer_id,
    n.consequent_category AS next_best_category,
    n.antecedent_category AS because_of_category,
    n.lift,
    n.confidence,
    CAST(CASE WHEN NOT x.is_available THEN 'categories: ' || x.reason END AS VARCHAR) AS next_best_null_reason
  from customer_base AS c
  cross join categories AS x
  left join candidates AS n on n.customer_id = c.customer_id and n.candidate_rank = 1
  where c.orders > 0
)

select * from final
