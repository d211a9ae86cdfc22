/**
 * The input data contracts (DESIGN.md §3): one place that ingest, the Glue tables, the docs and the tests
 * read. Column names here are the contract; a source profile maps a foreign export onto them.
 */

/** Logical column types, and how each is stored in Parquet / declared in SQL. */
export const COLUMN_TYPES = {
  varchar: { sql: "VARCHAR", glue: "string" },
  integer: { sql: "INTEGER", glue: "int" },
  bigint: { sql: "BIGINT", glue: "bigint" },
  decimal: { sql: "DECIMAL(18,2)", glue: "decimal(18,2)" },
  /** A proportion strictly between 0 and 1, kept to 6 decimals (a money decimal would round 0.125 to 0.13). */
  share: { sql: "DECIMAL(9,6)", glue: "decimal(9,6)" },
  date: { sql: "DATE", glue: "date" },
  timestamp: { sql: "TIMESTAMP_MS", glue: "timestamp" },
} as const;

export type ColumnType = keyof typeof COLUMN_TYPES;

export interface ColumnContract {
  readonly name: string;
  readonly type: ColumnType;
  readonly required: boolean;
  /** SQL literal used when an optional column is absent or empty (e.g. `1` for quantity). */
  readonly default?: string;
  /** Only values in this list are accepted (compared after trimming and lower-casing). */
  readonly allowed?: readonly string[];
  /** A non-negative value is required (e.g. discount). */
  readonly nonNegative?: boolean;
  /**
   * The date of something that has happened (an order, a sign-up, a contact): a value later than the ingest
   * day plus the configured tolerance is quarantined as `future_date`. Plans (a campaign's dates) may lie ahead.
   */
  readonly notInFuture?: boolean;
  /**
   * Added to the contract after files were written without it: a reader takes it as NULL in those files
   * (DuckDB's views fill it in; Athena and Trino read Parquet columns by name and give NULL already).
   */
  readonly addedLater?: boolean;
  readonly description: string;
}

export interface DatasetContract {
  readonly name: DatasetName;
  readonly description: string;
  readonly columns: readonly ColumnContract[];
  /**
   * Hive partition column derived from the row, if any. Transactions are partitioned by order month so
   * that Athena scans only the months a run needs.
   */
  readonly partition?: { readonly column: string; readonly from: string; readonly format: "month" };
}

export const DATASET_NAMES = [
  "transactions",
  "customers",
  "campaigns",
  "campaign_contacts",
  "products",
] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Lineage columns every curated row carries (DESIGN.md §3): where the row came from. */
export const LINEAGE_COLUMNS = [
  { name: "drop_id", type: "varchar", description: "Id of the drop (input file) the row came from" },
  {
    name: "line_number",
    type: "bigint",
    description:
      "The physical line of the drop the record starts on, counting a header as line 1, blank lines and lines inside quoted fields",
  },
] as const satisfies readonly { name: string; type: ColumnType; description: string }[];

const transactions: DatasetContract = {
  name: "transactions",
  description: "One row per order line.",
  partition: { column: "order_month", from: "ordered_at", format: "month" },
  columns: [
    { name: "order_id", type: "varchar", required: true, description: "Order, invoice or receipt id" },
    {
      name: "customer_id",
      type: "varchar",
      required: true,
      description: "Customer id; rows without it are quarantined (missing_customer_id)",
    },
    {
      name: "ordered_at",
      type: "timestamp",
      required: true,
      notInFuture: true,
      description:
        "When the order was placed (UTC, millisecond precision); without an offset, wall-clock time in calendar.time_zone, and a date alone means its midnight",
    },
    { name: "product_id", type: "varchar", required: false, description: "Product (SKU) id" },
    { name: "category", type: "varchar", required: false, description: "Product category" },
    {
      name: "channel",
      type: "varchar",
      required: false,
      description: "Sales channel: store, web, app, phone, …",
    },
    { name: "store_id", type: "varchar", required: false, description: "Store or location id" },
    {
      name: "quantity",
      type: "integer",
      required: false,
      default: "1",
      description: "Units; negative = returned units (default 1)",
    },
    {
      name: "amount",
      type: "decimal",
      required: true,
      description: "Net revenue of the line; negative = refund or return",
    },
    {
      name: "cost",
      type: "decimal",
      required: false,
      description: "Cost of goods; when absent, margin = amount × the configured default margin rate",
    },
    {
      name: "discount",
      type: "decimal",
      required: false,
      nonNegative: true,
      description: "Discount granted on the line (≥ 0)",
    },
    {
      name: "line_type",
      type: "varchar",
      required: false,
      allowed: ["product", "non_product"],
      addedLater: true,
      description:
        "product, or non_product for a line that sells no product (postage, a fee, an adjustment); a profile's non_product_lines can set it. Empty or absent reads as product. Non-product lines leave the customer and product models",
    },
  ],
};

const customers: DatasetContract = {
  name: "customers",
  description: "One row per customer (optional dataset). A customer with no transaction is a prospect.",
  columns: [
    { name: "customer_id", type: "varchar", required: true, description: "Customer id" },
    {
      name: "signed_up_at",
      type: "date",
      required: false,
      notInFuture: true,
      description: "Sign-up date",
    },
    { name: "country", type: "varchar", required: false, description: "Country" },
    { name: "region", type: "varchar", required: false, description: "Region" },
    {
      name: "acquisition_channel",
      type: "varchar",
      required: false,
      description: "Channel through which the customer was acquired",
    },
  ],
};

const campaigns: DatasetContract = {
  name: "campaigns",
  description: "One row per campaign.",
  columns: [
    { name: "campaign_id", type: "varchar", required: true, description: "Campaign id" },
    { name: "name", type: "varchar", required: false, description: "Campaign name" },
    {
      name: "channel",
      type: "varchar",
      required: false,
      description: "Contact channel (email, mail, sms, …)",
    },
    { name: "starts_on", type: "date", required: true, description: "First day of the campaign" },
    { name: "ends_on", type: "date", required: true, description: "Last day of the response window" },
    {
      name: "cost_per_contact",
      type: "decimal",
      required: false,
      default: "0",
      nonNegative: true,
      description: "Cost of one contact (default 0)",
    },
    {
      name: "fixed_cost",
      type: "decimal",
      required: false,
      default: "0",
      nonNegative: true,
      description: "Fixed cost of the campaign (default 0)",
    },
    {
      name: "planned_control_share",
      type: "share",
      required: false,
      addedLater: true,
      description:
        "Planned share of the audience held out as control, strictly between 0 and 1 (crmlake campaign assign fills it); when given, campaign_results tests the observed split against it (sample_ratio_mismatch)",
    },
  ],
};

const campaignContacts: DatasetContract = {
  name: "campaign_contacts",
  description: "One row per customer assigned to a campaign's treatment or control group.",
  columns: [
    { name: "campaign_id", type: "varchar", required: true, description: "Campaign id" },
    { name: "customer_id", type: "varchar", required: true, description: "Customer id" },
    {
      name: "group",
      type: "varchar",
      required: true,
      allowed: ["treatment", "control"],
      description: "treatment (contacted) or control (held out at random)",
    },
    {
      name: "contacted_on",
      type: "date",
      required: false,
      notInFuture: true,
      description: "Contact date; when absent the campaign's starts_on applies",
    },
  ],
};

const products: DatasetContract = {
  name: "products",
  description:
    "One row per product (optional dataset): a catalogue that fills the category and the cost of order lines that lack them (docs/definitions.md, Products catalogue).",
  columns: [
    {
      name: "product_id",
      type: "varchar",
      required: true,
      description: "Product (SKU) id, as on the order lines",
    },
    {
      name: "category",
      type: "varchar",
      required: false,
      description: "Product category; fills the category of lines of this product that have none",
    },
    { name: "brand", type: "varchar", required: false, description: "Brand" },
    {
      name: "list_price",
      type: "decimal",
      required: false,
      nonNegative: true,
      description: "List price of one unit (≥ 0)",
    },
    {
      name: "cost",
      type: "decimal",
      required: false,
      nonNegative: true,
      description:
        "Cost of goods of one unit (≥ 0); a line of this product without a cost costs quantity × this cost",
    },
  ],
};

export const CONTRACTS: Readonly<Record<DatasetName, DatasetContract>> = {
  transactions,
  customers,
  campaigns,
  campaign_contacts: campaignContacts,
  products,
};

export function isDatasetName(value: string): value is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(value);
}

/**
 * Stable reason codes of quarantined rows. A data engineer filters on these; never rename one.
 * The message of each row says which column and value were wrong.
 */
export const REASON_CODES = {
  malformed_row: "The record could not be parsed (wrong number of fields, bad quoting, invalid JSON)",
  bad_encoding: "The record is not valid text in the declared encoding",
  missing_customer_id: "customer_id is empty",
  missing_required: "A required column other than customer_id is empty",
  bad_id:
    "An id given as a JSON number is not a whole number, or is too large to be read exactly (JSON Lines only)",
  bad_timestamp: "A timestamp does not parse with the profile's formats, or is out of range",
  bad_date: "A date does not parse with the profile's formats, or is out of range",
  bad_amount:
    "A money value is not a number, does not fit decimal(18,2), or is negative where it must not be",
  bad_quantity: "quantity is not a whole number in the integer range",
  bad_value: "A value is not one of the allowed values",
  bad_share: "A share (planned_control_share) is not a number strictly between 0 and 1",
  bad_date_range: "ends_on is before starts_on",
  future_date:
    "An order, sign-up or contact date lies after the day of ingest plus calendar.future_date_tolerance_days (in calendar.time_zone)",
  duplicate_line:
    "The line repeats an earlier line of the same drop in every field (only with the profile's duplicate_lines = \"quarantine\"; by default duplicates are kept and counted in the ledger's rows_duplicate)",
} as const;

export type ReasonCode = keyof typeof REASON_CODES;
