/**
 * Fixture lakes for the differential tier, built by the real pipeline: CSV drops (the generator's, plus the
 * hand-written edge cases below) go through `ingestDrop` into a LocalObjectStore, exactly as `crmlake demo`
 * does, so Trino reads the Parquet, quarantine and ledger files ingest really writes.
 *
 * The edge cases mirror the situations the SQL tests (test/sql/) state by hand — ties at the pyramid cut-offs,
 * a customer with only returns, prospects, a one-day history, an order spanning two days and two partitions —
 * and add what a differential test needs on top: non-ASCII text, half-way roundings of money, the last
 * millisecond of the as-of day, rows after it, records re-delivered in a later drop, quarantined rows and a
 * rejected drop.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DATASET_NAMES, type DatasetName } from "../../functions/core/catalogue/contracts.ts";
import { isCrmlakeError } from "../../functions/core/errors.ts";
import { generate } from "../../functions/core/generate/generate.ts";
import { DEFAULT_OPTIONS } from "../../functions/core/generate/options.ts";
import { ingestDrop } from "../../functions/core/ingest/ingest.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";
import type { LakeFixture } from "../sql/helpers.ts";

/**
 * The as-of of every differential run: inside the generated period (2023-01-01 … 2024-12-31), so lines after
 * it exist both in its own month (filtered by date) and in later months (filtered by the order_month partition).
 * Value window (2023-11-20, 2024-11-20]; comparison_as_of 2024-08-22, its window (2023-08-22, 2024-08-22].
 */
export const AS_OF = "2024-11-20";

/**
 * Customers of the edge-case drops with a purchase order in the current value window (E01, E06, E07, E10–E16,
 * and the two ORDERED_PAIR customers).
 * The pyramid group fills the rest up to 100 active customers, so that with the default cut-offs the tier edges
 * fall on ranks 1 | 2–5 | 6–20 | 21–100 and the ties below sit exactly on them.
 */
export const EDGE_ACTIVE_CUSTOMERS = 12;
export const PYRAMID_GROUP = 100 - EDGE_ACTIVE_CUSTOMERS;

type Csv = readonly (readonly string[])[];

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvText(header: readonly string[], rows: Csv): string {
  return `${[header, ...rows].map((row) => row.map(csvField).join(",")).join("\n")}\n`;
}

const TRANSACTION_HEADER = [
  "order_id",
  "customer_id",
  "ordered_at",
  "product_id",
  "category",
  "channel",
  "store_id",
  "quantity",
  "amount",
  "cost",
  "discount",
] as const;

interface Line {
  order: string;
  customer: string;
  at: string;
  amount: string;
  product?: string;
  category?: string;
  channel?: string;
  store?: string;
  quantity?: string;
  cost?: string;
  discount?: string;
}

function line(l: Line): string[] {
  return [
    l.order,
    l.customer,
    l.at,
    l.product ?? "",
    l.category ?? "",
    l.channel ?? "",
    l.store ?? "",
    l.quantity ?? "",
    l.amount,
    l.cost ?? "",
    l.discount ?? "",
  ];
}

/** A customer id with non-ASCII letters, CJK and an astral-plane emoji (a UTF-16 surrogate pair). */
export const UNICODE_CUSTOMER = "E14_Zoë_東京_😀";

/**
 * Two customers with the same value whose ids sort one way by UTF-8 bytes (U+FF5E EF BD 9E before U+1F600
 * F0 9F 98 80, as Trino and DuckDB compare varchar) and the other way by UTF-16 code units (D83D before FF5E,
 * as Java's String.compareTo does): an `ORDER BY value DESC, customer_id` tie-break would show which one an
 * engine uses. Since issue 13 the ranks share ties (RANK()), so the pair must get one rank.
 */
export const ORDERED_PAIR = ["E19_\uff5e", "E19_\u{1f600}"] as const;

/** The edge-case order lines (see the file comment); every customer id starts with E, the generator's with C. */
function edgeOrders(): Csv {
  const l = (x: Line) => line({ category: "books", channel: "web", ...x });
  return [
    // E01: two purchase orders on one day (order_days 1, relationship 0 days); a second line without cost.
    l({ order: "EO01a", customer: "E01", at: "2024-10-01 10:00:00", amount: "12.50", cost: "7.00" }),
    l({ order: "EO01a", customer: "E01", at: "2024-10-01 10:00:00", amount: "3.10", category: "café" }),
    l({
      order: "EO01b",
      customer: "E01",
      at: "2024-10-01 18:30:00.250",
      amount: "40.00",
      category: "toys",
      discount: "5.00",
      quantity: "2",
    }),
    // E02: only a return, in the window: known, not a prospect, never active.
    l({ order: "EO02r", customer: "E02", at: "2024-09-10 12:00:00", amount: "-20.00", quantity: "-1" }),
    // E05: signed up and bought after as_of (next month): not known in this run.
    l({ order: "EO05", customer: "E05", at: "2024-12-16 09:00:00", amount: "10.00" }),
    // E06: a line on the last millisecond of the as-of day counts; one a millisecond later does not.
    l({ order: "EO06a", customer: "E06", at: "2024-05-05 08:00:00", amount: "25.00", cost: "20.00" }),
    l({ order: "EO06b", customer: "E06", at: "2024-11-20 23:59:59.999", amount: "8.00", category: "toys" }),
    l({ order: "EO06c", customer: "E06", at: "2024-11-21 00:00:00.000", amount: "9.00", category: "toys" }),
    // E07: won back after more than lapsed_after_days (365) without a purchase.
    l({
      order: "EO07a",
      customer: "E07",
      at: "2022-11-01 11:00:00",
      amount: "30.00",
      channel: "store",
      store: "S01",
    }),
    l({
      order: "EO07b",
      customer: "E07",
      at: "2024-10-10 11:00:00",
      amount: "45.00",
      channel: "store",
      store: "S01",
    }),
    // E08: lapsed long ago; E09: lapsed within the comparison period (a lost customer).
    l({ order: "EO08", customer: "E08", at: "2023-03-01 09:00:00", amount: "50.00" }),
    l({ order: "EO09", customer: "E09", at: "2023-09-15 09:00:00", amount: "60.00", category: "toys" }),
    // E10: loyal (5 orders), several categories, one order with two categories (a market basket).
    l({ order: "EO10a", customer: "E10", at: "2024-01-10 10:00:00", amount: "20.00", category: "garden" }),
    l({ order: "EO10b", customer: "E10", at: "2024-03-10 10:00:00", amount: "22.00", category: "toys" }),
    l({ order: "EO10c", customer: "E10", at: "2024-05-10 10:00:00", amount: "24.00" }),
    l({ order: "EO10c", customer: "E10", at: "2024-05-10 10:00:00", amount: "6.00", category: "café" }),
    l({ order: "EO10d", customer: "E10", at: "2024-07-10 10:00:00", amount: "26.00", discount: "13.00" }),
    l({ order: "EO10e", customer: "E10", at: "2024-09-10 10:00:00", amount: "28.00", category: "toys" }),
    // E11: one order whose lines span two days and two order_month partitions (dated by its first line).
    l({ order: "EO11", customer: "E11", at: "2024-03-31 23:59:59.999", amount: "10.00", category: "garden" }),
    l({ order: "EO11", customer: "E11", at: "2024-04-01 00:00:00.000", amount: "5.00", category: "garden" }),
    // E12: an order with a sale and a refund line (a purchase and a return), and a return-only order.
    l({ order: "EO12a", customer: "E12", at: "2024-06-01 12:00:00", amount: "100.00", cost: "55.55" }),
    l({ order: "EO12a", customer: "E12", at: "2024-06-01 12:05:00", amount: "-30.00", quantity: "-1" }),
    l({ order: "EO12b", customer: "E12", at: "2024-06-20 12:00:00", amount: "-10.00", quantity: "-1" }),
    // E13: margins exactly half a cent (0.3 × 0.05 = 0.015): rounding must be half-up on both engines.
    l({ order: "EO13a", customer: "E13", at: "2024-08-30 10:00:00", amount: "0.05" }),
    l({ order: "EO13a", customer: "E13", at: "2024-08-30 10:00:00", amount: "0.15", category: "toys" }),
    l({ order: "EO13b", customer: "E13", at: "2024-09-30 10:00:00", amount: "-0.05", quantity: "-1" }),
    // E14: non-ASCII everywhere text goes.
    l({
      order: "EO14",
      customer: UNICODE_CUSTOMER,
      at: "2024-07-14 14:07:14.714",
      amount: "17.89",
      product: "crème-brûlée",
      category: "café",
      channel: "téléphone",
      store: "München-1",
    }),
    // E15: every optional column empty: unknown category/channel/store, quantity 1, default margin, no discount.
    line({ order: "EO15", customer: "E15", at: "2024-02-29", amount: "19.99" }),
    // E16: large money values (still far below the pyramid group's).
    l({
      order: "EO16",
      customer: "E16",
      at: "2024-04-30 16:16:16.016",
      amount: "123456.78",
      cost: "98765.43",
    }),
    // E19: the tie whose order depends on how strings compare.
    ...ORDERED_PAIR.map((customer, i) =>
      l({ order: `EO19${i}`, customer, at: "2024-06-19 19:19:19", amount: "33.33", category: "toys" }),
    ),
  ];
}

/**
 * The pyramid group P001…P090: one order each on 2024-05-01 (in the current and the comparison window), large
 * enough to take the top ranks, with the same amount for P001/P002, P005/P006 and P020/P021: with 100 active
 * customers those are the top|big, big|medium and medium|small edges; each tie goes wholly to the higher tier.
 */
function pyramidOrders(): Csv {
  const tie = new Map([
    [2, 1],
    [6, 5],
    [21, 20],
  ]);
  const rows: string[][] = [];
  for (let i = 1; i <= PYRAMID_GROUP; i++) {
    const id = `P${String(i).padStart(3, "0")}`;
    const amount = 1_000_000 - 1000 * (tie.get(i) ?? i);
    rows.push(
      line({
        order: `O${id}`,
        customer: id,
        at: "2024-05-01 12:00:00",
        amount: amount.toFixed(2),
        category: i % 3 === 0 ? "garden" : "books",
        channel: "web",
      }),
    );
  }
  return rows;
}

/** Lines ingest must quarantine, between good ones. */
function faultyOrders(): Csv {
  return [
    line({ order: "EO15b", customer: "E15", at: "2024-03-01 09:00:00", amount: "5.00", category: "books" }),
    line({ order: "EX1", customer: "E15", at: "2024-03-02 09:00:00", amount: "5.00", quantity: "1.5" }),
    line({ order: "EX2", customer: "", at: "2024-03-02 09:00:00", amount: "5.00" }),
    line({ order: "EX3", customer: "E15", at: "2024-13-45 00:00:00", amount: "5.00" }),
    line({ order: "EX4", customer: "Zoë", at: "2024-03-02 09:00:00", amount: "cinq €" }),
  ];
}

const CUSTOMER_HEADER = ["customer_id", "signed_up_at", "country", "region", "acquisition_channel"] as const;
const CAMPAIGN_HEADER = [
  "campaign_id",
  "name",
  "channel",
  "starts_on",
  "ends_on",
  "cost_per_contact",
  "fixed_cost",
] as const;
const CONTACT_HEADER = ["campaign_id", "customer_id", "group", "contacted_on"] as const;

export interface EdgeDrop {
  dataset: DatasetName;
  file: string;
  text: string;
}

/** The edge-case drops, in ingest order (later drops win where a record is delivered twice). */
export function edgeCaseDrops(): EdgeDrop[] {
  return [
    { dataset: "transactions", file: "edge-orders.csv", text: csvText(TRANSACTION_HEADER, edgeOrders()) },
    { dataset: "transactions", file: "edge-pyramid.csv", text: csvText(TRANSACTION_HEADER, pyramidOrders()) },
    { dataset: "transactions", file: "edge-faulty.csv", text: csvText(TRANSACTION_HEADER, faultyOrders()) },
    // A drop without the required amount column: rejected as a whole (ledger/rejected/).
    {
      dataset: "transactions",
      file: "edge-no-amount.csv",
      text: "order_id,customer_id,ordered_at\nEOX,E01,2024-01-01 00:00:00\n",
    },
    {
      dataset: "customers",
      file: "edge-customers-1.csv",
      text: csvText(CUSTOMER_HEADER, [
        ["E01", "2024-01-01", "FR", "FR-IDF", "web"],
        ["E03", "2024-06-01", "DE", "", "referral"], // a prospect
        ["E04", "", "", "", ""], // a prospect with no sign-up date: known at every reference date
        ["E05", "2024-12-15", "FR", "", ""], // signed up after as_of
        [UNICODE_CUSTOMER, "2024-07-01", "Österreich", "Wien", "référence"],
        ["E18", "2024-02-02", "FR", "FR-ARA", "store"],
      ]),
    },
    {
      dataset: "customers",
      file: "edge-customers-2.csv",
      text: csvText(CUSTOMER_HEADER, [
        ["E18", "2024-02-02", "DE", "DE-BY", "store"], // re-delivered: this record wins
        ["E06", "2024-01-15", "IT", "", "app"],
      ]),
    },
    {
      dataset: "campaigns",
      file: "edge-campaigns-1.csv",
      text: csvText(CAMPAIGN_HEADER, [
        ["ECMP1", "Édition été", "email", "2024-06-01", "2024-06-30", "0.50", "100.00"],
        ["ECMP2", "After as_of", "mail", "2024-12-01", "2024-12-31", "1.00", "0"],
      ]),
    },
    {
      dataset: "campaigns",
      file: "edge-campaigns-2.csv",
      text: csvText(CAMPAIGN_HEADER, [
        ["ECMP1", "Édition été", "email", "2024-06-01", "2024-06-30", "0.75", "100.00"],
      ]),
    },
    {
      dataset: "campaign_contacts",
      file: "edge-contacts.csv",
      text: csvText(CONTACT_HEADER, [
        ["ECMP1", "E03", "treatment", ""], // contacted on the campaign's starts_on
        ["ECMP1", "E01", "control", "2024-06-02"],
        ["ECMP1", "E10", "treatment", "2024-06-03"],
        ["ECMP1", "E10", "treatment", "2024-06-04"], // the same contact again: the later line wins
        ["ECMP1", UNICODE_CUSTOMER, "treatment", "2024-06-05"],
        ["ECMP2", "E10", "treatment", ""], // starts after as_of
      ]),
    },
  ];
}

export async function writeEdgeCaseDrops(
  dropsDir: string,
  datasets: readonly DatasetName[] = DATASET_NAMES,
): Promise<void> {
  await writeDrops(
    dropsDir,
    edgeCaseDrops().filter((d) => datasets.includes(d.dataset)),
  );
}

async function writeDrops(dropsDir: string, drops: readonly EdgeDrop[]): Promise<void> {
  for (const drop of drops) {
    await mkdir(join(dropsDir, drop.dataset), { recursive: true });
    await writeFile(join(dropsDir, drop.dataset, drop.file), drop.text);
  }
}

export interface IngestTotals {
  drops: number;
  rejected: number;
  rowsOk: number;
  rowsQuarantined: number;
}

/**
 * Ingests every file under `<dropsDir>/<dataset>/` (sorted by name) into the lake, like `crmlake demo`;
 * whole-file rejections (a duplicate, a missing column) are counted, not thrown.
 */
export async function ingestDrops(
  dropsDir: string,
  lakeDir: string,
  workDir: string,
  totals: IngestTotals = { drops: 0, rejected: 0, rowsOk: 0, rowsQuarantined: 0 },
): Promise<IngestTotals> {
  const store = new LocalObjectStore(lakeDir);
  for (const dataset of DATASET_NAMES) {
    let files: string[];
    try {
      files = (await readdir(join(dropsDir, dataset))).sort();
    } catch {
      continue;
    }
    for (const file of files) {
      const path = join(dropsDir, dataset, file);
      try {
        const { ledger } = await ingestDrop({
          store,
          dataset,
          source: { localPath: path, uri: path },
          workDir,
          duckdb: { threads: 2 },
        });
        totals.drops++;
        totals.rowsOk += ledger.rows_ok;
        totals.rowsQuarantined += ledger.rows_quarantined;
      } catch (error) {
        if (!isCrmlakeError(error)) throw error;
        totals.rejected++;
      }
    }
  }
  return totals;
}

export interface FixtureLake {
  readonly lakeDir: string;
  readonly totals: IngestTotals;
  /** Transaction lines the generator wrote (0 without it). */
  readonly generatedLines: number;
}

export interface FixtureOptions {
  /** Generated customers (with a few faulty lines), ingested before the edge cases; none when undefined. */
  readonly customers?: number;
  /** Datasets whose edge-case drops are ingested; default all. */
  readonly edgeDatasets?: readonly DatasetName[];
  /** Drops of the scenario's own, ingested instead of the edge cases (lakeFixtureDrops). */
  readonly drops?: readonly EdgeDrop[];
}

/**
 * A hand-computed fixture of the SQL tests (test/sql/helpers.ts, LakeFixture) as CSV drops for the real ingest,
 * with makeLake's defaults: category 'books' and channel 'web' when not given, NULL when given as null,
 * quantity 1. Timestamps carry no offset: with the default calendar, ingest stores them as written (UTC).
 */
export function lakeFixtureDrops(fixture: LakeFixture): EdgeDrop[] {
  const text = (value: string | number | null | undefined) =>
    value === null || value === undefined ? "" : String(value);
  const drops: EdgeDrop[] = [];
  const transactions = fixture.transactions ?? [];
  if (transactions.length > 0) {
    drops.push({
      dataset: "transactions",
      file: "fixture-transactions.csv",
      text: csvText(
        TRANSACTION_HEADER,
        transactions.map((t) => [
          t.order_id,
          t.customer_id,
          t.ordered_at,
          text(t.product_id),
          t.category === undefined ? "books" : text(t.category),
          t.channel === undefined ? "web" : text(t.channel),
          text(t.store_id),
          text(t.quantity ?? 1),
          t.amount,
          text(t.cost),
          text(t.discount),
        ]),
      ),
    });
  }
  const customers = fixture.customers ?? [];
  if (customers.length > 0) {
    drops.push({
      dataset: "customers",
      file: "fixture-customers.csv",
      text: csvText(
        ["customer_id", "signed_up_at", "country"],
        customers.map((k) => [k.customer_id, text(k.signed_up_at), text(k.country)]),
      ),
    });
  }
  if ((fixture.campaigns ?? []).length > 0 || (fixture.campaign_contacts ?? []).length > 0) {
    throw new Error("lakeFixtureDrops: campaigns are not converted (no definitions fixture has any)");
  }
  return drops;
}

/** A lake with the edge-case drops, and the generator's business first when `customers` is given. */
export async function buildFixtureLake(dir: string, options: FixtureOptions = {}): Promise<FixtureLake> {
  const { customers, edgeDatasets = DATASET_NAMES } = options;
  const lakeDir = join(dir, "lake");
  const workDir = join(dir, "work");
  await mkdir(workDir, { recursive: true });
  const totals: IngestTotals = { drops: 0, rejected: 0, rowsOk: 0, rowsQuarantined: 0 };
  let generatedLines = 0;
  if (customers !== undefined) {
    const generated = join(dir, "generated");
    const result = await generate({
      ...DEFAULT_OPTIONS,
      out: generated,
      customers,
      dirty: 0.002,
      force: true,
    });
    generatedLines = result.lines;
    await ingestDrops(generated, lakeDir, workDir, totals);
  }
  const edge = join(dir, "edge");
  if (options.drops === undefined) await writeEdgeCaseDrops(edge, edgeDatasets);
  else await writeDrops(edge, options.drops);
  await ingestDrops(edge, lakeDir, workDir, totals);
  return { lakeDir, totals, generatedLines };
}
