/**
 * The next-best actions of customer_actions (sql/marts/customer_actions.sql, docs/lifetime-value.md), in the
 * order of the rules that choose them: `crmlake export actions` writes one CSV per action, always all of them
 * (an action nobody gets is a file with the header only, so an activation tool never reads yesterday's list).
 */
export const NEXT_ACTIONS = [
  "win_back",
  "retain",
  "nurture",
  "reduce_cost_to_serve",
  "cross_sell",
  "invest",
  "maintain",
] as const;
export type NextAction = (typeof NEXT_ACTIONS)[number];
