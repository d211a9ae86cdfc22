/**
 * The small model set the runner and scoring tests share: a staging view of the lines as of the run, and a
 * table of revenue per customer. Small on purpose: the Athena fake runs no SQL.
 */
export const STG_LINES = `-- question: Lines as of the run.
-- grain: one row per line
-- depends_on: none
-- sources: transactions
-- materialized: view
-- column customer_id varchar: Customer.
-- column amount decimal(18,2): Amount.
select customer_id, amount from transactions where CAST(ordered_at AS DATE) <= {{ as_of }}
`;

export const CUSTOMER_TOTALS = `-- question: Revenue per customer.
-- grain: one row per customer
-- depends_on: stg_lines
-- unique_key: customer_id
-- column customer_id varchar: Customer.
-- column revenue decimal(18,2): Revenue.
select customer_id, CAST(SUM(amount) AS DECIMAL(18,2)) AS revenue
from stg_lines group by customer_id
`;

/** CUSTOMER_TOTALS' output columns, as Athena's information_schema lists them. */
export const TOTALS_COLUMNS = [
  ["customer_id", "varchar"],
  ["revenue", "decimal(18,2)"],
] as const;
