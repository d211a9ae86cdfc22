/**
 * ground_truth.json: what the generator knows and an analysis should recover. The JSON describes itself: its
 * `fields` member maps every field path to the text below, so a reader needs neither this file nor the code.
 *
 * Top level
 *   about                 what the file is
 *   format_version        bumped when a field changes meaning
 *   options               the options of the run (same options → byte-identical files)
 *   units                 time and money units of every number
 *   parameters            the simulated model: BG/NBD, Gamma-Gamma, acquisition, price sensitivity, basket,
 *                         returns, opening hours
 *   catalogue             categories (margin, prices, return rate), affinity, channels, stores, countries,
 *                         acquisition channels
 *   campaigns[]           per campaign: its row in campaigns.csv, who was selected, the true effect mechanism
 *                         per segment, and per segment (`all`, `prior_buyer`, `no_prior_purchase`) the true
 *                         effect (both potential outcomes of every contact are known) and the observed
 *                         treatment-vs-control figures a correct analysis of the files must reproduce exactly
 *   realised              counts and sums of what was actually written (clean rows only)
 *   files[]               every data file: path, dataset, rows, clean rows, faults by reason code
 *   faults                the --dirty faults: rate, counts by reason code, duplicated drop, truncated file
 *   fields                path → description of every field above (generated from FIELD_DOCS)
 *
 * The field-by-field descriptions are FIELD_DOCS below (one source, written into the JSON).
 */
import type { DatasetName } from "../catalogue/contracts.ts";
import {
  type CampaignPlan,
  isHeterogeneous,
  perSegment,
  SEGMENT_DESCRIPTIONS,
  type Segment,
} from "./campaigns.ts";
import {
  ACQUISITION_CHANNELS,
  AFFINITY,
  BASKET,
  CATEGORIES,
  CHANNELS,
  COUNTRIES,
  DISCOUNTS,
  OPENING_HOURS,
  PRODUCTS_PER_CATEGORY,
  RETURNS,
  STORE_COUNT,
  storeId,
} from "./catalogue.ts";
import type { ContactOutcome, SimulatedCustomer } from "./customer.ts";
import { FAULT_DESCRIPTIONS } from "./faults.ts";
import { centsToMoney, round } from "./format.ts";
import type { GenerateOptions } from "./options.ts";
import { gammaGammaExpectedValue } from "./theory.ts";

export const FORMAT_VERSION = 1;

/** Path → meaning of every field of ground_truth.json; `[]` marks array elements, `<segment>` a key. */
export const FIELD_DOCS: Readonly<Record<string, string>> = {
  about: "What this file is.",
  format_version: "Version of this file's layout; bumped when a field changes meaning.",
  options:
    "The generator's options for this run. The same options (seed included) give byte-identical files.",
  "options.customers": "Number of customers simulated (rows of customers/customers.csv).",
  "options.from": "First day of the simulated period (UTC).",
  "options.to": "Last day of the simulated period (UTC, inclusive); nothing is dated after it.",
  "options.days": "Days in the period (to − from + 1).",
  "options.seed": "Seed of the pseudo-random streams.",
  "options.campaigns": "Number of campaigns.",
  "options.dirty":
    "Probability, per clean transaction line, that a faulty extra line follows it (see faults).",
  "options.files": "How transaction lines are split into files: daily, monthly or single.",
  "options.gzip": "Whether transaction files are gzipped (.csv.gz).",
  units: "Units of the numbers in this file and in the data files.",
  "units.time": "Unit of every rate and duration.",
  "units.money": "Unit of every amount.",
  parameters: "The simulated model. Every customer is independent and identically distributed.",
  "parameters.bgnbd":
    "BG/NBD purchase process: while alive, purchases follow a Poisson process with rate λ ~ Gamma(shape r, rate alpha) per day; after each repeat purchase (not the first) the customer drops out for good with probability p ~ Beta(a, b).",
  "parameters.bgnbd.r": "Shape of the Gamma distribution of λ.",
  "parameters.bgnbd.alpha": "Rate of the Gamma distribution of λ, in days (E[λ] = r/alpha per day).",
  "parameters.bgnbd.a": "First shape of the Beta distribution of the drop-out probability p.",
  "parameters.bgnbd.b": "Second shape of the Beta distribution of the drop-out probability p.",
  "parameters.bgnbd.time_unit": "Time unit of alpha and λ.",
  "parameters.bgnbd.mean_purchase_rate_per_day": "E[λ] = r/alpha.",
  "parameters.bgnbd.mean_dropout_probability": "E[p] = a/(a + b).",
  "parameters.gamma_gamma":
    "Gamma-Gamma spend: each customer has ν ~ Gamma(shape q, rate gamma); each order's net value (sum of its line amounts, after discount, before returns) is z ~ Gamma(shape p, rate ν).",
  "parameters.gamma_gamma.p": "Shape of the Gamma distribution of an order's value given ν.",
  "parameters.gamma_gamma.q": "Shape of the Gamma distribution of ν.",
  "parameters.gamma_gamma.gamma": "Rate of the Gamma distribution of ν.",
  "parameters.gamma_gamma.expected_order_value":
    "E[z] = p·gamma/(q − 1), the mean order value over customers (before rounding to cents).",
  "parameters.acquisition": "Sign-up and first purchase.",
  "parameters.acquisition.signup": "How sign-up days are drawn.",
  "parameters.acquisition.never_buy_probability": "Probability that a customer never buys.",
  "parameters.acquisition.first_purchase_delay_mean_days":
    "Other customers buy first at sign-up (midnight UTC) + Exponential(mean this many days); later than the period's end means no purchase observed.",
  "parameters.acquisition.expected_prospect_share":
    "E[share of customers without any order in the period] = mean over customers of never_buy + (1 − never_buy)·exp(−(days − signup_day)/delay), ignoring campaign-induced orders.",
  "parameters.price_sensitivity": "Discount behaviour.",
  "parameters.price_sensitivity.price_sensitive_share": "Probability that a customer is price-sensitive.",
  "parameters.price_sensitivity.discounted_line_probability_price_sensitive":
    "Probability that a line of a price-sensitive customer carries a discount.",
  "parameters.price_sensitivity.discounted_line_probability_other":
    "Probability that a line of any other customer carries a discount.",
  "parameters.price_sensitivity.discount_rates":
    "Discount rates, equally likely; discount = amount·rate/(1 − rate), so rate = discount/(amount + discount).",
  "parameters.basket": "Order lines: count, units, category choice, channel and store.",
  "parameters.basket.extra_lines_mean": "Lines per order = 1 + Poisson(this), capped.",
  "parameters.basket.max_lines": "Cap on lines per order (also at most one line per cent of value).",
  "parameters.basket.extra_unit_probability": "Units per line: 1, then +1 with this probability each time.",
  "parameters.basket.max_quantity": "Cap on units per line.",
  "parameters.basket.affinity_probability":
    "Probability that a line after the first is drawn from the affinity partners of the previous line's category (catalogue.affinity), else from the customer's category preferences.",
  "parameters.basket.favourite_category_boost":
    "Each customer has one favourite category with this many times its popularity.",
  "parameters.basket.preferred_channel_probability":
    "Probability that an order goes through the customer's preferred channel, else the channel mix.",
  "parameters.basket.home_store_probability":
    "Probability that a store order is in the customer's home store.",
  "parameters.basket.line_amounts":
    "How an order's value is split over its lines: in proportion to list price × quantity, at least one cent per line, exact to the cent.",
  "parameters.returns":
    "Returns: each line is returned with its category's return_rate; the returned lines of an order form one refund order (order_id + 'R', negative quantity, amount and cost, discount 0) dated this many days after the purchase. Refunds after the period's end are not written.",
  "parameters.returns.min_delay_days": "Shortest delay of a refund, days.",
  "parameters.returns.max_delay_days": "Longest delay of a refund, days.",
  "parameters.opening_hours_utc":
    "Orders are timed uniformly between these hours (UTC) of their day; the day itself comes from the model.",
  catalogue: "The products, channels, stores and places.",
  "catalogue.categories[]":
    "One entry per category: name, product_prefix, popularity (relative weight of first lines), margin (mean gross margin; each product within ± 0.05), min_price and max_price (list prices are log-uniform), return_rate, products.",
  "catalogue.affinity": "Category → partner categories with relative weights (see parameters.basket).",
  "catalogue.channels[]": "Sales channels with their relative popularity.",
  "catalogue.stores": "Store ids; only store-channel orders carry a store_id (others leave it empty).",
  "catalogue.countries[]": "Countries with their weight and ISO 3166-2 regions (uniform within the country).",
  "catalogue.acquisition_channels[]": "Acquisition channels with their relative weight.",
  campaigns:
    "Per campaign. Eligible: customers signed up before starts_on. Each is selected with target_share, then assigned at random to control with control_share, else treatment. contacted_on = starts_on for both groups.",
  "campaigns[].campaign_id":
    "As in campaigns.csv (also name, channel, starts_on, ends_on, cost_per_contact, fixed_cost).",
  "campaigns[].window_days": "Days in [starts_on, ends_on].",
  "campaigns[].target_share": "Probability that an eligible customer is selected.",
  "campaigns[].control_share": "Probability that a selected customer is held out as control.",
  "campaigns[].effect.mechanism": "How treatment changes behaviour (acts only through orders in the window).",
  "campaigns[].effect.heterogeneous": "Whether the effect parameters differ between segments.",
  "campaigns[].effect.by_segment.<segment>":
    "definition (how to compute the segment from the files), induced_order_probability, value_multiplier and expected_induced_order_value (before returns) of that segment.",
  "campaigns[].results.<segment>":
    "Results for all contacts (`all`) and per segment: contacts, treatment, control, true_effect, observed, cost.",
  "campaigns[].results.<segment>.true_effect":
    "Exact effects: both potential outcomes of every contact are simulated. Rates and per-contact figures are means over all contacts of the segment (treatment and control): response_rate_without/with_treatment, response_uplift (the sample average treatment effect, which the treatment − control difference estimates without bias), revenue_per_contact_without/with_treatment, revenue_uplift_per_contact, margin_uplift_per_contact. incremental_responders, incremental_revenue and incremental_margin sum (with − without) over the treatment group: what the campaign actually caused.",
  "campaigns[].results.<segment>.observed":
    "What the files show, per group: contacts, responders (at least one line with amount > 0 dated in [contacted_on, ends_on]), response_rate, revenue and margin (sum of amount, and of amount − cost, of all the customer's lines dated in the window, returns included), revenue_per_contact; response_uplift and revenue_uplift_per_contact are treatment − control. A correct analysis reproduces these exactly.",
  "campaigns[].results.<segment>.cost":
    "treatment contacts × cost_per_contact, plus fixed_cost for `all` only.",
  realised: "What was written (clean rows only, faults excluded).",
  "realised.customers": "Customers written.",
  "realised.never_buyers": "Customers drawn as never-buyers.",
  "realised.prospects":
    "Customers without any order in the files (never-buyers, late first purchase, and not induced).",
  "realised.buyers": "Customers with at least one order.",
  "realised.price_sensitive_customers": "Customers drawn as price-sensitive.",
  "realised.dropped_out":
    "Customers who dropped out within the period (BG/NBD death after a repeat purchase).",
  "realised.orders": "Orders (distinct order_id with amount > 0 lines), campaign-induced included.",
  "realised.baseline_orders": "Orders of the BG/NBD process.",
  "realised.campaign_induced_orders": "Orders induced by campaigns (treated customers only).",
  "realised.refund_orders": "Refund orders (order_id ending in R).",
  "realised.lines": "Clean transaction lines, refunds included.",
  "realised.refund_lines": "Lines with negative amount.",
  "realised.discounted_lines": "Lines with discount > 0.",
  "realised.revenue": "Sum of amount over all clean lines (net of refunds).",
  "realised.cost": "Sum of cost over all clean lines.",
  "realised.discount": "Sum of discount over all clean lines.",
  "realised.by_category": "Per category: lines, revenue (sum of amount), cost.",
  "realised.by_channel": "Per channel: lines, revenue, cost.",
  files: "Every data file written (paths relative to this directory, '/' separated).",
  "files[].path": "The file.",
  "files[].dataset": "Its contract dataset.",
  "files[].rows":
    "Data rows after the header (a cut last line counts as a row): what ingest sees as rows_in.",
  "files[].clean_rows": "Rows that ingest must accept (rows_ok).",
  "files[].faults": "Faulty rows by reason code (rows_quarantined per reason).",
  "files[].duplicate_of": "Present on a duplicated drop: the file it is a byte-identical copy of.",
  faults: "Faults injected by --dirty; every faulty row is an extra row, so clean data is unaffected.",
  "faults.rate": "The --dirty rate.",
  "faults.descriptions": "What each fault is, by reason code.",
  "faults.counts":
    "Faulty rows by reason code, over all files except duplicated drops (whose rows ingest must skip whole); duplicate: number of duplicated drops.",
  "faults.duplicate_drops[]": "Duplicated drops: path of the copy and the file it copies.",
  "faults.truncated_files[]":
    "Files whose last line is cut: path and line_number (1 = header) of the cut line.",
  fields: "This dictionary.",
};

/** Accumulates one campaign's results for one segment (or all contacts). */
export class CampaignTally {
  contacts = 0;
  y0 = 0;
  y1 = 0;
  r0 = 0;
  r1 = 0;
  m0 = 0;
  m1 = 0;
  incrementalResponders = 0;
  incrementalRevenue = 0;
  incrementalMargin = 0;
  readonly observed = {
    treatment: { contacts: 0, responders: 0, revenue: 0, margin: 0 },
    control: { contacts: 0, responders: 0, revenue: 0, margin: 0 },
  };

  add(o: ContactOutcome): void {
    this.contacts++;
    this.y0 += Number(o.y0);
    this.y1 += Number(o.y1);
    this.r0 += o.r0;
    this.r1 += o.r1;
    this.m0 += o.m0;
    this.m1 += o.m1;
    const treated = o.group === "treatment";
    if (treated) {
      this.incrementalResponders += Number(o.y1) - Number(o.y0);
      this.incrementalRevenue += o.r1 - o.r0;
      this.incrementalMargin += o.m1 - o.m0;
    }
    const group = this.observed[o.group];
    group.contacts++;
    group.responders += Number(treated ? o.y1 : o.y0);
    group.revenue += treated ? o.r1 : o.r0;
    group.margin += treated ? o.m1 : o.m0;
  }
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? round(numerator / denominator) : null;
}

function observedGroup(g: CampaignTally["observed"]["treatment"]) {
  return {
    contacts: g.contacts,
    responders: g.responders,
    response_rate: ratio(g.responders, g.contacts),
    revenue: centsToMoney(g.revenue),
    margin: centsToMoney(g.margin),
    revenue_per_contact: ratio(g.revenue / 100, g.contacts),
  };
}

function difference(x: number | null, y: number | null): number | null {
  return x === null || y === null ? null : round(x - y);
}

type CampaignResults = ReturnType<typeof campaignResults>;

function campaignResults(tally: CampaignTally, plan: CampaignPlan, withFixedCost: boolean) {
  const treatment = observedGroup(tally.observed.treatment);
  const control = observedGroup(tally.observed.control);
  const n = tally.contacts;
  return {
    contacts: n,
    treatment: tally.observed.treatment.contacts,
    control: tally.observed.control.contacts,
    true_effect: {
      response_rate_without_treatment: ratio(tally.y0, n),
      response_rate_with_treatment: ratio(tally.y1, n),
      response_uplift: ratio(tally.y1 - tally.y0, n),
      revenue_per_contact_without_treatment: ratio(tally.r0 / 100, n),
      revenue_per_contact_with_treatment: ratio(tally.r1 / 100, n),
      revenue_uplift_per_contact: ratio((tally.r1 - tally.r0) / 100, n),
      margin_uplift_per_contact: ratio((tally.m1 - tally.m0) / 100, n),
      incremental_responders: tally.incrementalResponders,
      incremental_revenue: centsToMoney(tally.incrementalRevenue),
      incremental_margin: centsToMoney(tally.incrementalMargin),
    },
    observed: {
      treatment,
      control,
      response_uplift: difference(treatment.response_rate, control.response_rate),
      revenue_uplift_per_contact: difference(treatment.revenue_per_contact, control.revenue_per_contact),
    },
    cost: centsToMoney(
      tally.observed.treatment.contacts * plan.costPerContactCents +
        (withFixedCost ? plan.fixedCostCents : 0),
    ),
  };
}

/** Per campaign: all contacts and each segment. */
export class CampaignTallies {
  private readonly tallies: { all: CampaignTally; segments: Record<Segment, CampaignTally> }[];

  constructor(count: number) {
    this.tallies = Array.from({ length: count }, () => ({
      all: new CampaignTally(),
      segments: perSegment(() => new CampaignTally()),
    }));
  }

  add(outcome: ContactOutcome): void {
    const tally = this.tallies[outcome.campaign];
    if (!tally) throw new RangeError(`No campaign ${outcome.campaign}`);
    tally.all.add(outcome);
    tally.segments[outcome.segment].add(outcome);
  }

  results(plan: CampaignPlan): Record<"all" | Segment, CampaignResults> {
    const tally = this.tallies[plan.index];
    if (!tally) throw new RangeError(`No campaign ${plan.index}`);
    return {
      all: campaignResults(tally.all, plan, true),
      ...perSegment((s) => campaignResults(tally.segments[s], plan, false)),
    };
  }
}

interface MoneyTally {
  lines: number;
  revenue: number;
  cost: number;
}

/** Counts and sums of what was written. */
export class RealisedTally {
  customers = 0;
  neverBuyers = 0;
  prospects = 0;
  priceSensitive = 0;
  droppedOut = 0;
  orders = 0;
  baselineOrders = 0;
  inducedOrders = 0;
  refundOrders = 0;
  lines = 0;
  refundLines = 0;
  discountedLines = 0;
  revenue = 0;
  cost = 0;
  discount = 0;
  expectedProspects = 0;
  readonly byCategory: MoneyTally[] = CATEGORIES.map(() => ({ lines: 0, revenue: 0, cost: 0 }));
  readonly byChannel: MoneyTally[] = CHANNELS.map(() => ({ lines: 0, revenue: 0, cost: 0 }));

  addCustomer(c: SimulatedCustomer, prospectProbability: number): void {
    this.customers++;
    this.neverBuyers += Number(c.latent.neverBuys);
    this.priceSensitive += Number(c.latent.priceSensitive);
    this.droppedOut += Number(c.latent.dropoutT !== undefined);
    this.baselineOrders += c.latent.baselineOrders;
    this.expectedProspects += prospectProbability;
    let orders = 0;
    for (const event of c.events) {
      if (event.kind === "purchase") {
        orders++;
        if (event.source >= 0) this.inducedOrders++;
      } else {
        this.refundOrders++;
      }
    }
    this.orders += orders;
    if (orders === 0) this.prospects++;
  }

  addLine(
    category: number,
    channel: number,
    amountCents: number,
    costCents: number,
    discountCents: number,
  ): void {
    this.lines++;
    this.refundLines += Number(amountCents < 0);
    this.discountedLines += Number(discountCents > 0);
    this.revenue += amountCents;
    this.cost += costCents;
    this.discount += discountCents;
    for (const tally of [this.byCategory[category], this.byChannel[channel]]) {
      if (!tally) continue;
      tally.lines++;
      tally.revenue += amountCents;
      tally.cost += costCents;
    }
  }
}

export interface FileRecord {
  readonly path: string;
  readonly dataset: DatasetName;
  readonly rows: number;
  readonly cleanRows: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly duplicateOf?: string;
}

export interface TruthInput {
  readonly options: GenerateOptions;
  readonly days: number;
  readonly campaigns: readonly CampaignPlan[];
  readonly campaignTallies: CampaignTallies;
  readonly realised: RealisedTally;
  readonly files: readonly FileRecord[];
  readonly truncated: readonly { path: string; lineNumber: number }[];
}

function moneyBreakdown(names: readonly string[], tallies: readonly MoneyTally[]) {
  return Object.fromEntries(
    names.map((name, i) => {
      const t = tallies[i] ?? { lines: 0, revenue: 0, cost: 0 };
      return [name, { lines: t.lines, revenue: centsToMoney(t.revenue), cost: centsToMoney(t.cost) }];
    }),
  );
}

function parametersOf(options: GenerateOptions, realised: RealisedTally) {
  const { r, alpha, a, b } = options.bgnbd;
  return {
    bgnbd: {
      r,
      alpha,
      a,
      b,
      time_unit: "day",
      mean_purchase_rate_per_day: round(r / alpha, 9),
      mean_dropout_probability: round(a / (a + b)),
    },
    gamma_gamma: {
      ...options.gammaGamma,
      expected_order_value: round(gammaGammaExpectedValue(options.gammaGamma)),
    },
    acquisition: {
      signup: "uniform over the days of the period, at midnight UTC",
      never_buy_probability: options.neverBuyProbability,
      first_purchase_delay_mean_days: options.firstPurchaseDelayDays,
      expected_prospect_share: ratio(realised.expectedProspects, realised.customers),
    },
    price_sensitivity: {
      price_sensitive_share: options.priceSensitiveShare,
      discounted_line_probability_price_sensitive: DISCOUNTS.priceSensitiveLineProbability,
      discounted_line_probability_other: DISCOUNTS.regularLineProbability,
      discount_rates: DISCOUNTS.rates,
    },
    basket: {
      extra_lines_mean: BASKET.extraLinesMean,
      max_lines: BASKET.maxLines,
      extra_unit_probability: BASKET.extraUnitProbability,
      max_quantity: BASKET.maxQuantity,
      affinity_probability: BASKET.affinityProbability,
      favourite_category_boost: BASKET.favouriteCategoryBoost,
      preferred_channel_probability: BASKET.preferredChannelProbability,
      home_store_probability: BASKET.homeStoreProbability,
      line_amounts: "proportional to list price × quantity, ≥ 0.01 each, summing exactly to the order value",
    },
    returns: { min_delay_days: RETURNS.minDelayDays, max_delay_days: RETURNS.maxDelayDays },
    opening_hours_utc: OPENING_HOURS,
  };
}

function catalogueOf() {
  return {
    categories: CATEGORIES.map((c) => ({
      name: c.name,
      product_prefix: c.code,
      popularity: c.popularity,
      margin: c.margin,
      min_price: c.minPrice,
      max_price: c.maxPrice,
      return_rate: c.returnRate,
      products: PRODUCTS_PER_CATEGORY,
    })),
    affinity: AFFINITY,
    channels: CHANNELS,
    stores: Array.from({ length: STORE_COUNT }, (_, i) => storeId(i)),
    countries: COUNTRIES,
    acquisition_channels: ACQUISITION_CHANNELS,
  };
}

const MECHANISM =
  "Each selected customer gets a coin with the segment's induced_order_probability (drawn for treatment and control alike). On success, treatment adds one order at a uniform time in the first half of the window, worth a Gamma-Gamma draw of the customer's own order value × value_multiplier (it may be partly refunded like any order). Nothing else changes: a customer's own orders are the same in both groups.";

function campaignOf(
  plan: CampaignPlan,
  options: GenerateOptions,
  dayString: (day: number) => string,
  tallies: CampaignTallies,
) {
  const expected = gammaGammaExpectedValue(options.gammaGamma);
  return {
    campaign_id: plan.id,
    name: plan.name,
    channel: plan.channel,
    starts_on: dayString(plan.startDay),
    ends_on: dayString(plan.endDay),
    cost_per_contact: centsToMoney(plan.costPerContactCents),
    fixed_cost: centsToMoney(plan.fixedCostCents),
    window_days: plan.endDay - plan.startDay + 1,
    target_share: plan.targetShare,
    control_share: options.controlShare,
    effect: {
      mechanism: MECHANISM,
      heterogeneous: isHeterogeneous(plan),
      by_segment: perSegment((s) => ({
        definition: SEGMENT_DESCRIPTIONS[s],
        induced_order_probability: plan.effects[s].inducedOrderProbability,
        value_multiplier: plan.effects[s].valueMultiplier,
        expected_induced_order_value: round(expected * plan.effects[s].valueMultiplier),
      })),
    },
    results: tallies.results(plan),
  };
}

function faultsOf(input: TruthInput) {
  const counts: Record<string, number> = {
    missing_customer_id: 0,
    bad_timestamp: 0,
    bad_amount: 0,
    malformed_row: 0,
    duplicate: 0,
  };
  for (const file of input.files) {
    // A duplicated drop's rows are counted once, in its original: ingest skips the copy as a whole.
    if (file.duplicateOf !== undefined) counts.duplicate = (counts.duplicate ?? 0) + 1;
    else for (const [reason, n] of Object.entries(file.faults)) counts[reason] = (counts[reason] ?? 0) + n;
  }
  return {
    rate: input.options.dirty,
    descriptions: FAULT_DESCRIPTIONS,
    counts,
    duplicate_drops: input.files.flatMap((f) =>
      f.duplicateOf ? [{ path: f.path, copy_of: f.duplicateOf }] : [],
    ),
    truncated_files: input.truncated.map((t) => ({ path: t.path, line_number: t.lineNumber })),
  };
}

export function buildGroundTruth(input: TruthInput, dayString: (day: number) => string) {
  const { options, realised } = input;
  return {
    about:
      "Ground truth of a data set simulated by `crmlake generate`: the model and its parameters, what was written, the true and observed campaign effects, and the injected faults. `fields` describes every field.",
    format_version: FORMAT_VERSION,
    options: {
      customers: options.customers,
      from: options.from,
      to: options.to,
      days: input.days,
      seed: options.seed,
      campaigns: options.campaigns,
      dirty: options.dirty,
      files: options.files,
      gzip: options.gzip,
    },
    units: {
      time: "day (rates are per day, durations in days; timestamps are UTC)",
      money: "currency units with 2 decimals; the files hold exact cents",
    },
    parameters: parametersOf(options, realised),
    catalogue: catalogueOf(),
    campaigns: input.campaigns.map((plan) => campaignOf(plan, options, dayString, input.campaignTallies)),
    realised: {
      customers: realised.customers,
      never_buyers: realised.neverBuyers,
      prospects: realised.prospects,
      buyers: realised.customers - realised.prospects,
      price_sensitive_customers: realised.priceSensitive,
      dropped_out: realised.droppedOut,
      orders: realised.orders,
      baseline_orders: realised.baselineOrders,
      campaign_induced_orders: realised.inducedOrders,
      refund_orders: realised.refundOrders,
      lines: realised.lines,
      refund_lines: realised.refundLines,
      discounted_lines: realised.discountedLines,
      revenue: centsToMoney(realised.revenue),
      cost: centsToMoney(realised.cost),
      discount: centsToMoney(realised.discount),
      by_category: moneyBreakdown(
        CATEGORIES.map((c) => c.name),
        realised.byCategory,
      ),
      by_channel: moneyBreakdown(
        CHANNELS.map((c) => c.name),
        realised.byChannel,
      ),
    },
    files: input.files.map((f) => ({
      path: f.path,
      dataset: f.dataset,
      rows: f.rows,
      clean_rows: f.cleanRows,
      faults: f.faults,
      ...(f.duplicateOf !== undefined ? { duplicate_of: f.duplicateOf } : {}),
    })),
    faults: faultsOf(input),
    fields: FIELD_DOCS,
  };
}

export type GroundTruth = ReturnType<typeof buildGroundTruth>;
