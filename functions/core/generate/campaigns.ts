/**
 * The campaigns: when they run, whom they target, and their true effect. The effect is simulated through
 * purchases (DESIGN.md §3: a contacted customer responds when they place an order line with amount > 0 in
 * [contacted_on, ends_on]): every selected customer gets a coin with the campaign's induced-order probability
 * for their segment, and on success one extra order in the first half of the window, worth a Gamma-Gamma draw
 * of their own spend times the campaign's value multiplier. The coin and the order are drawn for treatment and
 * control alike, but only written for treatment, so both potential outcomes of every contact are known exactly.
 */

/** Segments of a contact, observable by an analyst at contact time from the transactions alone. */
export const SEGMENTS = ["prior_buyer", "no_prior_purchase"] as const;
export type Segment = (typeof SEGMENTS)[number];

/** A value per segment, typed with every segment key. */
export function perSegment<T>(value: (segment: Segment) => T): Record<Segment, T> {
  return { prior_buyer: value("prior_buyer"), no_prior_purchase: value("no_prior_purchase") };
}

export const SEGMENT_DESCRIPTIONS: Readonly<Record<Segment, string>> = {
  prior_buyer: "has at least one order line with amount > 0 dated before contacted_on",
  no_prior_purchase:
    "has no order line with amount > 0 dated before contacted_on (prospects and new sign-ups)",
};

export interface SegmentEffect {
  /** Probability that treatment adds one order in the window. */
  readonly inducedOrderProbability: number;
  /** The induced order's value is a draw of the customer's Gamma-Gamma spend times this. */
  readonly valueMultiplier: number;
}

export interface CampaignPlan {
  readonly index: number;
  readonly id: string;
  readonly name: string;
  readonly channel: string;
  /** Day of the period (0 = --from) of starts_on, which is also every contact's contacted_on. */
  readonly startDay: number;
  /** Day of ends_on, inclusive. */
  readonly endDay: number;
  readonly costPerContactCents: number;
  readonly fixedCostCents: number;
  /** Probability that an eligible customer (signed up before starts_on) is selected for the campaign. */
  readonly targetShare: number;
  readonly effects: Readonly<Record<Segment, SegmentEffect>>;
}

interface Template {
  readonly theme: string;
  readonly channel: string;
  readonly costPerContactCents: number;
  readonly fixedCostCents: number;
  readonly targetShare: number;
  readonly effects: Readonly<Record<Segment, SegmentEffect>>;
}

const WIN_BACK: Template = {
  theme: "Win-back",
  channel: "email",
  costPerContactCents: 5,
  fixedCostCents: 40_000,
  targetShare: 0.5,
  effects: {
    prior_buyer: { inducedOrderProbability: 0.1, valueMultiplier: 1 },
    no_prior_purchase: { inducedOrderProbability: 0.04, valueMultiplier: 1 },
  },
};

/** Campaign k uses template k mod 3: two with a heterogeneous effect, one homogeneous. */
const TEMPLATES: readonly Template[] = [
  WIN_BACK,
  {
    theme: "Cross-sell",
    channel: "mail",
    costPerContactCents: 85,
    fixedCostCents: 250_000,
    targetShare: 0.4,
    effects: {
      prior_buyer: { inducedOrderProbability: 0.15, valueMultiplier: 1.25 },
      no_prior_purchase: { inducedOrderProbability: 0.05, valueMultiplier: 1.25 },
    },
  },
  {
    theme: "Loyalty",
    channel: "sms",
    costPerContactCents: 8,
    fixedCostCents: 30_000,
    targetShare: 0.5,
    effects: {
      prior_buyer: { inducedOrderProbability: 0.06, valueMultiplier: 0.9 },
      no_prior_purchase: { inducedOrderProbability: 0.06, valueMultiplier: 0.9 },
    },
  },
];

/** Length of a response window, days (shorter when the period is short). */
export const WINDOW_DAYS = 30;

/** True when the effect differs between segments. */
export function isHeterogeneous(plan: CampaignPlan): boolean {
  const [first, ...rest] = SEGMENTS.map((s) => plan.effects[s]);
  return rest.some(
    (e) =>
      e.inducedOrderProbability !== first?.inducedOrderProbability ||
      e.valueMultiplier !== first?.valueMultiplier,
  );
}

/**
 * Campaigns spread evenly over the period, in starts_on order (the simulation relies on that order: a
 * contact's segment looks at purchases before its start, which earlier campaigns may have induced).
 */
export function planCampaigns(
  count: number,
  days: number,
  dayString: (day: number) => string,
): CampaignPlan[] {
  const windowDays = Math.min(WINDOW_DAYS, Math.max(1, Math.floor(days / 2)));
  return Array.from({ length: count }, (_, index) => {
    const template = TEMPLATES[index % TEMPLATES.length] ?? WIN_BACK;
    const spread = Math.floor(((index + 1) * (days - windowDays)) / (count + 1));
    const startDay = Math.max(0, Math.min(days - windowDays, Math.max(1, spread)));
    const id = `CMP${String(index + 1).padStart(3, "0")}`;
    return {
      index,
      id,
      name: `${template.theme} ${template.channel} ${dayString(startDay).slice(0, 7)}`,
      channel: template.channel,
      startDay,
      endDay: startDay + windowDays - 1,
      costPerContactCents: template.costPerContactCents,
      fixedCostCents: template.fixedCostCents,
      targetShare: template.targetShare,
      effects: template.effects,
    };
  });
}
