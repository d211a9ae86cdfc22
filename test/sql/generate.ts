/**
 * A deterministic synthetic CRM data set for whole-pipeline tests: customers with different buying rhythms,
 * categories, channels, stores, refunds, discounts, missing costs, prospects and a campaign. Same seed, same data.
 */
import type {
  CampaignFixture,
  ContactFixture,
  CustomerFixture,
  LakeFixture,
  TransactionFixture,
} from "./helpers.ts";

/** mulberry32: a small seeded PRNG, good enough for fixtures. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CATEGORIES = ["books", "toys", "music", "games", "garden", "kitchen"];
const CHANNELS = ["web", "store", "app"];
const STORES = ["s1", "s2", "s3", "s4"];

export function generateLake(options: {
  customers: number;
  seed: number;
  start: string;
  days: number;
}): LakeFixture {
  const next = random(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const start = Date.parse(`${options.start}T00:00:00Z`);
  const transactions: TransactionFixture[] = [];
  const customers: CustomerFixture[] = [];
  const contacts: ContactFixture[] = [];
  for (let c = 0; c < options.customers; c++) {
    const id = `g${String(c).padStart(5, "0")}`;
    const signedUp = new Date(start + Math.floor(next() * options.days) * 86_400_000)
      .toISOString()
      .slice(0, 10);
    if (next() < 0.8)
      customers.push({
        customer_id: id,
        signed_up_at: next() < 0.9 ? signedUp : null,
        country: pick(["FR", "DE", "UK"]),
      });
    if (next() < 0.1) continue; // a prospect (or nobody, when not on file either)
    const orders = 1 + Math.floor(next() ** 2 * 12);
    const favourite = pick(CATEGORIES);
    let day = Math.floor(next() * options.days * 0.7);
    for (let o = 0; o < orders && day < options.days; o++) {
      const when = new Date(start + day * 86_400_000 + Math.floor(next() * 86_400) * 1000);
      const orderId = `${id}-o${o}`;
      const lines = 1 + Math.floor(next() * 3);
      const channel = pick(CHANNELS);
      for (let l = 0; l < lines; l++) {
        const quantity = 1 + Math.floor(next() * 3);
        const price = 5 + Math.floor(next() * 9500) / 100;
        const amount = (quantity * price).toFixed(2);
        transactions.push({
          order_id: orderId,
          customer_id: id,
          ordered_at: when.toISOString().replace("T", " ").slice(0, 19),
          category: next() < 0.6 ? favourite : next() < 0.05 ? null : pick(CATEGORIES),
          channel,
          store_id: channel === "store" ? pick(STORES) : null,
          product_id: `p${Math.floor(next() * 200)}`,
          quantity,
          amount,
          cost: next() < 0.7 ? (Number(amount) * (0.4 + next() * 0.4)).toFixed(2) : null,
          discount: next() < 0.3 ? (Number(amount) * next() * 0.3).toFixed(2) : null,
        });
        if (next() < 0.05) {
          transactions.push({
            order_id: `${orderId}-r`,
            customer_id: id,
            ordered_at: new Date(when.getTime() + 7 * 86_400_000)
              .toISOString()
              .replace("T", " ")
              .slice(0, 19),
            category: transactions.at(-1)?.category ?? null,
            channel,
            quantity: -1,
            amount: (-price).toFixed(2),
          });
        }
      }
      // Postage on some web orders: a non-product line, which the customer and product models leave out.
      if (channel === "web" && next() < 0.3) {
        transactions.push({
          order_id: orderId,
          customer_id: id,
          ordered_at: when.toISOString().replace("T", " ").slice(0, 19),
          category: null,
          channel,
          product_id: "POST",
          amount: "4.95",
          line_type: "non_product",
        });
      }
      day += 1 + Math.floor(next() * 120);
    }
    if (next() < 0.3)
      contacts.push({ campaign_id: "k1", customer_id: id, group: next() < 0.8 ? "treatment" : "control" });
  }
  const end = new Date(start + options.days * 86_400_000).toISOString().slice(0, 10);
  const campaigns: CampaignFixture[] = [
    { campaign_id: "k1", starts_on: end, ends_on: end, cost_per_contact: "0.80" },
  ];
  // Contacts happen 60 days before the end, so that they fall in the value window.
  const contactDay = new Date(start + (options.days - 60) * 86_400_000).toISOString().slice(0, 10);
  return {
    transactions,
    customers,
    campaigns,
    campaign_contacts: contacts.map((k) => ({ ...k, contacted_on: contactDay })),
  };
}
