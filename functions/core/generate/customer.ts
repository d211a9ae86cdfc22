/**
 * One customer's whole simulated life, independent of every other customer (own random streams), so that the
 * generator can stream customers one at a time with flat memory and the output does not depend on the order
 * of simulation.
 *
 * The story (time in days from the start of the period, continuous):
 * 1. Sign-up on a uniform day of the period; country, region, acquisition channel, preferred channel, home
 *    store, favourite category, price sensitivity.
 * 2. Latent BG/NBD and Gamma-Gamma traits: λ ~ Gamma(r, α) purchases/day, p ~ Beta(a, b), ν ~ Gamma(q, γ).
 * 3. A never-buyer (probability neverBuyProbability) never orders. Anyone else places a first order at
 *    sign-up + Exp(mean firstPurchaseDelayDays); then repeat orders at Poisson rate λ, and after each repeat
 *    order drops out for good with probability p (BG/NBD: no drop-out right after the first order). Orders
 *    after the period's end are not observed.
 * 4. Each order is worth z ~ Gamma(p, ν) (net amount, after discount), split over 1..n lines of products
 *    chosen by category preference and affinity; some lines are returned later as a separate refund order.
 * 5. Campaigns (see campaigns.ts) may add one induced order in their window if the customer is treated.
 */
import type { CampaignPlan, Segment } from "./campaigns.ts";
import {
  BASKET,
  CATEGORIES,
  type Catalogue,
  CHANNELS,
  COUNTRIES,
  DISCOUNTS,
  OPENING_HOURS,
  productNear,
  RETURNS,
  STORE_COUNT,
} from "./catalogue.ts";
import type { GenerateOptions } from "./options.ts";
import {
  beta,
  categorical,
  cumulative,
  exponential,
  gamma,
  poisson,
  type Random,
  STREAMS,
  stream,
  uniformInt,
} from "./random.ts";

export interface Line {
  readonly product: number;
  /** Negative on a return. */
  readonly quantity: number;
  readonly amountCents: number;
  readonly costCents: number;
  readonly discountCents: number;
}

export interface OrderEvent {
  /** Days since the start of the period (continuous). */
  readonly t: number;
  readonly day: number;
  readonly msOfDay: number;
  readonly kind: "purchase" | "return";
  /** -1 for the customer's own (BG/NBD) orders; k for an order induced by campaign k, and its return. */
  readonly source: number;
  readonly channel: number;
  /** -1 when the order was not placed in a store. */
  readonly store: number;
  readonly lines: readonly Line[];
  readonly amountCents: number;
  readonly costCents: number;
  /** The refunded order, for a return. */
  readonly original?: OrderEvent;
  /** Order number within the customer, in time order; a return carries its original's number. */
  seq: number;
}

export interface ContactOutcome {
  readonly campaign: number;
  readonly group: "treatment" | "control";
  readonly segment: Segment;
  /** The campaign's coin: would treatment induce an order? Drawn for both groups. */
  readonly induced: boolean;
  /** Responded (order line with amount > 0 in the window) without / with treatment. */
  readonly y0: boolean;
  readonly y1: boolean;
  /** Net revenue (all lines, returns included) dated in the window without / with treatment, cents. */
  readonly r0: number;
  readonly r1: number;
  /** Margin (amount − cost) in the window without / with treatment, cents. */
  readonly m0: number;
  readonly m1: number;
}

export interface Latent {
  /** BG/NBD purchase rate while alive, per day. */
  readonly lambda: number;
  /** Probability of dropping out after each repeat purchase. */
  readonly p: number;
  /** Gamma-Gamma rate: this customer's order values are Gamma(p, ν), mean p/ν. */
  readonly nu: number;
  readonly neverBuys: boolean;
  readonly priceSensitive: boolean;
  /** Time of the first order, when it falls inside the period. */
  readonly firstPurchaseT: number | undefined;
  /** Time of the order after which the customer dropped out, if they did within the period. */
  readonly dropoutT: number | undefined;
  /** Orders of the BG/NBD process within the period (campaign-induced orders not included). */
  readonly baselineOrders: number;
}

export interface SimulatedCustomer {
  readonly index: number;
  readonly signupDay: number;
  readonly country: string;
  readonly region: string;
  readonly acquisition: number;
  readonly latent: Latent;
  /** Orders and returns written to the files, in time order. */
  readonly events: readonly OrderEvent[];
  readonly contacts: readonly ContactOutcome[];
}

/** What the simulation of one customer needs; built once per run. */
export interface SimulationContext {
  readonly options: GenerateOptions;
  readonly days: number;
  readonly catalogue: Catalogue;
  readonly campaigns: readonly CampaignPlan[];
}

interface Profile {
  readonly categoryCumulative: Float64Array;
  readonly preferredChannel: number;
  readonly homeStore: number;
  readonly priceSensitive: boolean;
  readonly nu: number;
}

const MS_PER_HOUR = 3_600_000;
const STORE_CHANNEL = CHANNELS.findIndex((c) => c.name === "store");

/** Time of day of an event at time t (days): uniform within opening hours of its day. */
export function msOfDayAt(t: number, day: number): number {
  const open = OPENING_HOURS.from * MS_PER_HOUR;
  const span = (OPENING_HOURS.to - OPENING_HOURS.from) * MS_PER_HOUR;
  return open + Math.floor((t - day) * span);
}

function chooseChannel(
  rng: Random,
  ctx: SimulationContext,
  profile: Profile,
): { channel: number; store: number } {
  const channel =
    rng.next() < BASKET.preferredChannelProbability
      ? profile.preferredChannel
      : categorical(rng, ctx.catalogue.channelCumulative);
  if (channel !== STORE_CHANNEL) return { channel, store: -1 };
  const store = rng.next() < BASKET.homeStoreProbability ? profile.homeStore : uniformInt(rng, STORE_COUNT);
  return { channel, store };
}

function nextCategory(rng: Random, ctx: SimulationContext, profile: Profile, previous: number): number {
  const affinity = ctx.catalogue.affinity[previous];
  if (affinity && affinity.partners.length > 0 && rng.next() < BASKET.affinityProbability) {
    return affinity.partners[categorical(rng, affinity.cumulative)] ?? previous;
  }
  return categorical(rng, profile.categoryCumulative);
}

function quantity(rng: Random): number {
  let units = 1;
  while (units < BASKET.maxQuantity && rng.next() < BASKET.extraUnitProbability) units++;
  return units;
}

/**
 * Splits `valueCents` over lines in proportion to list price × quantity: every line gets at least one cent and
 * the lines add up to the value exactly (the last line takes the rounding remainder).
 */
export function allocateCents(valueCents: number, weights: readonly number[]): number[] {
  const total = weights.reduce((sum, w) => sum + w, 0);
  const spare = valueCents - weights.length;
  const shares = weights.map((w) => 1 + Math.floor((spare * w) / total));
  const allocated = shares.reduce((sum, s) => sum + s, 0);
  const last = shares.length - 1;
  shares[last] = (shares[last] ?? 0) + valueCents - allocated;
  return shares;
}

function discountFor(rng: Random, amountCents: number, priceSensitive: boolean): number {
  const probability = priceSensitive
    ? DISCOUNTS.priceSensitiveLineProbability
    : DISCOUNTS.regularLineProbability;
  if (rng.next() >= probability) return 0;
  const rate = DISCOUNTS.rates[uniformInt(rng, DISCOUNTS.rates.length)] ?? 0;
  return Math.round((amountCents * rate) / (1 - rate));
}

/** The lines of one order worth `valueCents` net (≥ 1 cent per line). */
export function buildBasket(
  rng: Random,
  ctx: SimulationContext,
  profile: Profile,
  valueCents: number,
): Line[] {
  const count = Math.min(1 + poisson(rng, BASKET.extraLinesMean), BASKET.maxLines, valueCents);
  const picks: { product: number; quantity: number; weight: number }[] = [];
  let category = categorical(rng, profile.categoryCumulative);
  for (let i = 0; i < count; i++) {
    if (i > 0) category = nextCategory(rng, ctx, profile, category);
    const units = quantity(rng);
    const product = productNear(rng, ctx.catalogue, category, valueCents / count / units);
    const price = ctx.catalogue.products[product]?.priceCents ?? 1;
    picks.push({ product, quantity: units, weight: price * units });
  }
  const amounts = allocateCents(
    valueCents,
    picks.map((p) => p.weight),
  );
  return picks.map((pick, i) => {
    const amountCents = amounts[i] ?? 0;
    const discountCents = discountFor(rng, amountCents, profile.priceSensitive);
    const costRatio = ctx.catalogue.products[pick.product]?.costRatio ?? 1;
    return {
      product: pick.product,
      quantity: pick.quantity,
      amountCents,
      costCents: Math.round((amountCents + discountCents) * costRatio),
      discountCents,
    };
  });
}

function sumOf(lines: readonly Line[], field: "amountCents" | "costCents"): number {
  let sum = 0;
  for (const line of lines) sum += line[field];
  return sum;
}

function purchaseAt(
  rng: Random,
  ctx: SimulationContext,
  profile: Profile,
  t: number,
  source: number,
  valueMultiplier: number,
): OrderEvent {
  const { p } = ctx.options.gammaGamma;
  const value = gamma(rng, p, profile.nu) * valueMultiplier;
  const valueCents = Math.max(1, Math.round(value * 100));
  const { channel, store } = chooseChannel(rng, ctx, profile);
  const lines = buildBasket(rng, ctx, profile, valueCents);
  const day = Math.floor(t);
  return {
    t,
    day,
    msOfDay: msOfDayAt(t, day),
    kind: "purchase",
    source,
    channel,
    store,
    lines,
    amountCents: sumOf(lines, "amountCents"),
    costCents: sumOf(lines, "costCents"),
    seq: 0,
  };
}

/** The refund of some lines of `purchase`, or undefined when nothing is returned within the period. */
function returnOf(rng: Random, ctx: SimulationContext, purchase: OrderEvent): OrderEvent | undefined {
  const returned = purchase.lines.filter((line) => {
    const category = ctx.catalogue.products[line.product]?.category ?? 0;
    return rng.next() < (CATEGORIES[category]?.returnRate ?? 0);
  });
  if (returned.length === 0) return undefined;
  const delay = RETURNS.minDelayDays + uniformInt(rng, RETURNS.maxDelayDays - RETURNS.minDelayDays + 1);
  const t = purchase.day + delay + rng.next();
  if (t >= ctx.days) return undefined;
  const lines = returned.map((line) => ({
    product: line.product,
    quantity: -line.quantity,
    amountCents: -line.amountCents,
    costCents: -line.costCents,
    discountCents: 0,
  }));
  const day = Math.floor(t);
  return {
    t,
    day,
    msOfDay: msOfDayAt(t, day),
    kind: "return",
    source: purchase.source,
    channel: purchase.channel,
    store: purchase.store,
    lines,
    amountCents: sumOf(lines, "amountCents"),
    costCents: sumOf(lines, "costCents"),
    original: purchase,
    seq: 0,
  };
}

/** A purchase and, if any, its return. */
function orderWithReturn(
  rng: Random,
  ctx: SimulationContext,
  profile: Profile,
  t: number,
  source: number,
  valueMultiplier: number,
): OrderEvent[] {
  const purchase = purchaseAt(rng, ctx, profile, t, source, valueMultiplier);
  const refund = returnOf(rng, ctx, purchase);
  return refund ? [purchase, refund] : [purchase];
}

/** BG/NBD purchase times within [0, days): the first at `first`, then repeats until drop-out or the end. */
export function purchaseTimes(
  rng: Random,
  first: number,
  days: number,
  lambda: number,
  p: number,
): { times: number[]; dropoutT: number | undefined } {
  const times: number[] = [];
  if (first >= days) return { times, dropoutT: undefined };
  times.push(first);
  let t = first;
  for (;;) {
    t += exponential(rng, lambda);
    if (t >= days) return { times, dropoutT: undefined };
    times.push(t);
    if (rng.next() < p) return { times, dropoutT: t };
  }
}

function categoryPreferences(rng: Random, ctx: SimulationContext): Float64Array {
  const favourite = categorical(rng, cumulative(ctx.catalogue.categoryWeights));
  return cumulative(
    ctx.catalogue.categoryWeights.map((w, c) => (c === favourite ? w * BASKET.favouriteCategoryBoost : w)),
  );
}

/** Response, revenue and margin of `events` dated in the campaign's window, ignoring those of `excludeSource`. */
function windowOutcome(
  events: readonly OrderEvent[],
  plan: CampaignPlan,
  excludeSource?: number,
): { responded: boolean; revenue: number; margin: number } {
  let responded = false;
  let revenue = 0;
  let margin = 0;
  for (const event of events) {
    if (event.source === excludeSource || event.day < plan.startDay || event.day > plan.endDay) continue;
    if (event.kind === "purchase") responded = true;
    revenue += event.amountCents;
    margin += event.amountCents - event.costCents;
  }
  return { responded, revenue, margin };
}

function hasPurchaseBefore(events: readonly OrderEvent[], day: number): boolean {
  return events.some((e) => e.kind === "purchase" && e.t < day);
}

interface PendingContact {
  readonly plan: CampaignPlan;
  readonly group: "treatment" | "control";
  readonly segment: Segment;
  readonly induced: readonly OrderEvent[];
}

/**
 * Campaign selection, randomised assignment and the induced orders, from the customer's campaign stream (so
 * that --campaigns 0 leaves every customer's own orders unchanged). Treated customers' induced orders are
 * appended to `events`.
 */
function runCampaigns(
  ctx: SimulationContext,
  index: number,
  signupDay: number,
  profile: Profile,
  events: OrderEvent[],
): PendingContact[] {
  const rng = stream(ctx.options.seed, STREAMS.campaign, index);
  const pending: PendingContact[] = [];
  for (const plan of ctx.campaigns) {
    if (signupDay >= plan.startDay || rng.next() >= plan.targetShare) continue;
    const group = rng.next() < ctx.options.controlShare ? "control" : "treatment";
    const segment: Segment = hasPurchaseBefore(events, plan.startDay) ? "prior_buyer" : "no_prior_purchase";
    const effect = plan.effects[segment];
    let induced: OrderEvent[] = [];
    if (rng.next() < effect.inducedOrderProbability) {
      const halfWindow = (plan.endDay - plan.startDay + 1) / 2;
      const t = plan.startDay + rng.next() * halfWindow;
      induced = orderWithReturn(rng, ctx, profile, t, plan.index, effect.valueMultiplier);
    }
    if (group === "treatment") events.push(...induced);
    pending.push({ plan, group, segment, induced });
  }
  return pending;
}

/** Both potential outcomes of each contact, once every campaign's induced orders are known. */
function contactOutcomes(
  events: readonly OrderEvent[],
  pending: readonly PendingContact[],
): ContactOutcome[] {
  return pending.map(({ plan, group, segment, induced }) => {
    const base = windowOutcome(events, plan, plan.index);
    const extra = windowOutcome(induced, plan);
    return {
      campaign: plan.index,
      group,
      segment,
      induced: induced.length > 0,
      y0: base.responded,
      y1: base.responded || extra.responded,
      r0: base.revenue,
      r1: base.revenue + extra.revenue,
      m0: base.margin,
      m1: base.margin + extra.margin,
    };
  });
}

/** Numbers orders in time order (stable for ties); a return carries its original's number. */
function numberOrders(events: OrderEvent[]): void {
  events.sort((x, y) => x.t - y.t);
  let seq = 0;
  for (const event of events) {
    if (event.kind === "purchase") event.seq = ++seq;
  }
  for (const event of events) {
    if (event.original) event.seq = event.original.seq;
  }
}

export function simulateCustomer(ctx: SimulationContext, index: number): SimulatedCustomer {
  const { options, days, catalogue } = ctx;
  const rng = stream(options.seed, STREAMS.customer, index);
  const signupDay = uniformInt(rng, days);
  const country = COUNTRIES[categorical(rng, catalogue.countryCumulative)] ?? COUNTRIES[0];
  const region = country.regions[uniformInt(rng, country.regions.length)] ?? country.regions[0];
  const acquisition = categorical(rng, catalogue.acquisitionCumulative);
  const { r, alpha, a, b } = options.bgnbd;
  const lambda = gamma(rng, r, alpha);
  const p = beta(rng, a, b);
  const nu = gamma(rng, options.gammaGamma.q, options.gammaGamma.gamma);
  const profile: Profile = {
    categoryCumulative: categoryPreferences(rng, ctx),
    preferredChannel: categorical(rng, catalogue.channelCumulative),
    homeStore: uniformInt(rng, STORE_COUNT),
    priceSensitive: rng.next() < options.priceSensitiveShare,
    nu,
  };
  const neverBuys = rng.next() < options.neverBuyProbability;
  const firstT = signupDay + exponential(rng, 1 / options.firstPurchaseDelayDays);
  const { times, dropoutT } = neverBuys
    ? { times: [], dropoutT: undefined }
    : purchaseTimes(rng, firstT, days, lambda, p);
  const events: OrderEvent[] = [];
  for (const t of times) events.push(...orderWithReturn(rng, ctx, profile, t, -1, 1));
  const pending = runCampaigns(ctx, index, signupDay, profile, events);
  numberOrders(events);
  return {
    index,
    signupDay,
    country: country.code,
    region,
    acquisition,
    latent: {
      lambda,
      p,
      nu,
      neverBuys,
      priceSensitive: profile.priceSensitive,
      firstPurchaseT: times[0],
      dropoutT,
      baselineOrders: times.length,
    },
    events,
    contacts: contactOutcomes(events, pending),
  };
}
