/**
 * `crmlake generate`: the files follow the contracts, follow what ground_truth.json says within statistical
 * tolerance, are deterministic, and --dirty's fault counts are what the files hold.
 *
 * Tolerances are 4 standard errors of the statistic, estimated from the sample itself (sample standard
 * deviation / √n, or the binomial √(p(1 − p)/n)). A correct generator passes with probability ≈ 0.99994 per
 * check (and, with fixed seeds, deterministically), while the modelling mistakes these tests guard against
 * (drop-out after the first purchase too, a rate read as a scale, q instead of q − 1, campaign effects that
 * bypass purchases or the randomisation) move the statistic by many standard errors at these sizes: 20,000
 * customers for the customer model, 10,000 for the campaigns, each generated in under a second. Two of these
 * mistakes were injected into the generator while writing the tests, and the tests failed as they should.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandArgs } from "../../functions/cli/command.ts";
import { generateCommand, optionsFromArgs } from "../../functions/cli/commands/generate.ts";
import { CONTRACTS, DATASET_NAMES } from "../../functions/core/catalogue/contracts.ts";
import { UsageError } from "../../functions/core/errors.ts";
import { CATEGORIES } from "../../functions/core/generate/catalogue.ts";
import { allocateCents } from "../../functions/core/generate/customer.ts";
import { formatCents } from "../../functions/core/generate/format.ts";
import { generate } from "../../functions/core/generate/generate.ts";
import {
  DEFAULT_OPTIONS,
  GenerateError,
  type GenerateOptions,
} from "../../functions/core/generate/options.ts";
import { NOT_GENERATED } from "../../functions/core/generate/rows.ts";
import {
  bgnbdExpectedRepeatPurchases,
  gammaGammaExpectedValue,
} from "../../functions/core/generate/theory.ts";
import type { GroundTruth } from "../../functions/core/generate/truth.ts";

// ---------------------------------------------------------------------------------------------------------
// Helpers: read what the generator wrote, as an analyst would (nothing it writes is quoted or contains a comma).

let workDir = "";

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "crmlake-generate-test-"));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

let runs = 0;
async function run(overrides: Partial<GenerateOptions>): Promise<{ out: string; truth: GroundTruth }> {
  const out = join(workDir, `run-${++runs}`);
  await generate({ ...DEFAULT_OPTIONS, out, ...overrides });
  const truth = JSON.parse(await readFile(join(out, "ground_truth.json"), "utf8")) as GroundTruth;
  return { out, truth };
}

async function readText(path: string): Promise<string> {
  const bytes = await readFile(path);
  return path.endsWith(".gz") ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
}

interface Table {
  header: string[];
  rows: string[][];
}

function parseCsv(text: string): Table {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const [header = "", ...rows] = lines;
  return { header: header.split(","), rows: rows.map((line) => line.split(",")) };
}

async function readTable(out: string, path: string): Promise<Table> {
  return parseCsv(await readText(join(out, path)));
}

/** Records keyed by column name. */
function records(table: Table): Record<string, string>[] {
  return table.rows.map((row) => Object.fromEntries(table.header.map((name, i) => [name, row[i] ?? ""])));
}

interface Txn {
  orderId: string;
  customerId: string;
  orderedAt: string;
  category: string;
  quantity: number;
  amountCents: number;
  costCents: number;
  discountCents: number;
}

function cents(text: string): number {
  const match = /^(-?)(\d+)\.(\d{2})$/.exec(text);
  if (!match) throw new Error(`Not money: "${text}"`);
  const value = Number(match[2]) * 100 + Number(match[3]);
  return match[1] === "-" ? -value : value;
}

/** Every clean transaction line of the data set (the duplicated drop excluded). */
async function readTransactions(out: string, truth: GroundTruth): Promise<Txn[]> {
  const txns: Txn[] = [];
  for (const file of truth.files) {
    if (file.dataset !== "transactions" || "duplicate_of" in file) continue;
    for (const r of records(await readTable(out, file.path))) {
      txns.push({
        orderId: r.order_id ?? "",
        customerId: r.customer_id ?? "",
        orderedAt: r.ordered_at ?? "",
        category: r.category ?? "",
        quantity: Number(r.quantity),
        amountCents: cents(r.amount ?? ""),
        costCents: cents(r.cost ?? ""),
        discountCents: cents(r.discount ?? ""),
      });
    }
  }
  return txns;
}

const DAY_MS = 86_400_000;
function dayNumber(dateOrTimestamp: string): number {
  return Date.parse(`${dateOrTimestamp.slice(0, 10)}T00:00:00Z`) / DAY_MS;
}
function timeInDays(timestamp: string): number {
  return Date.parse(`${timestamp.replace(" ", "T")}Z`) / DAY_MS;
}

function meanAndSe(values: readonly number[]): { mean: number; se: number } {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Per customer: orders (distinct order_id with an amount > 0 line), order values, first order time. */
function buyerSummaries(txns: readonly Txn[]) {
  const positive = txns.filter((t) => t.amountCents > 0);
  return [...groupBy(positive, (t) => t.customerId).entries()].map(([customerId, lines]) => {
    const orders = groupBy(lines, (t) => t.orderId);
    const values = [...orders.values()].map((ls) => ls.reduce((s, t) => s + t.amountCents, 0) / 100);
    const first = lines.map((t) => t.orderedAt).sort()[0] ?? "";
    return { customerId, orders: orders.size, values, firstOrderedAt: first };
  });
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MONEY = /^-?\d+\.\d{2}$/;

function isValidTimestamp(text: string): boolean {
  if (!TIMESTAMP.test(text)) return false;
  const parsed = new Date(`${text.replace(" ", "T")}Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString() === `${text.replace(" ", "T")}Z`;
}

// ---------------------------------------------------------------------------------------------------------

describe("generate: files and formats", () => {
  let out = "";
  let truth: GroundTruth;
  let txns: Txn[] = [];

  beforeAll(async () => {
    ({ out, truth } = await run({ customers: 3000, seed: 11 }));
    txns = await readTransactions(out, truth);
  });

  it("writes every dataset with exactly its contract's columns, in the documented layout", async () => {
    const paths = {
      customers: "customers/customers.csv",
      campaigns: "campaigns/campaigns.csv",
      campaign_contacts: "campaign_contacts/contacts.csv",
    };
    // The generator writes no products catalogue: its lines carry their categories and costs.
    for (const dataset of DATASET_NAMES.filter((d) => d !== "products")) {
      // But line_type: the generator sells products only, and a file without it reads as product lines.
      const expected = CONTRACTS[dataset].columns.map((c) => c.name).filter((c) => !NOT_GENERATED.has(c));
      const files = truth.files.filter((f) => f.dataset === dataset);
      expect(files.length, dataset).toBeGreaterThan(0);
      for (const file of files) expect((await readTable(out, file.path)).header, file.path).toEqual(expected);
    }
    for (const [dataset, path] of Object.entries(paths)) {
      expect(truth.files.find((f) => f.dataset === dataset)?.path).toBe(path);
    }
    const transactionFiles = (await readdir(join(out, "transactions"))).sort();
    expect(transactionFiles[0]).toBe("2023-01.csv");
    expect(transactionFiles).toHaveLength(24);
  });

  it("writes timestamps, dates and money in the contract formats, inside the period", async () => {
    const from = dayNumber(truth.options.from);
    const to = dayNumber(truth.options.to);
    const customers = records(await readTable(out, "customers/customers.csv"));
    const known = new Set(customers.map((c) => c.customer_id));
    // One expect per rule over the offending rows (an expect per row would dominate the test's run time).
    const bad = (rule: (t: Txn) => boolean) => txns.filter((t) => !rule(t)).slice(0, 3);
    expect(bad((t) => isValidTimestamp(t.orderedAt))).toEqual([]);
    expect(bad((t) => dayNumber(t.orderedAt) >= from && dayNumber(t.orderedAt) <= to)).toEqual([]);
    expect(
      bad((t) => Number.isInteger(t.quantity) && Math.sign(t.quantity) === Math.sign(t.amountCents)),
    ).toEqual([]);
    expect(bad((t) => t.discountCents >= 0 && t.amountCents !== 0)).toEqual([]);
    expect(bad((t) => known.has(t.customerId))).toEqual([]);
    expect(customers.filter((c) => !DATE.test(c.signed_up_at ?? ""))).toEqual([]);
    for (const c of records(await readTable(out, "campaigns/campaigns.csv"))) {
      expect([c.starts_on, c.ends_on].every((d) => DATE.test(d ?? ""))).toBe(true);
      expect([c.cost_per_contact, c.fixed_cost].every((m) => MONEY.test(m ?? ""))).toBe(true);
      // The generator holds out each selected customer with its control share: the planned split.
      expect(Number(c.planned_control_share)).toBe(truth.campaigns[0]?.control_share);
    }
  });

  it("counts in the ground truth what the files hold", () => {
    expect(truth.realised.lines).toBe(txns.length);
    expect(truth.realised.revenue).toBeCloseTo(txns.reduce((s, t) => s + t.amountCents, 0) / 100, 2);
    expect(truth.realised.refund_lines).toBe(txns.filter((t) => t.amountCents < 0).length);
    const orders = new Set(txns.filter((t) => t.amountCents > 0).map((t) => t.orderId));
    expect(truth.realised.orders).toBe(orders.size);
    const buyers = new Set(txns.filter((t) => t.amountCents > 0).map((t) => t.customerId));
    expect(truth.realised.prospects).toBe(truth.options.customers - buyers.size);
    for (const file of truth.files) expect(file.rows).toBe(file.clean_rows);
  });

  it("refunds a returned line as an R order after the purchase, for at most what was paid", () => {
    const purchases = new Map(
      txns.filter((t) => t.amountCents > 0).map((t) => [`${t.orderId}|${t.category}`, t]),
    );
    const refunds = txns.filter((t) => t.amountCents < 0);
    expect(refunds.length).toBeGreaterThan(0);
    for (const refund of refunds) {
      expect(refund.orderId.endsWith("R")).toBe(true);
      const original = purchases.get(`${refund.orderId.slice(0, -1)}|${refund.category}`);
      expect(original, refund.orderId).toBeDefined();
      expect(refund.orderedAt > (original?.orderedAt ?? "")).toBe(true);
    }
  });

  it("keeps each category's gross margin within ± 0.05 of its configured margin", () => {
    for (const [category, lines] of groupBy(
      txns.filter((t) => t.amountCents > 0),
      (t) => t.category,
    )) {
      const gross = lines.reduce((s, t) => s + t.amountCents + t.discountCents, 0);
      const cost = lines.reduce((s, t) => s + t.costCents, 0);
      const configured = CATEGORIES.find((c) => c.name === category)?.margin ?? Number.NaN;
      expect(Math.abs((gross - cost) / gross - configured), category).toBeLessThan(0.051);
    }
  });

  it("makes affine categories bought together more often than by chance (apparel → footwear lift > 1.5)", () => {
    const orders = [
      ...groupBy(
        txns.filter((t) => t.amountCents > 0),
        (t) => t.orderId,
      ).values(),
    ].map((lines) => new Set(lines.map((t) => t.category)));
    const share = (c: string) => orders.filter((o) => o.has(c)).length / orders.length;
    const both = orders.filter((o) => o.has("apparel") && o.has("footwear")).length / orders.length;
    expect(both / (share("apparel") * share("footwear"))).toBeGreaterThan(1.5);
  });

  it("documents every top-level and second-level field of ground_truth.json in its `fields`", () => {
    const documented = new Set(Object.keys(truth.fields));
    const top = Object.keys(truth);
    for (const key of top) expect(documented.has(key), key).toBe(true);
    for (const section of ["options", "units", "parameters", "catalogue", "realised", "faults"] as const) {
      for (const key of Object.keys(truth[section])) {
        const path = `${section}.${key}`;
        expect(documented.has(path) || documented.has(`${path}[]`), path).toBe(true);
      }
    }
  });
});

describe("generate: the customer model matches the ground truth (20,000 customers, no campaigns)", () => {
  let truth: GroundTruth;
  let out = "";
  let txns: Txn[] = [];

  beforeAll(async () => {
    ({ out, truth } = await run({ customers: 20_000, seed: 21, campaigns: 0 }));
    txns = await readTransactions(out, truth);
  });

  it("has the expected share of prospects given each customer's sign-up date", async () => {
    // P(no order) = never_buy + (1 − never_buy)·exp(−(days − signup)/delay); the count of prospects is a sum
    // of independent Bernoullis, so its SE is √Σ p(1 − p).
    const { never_buy_probability: never, first_purchase_delay_mean_days: delay } =
      truth.parameters.acquisition;
    const end = dayNumber(truth.options.to) + 1;
    const customers = records(await readTable(out, "customers/customers.csv"));
    const probabilities = customers.map(
      (c) => never + (1 - never) * Math.exp(-(end - dayNumber(c.signed_up_at ?? "")) / delay),
    );
    const expected = probabilities.reduce((s, p) => s + p, 0);
    const se = Math.sqrt(probabilities.reduce((s, p) => s + p * (1 - p), 0));
    const buyers = new Set(txns.filter((t) => t.amountCents > 0).map((t) => t.customerId));
    const prospects = customers.length - buyers.size;
    expect(Math.abs(prospects - expected), `${prospects} prospects vs ${expected} ± ${se}`).toBeLessThan(
      4 * se,
    );
    expect(truth.parameters.acquisition.expected_prospect_share).toBeCloseTo(expected / customers.length, 5);
  });

  it("has the BG/NBD expected number of orders per buyer over each buyer's observed window", () => {
    // A buyer's first order starts the BG/NBD clock; E[orders] = 1 + E[X(T)] with T = end − first order.
    // The statistic is the mean of (orders − expectation) over buyers, independent across buyers.
    const { r, alpha, a, b } = truth.parameters.bgnbd;
    const end = dayNumber(truth.options.to) + 1;
    const buyers = buyerSummaries(txns);
    const residuals = buyers.map(
      (c) =>
        c.orders - 1 - bgnbdExpectedRepeatPurchases(end - timeInDays(c.firstOrderedAt), { r, alpha, a, b }),
    );
    const { mean, se } = meanAndSe(residuals);
    expect(Math.abs(mean), `mean residual ${mean} (SE ${se})`).toBeLessThan(4 * se);
    // The check has power: a drop-out chance after the first order too (a common BG/NBD slip) moves the mean
    // residual to about −0.47, over 10 standard errors.
    expect(4 * se).toBeLessThan(0.25);
    expect(buyers.length).toBe(truth.realised.buyers);
  });

  it("has the Gamma-Gamma mean order value p·γ/(q − 1)", () => {
    // Given ν, a customer's orders average p/ν whatever their number, and E[p/ν] = p·γ/(q − 1); so the mean
    // over buyers of each buyer's average order value estimates it, with buyers independent.
    const expected = gammaGammaExpectedValue(truth.parameters.gamma_gamma);
    const averages = buyerSummaries(txns).map((c) => c.values.reduce((s, v) => s + v, 0) / c.values.length);
    const { mean, se } = meanAndSe(averages);
    expect(Math.abs(mean - expected), `mean order value ${mean} vs ${expected} (SE ${se})`).toBeLessThan(
      4 * se,
    );
    expect(4 * se).toBeLessThan(expected / 8);
  });

  it("makes price-sensitive customers buy mostly on discount", async () => {
    const latent = records(await readTable(out, "ground_truth_latent.csv"));
    const sensitive = new Set(latent.filter((c) => c.price_sensitive === "true").map((c) => c.customer_id));
    const share = (lines: Txn[]) => lines.filter((t) => t.discountCents > 0).length / lines.length;
    const positive = txns.filter((t) => t.amountCents > 0);
    const p = truth.parameters.price_sensitivity;
    expect(share(positive.filter((t) => sensitive.has(t.customerId)))).toBeCloseTo(
      p.discounted_line_probability_price_sensitive,
      1,
    );
    expect(share(positive.filter((t) => !sensitive.has(t.customerId)))).toBeCloseTo(
      p.discounted_line_probability_other,
      1,
    );
    const n = latent.length;
    const se = Math.sqrt((p.price_sensitive_share * (1 - p.price_sensitive_share)) / n);
    expect(Math.abs(sensitive.size / n - p.price_sensitive_share)).toBeLessThan(4 * se);
  });
});

describe("generate: campaigns (10,000 customers, 6 campaigns)", () => {
  let truth: GroundTruth;
  let out = "";
  let txns: Txn[] = [];
  let contacts: Record<string, string>[] = [];
  let signups = new Map<string, string>();

  beforeAll(async () => {
    ({ out, truth } = await run({ customers: 10_000, seed: 31, campaigns: 6, controlShare: 0.3 }));
    txns = await readTransactions(out, truth);
    contacts = records(await readTable(out, "campaign_contacts/contacts.csv"));
    signups = new Map(
      records(await readTable(out, "customers/customers.csv")).map((c) => [
        c.customer_id ?? "",
        c.signed_up_at ?? "",
      ]),
    );
  });

  it("splits every campaign's contacts into control and treatment at the configured share", () => {
    for (const campaign of truth.campaigns) {
      const own = contacts.filter((c) => c.campaign_id === campaign.campaign_id);
      const control = own.filter((c) => c.group === "control").length;
      const p = campaign.control_share;
      const se = Math.sqrt((p * (1 - p)) / own.length);
      expect(own.length).toBe(campaign.results.all.contacts);
      expect(control).toBe(campaign.results.all.control);
      expect(Math.abs(control / own.length - p), campaign.campaign_id).toBeLessThan(4 * se);
      expect(own.every((c) => c.group === "control" || c.group === "treatment")).toBe(true);
    }
  });

  it("contacts only customers signed up before starts_on, on starts_on", () => {
    const starts = new Map(truth.campaigns.map((c) => [c.campaign_id, c.starts_on]));
    for (const c of contacts) {
      expect(c.contacted_on).toBe(starts.get(c.campaign_id ?? ""));
      expect((signups.get(c.customer_id ?? "") ?? "9999") < (c.contacted_on ?? "")).toBe(true);
    }
  });

  /** Per contact, from the files only: segment, response and window revenue, as DESIGN.md §3 defines them. */
  function observedContacts(campaign: GroundTruth["campaigns"][number]) {
    const byCustomer = groupBy(txns, (t) => t.customerId);
    return contacts
      .filter((c) => c.campaign_id === campaign.campaign_id)
      .map((c) => {
        const lines = byCustomer.get(c.customer_id ?? "") ?? [];
        const start = c.contacted_on ?? "";
        const inWindow = lines.filter(
          (t) => t.orderedAt.slice(0, 10) >= start && t.orderedAt.slice(0, 10) <= campaign.ends_on,
        );
        return {
          group: c.group ?? "",
          segment: lines.some((t) => t.amountCents > 0 && t.orderedAt.slice(0, 10) < start)
            ? "prior_buyer"
            : "no_prior_purchase",
          responded: inWindow.some((t) => t.amountCents > 0),
          revenue: inWindow.reduce((s, t) => s + t.amountCents, 0),
        };
      });
  }

  it("reports observed responses and revenue that a reader of the files computes exactly, per segment", () => {
    for (const campaign of truth.campaigns) {
      const observed = observedContacts(campaign);
      for (const [segment, result] of Object.entries(campaign.results)) {
        const own = segment === "all" ? observed : observed.filter((o) => o.segment === segment);
        for (const group of ["treatment", "control"] as const) {
          const members = own.filter((o) => o.group === group);
          const expected = result.observed[group];
          expect(members.length, `${campaign.campaign_id} ${segment} ${group}`).toBe(expected.contacts);
          expect(members.filter((o) => o.responded).length).toBe(expected.responders);
          expect(members.reduce((s, o) => s + o.revenue, 0) / 100).toBeCloseTo(expected.revenue, 2);
        }
      }
    }
  });

  it("estimates the true response uplift by treatment − control within 4 standard errors", () => {
    for (const campaign of truth.campaigns) {
      const { observed, true_effect } = campaign.results.all;
      const p1 = observed.treatment.response_rate ?? 0;
      const p0 = observed.control.response_rate ?? 0;
      const se = Math.sqrt(
        (p1 * (1 - p1)) / observed.treatment.contacts + (p0 * (1 - p0)) / observed.control.contacts,
      );
      const estimate = p1 - p0;
      expect(Math.abs(estimate - (true_effect.response_uplift ?? 0)), campaign.campaign_id).toBeLessThan(
        4 * se,
      );
    }
  });

  it("shows the effect in the files: pooled over campaigns, treatment − control is significantly positive", () => {
    // Computed from the files alone. Pooling the six campaigns shrinks the SE enough that an effect bypassing
    // the randomisation (induced orders written for control too) or not written at all fails here.
    const pooled = truth.campaigns.flatMap((campaign) => observedContacts(campaign));
    const rate = (group: string) => {
      const members = pooled.filter((o) => o.group === group);
      return { p: members.filter((o) => o.responded).length / members.length, n: members.length };
    };
    const [treated, control] = [rate("treatment"), rate("control")];
    const se = Math.sqrt(
      (treated.p * (1 - treated.p)) / treated.n + (control.p * (1 - control.p)) / control.n,
    );
    const trueUplift =
      truth.campaigns.reduce(
        (s, c) => s + (c.results.all.true_effect.response_uplift ?? 0) * c.results.all.contacts,
        0,
      ) / pooled.length;
    expect(Math.abs(treated.p - control.p - trueUplift)).toBeLessThan(4 * se);
    expect(treated.p - control.p).toBeGreaterThan(4 * se);
  });

  it("induces orders at the documented probability per segment: true uplift = P(induced)·(1 − baseline response)", () => {
    // Given which contacts would respond anyway, each of the others responds because of treatment with
    // probability u (the segment's induced_order_probability), independently: a binomial count.
    let heterogeneous = 0;
    for (const campaign of truth.campaigns) {
      heterogeneous += Number(campaign.effect.heterogeneous);
      for (const segment of ["prior_buyer", "no_prior_purchase"] as const) {
        const result = campaign.results[segment];
        const u = campaign.effect.by_segment[segment].induced_order_probability;
        const notResponding =
          result.contacts * (1 - (result.true_effect.response_rate_without_treatment ?? 0));
        const induced = (result.true_effect.response_uplift ?? 0) * result.contacts;
        const se = Math.sqrt(notResponding * u * (1 - u));
        expect(Math.abs(induced - u * notResponding), `${campaign.campaign_id} ${segment}`).toBeLessThan(
          4 * se + 1e-6,
        );
      }
      expect(campaign.results.all.true_effect.revenue_uplift_per_contact ?? 0).toBeGreaterThan(0);
    }
    expect(heterogeneous).toBe(4);
  });
});

describe("generate: determinism", () => {
  // Daily gzipped files with faults over two months: every output path, in little time.
  const options: Partial<GenerateOptions> = {
    customers: 600,
    seed: 5,
    from: "2024-01-01",
    to: "2024-02-29",
    dirty: 0.02,
    files: "daily",
    gzip: true,
  };

  async function hashes(out: string): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    for (const entry of await readdir(out, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      result.set(
        path.slice(out.length),
        createHash("sha256")
          .update(await readFile(path))
          .digest("hex"),
      );
    }
    return result;
  }

  let first = new Map<string, string>();
  let second = new Map<string, string>();
  let other = new Map<string, string>();

  beforeAll(async () => {
    first = await hashes((await run(options)).out);
    second = await hashes((await run(options)).out);
    other = await hashes((await run({ ...options, seed: 6 })).out);
  });

  it("writes byte-identical files for the same seed and options", () => {
    expect(first.size).toBeGreaterThan(50);
    expect([...second.entries()]).toEqual([...first.entries()]);
  });

  it("writes different files for another seed", () => {
    expect(other.get("/customers/customers.csv")).not.toBe(first.get("/customers/customers.csv"));
    expect(other.get("/ground_truth.json")).not.toBe(first.get("/ground_truth.json"));
    const common = [...first.keys()].filter((k) => k.startsWith("/transactions/") && other.has(k));
    expect(common.length).toBeGreaterThan(30);
    expect(common.filter((k) => first.get(k) === other.get(k))).toEqual([]);
  });

  it("leaves each customer's own behaviour unchanged by campaigns and by --dirty", async () => {
    const base = { customers: 600, seed: 9 };
    const plain = await run({ ...base, campaigns: 0 });
    const withCampaigns = await run({ ...base, campaigns: 4 });
    const dirty = await run({ ...base, campaigns: 0, dirty: 0.05 });
    const latent = (out: string) => readFile(join(out, "ground_truth_latent.csv"), "utf8");
    expect(await latent(withCampaigns.out)).toBe(await latent(plain.out));
    expect(await latent(dirty.out)).toBe(await latent(plain.out));
    // Faults are extra rows: the dirty files minus their faulty rows are the clean files.
    const isClean = (line: string) => {
      const f = line.split(",");
      return f.length === 11 && f[1] !== "" && isValidTimestamp(f[2] ?? "") && MONEY.test(f[8] ?? "");
    };
    for (const file of plain.truth.files.filter((f) => f.dataset === "transactions")) {
      const clean = await readText(join(plain.out, file.path));
      const [header, ...rows] = (await readText(join(dirty.out, file.path))).split("\n");
      const kept = [header, ...rows.filter(isClean)];
      expect(`${kept.join("\n")}\n`, file.path).toBe(clean);
    }
  });
});

describe("generate: --dirty", () => {
  /** Faults counted by parsing the files, per file, with the reason codes ingest must give. */
  async function countFaults(out: string, path: string) {
    const text = await readText(join(out, path));
    const lines = text.split("\n");
    const endsWithNewline = lines[lines.length - 1] === "";
    if (endsWithNewline) lines.pop();
    const counts: Record<string, number> = {};
    const add = (reason: string) => {
      counts[reason] = (counts[reason] ?? 0) + 1;
    };
    for (const line of lines.slice(1)) {
      const f = line.split(",");
      if (f.length !== 11) add("malformed_row");
      else if (f[1] === "") add("missing_customer_id");
      else if (!isValidTimestamp(f[2] ?? "")) add("bad_timestamp");
      else if (!MONEY.test(f[8] ?? "")) add("bad_amount");
    }
    return { counts, rows: lines.length - 1, endsWithNewline, lastLine: lines[lines.length - 1] ?? "" };
  }

  it.each([["monthly" as const], ["single" as const]])(
    "writes the faults the ground truth counts, per file and in total (%s files)",
    async (files) => {
      const { out, truth } = await run({ customers: 1500, seed: 41, dirty: 0.03, files });
      const totals: Record<string, number> = {};
      for (const file of truth.files.filter((f) => f.dataset === "transactions")) {
        const found = await countFaults(out, file.path);
        expect(found.counts, file.path).toEqual(file.faults);
        expect(found.rows).toBe(file.rows);
        expect(file.rows - file.clean_rows).toBe(Object.values(file.faults).reduce((s, n) => s + n, 0));
        if ("duplicate_of" in file) continue;
        for (const [reason, n] of Object.entries(found.counts)) totals[reason] = (totals[reason] ?? 0) + n;
      }
      const { duplicate, ...rowFaults } = truth.faults.counts;
      expect(totals).toEqual(Object.fromEntries(Object.entries(rowFaults).filter(([, n]) => n > 0)));
      // Roughly the requested rate of row faults, spread over the three kinds.
      const injected =
        (rowFaults.missing_customer_id ?? 0) + (rowFaults.bad_timestamp ?? 0) + (rowFaults.bad_amount ?? 0);
      const n = truth.realised.lines;
      expect(Math.abs(injected - 0.03 * n)).toBeLessThan(4 * Math.sqrt(n * 0.03 * 0.97));
      for (const reason of ["missing_customer_id", "bad_timestamp", "bad_amount"] as const) {
        expect(rowFaults[reason]).toBeGreaterThan(0);
      }
      expect(duplicate).toBe(1);
      expect(rowFaults.malformed_row).toBe(1);
    },
  );

  it("delivers one transaction file twice, byte for byte, under another name", async () => {
    const { out, truth } = await run({ customers: 1500, seed: 42, dirty: 0.01 });
    expect(truth.faults.duplicate_drops).toHaveLength(1);
    const [dup] = truth.faults.duplicate_drops;
    expect(dup?.path).not.toBe(dup?.copy_of);
    expect(await readFile(join(out, dup?.path ?? ""))).toEqual(await readFile(join(out, dup?.copy_of ?? "")));
  });

  it("cuts the last line of one transaction file mid-record", async () => {
    const { out, truth } = await run({ customers: 1500, seed: 43, dirty: 0.01 });
    expect(truth.faults.truncated_files).toHaveLength(1);
    const [cut] = truth.faults.truncated_files;
    const found = await countFaults(out, cut?.path ?? "");
    expect(found.endsWithNewline).toBe(false);
    expect(found.lastLine.split(",").length).toBeLessThan(11);
    expect(found.rows + 1).toBe(cut?.line_number);
  });

  it("writes no faults without --dirty", async () => {
    const { truth } = await run({ customers: 300, seed: 44 });
    expect(Object.values(truth.faults.counts).every((n) => n === 0)).toBe(true);
    expect(truth.faults.duplicate_drops).toEqual([]);
  });
});

describe("generate: options and output directory", () => {
  const args = (...argv: string[]) => parseCommandArgs(generateCommand, argv);

  it.each([
    [["--customers=-5"], /customers must be in \[1/],
    [["--customers", "abc"], /--customers must be a number, got "abc"/],
    [["--files", "weekly"], /--files must be one of daily, monthly, single, got "weekly"/],
    [["--from", "2023-02-30"], /from "2023-02-30" is not a real date/],
    [["--from", "2024-01-01", "--to", "2023-01-01"], /to \(2023-01-01\) must not be before from/],
    [["--gg-q", "1"], /gamma-gamma q must be a number > 1/],
    [["--dirty", "0.9"], /dirty must be in \[0, 0.5\]/],
  ])("rejects %j with a message that names the option and the value", (argv, message) => {
    expect(() => optionsFromArgs(args("--out", "x", ...argv))).toThrow(message);
    expect(() => optionsFromArgs(args("--out", "x", ...argv))).toThrow(UsageError);
  });

  it("requires --out", () => {
    expect(() => optionsFromArgs(args("--customers", "10"))).toThrow(/--out DIR is required/);
  });

  it("reads every model parameter from its option", () => {
    const options = optionsFromArgs(
      args(
        "--out",
        "x",
        "--bgnbd-r",
        "0.5",
        "--bgnbd-alpha",
        "10",
        "--bgnbd-a",
        "1.5",
        "--bgnbd-b",
        "3",
        "--gg-p",
        "2",
        "--gg-q",
        "5",
        "--gg-gamma",
        "7",
      ),
    );
    expect(options.bgnbd).toEqual({ r: 0.5, alpha: 10, a: 1.5, b: 3 });
    expect(options.gammaGamma).toEqual({ p: 2, q: 5, gamma: 7 });
  });

  it("refuses a non-empty directory without --force, and --force on one that is not a generator output", async () => {
    const dir = join(workDir, "not-empty");
    await generate({ ...DEFAULT_OPTIONS, out: dir, customers: 50 }).catch(() => undefined);
    await expect(generate({ ...DEFAULT_OPTIONS, out: dir, customers: 50 })).rejects.toThrow(/is not empty/);
    const again = await generate({ ...DEFAULT_OPTIONS, out: dir, customers: 60, force: true });
    expect(again.truth.realised.customers).toBe(60);
    const foreign = join(workDir, "foreign");
    await generate({ ...DEFAULT_OPTIONS, out: foreign, customers: 10 });
    await rm(join(foreign, "ground_truth.json"));
    await writeFile(join(foreign, "notes.txt"), "mine");
    await expect(generate({ ...DEFAULT_OPTIONS, out: foreign, customers: 10, force: true })).rejects.toThrow(
      GenerateError,
    );
    expect(await readFile(join(foreign, "notes.txt"), "utf8")).toBe("mine");
  });

  it("generates the default demo-sized business quickly", async () => {
    const started = performance.now();
    const { truth } = await run({});
    expect(truth.realised.customers).toBe(2000);
    expect(truth.campaigns).toHaveLength(3);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe("generate: building blocks", () => {
  it("splits an order's value over its lines exactly, at least one cent each", () => {
    for (const [value, weights] of [
      [1000, [3, 1, 1]],
      [3, [100, 1, 1]],
      [12_345, [0.5, 7, 2, 2, 9]],
    ] as const) {
      const shares = allocateCents(value, weights);
      expect(shares.reduce((s, c) => s + c, 0)).toBe(value);
      expect(Math.min(...shares)).toBeGreaterThanOrEqual(1);
    }
  });

  it("formats cents as money with two decimals", () => {
    expect([0, 5, 99, 100, 123_456, -5, -1234].map(formatCents)).toEqual([
      "0.00",
      "0.05",
      "0.99",
      "1.00",
      "1234.56",
      "-0.05",
      "-12.34",
    ]);
  });
});
