import { UsageError } from "../../core/errors.ts";
import { FILE_LAYOUTS, type FileLayout } from "../../core/generate/format.ts";
import { type GenerateProgress, generate } from "../../core/generate/generate.ts";
import { DEFAULT_OPTIONS, type GenerateOptions, validateOptions } from "../../core/generate/options.ts";
import { type Command, type ParsedArgs, stringOption } from "../command.ts";

const D = DEFAULT_OPTIONS;

const HELP = `Usage: crmlake generate --out DIR [options]

Simulates a retail business and writes it in the contract formats, with its ground truth:
  DIR/transactions/<period>.csv     order lines (returns as negative lines), one file per day or month
  DIR/customers/customers.csv       customers, prospects included
  DIR/campaigns/campaigns.csv       campaigns
  DIR/campaign_contacts/contacts.csv  randomised treatment and control groups
  DIR/ground_truth.json             parameters, realised figures, true campaign effects, injected faults
  DIR/ground_truth_latent.csv       per customer: the latent draws behind its behaviour
Same options and seed give byte-identical files.

Options:
  --out DIR                output directory (new or empty; see --force)
  --customers N            customers to simulate (default ${D.customers})
  --from DATE              first day, YYYY-MM-DD (default ${D.from})
  --to DATE                last day, inclusive (default ${D.to})
  --seed S                 random seed, integer ≥ 0 (default ${D.seed})
  --campaigns K            campaigns, spread over the period (default ${D.campaigns})
  --dirty RATE             per clean transaction line, probability of an extra faulty line (missing customer,
                           bad timestamp, bad amount); with RATE > 0 also one truncated and one duplicated
                           transaction file (default ${D.dirty})
  --files LAYOUT           transaction files: daily, monthly or single (default ${D.files})
  --gzip                   gzip the transaction files (.csv.gz)
  --force                  replace an earlier generator output in DIR (one with a ground_truth.json)

Model parameters (time unit: days):
  --bgnbd-r R              BG/NBD: purchase rate λ ~ Gamma(shape r, rate alpha) per day (default ${D.bgnbd.r})
  --bgnbd-alpha ALPHA      ... alpha in days; E[λ] = r/alpha (default ${D.bgnbd.alpha})
  --bgnbd-a A              BG/NBD: drop-out probability after each repeat purchase p ~ Beta(a, b) (default ${D.bgnbd.a})
  --bgnbd-b B              (default ${D.bgnbd.b})
  --gg-p P                 Gamma-Gamma: order value ~ Gamma(shape p, rate ν) (default ${D.gammaGamma.p})
  --gg-q Q                 ... ν ~ Gamma(shape q, rate gamma); E[order value] = p·gamma/(q − 1) (default ${D.gammaGamma.q})
  --gg-gamma GAMMA         (default ${D.gammaGamma.gamma})
  --never-buy SHARE        probability that a customer never buys (default ${D.neverBuyProbability})
  --first-purchase-days D  mean delay from sign-up to first purchase, days (default ${D.firstPurchaseDelayDays})
  --price-sensitive SHARE  share of customers who buy mostly on discount (default ${D.priceSensitiveShare})
  --control-share SHARE    probability that a selected customer is held out as control (default ${D.controlShare})`;

const NUMBER_OPTIONS = [
  "customers",
  "seed",
  "campaigns",
  "dirty",
  "bgnbd-r",
  "bgnbd-alpha",
  "bgnbd-a",
  "bgnbd-b",
  "gg-p",
  "gg-q",
  "gg-gamma",
  "never-buy",
  "first-purchase-days",
  "price-sensitive",
  "control-share",
] as const;

type NumberOption = (typeof NUMBER_OPTIONS)[number];

function numberOption(args: ParsedArgs, name: NumberOption, fallback: number): number {
  const raw = stringOption(args, name);
  if (raw === undefined) return fallback;
  const value = raw.trim() === "" ? Number.NaN : Number(raw);
  if (!Number.isFinite(value))
    throw new UsageError("bad_arguments", `--${name} must be a number, got "${raw}"`);
  return value;
}

function layoutOption(args: ParsedArgs): FileLayout {
  const raw = stringOption(args, "files") ?? D.files;
  const layout = FILE_LAYOUTS.find((l) => l === raw);
  if (!layout)
    throw new UsageError("bad_arguments", `--files must be one of ${FILE_LAYOUTS.join(", ")}, got "${raw}"`);
  return layout;
}

/** Options from the command line; throws UsageError with every problem in one line. */
export function optionsFromArgs(args: ParsedArgs): GenerateOptions {
  const out = stringOption(args, "out");
  if (out === undefined || out === "") throw new UsageError("bad_arguments", "--out DIR is required");
  if (args.positionals.length > 0) {
    throw new UsageError(
      "bad_arguments",
      `Unexpected argument "${args.positionals[0]}"; generate takes only options`,
    );
  }
  const n = (name: NumberOption, fallback: number) => numberOption(args, name, fallback);
  const options: GenerateOptions = {
    out,
    customers: n("customers", D.customers),
    from: stringOption(args, "from") ?? D.from,
    to: stringOption(args, "to") ?? D.to,
    seed: n("seed", D.seed),
    campaigns: n("campaigns", D.campaigns),
    dirty: n("dirty", D.dirty),
    files: layoutOption(args),
    gzip: args.values.gzip === true,
    force: args.values.force === true,
    bgnbd: {
      r: n("bgnbd-r", D.bgnbd.r),
      alpha: n("bgnbd-alpha", D.bgnbd.alpha),
      a: n("bgnbd-a", D.bgnbd.a),
      b: n("bgnbd-b", D.bgnbd.b),
    },
    gammaGamma: {
      p: n("gg-p", D.gammaGamma.p),
      q: n("gg-q", D.gammaGamma.q),
      gamma: n("gg-gamma", D.gammaGamma.gamma),
    },
    neverBuyProbability: n("never-buy", D.neverBuyProbability),
    firstPurchaseDelayDays: n("first-purchase-days", D.firstPurchaseDelayDays),
    priceSensitiveShare: n("price-sensitive", D.priceSensitiveShare),
    controlShare: n("control-share", D.controlShare),
  };
  const problems = validateOptions(options);
  if (problems.length > 0) throw new UsageError("bad_arguments", problems.join("; "));
  return options;
}

const PROGRESS_AFTER_MS = 2000;

/** Progress on stderr once a run takes longer than 2 s: updated in place on a terminal, else a line every 10 s. */
function progressPrinter(): { report: (p: GenerateProgress) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastPrinted = Number.NEGATIVE_INFINITY;
  let printed = false;
  return {
    report(p) {
      if (p.elapsedMs < PROGRESS_AFTER_MS || p.elapsedMs - lastPrinted < (tty ? 250 : 10_000)) return;
      lastPrinted = p.elapsedMs;
      printed = true;
      const pct = ((100 * p.customersDone) / p.customers).toFixed(0);
      const text = `generate: ${p.customersDone.toLocaleString("en")}/${p.customers.toLocaleString("en")} customers (${pct}%), ${p.lines.toLocaleString("en")} lines, ${(p.elapsedMs / 1000).toFixed(0)} s`;
      process.stderr.write(tty ? `\r${text}` : `${text}\n`);
    },
    end() {
      if (printed && tty) process.stderr.write("\n");
    },
  };
}

export const generateCommand: Command = {
  name: "generate",
  summary: "Simulate a business: transactions, customers, campaigns and their ground truth",
  help: HELP,
  options: {
    out: { type: "string" },
    customers: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    seed: { type: "string" },
    campaigns: { type: "string" },
    dirty: { type: "string" },
    files: { type: "string" },
    gzip: { type: "boolean" },
    force: { type: "boolean" },
    "bgnbd-r": { type: "string" },
    "bgnbd-alpha": { type: "string" },
    "bgnbd-a": { type: "string" },
    "bgnbd-b": { type: "string" },
    "gg-p": { type: "string" },
    "gg-q": { type: "string" },
    "gg-gamma": { type: "string" },
    "never-buy": { type: "string" },
    "first-purchase-days": { type: "string" },
    "price-sensitive": { type: "string" },
    "control-share": { type: "string" },
  },
  async run(args) {
    const options = optionsFromArgs(args);
    const progress = progressPrinter();
    const result = await generate(options, progress.report);
    progress.end();
    const { realised } = result.truth;
    process.stdout.write(
      `Wrote ${realised.customers.toLocaleString("en")} customers (${realised.prospects.toLocaleString("en")} prospects), ` +
        `${realised.orders.toLocaleString("en")} orders in ${result.lines.toLocaleString("en")} transaction lines, ` +
        `${options.campaigns} campaigns, ${result.files} files to ${result.out} in ${(result.elapsedMs / 1000).toFixed(1)} s\n`,
    );
    return 0;
  },
};
