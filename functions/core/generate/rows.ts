/** CSV rows of the four datasets, in the contract's column order (functions/core/catalogue/contracts.ts). */
import { CONTRACTS, type DatasetName } from "../catalogue/contracts.ts";

/**
 * Columns the generator never writes: it sells products only, and a file without `line_type` reads every line
 * as a product line.
 */
export const NOT_GENERATED: ReadonlySet<string> = new Set(["line_type"]);

/** The header line of a dataset's file: its contract columns, comma-separated. */
export function headerOf(dataset: DatasetName): string {
  return CONTRACTS[dataset].columns
    .filter((c) => !NOT_GENERATED.has(c.name))
    .map((c) => c.name)
    .join(",");
}

/** One transaction line as text fields (nothing the generator writes contains a comma, quote or line end). */
export interface TransactionFields {
  order_id: string;
  customer_id: string;
  ordered_at: string;
  product_id: string;
  category: string;
  channel: string;
  store_id: string;
  quantity: string;
  amount: string;
  cost: string;
  discount: string;
}

export function transactionRow(f: TransactionFields): string {
  return `${f.order_id},${f.customer_id},${f.ordered_at},${f.product_id},${f.category},${f.channel},${f.store_id},${f.quantity},${f.amount},${f.cost},${f.discount}`;
}

export interface CustomerFields {
  customer_id: string;
  signed_up_at: string;
  country: string;
  region: string;
  acquisition_channel: string;
}

export function customerRow(f: CustomerFields): string {
  return `${f.customer_id},${f.signed_up_at},${f.country},${f.region},${f.acquisition_channel}`;
}

export interface CampaignFields {
  campaign_id: string;
  name: string;
  channel: string;
  starts_on: string;
  ends_on: string;
  cost_per_contact: string;
  fixed_cost: string;
  /** The generator's control share, when strictly between 0 and 1; else empty. */
  planned_control_share: string;
}

export function campaignRow(f: CampaignFields): string {
  return `${f.campaign_id},${f.name},${f.channel},${f.starts_on},${f.ends_on},${f.cost_per_contact},${f.fixed_cost},${f.planned_control_share}`;
}

export interface ContactFields {
  campaign_id: string;
  customer_id: string;
  group: string;
  contacted_on: string;
}

export function contactRow(f: ContactFields): string {
  return `${f.campaign_id},${f.customer_id},${f.group},${f.contacted_on}`;
}

/** Latent per-customer truth (ground_truth_latent.csv): the draws behind each customer's behaviour. */
export const LATENT_COLUMNS = [
  "customer_id",
  "signed_up_on",
  "never_buys",
  "price_sensitive",
  "purchase_rate_per_day",
  "dropout_probability",
  "gamma_gamma_nu",
  "mean_order_value",
  "first_order_at",
  "dropped_out_at",
  "baseline_orders",
  "alive_at_end",
] as const;

export type LatentFields = Record<(typeof LATENT_COLUMNS)[number], string>;

export function latentRow(f: LatentFields): string {
  return LATENT_COLUMNS.map((c) => f[c]).join(",");
}
