/**
 * `crmlake generate`: simulates a retail business (customers, orders, returns, campaigns) and writes it in the
 * contract formats with its ground truth. See customer.ts for the story, campaigns.ts for the campaign effect,
 * faults.ts for --dirty, truth.ts for ground_truth.json.
 *
 * Layout of the output directory:
 *   transactions/<period>.csv[.gz]   one file per day (YYYY-MM-DD), month (YYYY-MM) or one `transactions.csv`
 *   customers/customers.csv
 *   campaigns/campaigns.csv
 *   campaign_contacts/contacts.csv
 *   ground_truth.json                the model, the parameters, what was written, true effects, faults
 *   ground_truth_latent.csv          one row per customer: the latent draws (λ, p, ν, …) behind its behaviour
 *
 * Memory stays flat in the number of customers and lines: customers are simulated one at a time (each from its
 * own random streams, so independently), their rows are appended to buffered writers, and the producer awaits
 * the writers once per customer (backpressure). Transaction rows go to per-period in-memory tails that are all
 * appended to their files whenever together they exceed a fixed budget (writer.ts: PeriodFiles), so at most one
 * transaction file is open at a time even with thousands of daily files.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { planCampaigns } from "./campaigns.ts";
import {
  ACQUISITION_CHANNELS,
  buildCatalogue,
  CATEGORIES,
  CHANNELS,
  STORE_COUNT,
  storeId,
} from "./catalogue.ts";
import { msOfDayAt, type SimulatedCustomer, type SimulationContext, simulateCustomer } from "./customer.ts";
import { FaultCounts, faultyRow, ROW_FAULTS } from "./faults.ts";
import { buildPeriods, dayStrings, formatCents, timeOfDay } from "./format.ts";
import { GenerateError, type GenerateOptions, periodOf, validateOptions } from "./options.ts";
import {
  CONTACTS_FILE,
  CUSTOMERS_FILE,
  closeSmallFile,
  finishTransactions,
  GROUND_TRUTH_FILE,
  LATENT_FILE,
  prepareOutput,
  writeCampaigns,
} from "./output.ts";
import { type Random, STREAMS, stream, uniformInt } from "./random.ts";
import {
  contactRow,
  customerRow,
  headerOf,
  LATENT_COLUMNS,
  latentRow,
  type TransactionFields,
  transactionRow,
} from "./rows.ts";
import { prospectProbability } from "./theory.ts";
import { buildGroundTruth, CampaignTallies, type GroundTruth, RealisedTally } from "./truth.ts";
import { PeriodFiles, TextFile } from "./writer.ts";

/** Bytes of transaction rows held in memory before all period files are appended to. */
const TRANSACTION_BUFFER_BYTES = 16 * 1024 * 1024;
const PROGRESS_EVERY_CUSTOMERS = 2048;

export interface GenerateProgress {
  readonly customersDone: number;
  readonly customers: number;
  readonly lines: number;
  readonly elapsedMs: number;
}

export interface GenerateResult {
  readonly out: string;
  readonly truth: GroundTruth;
  readonly lines: number;
  readonly files: number;
  readonly elapsedMs: number;
}

/** Precomputed text of everything that repeats, so that the per-line work is string concatenation. */
interface Texts {
  readonly days: readonly string[];
  readonly productIds: readonly string[];
  readonly productCategories: readonly number[];
  readonly categoryNames: readonly string[];
  readonly channelNames: readonly string[];
  readonly storeIds: readonly string[];
  readonly customerIdWidth: number;
}

function customerId(texts: Texts, index: number): string {
  return `C${String(index + 1).padStart(texts.customerIdWidth, "0")}`;
}

function formatNumber(value: number): string {
  return String(Number(value.toPrecision(8)));
}

function timestampAt(texts: Texts, t: number | undefined): string {
  if (t === undefined) return "";
  const day = Math.floor(t);
  return `${texts.days[day] ?? ""} ${timeOfDay(msOfDayAt(t, day))}`;
}

function latentFields(c: SimulatedCustomer, id: string, texts: Texts, ggP: number) {
  const { latent } = c;
  return {
    customer_id: id,
    signed_up_on: texts.days[c.signupDay] ?? "",
    never_buys: String(latent.neverBuys),
    price_sensitive: String(latent.priceSensitive),
    purchase_rate_per_day: formatNumber(latent.lambda),
    dropout_probability: formatNumber(latent.p),
    gamma_gamma_nu: formatNumber(latent.nu),
    mean_order_value: formatNumber(ggP / latent.nu),
    first_order_at: timestampAt(texts, latent.firstPurchaseT),
    dropped_out_at: timestampAt(texts, latent.dropoutT),
    baseline_orders: String(latent.baselineOrders),
    alive_at_end: String(latent.dropoutT === undefined),
  };
}

interface RunState {
  readonly options: GenerateOptions;
  readonly ctx: SimulationContext;
  readonly texts: Texts;
  readonly periodOfDay: Int32Array;
  readonly transactions: PeriodFiles;
  readonly customers: TextFile;
  readonly contacts: TextFile;
  readonly latent: TextFile;
  readonly realised: RealisedTally;
  readonly campaignTallies: CampaignTallies;
  readonly faults: FaultCounts;
}

function writeTransactions(
  state: RunState,
  c: SimulatedCustomer,
  id: string,
  faultRng: Random | undefined,
): void {
  const { texts, realised } = state;
  const orderPrefix = `O${id.slice(1)}-`;
  for (const event of c.events) {
    const orderId = event.kind === "return" ? `${orderPrefix}${event.seq}R` : `${orderPrefix}${event.seq}`;
    const orderedAt = `${texts.days[event.day] ?? ""} ${timeOfDay(event.msOfDay)}`;
    const channel = texts.channelNames[event.channel] ?? "";
    const store = event.store < 0 ? "" : (texts.storeIds[event.store] ?? "");
    const file = state.periodOfDay[event.day] ?? 0;
    for (const line of event.lines) {
      const category = texts.productCategories[line.product] ?? 0;
      const fields: TransactionFields = {
        order_id: orderId,
        customer_id: id,
        ordered_at: orderedAt,
        product_id: texts.productIds[line.product] ?? "",
        category: texts.categoryNames[category] ?? "",
        channel,
        store_id: store,
        quantity: String(line.quantity),
        amount: formatCents(line.amountCents),
        cost: formatCents(line.costCents),
        discount: formatCents(line.discountCents),
      };
      state.transactions.writeRow(file, transactionRow(fields));
      realised.addLine(category, event.channel, line.amountCents, line.costCents, line.discountCents);
      if (faultRng && faultRng.next() < state.options.dirty) {
        const fault = ROW_FAULTS[uniformInt(faultRng, ROW_FAULTS.length)] ?? "missing_customer_id";
        state.transactions.writeRow(file, faultyRow(faultRng, fault, fields));
        state.faults.add(file, fault);
      }
    }
  }
}

function writeCustomer(state: RunState, c: SimulatedCustomer): void {
  const { texts, options, ctx } = state;
  const id = customerId(texts, c.index);
  state.customers.writeRow(
    customerRow({
      customer_id: id,
      signed_up_at: texts.days[c.signupDay] ?? "",
      country: c.country,
      region: c.region,
      acquisition_channel: ACQUISITION_CHANNELS[c.acquisition]?.name ?? "",
    }),
  );
  state.latent.writeRow(latentRow(latentFields(c, id, texts, options.gammaGamma.p)));
  for (const contact of c.contacts) {
    const plan = ctx.campaigns[contact.campaign];
    if (!plan) continue;
    state.contacts.writeRow(
      contactRow({
        campaign_id: plan.id,
        customer_id: id,
        group: contact.group,
        contacted_on: texts.days[plan.startDay] ?? "",
      }),
    );
    state.campaignTallies.add(contact);
  }
  const faultRng = options.dirty > 0 ? stream(options.seed, STREAMS.faults, c.index) : undefined;
  writeTransactions(state, c, id, faultRng);
  state.realised.addCustomer(
    c,
    prospectProbability(c.signupDay, ctx.days, options.neverBuyProbability, options.firstPurchaseDelayDays),
  );
}

function buildTexts(ctx: SimulationContext, days: readonly string[]): Texts {
  const products = ctx.catalogue.products;
  return {
    days,
    productIds: products.map((p) => p.id),
    productCategories: products.map((p) => p.category),
    categoryNames: CATEGORIES.map((c) => c.name),
    channelNames: CHANNELS.map((c) => c.name),
    storeIds: Array.from({ length: STORE_COUNT }, (_, i) => storeId(i)),
    customerIdWidth: Math.max(7, String(ctx.options.customers).length),
  };
}

/** Generates the data set; resolves when every file is complete. Throws GenerateError on bad options. */
export async function generate(
  options: GenerateOptions,
  onProgress?: (progress: GenerateProgress) => void,
): Promise<GenerateResult> {
  const started = performance.now();
  const problems = validateOptions(options);
  if (problems.length > 0) throw new GenerateError("bad_option", problems.join("; "));
  const { out } = options;
  await prepareOutput(out, options.force);
  const { fromEpochDay, days } = periodOf(options);
  const dayText = dayStrings(fromEpochDay, days);
  const ctx: SimulationContext = {
    options,
    days,
    catalogue: buildCatalogue(stream(options.seed, STREAMS.catalogue, 0)),
    campaigns: planCampaigns(options.campaigns, days, (day) => dayText[day] ?? ""),
  };
  const texts = buildTexts(ctx, dayText);
  const periods = buildPeriods(fromEpochDay, days, options.files);
  const state: RunState = {
    options,
    ctx,
    texts,
    periodOfDay: periods.ofDay,
    transactions: new PeriodFiles(
      periods.names.map((name) => join(out, "transactions", `${name}.csv`)),
      headerOf("transactions"),
      TRANSACTION_BUFFER_BYTES,
      options.dirty > 0,
    ),
    customers: new TextFile(join(out, CUSTOMERS_FILE), headerOf("customers")),
    contacts: new TextFile(join(out, CONTACTS_FILE), headerOf("campaign_contacts")),
    latent: new TextFile(join(out, LATENT_FILE), LATENT_COLUMNS.join(",")),
    realised: new RealisedTally(),
    campaignTallies: new CampaignTallies(ctx.campaigns.length),
    faults: new FaultCounts(),
  };
  const campaignFiles = await writeCampaigns(out, ctx.campaigns, texts.days, options.controlShare);
  for (let index = 0; index < options.customers; index++) {
    writeCustomer(state, simulateCustomer(ctx, index));
    await Promise.all([
      state.transactions.drain(),
      state.customers.drain(),
      state.contacts.drain(),
      state.latent.drain(),
    ]);
    if (onProgress && (index + 1) % PROGRESS_EVERY_CUSTOMERS === 0) {
      onProgress({
        customersDone: index + 1,
        customers: options.customers,
        lines: state.realised.lines,
        elapsedMs: performance.now() - started,
      });
    }
  }
  await state.latent.close();
  const customerFiles = await closeSmallFile(out, state.customers, CUSTOMERS_FILE, "customers");
  const contactFiles = await closeSmallFile(out, state.contacts, CONTACTS_FILE, "campaign_contacts");
  const transactionFiles = await finishTransactions(
    out,
    options,
    state.transactions,
    state.faults,
    periods.names,
  );
  const files = [...transactionFiles.records, ...customerFiles, ...campaignFiles, ...contactFiles];
  const truth = buildGroundTruth(
    {
      options,
      days,
      campaigns: ctx.campaigns,
      campaignTallies: state.campaignTallies,
      realised: state.realised,
      files,
      truncated: transactionFiles.truncated,
    },
    (day) => texts.days[day] ?? "",
  );
  await writeFile(join(out, GROUND_TRUTH_FILE), `${JSON.stringify(truth, null, 2)}\n`);
  return {
    out,
    truth,
    lines: state.realised.lines,
    files: files.length,
    elapsedMs: performance.now() - started,
  };
}
