/**
 * The deployment's settings, read once from CDK context (`cdk.json` or `-c crmlake:<key>=<value>`).
 * Every key is namespaced `crmlake:`, has a documented default, and is validated here so that a typo
 * fails `cdk synth` with one line that names the key, the bad value and what is allowed.
 *
 * Values given with `-c` arrive as strings, values from cdk.json as JSON types: both are accepted.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Node } from "constructs";

/** The repository root: handler entries, the lock file and node_modules are found from here. */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

export const ARCHITECTURES = ["arm64", "x86_64"] as const;
export type ArchitectureName = (typeof ARCHITECTURES)[number];

/** The values CloudWatch Logs accepts for a log group's retention. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export interface CrmlakeSettings {
  /**
   * The deployment's stage (`dev`, `test`, `prod`, …), or undefined for the unstaged deployment. It names the
   * stack (`Crmlake-<stage>`, stackId) and through the stack's name every account-unique name: the Glue
   * database and Athena workgroup (`crmlake_<stage>`), and the names CloudFormation generates for the
   * buckets, queues, alarms and the schedule. Unstaged keeps the names of deployments made before stages.
   */
  readonly stage: string | undefined;
  /** EventBridge Scheduler expression of the scoring run. */
  readonly schedule: string;
  /**
   * IANA time zone the schedule is read in (Scheduler handles daylight saving time): the run configuration's
   * calendar.time_zone, the business's zone, so the scheduled as-of (yesterday in this zone) is a business day.
   */
  readonly scheduleTimeZone: string;
  /** Athena stops (and bills no further) any query of the workgroup that scans more than this. */
  readonly bytesScannedCutoff: number;
  /** The same limit for the analysts' workgroup, which the reader role queries in. */
  readonly analystBytesScannedCutoff: number;
  /** Retention of the Lambda log groups and of the S3 server access logs. */
  readonly logRetentionDays: number;
  /** Athena query results (the workgroup's output location) expire after this many days. */
  readonly resultsRetentionDays: number;
  /** Raw drops in the landing bucket move to STANDARD_IA after this many days. */
  readonly rawInfrequentAccessDays: number;
  /** … and to GLACIER_IR after this many days. */
  readonly rawGlacierDays: number;
  /** Noncurrent object versions (landing, lake) expire after this many days. */
  readonly noncurrentVersionDays: number;
  /** Alarm e-mails go here when set (the subscriber confirms once); otherwise subscribe to the topic yourself. */
  readonly alarmEmail: string | undefined;
  /** Share of ingested rows quarantined (0–1) above which the quarantine alarm fires. */
  readonly quarantineRatioThreshold: number;
  /** The scoring-staleness alarm fires when no run has succeeded for this many hours (1–168). */
  readonly scoringStaleHours: number;
  /** The ingest-silence alarm fires when no drop has been ingested for this many hours (1–168). */
  readonly ingestSilenceHours: number;
  /**
   * A scheduled scoring run waits up to this many seconds (0–600) for the ingest queue to drain before it pins
   * the ledger, so files that landed just before the schedule are in it; a run that starts with files still
   * pending says so in its record. 0: no wait.
   */
  readonly ingestWaitSeconds: number;
  /**
   * How often the late-drop check re-scores the latest as-of when files dated on or before it arrived after
   * it was scored (a Scheduler expression; docs/adr/0016-late-files-rescore-the-latest-as-of.md); undefined:
   * no check (context value `off`).
   */
  readonly lateDropCheck: string | undefined;
  /** Delete the data buckets and their objects on `cdk destroy`. Off by default: data is retained. */
  readonly destroyData: boolean;
  /** The run configuration (JSON), minified into the CRMLAKE_CONFIG environment variable of both Lambdas. */
  readonly runConfig: string | undefined;
  /** CPU architecture of the Lambdas; the DuckDB native binding is packaged to match. */
  readonly architecture: ArchitectureName;
  /**
   * Tests only: inline placeholder code instead of bundling the handlers, so that assertion tests synth in
   * seconds. A stack synthesised this way says so in a warning and must never be deployed.
   */
  readonly placeholderCode: boolean;
}

export const DEFAULTS = {
  schedule: "cron(0 3 * * ? *)",
  scheduleTimeZone: "Etc/UTC",
  bytesScannedCutoff: "10GB",
  analystBytesScannedCutoff: "10GB",
  logRetentionDays: 90,
  resultsRetentionDays: 7,
  rawInfrequentAccessDays: 30,
  rawGlacierDays: 90,
  noncurrentVersionDays: 30,
  quarantineRatioThreshold: 0.05,
  // A daily schedule plus two hours: one missed or failed run (and its retries) alarms, a slow one does not.
  scoringStaleHours: 26,
  // Two days without a drop: sources that deliver daily alarm after one missed delivery, not at the weekend's
  // first quiet day; set it to the sources' rhythm.
  ingestSilenceHours: 48,
  // Five minutes of the scoring Lambda's fifteen: ingest of a typical drop takes seconds to a minute.
  ingestWaitSeconds: 300,
  // Hourly: a late file is in the latest tables within the hour; a check that finds nothing late costs a
  // few seconds of the scoring Lambda (ADR 0016).
  lateDropCheck: "rate(1 hour)",
  // Not arm64, though Graviton is cheaper: @duckdb/node-bindings-linux-arm64 is published for the pinned
  // version (1.5.6-r.1, in package-lock.json) and arm64 synthesises (staged once from npm, its ELF header
  // checked), but ingest has not run on Graviton; x86_64 synthesises from the installed binding offline.
  architecture: "x86_64",
} as const;

/**
 * Lambda caps the size of all environment variables of a function at 4 KB; this leaves room for the
 * others (bucket names, workgroup, …). A bigger configuration belongs in the lake, not in the environment.
 */
export const MAX_RUN_CONFIG_BYTES = 3072;

/** Athena's own lower bound of BytesScannedCutoffPerQuery. */
const MIN_BYTES_SCANNED_CUTOFF = 10 * 1024 * 1024;
const UNITS = { MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 } as const;

export class ContextError extends Error {
  override name = "ContextError";
}

export function readSettings(node: Node, cwd: string = process.cwd()): CrmlakeSettings {
  const get = (key: string): unknown => node.tryGetContext(`crmlake:${key}`);
  const configFile = optionalString(get("configFile"), "configFile");
  const runConfigText = configFile === undefined ? undefined : runConfig(configFile, cwd);

  const settings: CrmlakeSettings = {
    stage: stage(get("stage")),
    schedule: scheduleExpression(get("schedule") ?? DEFAULTS.schedule),
    scheduleTimeZone: scheduleZone(get("scheduleTimeZone"), configFile, runConfigText),
    bytesScannedCutoff: byteSize(
      get("bytesScannedCutoff") ?? DEFAULTS.bytesScannedCutoff,
      "bytesScannedCutoff",
    ),
    analystBytesScannedCutoff: byteSize(
      get("analystBytesScannedCutoff") ?? DEFAULTS.analystBytesScannedCutoff,
      "analystBytesScannedCutoff",
    ),
    logRetentionDays: logRetention(get("logRetentionDays") ?? DEFAULTS.logRetentionDays),
    resultsRetentionDays: days(
      get("resultsRetentionDays") ?? DEFAULTS.resultsRetentionDays,
      "resultsRetentionDays",
    ),
    rawInfrequentAccessDays: days(
      get("rawInfrequentAccessDays") ?? DEFAULTS.rawInfrequentAccessDays,
      "rawInfrequentAccessDays",
    ),
    rawGlacierDays: days(get("rawGlacierDays") ?? DEFAULTS.rawGlacierDays, "rawGlacierDays"),
    noncurrentVersionDays: days(
      get("noncurrentVersionDays") ?? DEFAULTS.noncurrentVersionDays,
      "noncurrentVersionDays",
    ),
    alarmEmail: email(get("alarmEmail")),
    quarantineRatioThreshold: ratio(get("quarantineRatioThreshold") ?? DEFAULTS.quarantineRatioThreshold),
    scoringStaleHours: alarmHours(
      get("scoringStaleHours") ?? DEFAULTS.scoringStaleHours,
      "scoringStaleHours",
    ),
    ingestSilenceHours: alarmHours(
      get("ingestSilenceHours") ?? DEFAULTS.ingestSilenceHours,
      "ingestSilenceHours",
    ),
    ingestWaitSeconds: ingestWait(get("ingestWaitSeconds") ?? DEFAULTS.ingestWaitSeconds),
    lateDropCheck: lateDropCheck(get("lateDropCheck") ?? DEFAULTS.lateDropCheck),
    destroyData: bool(get("destroyData") ?? false, "destroyData"),
    runConfig: runConfigText,
    architecture: oneOf(get("architecture") ?? DEFAULTS.architecture, "architecture", ARCHITECTURES),
    placeholderCode: bool(get("placeholderCode") ?? false, "placeholderCode"),
  };

  // Placeholder code throws on every invocation: it exists so assertion tests synth in seconds. Outside a
  // vitest process it is refused, so `cdk deploy -c crmlake:placeholderCode=true` can never ship it.
  if (settings.placeholderCode && process.env.VITEST !== "true") {
    throw new ContextError(
      "Context crmlake:placeholderCode is for the test suite only: it replaces the Lambda code with a stub that always throws. Remove it to synthesise or deploy",
    );
  }

  // S3 refuses STANDARD_IA before 30 days, and GLACIER_IR must follow it by 30 days or more (the minimum
  // storage duration of STANDARD_IA); say so here rather than as a CloudFormation failure at deploy time.
  if (settings.rawInfrequentAccessDays < 30) {
    fail(
      "rawInfrequentAccessDays",
      settings.rawInfrequentAccessDays,
      "at least 30 (an S3 rule for STANDARD_IA)",
    );
  }
  if (settings.rawGlacierDays < settings.rawInfrequentAccessDays + 30) {
    fail(
      "rawGlacierDays",
      settings.rawGlacierDays,
      `at least rawInfrequentAccessDays + 30 (${settings.rawInfrequentAccessDays + 30})`,
    );
  }
  return settings;
}

/** The stack id (and so the stack name) of a stage: `Crmlake` unstaged, else `Crmlake-<stage>`. */
export function stackId(stage: string | undefined): string {
  return stage === undefined ? "Crmlake" : `Crmlake-${stage}`;
}

/**
 * A stage name is short (S3 bucket names, which CloudFormation derives from the stack name, keep 63
 * characters), lower-case letters and digits starting with a letter (Glue database names are lower-case,
 * and no `_` or `-`: `crmlake_<stage>` must not read as another stage's run database), and neither `run`
 * (the unstaged stack's scoring role may create and drop every database named `crmlake_run_*`, which would
 * include the run databases of a stage `run`, `crmlake_run_run_*`) nor `analysts` (its scoring workgroup,
 * `crmlake_analysts`, is the unstaged stack's analyst workgroup).
 */
export const STAGE_PATTERN = /^[a-z][a-z0-9]{0,11}$/;
const RESERVED_STAGES = ["run", "analysts"] as const;

function stage(value: unknown): string | undefined {
  const s = optionalString(value, "stage");
  if (s === undefined) return undefined;
  if (!STAGE_PATTERN.test(s)) {
    return fail(
      "stage",
      s,
      "1 to 12 lower-case letters or digits, starting with a letter (e.g. dev, test, prod2)",
    );
  }
  if ((RESERVED_STAGES as readonly string[]).includes(s)) {
    return fail(
      "stage",
      s,
      `a name other than ${RESERVED_STAGES.join(", ")} (its names would overlap the unstaged stack's run databases or analyst workgroup)`,
    );
  }
  return s;
}

function fail(key: string, value: unknown, expected: string): never {
  throw new ContextError(`Context crmlake:${key} is ${JSON.stringify(value)}; expected ${expected}`);
}

function optionalString(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") fail(key, value, "a string");
  return value;
}

function bool(value: unknown, key: string): boolean {
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  return fail(key, value, "true or false");
}

function oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  return found ?? fail(key, value, `one of ${allowed.join(", ")}`);
}

function wholeNumber(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) ? n : undefined;
}

function days(value: unknown, key: string): number {
  const n = wholeNumber(value);
  return n !== undefined && n >= 1 ? n : fail(key, value, "a whole number of days, 1 or more");
}

/**
 * Hours an alarm looks back: one-hour periods, and CloudWatch evaluates at most 7 days (604,800 s) of periods of
 * an hour or more.
 */
function alarmHours(value: unknown, key: string): number {
  const n = wholeNumber(value);
  return n !== undefined && n >= 1 && n <= 168
    ? n
    : fail(key, value, "a whole number of hours from 1 to 168");
}

function ingestWait(value: unknown): number {
  const n = wholeNumber(value);
  // A third of the scoring Lambda's 15 minutes at most: the run itself needs the rest.
  return n !== undefined && n >= 0 && n <= 600
    ? n
    : fail("ingestWaitSeconds", value, "a whole number of seconds from 0 to 600");
}

function logRetention(value: unknown): number {
  const n = wholeNumber(value);
  return n !== undefined && (LOG_RETENTION_DAYS as readonly number[]).includes(n)
    ? n
    : fail(
        "logRetentionDays",
        value,
        `one of the CloudWatch Logs retentions: ${LOG_RETENTION_DAYS.join(", ")}`,
      );
}

function ratio(value: unknown): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && n > 0 && n < 1
    ? n
    : fail("quarantineRatioThreshold", value, "a number between 0 and 1 (0.05 = 5 %)");
}

/** A number of bytes, or a size such as `10GB`, `500MB`, `1.5TB` (binary units: 1 GB = 1024³ bytes). */
function byteSize(value: unknown, key: string): number {
  const expected = `a size of at least 10MB, e.g. "10GB", "500MB" or a number of bytes`;
  let bytes: number | undefined;
  if (typeof value === "number") bytes = value;
  else if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(MB|GB|TB)?\s*$/i.exec(value);
    if (m?.[1] !== undefined) {
      const unit = (m[2]?.toUpperCase() ?? "") as keyof typeof UNITS | "";
      bytes = Number(m[1]) * (unit === "" ? 1 : UNITS[unit]);
    }
  }
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < MIN_BYTES_SCANNED_CUTOFF) {
    return fail(key, value, expected);
  }
  return Math.round(bytes);
}

function scheduleExpression(value: unknown): string {
  // Scheduler's cron has six fields (minutes hours day-of-month month day-of-week year), one of the two day
  // fields being `?`; AWS validates the rest at deploy time.
  const ok =
    typeof value === "string" &&
    (/^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/.test(value) || /^rate\(\d+ (minute|hour|day)s?\)$/.test(value));
  return ok
    ? value
    : fail("schedule", value, 'a Scheduler expression such as "cron(0 3 * * ? *)" or "rate(1 day)"');
}

/** The late-drop check's schedule: `off`, or a Scheduler expression as crmlake:schedule takes. */
function lateDropCheck(value: unknown): string | undefined {
  if (value === "off") return undefined;
  const ok =
    typeof value === "string" &&
    (/^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/.test(value) || /^rate\(\d+ (minute|hour|day)s?\)$/.test(value));
  return ok
    ? value
    : fail(
        "lateDropCheck",
        value,
        '"off" or a Scheduler expression such as "rate(1 hour)" or "cron(0 * * * ? *)"',
      );
}

/**
 * The schedule's zone: the business's (the run configuration's calendar.time_zone, else Etc/UTC), which the
 * scheduled as-of must be read in to be a business day; crmlake:scheduleTimeZone may name it only to agree.
 */
function scheduleZone(
  context: unknown,
  configFile: string | undefined,
  runConfig: string | undefined,
): string {
  const calendar =
    runConfig === undefined ? undefined : (JSON.parse(runConfig) as { calendar?: unknown }).calendar;
  const business =
    typeof calendar === "object" && calendar !== null && "time_zone" in calendar
      ? calendar.time_zone
      : DEFAULTS.scheduleTimeZone;
  if (!isTimeZone(business)) {
    return fail(
      "configFile",
      configFile,
      `a run configuration whose calendar.time_zone is an IANA time zone such as "Europe/Berlin" (it is ${JSON.stringify(business)})`,
    );
  }
  if (context === undefined || context === null || context === "") return business;
  if (!isTimeZone(context)) {
    return fail("scheduleTimeZone", context, 'an IANA time zone such as "Etc/UTC" or "Europe/Berlin"');
  }
  if (sameZone(context, business)) return context;
  return fail(
    "scheduleTimeZone",
    context,
    `the business's time zone, calendar.time_zone of the run configuration (${business}): the schedule's as-of is yesterday in its zone, so another zone would score a day that is not a business day. Set calendar.time_zone instead, or leave scheduleTimeZone out`,
  );
}

/** Whether two IANA zones are one (`Etc/UTC` and `UTC` are). */
function sameZone(a: string, b: string): boolean {
  const resolved = (zone: string) =>
    new Intl.DateTimeFormat("en", { timeZone: zone }).resolvedOptions().timeZone;
  return resolved(a) === resolved(b);
}

function isTimeZone(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

function email(value: unknown): string | undefined {
  const s = optionalString(value, "alarmEmail");
  if (s === undefined) return undefined;
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s) ? s : fail("alarmEmail", s, "an e-mail address");
}

/** Reads, parses and minifies the run configuration; its schema is checked by the handlers (zod). */
function runConfig(path: string, cwd: string): string {
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return fail("configFile", path, `a readable JSON file (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail("configFile", path, `a JSON file (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return fail("configFile", path, "a JSON object");
  }
  const minified = JSON.stringify(parsed);
  const size = Buffer.byteLength(minified, "utf8");
  if (size > MAX_RUN_CONFIG_BYTES) {
    return fail("configFile", path, `at most ${MAX_RUN_CONFIG_BYTES} bytes once minified (it has ${size})`);
  }
  return minified;
}
