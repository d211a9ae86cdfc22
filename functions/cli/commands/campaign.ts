import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { StackBackend } from "../../backends/aws-stack.ts";
import { openLakeQuery } from "../../backends/local.ts";
import { type Assignment, assignGroups } from "../../core/campaigns/assign.ts";
import {
  AUDIENCE_TABLE,
  type Baseline,
  type CampaignRecord,
  type LakeRows,
  PROFILE_COLUMNS,
  type Profile,
  readAudience,
  readBaseline,
  readCampaignRecord,
  readProfiles,
} from "../../core/campaigns/audience.ts";
import { type FilterColumns, filterToSql } from "../../core/campaigns/filter.ts";
import type { DatasetName } from "../../core/catalogue/contracts.ts";
import { STACK_OUTPUTS } from "../../core/catalogue/stack-outputs.ts";
import { loadConfig } from "../../core/config.ts";
import { addDays, dayIn, isIsoDate, notADate } from "../../core/dates.ts";
import { isCrmlakeError, UsageError } from "../../core/errors.ts";
import { csvQuote } from "../../core/runner/action-lists.ts";
import {
  minimumDetectableEffect,
  momentsOf,
  sampleSizeForUplift,
  standardizedMeanDifference,
} from "../../core/stats/index.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { intOption, stringOption } from "../command.ts";
import { STACK_HELP, STACK_OPTION, stackOption } from "../stack.ts";
import { ingestCommand } from "./ingest.ts";
import { renderTable } from "./query.ts";

const CAMPAIGN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const fmt = (n: number) => n.toLocaleString("en-US");

const HELP = `Usage: crmlake campaign assign --campaign ID --control-share S [--where FILTER] [--seed S] [options]
       crmlake campaign plan --uplift X [--metric response|revenue] [--control-share S] [--where FILTER] [options]

assign  Chooses a campaign's audience from the latest published customer_scores, holds out a share of it at
        random (hash-based, deterministic, stratified by value_tier), writes a campaign_contacts drop and a
        campaigns record carrying planned_control_share, ingests both (the ledger records them), and prints a
        balance report: per tier and group, customers and mean recency, frequency and spend. Running it again
        for the same campaign replaces the earlier assignment.
plan    The customers a campaign needs to detect a target uplift, from the lake's own variance: the response
        rate, or the variance of revenue per customer, of the filtered population over the last --window-days
        days before the latest as-of.

FILTER (docs/campaigns.md): comparisons of customer_scores columns joined by and, or, not and parentheses, e.g.
  "value_tier in (top, big) and lifecycle_stage = lapsed"   "recency_days >= 90 and not is_prospect = true"
  Operators =, !=, <, <=, >, >=, in (…), not in (…). Values are words, numbers or 'quoted text'. Never SQL.

Options (assign):
  --campaign ID          campaign id (letters, digits, _ . -)
  --control-share S      share held out, 0 < S < 1 (at most 6 decimals)
  --where FILTER         the audience (default: every customer of customer_scores)
  --seed S               seed of the assignment (default 1); the same lake, filter and seed give the same groups
  --starts-on DATE       first day (default: the campaign's record, else today in calendar.time_zone)
  --ends-on DATE         last day of the response window (default: the record's, else starts-on + 29 days)
  --name TEXT, --channel TEXT, --cost-per-contact X, --fixed-cost X
                         the campaigns record's other fields (default: the record's, else empty or 0)
  --out DIR              where the two drop files are written (default ./assignments)
Options (plan):
  --uplift X             target uplift: response-rate points as a fraction (0.02 = 2 points) or revenue per
                         customer in currency units, per the metric
  --metric M             response (default) or revenue
  --control-share S      planned control share (default 0.1)
  --alpha A, --power P   two-sided significance level and power (default 0.05 and 0.8)
  --window-days N        length of the baseline window, days (default 30)
  --where FILTER         the population (default: every customer of customer_scores)
Options (both):
  --lake DIR             lake directory (default ./lake)
${STACK_HELP.replaceAll("\n                   ", "\n                         ").replace("  --stack NAME     ", "  --stack NAME           ")}.
                         The audience is read through Athena in the stack's analysts' workgroup, with
                         your credentials (the analysts' policy reads it); assign writes the two files to
                         --out and drops them into the stack's landing bucket (campaigns/ and
                         campaign_contacts/: s3:PutObject there), where its ingest takes them
  --config FILE          configuration file, for calendar.time_zone (default Etc/UTC)`;

function share(args: ParsedArgs, name: string, fallback?: number): number {
  const raw = stringOption(args, name);
  if (raw === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError("bad_arguments", `--${name} is required. See "crmlake campaign --help".`);
  }
  const value = Number(raw);
  if (!(/^0?\.\d{1,6}$/.test(raw.trim()) && value > 0 && value < 1)) {
    throw new UsageError(
      "bad_arguments",
      `--${name} must be a number strictly between 0 and 1 with at most 6 decimals, got "${raw}"`,
    );
  }
  return value;
}

function probability(args: ParsedArgs, name: string, fallback: number): number {
  const raw = stringOption(args, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!(value > 0 && value < 1)) {
    throw new UsageError(
      "bad_arguments",
      `--${name} must be a number strictly between 0 and 1, got "${raw}"`,
    );
  }
  return value;
}

function money(args: ParsedArgs, name: string): string | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  if (!/^\d+(\.\d{1,2})?$/.test(raw)) {
    throw new UsageError(
      "bad_arguments",
      `--${name} must be an amount ≥ 0 with at most 2 decimals, got "${raw}"`,
    );
  }
  return raw;
}

function date(args: ParsedArgs, name: string): string | undefined {
  const raw = stringOption(args, name);
  if (raw !== undefined && !isIsoDate(raw))
    throw new UsageError("bad_arguments", `--${name} ${notADate(raw)}`);
  return raw;
}

function whereClause(args: ParsedArgs, columns: FilterColumns): { sql: string; text: string } {
  const filter = stringOption(args, "where");
  if (filter === undefined) return { sql: "TRUE", text: "every customer" };
  try {
    return { sql: filterToSql(filter, columns), text: filter };
  } catch (error) {
    if (isCrmlakeError(error)) throw new UsageError("bad_filter", `--where: ${error.message}`);
    throw error;
  }
}

const mean = (values: readonly (number | null)[]): number | null => momentsOf(values).mean;
const fixed = (value: number | null, digits: number): string | null =>
  value === null ? null : value.toFixed(digits);

/** Per tier and group: customers and mean recency, frequency and spend; then the SMDs over the whole audience. */
export function balanceReport(profiles: readonly Profile[], assignments: readonly Assignment[]): string {
  const group = new Map(assignments.map((a) => [a.customerId, a.group]));
  const tiers = [...new Set(profiles.map((p) => p.tier))].sort();
  const rows: unknown[][] = [];
  const line = (tier: string, arm: string, members: readonly Profile[]) =>
    rows.push([
      tier,
      arm,
      members.length,
      fixed(mean(members.map((m) => m.recency)), 1),
      fixed(mean(members.map((m) => m.frequency)), 2),
      fixed(mean(members.map((m) => m.spend)), 2),
    ]);
  for (const tier of [...tiers, "all"]) {
    for (const arm of ["treatment", "control"] as const) {
      line(
        tier,
        arm,
        profiles.filter((p) => (tier === "all" || p.tier === tier) && group.get(p.customerId) === arm),
      );
    }
  }
  const table = renderTable(
    ["value_tier", "group", "customers", "mean_recency_days", "mean_orders", "mean_net_revenue"],
    rows,
  );
  const smd = (pick: (p: Profile) => number | null): string => {
    const of = (arm: string) => momentsOf(profiles.filter((p) => group.get(p.customerId) === arm).map(pick));
    return standardizedMeanDifference(of("treatment"), of("control"))?.toFixed(3) ?? "n/a";
  };
  return `${table}\nStandardised mean differences, treatment − control (|SMD| > 0.1 is imbalance): recency ${smd((p) => p.recency)}, orders ${smd((p) => p.frequency)}, net revenue ${smd((p) => p.spend)}`;
}

async function assign(args: ParsedArgs): Promise<number> {
  const campaignId = stringOption(args, "campaign");
  if (campaignId === undefined || !CAMPAIGN_ID.test(campaignId)) {
    throw new UsageError(
      "bad_arguments",
      campaignId === undefined
        ? '--campaign is required. See "crmlake campaign --help".'
        : `--campaign must be 1 to 64 letters, digits, _, . or - (starting with a letter or digit), got "${campaignId}"`,
    );
  }
  const controlShare = share(args, "control-share");
  const seed = stringOption(args, "seed") ?? "1";
  const lakeDir = stringOption(args, "lake") ?? "lake";
  const outDir = resolve(stringOption(args, "out") ?? "assignments");
  const startsOnOption = date(args, "starts-on");
  const endsOnOption = date(args, "ends-on");
  const costPerContact = money(args, "cost-per-contact");
  const fixedCost = money(args, "fixed-cost");
  const { calendar } = await loadConfig(stringOption(args, "config"));
  const { target, release } = await openTarget(args, "campaign assign", lakeDir);
  try {
    return await assignOn(target, args, outDir, calendar.time_zone);
  } finally {
    release();
  }
}

/**
 * The target of `campaign assign` or `plan`: the local lake (DuckDB over it; the files ingested into it), or
 * with --stack the deployed stack (stackTarget). `release` frees the stack's clients once all is delivered.
 */
async function openTarget(
  args: ParsedArgs,
  command: string,
  lakeDir: string,
): Promise<{ target: AssignTarget; release: () => void }> {
  const stack = stackOption(args, command, ["lake"]);
  if (stack !== undefined) {
    // Imported here, so the AWS SDK loads only with --stack (ADR 0012).
    const { openStack } = await import("../../backends/aws-stack.ts");
    const backend = await openStack(stack);
    return { target: stackTarget(backend), release: () => backend.close() };
  }
  const passOn = (name: string) => {
    const value = stringOption(args, name);
    return value === undefined ? {} : { [name]: value };
  };
  const session = await openLakeQuery(lakeDir);
  const target: AssignTarget = {
    query: session.query,
    async deliver(files) {
      for (const { dataset, path } of files) {
        const code = await ingestCommand.run({
          values: { lake: lakeDir, ...passOn("config") },
          positionals: [dataset, path],
        });
        if (code !== 0) return code;
      }
      return 0;
    },
    close: () => session.close(),
  };
  return { target, release: () => undefined };
}

/** Where `campaign assign` reads the audience and delivers its two drop files: a local lake or a stack. */
interface AssignTarget {
  readonly query: LakeRows;
  /** The schema the published tables are in (a stack's Glue database); default any. */
  readonly schema?: string;
  /** Delivers the drop files (campaigns first); the exit code, non-zero when that failed. */
  deliver(files: readonly { dataset: DatasetName; path: string }[]): Promise<number>;
  /** Releases the query session (the files are delivered after it). */
  close(): void;
}

/**
 * A deployed stack: the audience through Athena in the analysts' workgroup (StackBackend.query), the files
 * dropped into the landing bucket under `<dataset>/<file name>`, where the stack's ingest picks them up. The
 * keys are the campaign's own, so a second assignment of the campaign replaces the first, as on a local lake.
 */
function stackTarget(backend: StackBackend): AssignTarget {
  const name = backend.stack.name;
  return {
    schema: backend.stack.database,
    async query(sql) {
      const { columns, rows } = await backend.query(sql);
      return { rows: rows.map((row) => columns.map((c) => row[c.name] ?? null)) };
    },
    async deliver(files) {
      const landing = backend.landing;
      if (landing === undefined) {
        throw new UsageError(
          "stack_outputs",
          `The stack ${name} has no output ${STACK_OUTPUTS.landingBucket} (deployed by an older crmlake): cdk deploy it again, or copy the files in ${files.map((f) => f.path).join(" and ")} to its landing bucket under ${files.map((f) => `${f.dataset}/`).join(" and ")}`,
        );
      }
      for (const { dataset, path } of files) {
        const key = `${dataset}/${basename(path)}`;
        try {
          await landing.put(key, await readFile(path));
        } catch (error) {
          const { awsUsageError } = await import("../../backends/aws-stack.ts");
          throw awsUsageError(error, `drop ${key} into the landing bucket of the stack ${name}`);
        }
        process.stdout.write(`Dropped ${landing.location.replace(/\/$/, "")}/${key}\n`);
      }
      process.stdout.write(
        `The stack's ingest takes them from the landing bucket (crmlake runs --stack ${name} and the next scoring run show when they count); files that do not validate are in the drop ledger.\n`,
      );
      return 0;
    },
    close() {},
  };
}

async function assignOn(
  target: AssignTarget,
  args: ParsedArgs,
  outDir: string,
  timeZone: string,
): Promise<number> {
  const campaignId = stringOption(args, "campaign") ?? "";
  const controlShare = share(args, "control-share");
  const seed = stringOption(args, "seed") ?? "1";
  const startsOnOption = date(args, "starts-on");
  const endsOnOption = date(args, "ends-on");
  const costPerContact = money(args, "cost-per-contact");
  const fixedCost = money(args, "fixed-cost");
  let asOf: string;
  let where: { sql: string; text: string };
  let profiles: Profile[];
  let record: CampaignRecord | undefined;
  try {
    const found = await readAudience(target.query, target.schema);
    asOf = found.asOf;
    for (const needed of PROFILE_COLUMNS) {
      if (!found.columns.has(needed)) {
        throw new UsageError(
          "no_published_scores",
          `The published ${AUDIENCE_TABLE} has no column ${needed}`,
        );
      }
    }
    where = whereClause(args, found.columns);
    profiles = await readProfiles(target.query, where.sql);
    record = await readCampaignRecord(target.query, campaignId);
  } finally {
    target.close();
  }
  if (record !== undefined && !record.byIngestOrder) {
    process.stdout.write(
      `The drop ledger is not readable with these credentials: the campaign's earlier record is the last line of its file with the greatest drop id, not the latest in ingest order; pass --starts-on, --ends-on and the other fields to be sure\n`,
    );
  }
  if (profiles.length === 0) {
    throw new UsageError(
      "empty_audience",
      `--where ${where.text}: no customer of ${AUDIENCE_TABLE} as of ${asOf} matches`,
    );
  }
  const startsOn = startsOnOption ?? record?.startsOn ?? dayIn(new Date(), timeZone);
  const endsOn = endsOnOption ?? record?.endsOn ?? addDays(startsOn, 29);
  if (endsOn < startsOn) {
    throw new UsageError(
      "bad_arguments",
      `--ends-on ${endsOn} is before the campaign's first day ${startsOn}`,
    );
  }

  const assignments = assignGroups(
    profiles.map((p) => ({ customerId: p.customerId, stratum: p.tier })),
    controlShare,
    seed,
    campaignId,
  );
  await mkdir(outDir, { recursive: true });
  const campaignFile = join(outDir, `${campaignId}-campaign.csv`);
  const contactsFile = join(outDir, `${campaignId}-contacts.csv`);
  const campaignRow = [
    campaignId,
    stringOption(args, "name") ?? record?.name ?? "",
    stringOption(args, "channel") ?? record?.channel ?? "",
    startsOn,
    endsOn,
    costPerContact ?? record?.costPerContact ?? "0",
    fixedCost ?? record?.fixedCost ?? "0",
    String(controlShare),
  ];
  await writeFile(
    campaignFile,
    `campaign_id,name,channel,starts_on,ends_on,cost_per_contact,fixed_cost,planned_control_share\n${campaignRow.map(csvQuote).join(",")}\n`,
  );
  // contacted_on is left empty: it is the campaign's starts_on (a contact date may not lie in the future).
  await writeFile(
    contactsFile,
    `campaign_id,customer_id,group,contacted_on\n${assignments.map((a) => `${csvQuote(campaignId)},${csvQuote(a.customerId)},${a.group},`).join("\n")}\n`,
  );

  const control = assignments.filter((a) => a.group === "control").length;
  process.stdout.write(
    `Campaign ${campaignId}: ${fmt(assignments.length)} customers of ${AUDIENCE_TABLE} as of ${asOf} (${where.text}); ${fmt(control)} held out as control (${((100 * control) / assignments.length).toFixed(1)} %, planned ${controlShare}), seed ${seed}, stratified by value_tier\n`,
  );
  const code = await target.deliver([
    { dataset: "campaigns", path: campaignFile },
    { dataset: "campaign_contacts", path: contactsFile },
  ]);
  if (code !== 0) return code;
  process.stdout.write(`${balanceReport(profiles, assignments)}\n`);
  process.stdout.write(
    `Window ${startsOn} to ${endsOn}. Send the treatment group's contacts only; read campaign_results once the window has closed.\n`,
  );
  return 0;
}

async function plan(args: ParsedArgs): Promise<number> {
  const raw = stringOption(args, "uplift");
  const uplift = Number(raw);
  if (raw === undefined || !(Number.isFinite(uplift) && uplift > 0)) {
    throw new UsageError(
      "bad_arguments",
      raw === undefined
        ? '--uplift is required. See "crmlake campaign --help".'
        : `--uplift must be a number > 0, got "${raw}"`,
    );
  }
  const metric = stringOption(args, "metric") ?? "response";
  if (metric !== "response" && metric !== "revenue") {
    throw new UsageError("bad_arguments", `--metric must be response or revenue, got "${metric}"`);
  }
  if (metric === "response" && uplift >= 1) {
    throw new UsageError(
      "bad_arguments",
      `--uplift for the response rate is a fraction (0.02 = 2 points), got ${raw}`,
    );
  }
  const controlShare = share(args, "control-share", 0.1);
  const alpha = probability(args, "alpha", 0.05);
  const power = probability(args, "power", 0.8);
  const windowDays = intOption(args, "window-days", 30, 1);
  const lakeDir = stringOption(args, "lake") ?? "lake";

  const { target: lake, release } = await openTarget(args, "campaign plan", lakeDir);
  let asOf: string;
  let where: { sql: string; text: string };
  let baseline: Baseline;
  try {
    const found = await readAudience(lake.query, lake.schema);
    asOf = found.asOf;
    where = whereClause(args, found.columns);
    baseline = await readBaseline(lake.query, where.sql, asOf, addDays(asOf, -(windowDays - 1)));
  } catch (error) {
    if (isCrmlakeError(error) && error.name === "QueryFailedError") {
      throw new UsageError(
        "no_published_scores",
        `The lake's published models cannot answer (${error.message}): run "crmlake run" first`,
      );
    }
    throw error;
  } finally {
    lake.close();
    release();
  }
  const { population, responders, meanRevenue, revenueVariance } = baseline;
  if (population === 0) {
    throw new UsageError(
      "empty_audience",
      `--where ${where.text}: no customer of ${AUDIENCE_TABLE} as of ${asOf} matches`,
    );
  }
  const rate = responders / population;
  const window = `the ${windowDays} days to ${asOf}`;
  let baselineText: string;
  let treatmentVariance: number;
  let controlVariance: number;
  if (metric === "response") {
    if (rate + uplift >= 1) {
      throw new UsageError(
        "bad_arguments",
        `a response rate of ${rate.toFixed(4)} cannot rise by ${uplift}: the target would be 100 % or more`,
      );
    }
    baselineText = `response rate ${(100 * rate).toFixed(2)} % (${fmt(responders)} of ${fmt(population)} customers bought in ${window})`;
    controlVariance = rate * (1 - rate);
    treatmentVariance = (rate + uplift) * (1 - rate - uplift);
  } else {
    baselineText = `revenue per customer ${meanRevenue.toFixed(2)}, standard deviation ${Math.sqrt(revenueVariance).toFixed(2)} (${fmt(population)} customers, ${window}, zeros included)`;
    controlVariance = revenueVariance;
    treatmentVariance = revenueVariance;
  }
  if (treatmentVariance + controlVariance === 0) {
    throw new UsageError(
      "no_variance",
      `the ${metric} of the population did not vary in ${window} (${baselineText}): there is no variance to plan from; widen --window-days or --where`,
    );
  }
  const size = sampleSizeForUplift({
    uplift,
    treatmentVariance,
    controlVariance,
    controlShare,
    alpha,
    power,
  });
  const target = metric === "response" ? `${(100 * uplift).toFixed(2)} points` : `${uplift} per customer`;
  const lines = [
    `Population: ${fmt(population)} customers of ${AUDIENCE_TABLE} as of ${asOf} (${where.text})`,
    `Baseline: ${baselineText}`,
    `To detect a ${metric} uplift of ${target} (two-sided α = ${alpha}, power ${power}) with ${controlShare} held out:`,
    `  ${fmt(size.total)} customers: ${fmt(size.treatment)} treated, ${fmt(size.control)} held out as control`,
  ];
  const se = Math.sqrt(
    treatmentVariance / (population * (1 - controlShare)) + controlVariance / (population * controlShare),
  );
  const mde = minimumDetectableEffect(se, alpha, power);
  const mdeText =
    metric === "response" ? `${(100 * mde).toFixed(2)} points` : `${mde.toFixed(2)} per customer`;
  lines.push(
    size.total <= population
      ? `  The population is large enough (${fmt(population)}).`
      : `  The population (${fmt(population)}) is too small: with all of it the smallest detectable uplift is about ${mdeText}.`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

export const campaignCommand: Command = {
  name: "campaign",
  summary: "Assign a campaign's holdout (assign) or size it for a target uplift (plan)",
  help: HELP,
  options: {
    campaign: { type: "string" },
    where: { type: "string" },
    "control-share": { type: "string" },
    seed: { type: "string" },
    "starts-on": { type: "string" },
    "ends-on": { type: "string" },
    name: { type: "string" },
    channel: { type: "string" },
    "cost-per-contact": { type: "string" },
    "fixed-cost": { type: "string" },
    out: { type: "string" },
    uplift: { type: "string" },
    metric: { type: "string" },
    alpha: { type: "string" },
    power: { type: "string" },
    "window-days": { type: "string" },
    lake: { type: "string" },
    ...STACK_OPTION,
    config: { type: "string" },
  },
  async run(args: ParsedArgs) {
    const [sub, ...rest] = args.positionals;
    if (rest.length > 0) {
      throw new UsageError(
        "bad_arguments",
        `Unexpected argument "${rest[0]}". See "crmlake campaign --help".`,
      );
    }
    if (sub === "assign") return assign(args);
    if (sub === "plan") return plan(args);
    throw new UsageError(
      "bad_arguments",
      sub === undefined
        ? 'Missing sub-command: crmlake campaign assign|plan. See "crmlake campaign --help".'
        : `Unknown sub-command "${sub}": use assign or plan. See "crmlake campaign --help".`,
    );
  },
};
