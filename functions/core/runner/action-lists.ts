/**
 * The next-best actions as files for activation tools (docs/lifetime-value.md, "Next-best actions";
 * docs/adr/0013-action-lists-after-publish.md): one CSV per action of customer_actions as of one date, read
 * through the Warehouse port (DuckDB locally, Athena in the scoring Lambda) and written through the
 * ObjectStore port (a directory, or S3). `crmlake export actions` writes them where it is told; every run that
 * publishes customer_actions writes them into the lake, under EXPORT_LAYOUT:
 *
 *   exports/actions/as_of=<d>/<action>.csv      that as-of's lists (replaced by a re-run of the as-of)
 *   exports/actions/as_of=<d>/manifest.json     written last: the as-of, the run, each file and its count
 *   exports/actions/latest/<action>.csv         the same bytes again, for the latest as-of published
 *   exports/actions/latest/manifest.json        written last; a run of an earlier as-of leaves latest/ alone
 *
 * The CSV is what DuckDB's COPY … (FORMAT csv, HEADER true) writes, byte for byte (test/unit/action-lists.test.ts
 * compares them): a header, `\n` line ends, every column of customer_actions with as_of last, one customer per
 * line ordered by customer_id; a field is quoted (`"`, inner quotes doubled) when it holds a comma, a quote or
 * a line break, and an empty string is `""` while NULL is an empty field; doubles as DuckDB prints them
 * (`1.0`, `1e-07`, `nan`). An action nobody gets is a header-only file.
 */

import { NEXT_ACTIONS, type NextAction } from "../catalogue/actions.ts";
import { EXPORT_LAYOUT } from "../catalogue/layout.ts";
import { isIsoDate } from "../dates.ts";
import { ModelError } from "../errors.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import type { ColumnInfo, JsonValue, QueryResult } from "../ports/warehouse.ts";

/** Runs a SELECT over the published customer_actions (Warehouse.query after attachPublished). */
export type ActionQuery = (sql: string) => Promise<QueryResult>;

export interface ActionList {
  readonly action: NextAction;
  /** The CSV's text. */
  readonly csv: string;
  readonly customers: number;
}

const DOUBLE = /^(double|float|real)/i;

/**
 * A double as DuckDB's CSV writer prints it (the shortest digits that read back as the same number, as
 * JavaScript finds them): fixed notation with at least one decimal for exponents -4 to 15 (`1.0`,
 * `0.0001`, `1000000000000000.0`), else `<digits>e±<at least two digits>` (`1e-07`, `1.5e+16`); `-0.0`,
 * `nan`, `inf`, `-inf`.
 */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Number.POSITIVE_INFINITY) return "inf";
  if (value === Number.NEGATIVE_INFINITY) return "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa = "", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace(/^-/, "").replace(".", "");
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
    const fraction = digits.slice(exponent + 1);
    return `${sign}${whole}.${fraction === "" ? "0" : fraction}`;
  }
  const shown = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const magnitude = String(Math.abs(exponent)).padStart(2, "0");
  return `${sign}${shown}e${exponent < 0 ? "-" : "+"}${magnitude}`;
}

const NON_FINITE: Readonly<Record<string, string>> = { NaN: "nan", Infinity: "inf", "-Infinity": "-inf" };

/** A CSV field's text (RFC 4180): quoted, inner quotes doubled, when it holds `,`, `"`, CR or LF. */
export function csvQuote(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV field (RFC 4180): NULL is empty, an empty string `""`; quoted when it holds `,`, `"`, CR or LF. */
export function csvField(value: JsonValue, column: ColumnInfo): string {
  if (value === null) return "";
  let text: string;
  if (typeof value === "number") text = DOUBLE.test(column.type) ? formatDouble(value) : String(value);
  else if (typeof value === "string" && DOUBLE.test(column.type) && value in NON_FINITE)
    text = NON_FINITE[value] ?? value;
  else if (typeof value === "string") text = value;
  else if (typeof value === "boolean") text = value ? "true" : "false";
  else text = JSON.stringify(value);
  return text === "" ? '""' : csvQuote(text);
}

/** A query result as CSV text: a header line, then one line per row, each ended by `\n`. */
export function csvText(result: QueryResult): string {
  const header = result.columns.map((c) => csvField(c.name, { name: c.name, type: "varchar" })).join(",");
  const lines = [header];
  for (const row of result.rows) {
    lines.push(result.columns.map((c) => csvField(row[c.name] ?? null, c)).join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** The as-ofs of the published customer_actions, latest first. */
export async function publishedActionAsOfs(query: ActionQuery): Promise<string[]> {
  const result = await query(
    "SELECT CAST(as_of AS VARCHAR) AS as_of FROM customer_actions GROUP BY as_of ORDER BY as_of DESC",
  );
  return result.rows.map((r) => String(r.as_of));
}

/** Every action's list as of `asOf`, in NEXT_ACTIONS order, from the published customer_actions. */
export async function buildActionLists(query: ActionQuery, asOf: string): Promise<ActionList[]> {
  if (!isIsoDate(asOf)) throw new ModelError("bad_as_of", `Not a date: ${asOf}`);
  const lists: ActionList[] = [];
  for (const action of NEXT_ACTIONS) {
    // asOf is checked above and action is one of NEXT_ACTIONS: both are safe as literals.
    const result = await query(
      `SELECT * FROM customer_actions WHERE as_of = DATE '${asOf}' AND next_action = '${action}' ORDER BY customer_id`,
    );
    lists.push({ action, csv: csvText(result), customers: result.rows.length });
  }
  return lists;
}

/** What a lake's manifest.json of the action lists says (EXPORT_LAYOUT). */
export interface ActionListsManifest {
  readonly as_of: string;
  readonly run_id: string;
  readonly written_at: string;
  readonly files: readonly {
    readonly action: NextAction;
    readonly key: string;
    readonly customers: number;
  }[];
}

export interface PublishedActionLists {
  readonly asOf: string;
  /** The as-of's keys (EXPORT_LAYOUT.asOfKey), with their counts. */
  readonly files: ActionListsManifest["files"];
  /** Whether latest/ now holds these lists: false when it already held a later as-of's. */
  readonly latest: boolean;
  /** The as-of latest/ held before (undefined when there was none). */
  readonly previousLatest?: string;
}

/**
 * Writes the lists into the lake (EXPORT_LAYOUT): the as-of's files, its manifest, then, unless latest/ holds
 * a later as-of, each file again under latest/ and latest's manifest last. Each object is replaced whole (S3
 * PUT, or a local rename), so a reader sees an old list or a new one, never half of one; a reader that needs
 * the seven lists of one as-of reads the as-of's folder that latest/manifest.json names.
 */
export async function publishActionLists(
  store: ObjectStore,
  lists: readonly ActionList[],
  asOf: string,
  runId: string,
  now: Date,
): Promise<PublishedActionLists> {
  const files = lists.map((l) => ({
    action: l.action,
    key: EXPORT_LAYOUT.asOfKey(asOf, l.action),
    customers: l.customers,
  }));
  for (const list of lists) await store.put(EXPORT_LAYOUT.asOfKey(asOf, list.action), list.csv);
  const manifest: ActionListsManifest = { as_of: asOf, run_id: runId, written_at: now.toISOString(), files };
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  await store.put(EXPORT_LAYOUT.asOfManifest(asOf), manifestText);

  const previousLatest = await readLatestAsOf(store);
  if (previousLatest !== undefined && previousLatest > asOf) {
    return { asOf, files, latest: false, previousLatest };
  }
  for (const list of lists) await store.put(EXPORT_LAYOUT.latestKey(list.action), list.csv);
  await store.put(EXPORT_LAYOUT.latestManifest, manifestText);
  return previousLatest === undefined
    ? { asOf, files, latest: true }
    : { asOf, files, latest: true, previousLatest };
}

/** The as-of latest/manifest.json names; undefined when there is none or it does not parse. */
async function readLatestAsOf(store: ObjectStore): Promise<string | undefined> {
  const bytes = await store.get(EXPORT_LAYOUT.latestManifest);
  if (bytes === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as { as_of?: unknown };
    return typeof parsed.as_of === "string" && isIsoDate(parsed.as_of) ? parsed.as_of : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The runner's step after a run that published customer_actions: the run's lists into the lake. Returns a
 * line for the log; throws what the query or the store threw (the runner turns it into a diagnostic: the run
 * itself is published by then).
 */
export async function exportRunActions(options: {
  readonly query: ActionQuery;
  readonly lake: ObjectStore;
  readonly asOf: string;
  readonly runId: string;
  readonly now: Date;
}): Promise<string> {
  const lists = await buildActionLists(options.query, options.asOf);
  const published = await publishActionLists(options.lake, lists, options.asOf, options.runId, options.now);
  const counts = published.files.map((f) => `${f.action} ${f.customers}`).join(", ");
  const where = `${options.lake.location}/${EXPORT_LAYOUT.asOfPrefix(options.asOf)}`;
  return published.latest
    ? `action lists written to ${where} and ${EXPORT_LAYOUT.latestPrefix} (${counts})`
    : `action lists written to ${where} (${counts}); latest/ keeps ${published.previousLatest}, a later as-of`;
}

/** The action lists a lake holds for one as-of (`crmlake export actions --stack`), copied elsewhere. */
export interface CopiedActionLists {
  readonly asOf: string;
  readonly runId: string;
  readonly files: readonly {
    readonly action: NextAction;
    readonly key: string;
    readonly customers: number;
  }[];
}

/**
 * Copies the lists a run wrote into the lake (EXPORT_LAYOUT) to `target` as `<action>.csv`: those of `asOf`,
 * or of the as-of latest/manifest.json names. Read from the as-of's folder, which its manifest lists (written
 * last), never from latest/, which a run may be replacing file by file.
 */
export async function copyPublishedActionLists(
  lake: ObjectStore,
  target: ObjectStore,
  asOf?: string,
): Promise<CopiedActionLists> {
  const chosen = asOf ?? (await readLatestAsOf(lake));
  const manifestBytes = chosen === undefined ? undefined : await lake.get(EXPORT_LAYOUT.asOfManifest(chosen));
  let manifest: ActionListsManifest | undefined;
  if (manifestBytes !== undefined) {
    try {
      manifest = JSON.parse(Buffer.from(manifestBytes).toString("utf8")) as ActionListsManifest;
    } catch {
      manifest = undefined;
    }
  }
  if (chosen === undefined || manifest === undefined || !Array.isArray(manifest.files)) {
    const asOfs = [
      ...new Set(
        (await lake.list(EXPORT_LAYOUT.actionsPrefix))
          .map((o) => /^exports\/actions\/as_of=(\d{4}-\d{2}-\d{2})\/manifest\.json$/.exec(o.key)?.[1])
          .filter((d): d is string => d !== undefined),
      ),
    ]
      .sort()
      .reverse();
    const shown = asOfs.slice(0, 5).join(", ");
    throw new ModelError(
      "no_actions",
      `${lake.location} has no action lists as of ${chosen ?? "any date"} (${EXPORT_LAYOUT.actionsPrefix}): a run that publishes customer_actions writes them. As-ofs with lists: ${shown === "" ? "none" : shown}${asOfs.length > 5 ? ", …" : ""}`,
    );
  }
  const files: CopiedActionLists["files"][number][] = [];
  for (const file of manifest.files) {
    const bytes = await lake.get(file.key);
    if (bytes === undefined) {
      throw new ModelError(
        "no_actions",
        `${lake.location}/${file.key} is listed in ${EXPORT_LAYOUT.asOfManifest(chosen)} but missing`,
      );
    }
    await target.put(`${file.action}.csv`, bytes);
    files.push({ action: file.action, key: `${file.action}.csv`, customers: file.customers });
  }
  return { asOf: chosen, runId: manifest.run_id, files };
}
