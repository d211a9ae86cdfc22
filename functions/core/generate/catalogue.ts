import { cumulative, type Random, uniformInt } from "./random.ts";

/**
 * The simulated business's fixed world: categories with their margins, prices and return rates, the products,
 * channels, stores, countries and acquisition channels, and which categories are bought together. Values are
 * plausible for a general retailer; they are written to the ground truth, so an analysis can check them.
 */

export interface CategorySpec {
  readonly name: string;
  /** Two letters, prefix of the product ids. */
  readonly code: string;
  /** Share of first lines of baskets drawn from this category (relative weight). */
  readonly popularity: number;
  /** Mean gross margin (amount + discount − cost) / (amount + discount); products vary ± 0.05 around it. */
  readonly margin: number;
  /** List prices are log-uniform in [minPrice, maxPrice]. */
  readonly minPrice: number;
  readonly maxPrice: number;
  /** Probability that a bought line is returned. */
  readonly returnRate: number;
}

export const CATEGORIES: readonly CategorySpec[] = [
  {
    name: "grocery",
    code: "GR",
    popularity: 20,
    margin: 0.22,
    minPrice: 1.5,
    maxPrice: 25,
    returnRate: 0.005,
  },
  { name: "beauty", code: "BE", popularity: 12, margin: 0.55, minPrice: 4, maxPrice: 80, returnRate: 0.02 },
  { name: "apparel", code: "AP", popularity: 16, margin: 0.52, minPrice: 8, maxPrice: 150, returnRate: 0.12 },
  { name: "footwear", code: "FO", popularity: 8, margin: 0.45, minPrice: 25, maxPrice: 180, returnRate: 0.1 },
  { name: "home", code: "HO", popularity: 12, margin: 0.4, minPrice: 3, maxPrice: 250, returnRate: 0.04 },
  {
    name: "electronics",
    code: "EL",
    popularity: 10,
    margin: 0.15,
    minPrice: 10,
    maxPrice: 900,
    returnRate: 0.05,
  },
  { name: "toys", code: "TO", popularity: 7, margin: 0.38, minPrice: 4, maxPrice: 120, returnRate: 0.03 },
  { name: "sports", code: "SP", popularity: 8, margin: 0.42, minPrice: 6, maxPrice: 300, returnRate: 0.05 },
  { name: "books", code: "BO", popularity: 7, margin: 0.3, minPrice: 4, maxPrice: 45, returnRate: 0.01 },
];

/**
 * Affinity: after a line of the key category, the next line of the same order comes from these partner
 * categories (relative weights) with probability BASKET.affinityProbability, else from the customer's own
 * category preferences. Lift over independence shows in basket analysis.
 */
export const AFFINITY: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  grocery: { home: 2, beauty: 1 },
  beauty: { apparel: 2, grocery: 1 },
  apparel: { footwear: 3, beauty: 1 },
  footwear: { apparel: 3, sports: 1 },
  home: { grocery: 1, electronics: 1 },
  electronics: { home: 2, books: 1 },
  toys: { books: 3, sports: 1 },
  sports: { footwear: 3, apparel: 1 },
  books: { toys: 2, electronics: 1 },
};

export const CHANNELS = [
  { name: "store", popularity: 45 },
  { name: "web", popularity: 35 },
  { name: "app", popularity: 15 },
  { name: "phone", popularity: 5 },
] as const;

export const STORE_COUNT = 12;

export const COUNTRIES = [
  { code: "DE", weight: 35, regions: ["DE-BY", "DE-NW", "DE-BE", "DE-HH", "DE-BW"] },
  { code: "FR", weight: 20, regions: ["FR-IDF", "FR-ARA", "FR-PAC", "FR-NAQ"] },
  { code: "NL", weight: 12, regions: ["NL-NH", "NL-ZH", "NL-NB"] },
  { code: "IT", weight: 10, regions: ["IT-25", "IT-62", "IT-72"] },
  { code: "BE", weight: 8, regions: ["BE-VLG", "BE-WAL", "BE-BRU"] },
  { code: "AT", weight: 8, regions: ["AT-9", "AT-3", "AT-6"] },
  { code: "CH", weight: 7, regions: ["CH-ZH", "CH-BE", "CH-GE"] },
] as const;

export const ACQUISITION_CHANNELS = [
  { name: "organic", weight: 30 },
  { name: "paid_search", weight: 20 },
  { name: "store", weight: 20 },
  { name: "social", weight: 15 },
  { name: "referral", weight: 10 },
  { name: "affiliate", weight: 5 },
] as const;

/** Basket, discount and channel behaviour. Written to the ground truth as `parameters.basket` etc. */
export const BASKET = {
  /** Lines per order = 1 + Poisson(extraLinesMean), at most maxLines (and at most one per cent of value). */
  extraLinesMean: 1.5,
  maxLines: 12,
  /** Units per line: 1, then +1 with this probability each time, at most maxQuantity. */
  extraUnitProbability: 0.25,
  maxQuantity: 6,
  /** Probability that a line after the first follows the affinity of the previous line's category. */
  affinityProbability: 0.5,
  /** A customer's favourite category gets this many times its base popularity. */
  favouriteCategoryBoost: 4,
  /** Probability that an order goes through the customer's preferred channel (else the base mix). */
  preferredChannelProbability: 0.7,
  /** Probability that a store order is in the customer's home store (else any store). */
  homeStoreProbability: 0.85,
} as const;

export const DISCOUNTS = {
  /** Probability that a line of a price-sensitive customer is discounted. */
  priceSensitiveLineProbability: 0.7,
  /** Probability that a line of any other customer is discounted. */
  regularLineProbability: 0.08,
  /** Discount rates (share of the gross price), equally likely. discount = amount · rate / (1 − rate). */
  rates: [0.1, 0.15, 0.2, 0.25, 0.3, 0.4],
} as const;

export const RETURNS = {
  /** A return is one refund order per original order, this many days later (uniform integer). */
  minDelayDays: 1,
  maxDelayDays: 28,
} as const;

/** Orders are placed between these hours (UTC); the day is the simulated day, the time uniform within it. */
export const OPENING_HOURS = { from: 7, to: 22 } as const;

export const PRODUCTS_PER_CATEGORY = 40;

export interface Product {
  readonly id: string;
  readonly category: number;
  /** List price in cents. */
  readonly priceCents: number;
  /** cost = gross value · costRatio, so the product's margin is 1 − costRatio. */
  readonly costRatio: number;
}

export interface Catalogue {
  readonly products: readonly Product[];
  /** Product indices of each category, sorted by list price (for choosing a product near a target price). */
  readonly byCategory: readonly (readonly number[])[];
  /** List prices in cents of byCategory, same order. */
  readonly pricesByCategory: readonly Float64Array[];
  /** Popularity of the categories (relative weights, in CATEGORIES order). */
  readonly categoryWeights: readonly number[];
  /** Cumulative weights of the affinity partners of each category (indices into CATEGORIES). */
  readonly affinity: readonly { readonly partners: readonly number[]; readonly cumulative: Float64Array }[];
  readonly channelCumulative: Float64Array;
  readonly countryCumulative: Float64Array;
  readonly acquisitionCumulative: Float64Array;
}

function categoryIndex(name: string): number {
  const index = CATEGORIES.findIndex((c) => c.name === name);
  if (index < 0) throw new Error(`Unknown category "${name}" in AFFINITY`);
  return index;
}

function buildProducts(rng: Random): Product[] {
  const products: Product[] = [];
  CATEGORIES.forEach((category, c) => {
    const logMin = Math.log(category.minPrice);
    const logMax = Math.log(category.maxPrice);
    for (let k = 0; k < PRODUCTS_PER_CATEGORY; k++) {
      const price = Math.exp(logMin + rng.next() * (logMax - logMin));
      // Shelf prices end in .99 or .49 above 5, whole cents below.
      const cents =
        price >= 5 ? Math.floor(price) * 100 + (rng.next() < 0.7 ? 99 : 49) : Math.round(price * 100);
      const margin = category.margin + (rng.next() - 0.5) * 0.1;
      products.push({
        id: `${category.code}${String(k + 1).padStart(4, "0")}`,
        category: c,
        priceCents: cents,
        costRatio: 1 - margin,
      });
    }
  });
  return products;
}

/** Builds the catalogue from its own random stream, so it is the same whatever the other options. */
export function buildCatalogue(rng: Random): Catalogue {
  const products = buildProducts(rng);
  const byCategory = CATEGORIES.map((_, c) =>
    products
      .map((product, index) => ({ product, index }))
      .filter(({ product }) => product.category === c)
      .sort((x, y) => x.product.priceCents - y.product.priceCents || x.index - y.index)
      .map(({ index }) => index),
  );
  const pricesByCategory = byCategory.map(
    (indices) => new Float64Array(indices.map((i) => products[i]?.priceCents ?? 0)),
  );
  const affinity = CATEGORIES.map((category) => {
    const entries = Object.entries(AFFINITY[category.name] ?? {});
    return {
      partners: entries.map(([name]) => categoryIndex(name)),
      cumulative: cumulative(entries.map(([, weight]) => weight)),
    };
  });
  return {
    products,
    byCategory,
    pricesByCategory,
    categoryWeights: CATEGORIES.map((c) => c.popularity),
    affinity,
    channelCumulative: cumulative(CHANNELS.map((c) => c.popularity)),
    countryCumulative: cumulative(COUNTRIES.map((c) => c.weight)),
    acquisitionCumulative: cumulative(ACQUISITION_CHANNELS.map((c) => c.weight)),
  };
}

/** Index of the product of a category whose list price is nearest to `targetCents`, jittered by ± 2 ranks. */
export function productNear(
  rng: Random,
  catalogue: Catalogue,
  category: number,
  targetCents: number,
): number {
  const prices = catalogue.pricesByCategory[category] ?? new Float64Array();
  const indices = catalogue.byCategory[category] ?? [];
  let lo = 0;
  let hi = prices.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((prices[mid] ?? 0) < targetCents) lo = mid + 1;
    else hi = mid;
  }
  const rank = Math.min(prices.length - 1, Math.max(0, lo + uniformInt(rng, 5) - 2));
  return indices[rank] ?? 0;
}

/** Store id as written to the files: `S01` … */
export function storeId(store: number): string {
  return `S${String(store + 1).padStart(2, "0")}`;
}
