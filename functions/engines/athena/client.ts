/**
 * The low-level Athena layer: start a statement, wait for it, read its results, account for it
 * (DESIGN.md §7, docs/adr/0004-athena-adapter.md).
 *
 * - StartQueryExecution carries a ClientRequestToken derived from (scope, statement number, SQL, attempt):
 *   the same on every resend of one submission, so a start whose response was lost is not run twice, and
 *   the same when a run is replayed with the same scope (its run id), so a re-invoked Lambda finds the
 *   statements it already started instead of starting them again.
 * - TooManyRequestsException (including `Reason: CONCURRENT_QUERY_LIMIT_EXCEEDED`), ThrottlingException
 *   and 5xx answers are retried with exponential backoff and full jitter; this layer owns the retries (a
 *   client it creates has the SDK's own retries off) so that every wait respects the deadline. Each throttled
 *   answer is reported to `onThrottled` (the scoring Lambda's metric AthenaThrottled).
 * - GetQueryExecution is polled with a growing interval (200 ms doubling to 5 s). QUEUED → RUNNING →
 *   QUEUED → … is normal (Athena requeues after transient errors).
 * - The deadline is the Lambda's remaining time minus a safety margin (or an explicit deadline / timeout).
 *   A statement still running at the deadline is stopped (StopQueryExecution) before the error is thrown.
 * - FAILED is retried only when AthenaError.Retryable is true, a bounded number of times, with a new token.
 *   CANCELLED names the workgroup's bytes-scanned cutoff when Athena's reason says so.
 * - Every terminal statement is recorded with its data scanned, engine time and estimated cost.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  AthenaClient,
  type ColumnInfo as AthenaColumnInfo,
  type Row as AthenaRow,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsOutput,
  type QueryExecution,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from "@aws-sdk/client-athena";
import { QueryFailedError } from "../../core/errors.ts";
import type { QueryResult } from "../../core/ports/warehouse.ts";
import { type DecodeContext, decodeRows, isHeaderRow, resultColumns } from "./results.ts";
import { MAX_QUERY_BYTES } from "./sql.ts";

// ---- Time.

/** Time as this layer sees it; tests pass a fake whose sleep advances `now` instantly. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

/** GetQueryExecution polling: 200, 400, 800, 1600, 3200, 5000, 5000, … ms (no jitter: polls are cheap). */
export const POLL_BACKOFF: Backoff = { initialMs: 200, maxMs: 5_000, factor: 2 };
/** Throttled API calls: a random wait in [0, min(20 s, 500 ms × 2^n)] ("full jitter"). */
export const THROTTLE_BACKOFF: Backoff = { initialMs: 500, maxMs: 20_000, factor: 2 };
export const DEFAULT_MAX_THROTTLE_RETRIES = 10;
/** Resubmissions of a statement that FAILED with AthenaError.Retryable = true. */
export const DEFAULT_MAX_FAILED_RETRIES = 2;
/** Time kept back from the Lambda's remaining time: stop the query, record the failed run, clean up. */
export const DEFAULT_SAFETY_MARGIN_MS = 15_000;
/** GetQueryResults page size (the API maximum). */
export const PAGE_SIZE = 1_000;

// ---- Cost.

export interface Pricing {
  /** USD per terabyte scanned (2^40 bytes). */
  readonly usdPerTerabyte: number;
  /** Bytes billed at least per query. */
  readonly minimumBytes: number;
}

const MEGABYTE = 2 ** 20;
const TERABYTE = 2 ** 40;

/** Athena SQL pricing in most Regions: USD 5 per TB scanned, rounded up to the MB, 10 MB minimum per query. */
export const ATHENA_PRICING: Pricing = { usdPerTerabyte: 5, minimumBytes: 10 * MEGABYTE };

/**
 * The estimated cost of one statement. Not charged: failed statements, DDL (CREATE/DROP/ALTER, views,
 * databases; but CTAS is charged like a SELECT), utility statements, and reused results.
 */
export function queryCostUsd(
  stats: {
    readonly state: string;
    readonly statementType?: string | undefined;
    readonly substatementType?: string | undefined;
    readonly dataScannedBytes: number;
    readonly reusedResult?: boolean;
  },
  pricing: Pricing = ATHENA_PRICING,
): number {
  if (stats.state === "FAILED" || stats.reusedResult === true) return 0;
  if (stats.statementType === "UTILITY") return 0;
  if (stats.statementType === "DDL" && stats.substatementType !== "CREATE_TABLE_AS_SELECT") return 0;
  const rounded = Math.ceil(Math.max(0, stats.dataScannedBytes) / MEGABYTE) * MEGABYTE;
  return (Math.max(rounded, pricing.minimumBytes) / TERABYTE) * pricing.usdPerTerabyte;
}

/** What one statement did, for the run record and logs. */
export interface QueryStats {
  readonly queryExecutionId: string;
  readonly label: string;
  readonly state: string;
  readonly statementType: string | undefined;
  readonly substatementType: string | undefined;
  readonly dataScannedBytes: number;
  readonly engineExecutionTimeMs: number;
  readonly totalExecutionTimeMs: number;
  readonly queueTimeMs: number;
  readonly costUsd: number;
  /** 1 for the first submission, 2 after one retry of a retryable failure, … */
  readonly attempt: number;
}

export interface UsageTotals {
  readonly queries: number;
  readonly dataScannedBytes: number;
  readonly engineExecutionTimeMs: number;
  readonly costUsd: number;
}

export function totalUsage(history: readonly QueryStats[]): UsageTotals {
  return history.reduce<UsageTotals>(
    (sum, q) => ({
      queries: sum.queries + 1,
      dataScannedBytes: sum.dataScannedBytes + q.dataScannedBytes,
      engineExecutionTimeMs: sum.engineExecutionTimeMs + q.engineExecutionTimeMs,
      costUsd: sum.costUsd + q.costUsd,
    }),
    { queries: 0, dataScannedBytes: 0, engineExecutionTimeMs: 0, costUsd: 0 },
  );
}

// ---- Errors.

export interface AthenaErrorDetails {
  readonly queryExecutionId?: string | undefined;
  readonly state?: string | undefined;
  /** AthenaError.ErrorType (e.g. 1306), or the API exception name (e.g. InvalidRequestException). */
  readonly errorType?: number | string | undefined;
  readonly retryable?: boolean | undefined;
}

/**
 * A statement Athena did not complete. The message always carries Athena's own text and, once Athena has
 * given one, the query execution id (to find it in the console or in CloudTrail).
 */
export class AthenaQueryError extends QueryFailedError {
  override name = "AthenaQueryError";
  readonly queryExecutionId: string | undefined;
  readonly state: string | undefined;
  readonly errorType: number | string | undefined;
  readonly retryable: boolean;

  constructor(
    code: string,
    message: string,
    details: AthenaErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.queryExecutionId = details.queryExecutionId;
    this.state = details.state;
    this.errorType = details.errorType;
    this.retryable = details.retryable ?? false;
  }
}

interface ApiErrorFields {
  readonly name: string;
  readonly message: string;
  readonly reason: string | undefined;
  readonly status: number | undefined;
}

function apiErrorFields(error: unknown): ApiErrorFields {
  if (typeof error !== "object" || error === null) {
    return { name: "Error", message: String(error), reason: undefined, status: undefined };
  }
  const record = error as Record<string, unknown>;
  const metadata = record.$metadata as Record<string, unknown> | undefined;
  return {
    name: typeof record.name === "string" ? record.name : "Error",
    message: typeof record.message === "string" ? record.message : String(error),
    reason: typeof record.Reason === "string" ? record.Reason : undefined,
    status: typeof metadata?.httpStatusCode === "number" ? metadata.httpStatusCode : undefined,
  };
}

const THROTTLING = new Set([
  "TooManyRequestsException",
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestLimitExceeded",
  "SlowDown",
]);
const TRANSIENT = new Set([
  "InternalServerException",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);
const NETWORK = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN"]);

/** Athena (or the SDK) refused the call for its request rate or concurrent-query quota. */
export function isThrottlingError(error: unknown): boolean {
  return THROTTLING.has(apiErrorFields(error).name);
}

/** Throttling, a 5xx, or a dropped connection: worth the same request again after a wait. */
export function isRetryableApiError(error: unknown): boolean {
  const { name, status } = apiErrorFields(error);
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return (
    THROTTLING.has(name) ||
    TRANSIENT.has(name) ||
    (status !== undefined && status >= 500) ||
    (typeof code === "string" && NETWORK.has(code))
  );
}

function describeApiError(error: unknown): string {
  const { name, message, reason } = apiErrorFields(error);
  return `${name}${reason === undefined ? "" : ` (${reason})`}: ${message}`;
}

/** Athena's text for a bytes-scanned cutoff is "Bytes scanned limit was exceeded"; match its variants. */
const CUTOFF =
  /bytes[ -]?scanned (?:limit|cutoff)|data (?:scanned|usage) (?:limit|control)|BytesScannedCutoff/i;

// ---- The runner.

export interface AthenaQueryRunnerOptions {
  /** A client to use as is (its retry settings apply before this layer's); default one with SDK retries off. */
  readonly client?: AthenaClient;
  /** Region of the client created when `client` is not given (default: the SDK's resolution). */
  readonly region?: string;
  readonly workGroup: string;
  /** Data catalog of QueryExecutionContext (default AwsDataCatalog). */
  readonly catalog?: string;
  /** Scope of the idempotency tokens: the run id; default a random one per runner. */
  readonly tokenScope?: string;
  /** Time left before the Lambda is killed (`context.getRemainingTimeInMillis`). */
  readonly remainingTimeMs?: () => number;
  /** An absolute deadline on `clock` (milliseconds). */
  readonly deadlineMs?: number;
  /** Kept back from remainingTimeMs (default 15 s). */
  readonly safetyMarginMs?: number;
  readonly poll?: Partial<Backoff>;
  readonly throttle?: Partial<Backoff> & { readonly maxRetries?: number };
  /** Resubmissions after a FAILED state with AthenaError.Retryable (default 2). */
  readonly maxFailedRetries?: number;
  readonly pricing?: Partial<Pricing>;
  readonly clock?: Clock;
  /** Jitter source, in [0, 1). */
  readonly random?: () => number;
  /** Called with each finished statement's statistics (for logs and metrics). */
  readonly onQuery?: (stats: QueryStats) => void;
  /**
   * Called each time an Athena API call is answered with throttling (TooManyRequestsException,
   * ThrottlingException, …), whether it is then retried or given up on: the scoring Lambda counts these
   * (metric AthenaThrottled, alarm AthenaThrottled).
   */
  readonly onThrottled?: (event: ThrottleEvent) => void;
}

/** One throttled Athena API call. */
export interface ThrottleEvent {
  readonly operation: "StartQueryExecution" | "GetQueryExecution" | "GetQueryResults" | "StopQueryExecution";
  /** The statement's label. */
  readonly label: string;
  /** The exception's name, e.g. TooManyRequestsException. */
  readonly errorName: string;
  /** Athena's Reason, e.g. CONCURRENT_QUERY_LIMIT_EXCEEDED, when it gives one. */
  readonly reason: string | undefined;
}

export interface RunQueryOptions {
  /** What the statement is for, in messages and statistics (default: its first words). */
  readonly label?: string;
  /** QueryExecutionContext.Database: the database unqualified names resolve in. */
  readonly database?: string;
  /** QueryExecutionContext.Catalog; default the runner's. */
  readonly catalog?: string;
  /** ExecutionParameters: SQL literal texts for the statement's positional `?`. */
  readonly parameters?: readonly string[];
  /** A deadline for this statement alone, from now. */
  readonly timeoutMs?: number;
  /** Default the runner's; 0 for statements that write to a location that must be empty (CTAS, UNLOAD). */
  readonly maxFailedRetries?: number;
  /** Called before a FAILED statement is resubmitted (e.g. to empty the location a CTAS left half-written). */
  readonly beforeRetry?: () => Promise<void>;
}

export interface CompletedQuery {
  readonly queryExecutionId: string;
  readonly label: string;
  readonly statementType: string | undefined;
  readonly substatementType: string | undefined;
  readonly stats: QueryStats;
  /** The deadline the statement ran under (results are read under it too). */
  readonly deadline: number;
}

export interface AthenaQueryResult extends QueryResult {
  readonly queryExecutionId: string;
  /** Rows written by CTAS / INSERT / UNLOAD, when Athena reports it. */
  readonly updateCount: number | undefined;
  readonly stats: QueryStats;
}

/** The idempotency token of one submission: 72 characters, deterministic per (scope, statement, attempt). */
export function clientRequestToken(scope: string, sequence: number, sql: string, attempt: number): string {
  const digest = createHash("sha256").update(`${scope}\n${sequence}\n${attempt}\n${sql}`).digest("hex");
  return `crmlake-${digest}`;
}

function firstWords(sql: string): string {
  const words = sql.trim().split(/\s+/).slice(0, 4).join(" ");
  return words.length > 60 ? `${words.slice(0, 57)}...` : words;
}

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

export class AthenaQueryRunner {
  readonly client: AthenaClient;
  readonly workGroup: string;
  readonly catalog: string;
  readonly tokenScope: string;
  private readonly options: AthenaQueryRunnerOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly poll: Backoff;
  private readonly throttle: Backoff;
  private readonly maxThrottleRetries: number;
  private readonly pricing: Pricing;
  private readonly recorded: QueryStats[] = [];
  private sequence = 0;

  constructor(options: AthenaQueryRunnerOptions) {
    this.options = options;
    this.client =
      options.client ??
      new AthenaClient({ maxAttempts: 1, ...(options.region ? { region: options.region } : {}) });
    this.workGroup = options.workGroup;
    this.catalog = options.catalog ?? "AwsDataCatalog";
    this.tokenScope = options.tokenScope ?? randomUUID();
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.poll = { ...POLL_BACKOFF, ...options.poll };
    this.throttle = { ...THROTTLE_BACKOFF, ...options.throttle };
    this.maxThrottleRetries = options.throttle?.maxRetries ?? DEFAULT_MAX_THROTTLE_RETRIES;
    this.pricing = { ...ATHENA_PRICING, ...options.pricing };
  }

  /** Every statement that reached a terminal state, in order. */
  get history(): readonly QueryStats[] {
    return this.recorded;
  }

  usage(): UsageTotals {
    return totalUsage(this.recorded);
  }

  /** When the statement starting now must be finished, on `clock`. */
  deadline(timeoutMs?: number): number {
    const now = this.clock.now();
    let deadline = Number.POSITIVE_INFINITY;
    if (timeoutMs !== undefined) deadline = Math.min(deadline, now + timeoutMs);
    if (this.options.deadlineMs !== undefined) deadline = Math.min(deadline, this.options.deadlineMs);
    if (this.options.remainingTimeMs !== undefined) {
      const margin = this.options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
      deadline = Math.min(deadline, now + this.options.remainingTimeMs() - margin);
    }
    return deadline;
  }

  /**
   * Runs one statement to SUCCEEDED, or throws an AthenaQueryError with Athena's reason and the query id.
   * Results are not read: see results(), query().
   */
  async runQuery(sql: string, options: RunQueryOptions = {}): Promise<CompletedQuery> {
    const label = options.label ?? firstWords(sql);
    const bytes = Buffer.byteLength(sql, "utf8");
    if (bytes > MAX_QUERY_BYTES) {
      throw new AthenaQueryError(
        "athena_query_too_long",
        `Athena statement (${label}) is ${bytes} bytes long; Athena accepts at most ${MAX_QUERY_BYTES}. Split the model into smaller ones.`,
      );
    }
    const sequence = this.sequence++;
    const deadline = this.deadline(options.timeoutMs);
    const maxFailedRetries =
      options.maxFailedRetries ?? this.options.maxFailedRetries ?? DEFAULT_MAX_FAILED_RETRIES;

    for (let attempt = 0; ; attempt++) {
      const token = clientRequestToken(this.tokenScope, sequence, sql, attempt);
      const id = await this.start(sql, token, options, label, deadline);
      const execution = await this.waitFor(id, label, deadline);
      const stats = this.record(execution, id, label, attempt + 1);
      const status = execution.Status;
      const state = status?.State ?? "UNKNOWN";
      if (state === "SUCCEEDED") {
        return {
          queryExecutionId: id,
          label,
          statementType: execution.StatementType,
          substatementType: execution.SubstatementType,
          stats,
          deadline,
        };
      }
      const athenaError = status?.AthenaError;
      const reason = athenaError?.ErrorMessage ?? status?.StateChangeReason ?? "no reason given";
      const extra =
        athenaError?.ErrorMessage !== undefined &&
        status?.StateChangeReason !== undefined &&
        status.StateChangeReason !== athenaError.ErrorMessage
          ? ` (${status.StateChangeReason})`
          : "";
      const details: AthenaErrorDetails = {
        queryExecutionId: id,
        state,
        errorType: athenaError?.ErrorType,
        retryable: athenaError?.Retryable === true,
      };
      if (CUTOFF.test(`${reason} ${status?.StateChangeReason ?? ""}`)) {
        throw new AthenaQueryError(
          "athena_bytes_scanned_cutoff",
          `Athena query ${id} (${label}) was ${state === "FAILED" ? "stopped" : "cancelled"} by the workgroup ${this.workGroup}'s bytes-scanned cutoff after scanning ${stats.dataScannedBytes} bytes: ${reason}${extra}. Raise the cutoff (BytesScannedCutoffPerQuery) or make the statement read less (filter on partition columns).`,
          details,
        );
      }
      if (state === "CANCELLED") {
        throw new AthenaQueryError(
          "athena_cancelled",
          `Athena query ${id} (${label}) was cancelled: ${reason}${extra}`,
          details,
        );
      }
      const kind =
        athenaError === undefined
          ? ""
          : ` [${["", "system", "user", "other"][athenaError.ErrorCategory ?? 0] ?? "unknown"} error, type ${athenaError.ErrorType ?? "?"}]`;
      if (athenaError?.Retryable === true && attempt < maxFailedRetries) {
        await options.beforeRetry?.();
        await this.wait(
          this.jittered(attempt),
          deadline,
          label,
          `resubmitting after retryable failure of ${id}`,
        );
        continue;
      }
      const attempts = attempt > 0 ? ` (after ${attempt + 1} attempts)` : "";
      throw new AthenaQueryError(
        "athena_failed",
        `Athena query ${id} (${label}) failed${kind}${attempts}: ${reason}${extra}`,
        details,
      );
    }
  }

  /** Runs a statement and reads all its result rows, typed. */
  async query(
    sql: string,
    options: RunQueryOptions & { readonly maxRows?: number } = {},
  ): Promise<AthenaQueryResult> {
    const completed = await this.runQuery(sql, options);
    return this.results(completed, options.maxRows);
  }

  /**
   * Reads every page of a finished statement's results (1000 rows per GetQueryResults call), drops the
   * header row Athena puts first on the first page of a SELECT, and decodes values by column type.
   */
  async results(completed: CompletedQuery, maxRows?: number): Promise<AthenaQueryResult> {
    const { queryExecutionId: id, label } = completed;
    const context: DecodeContext = { queryExecutionId: id, label };
    // SELECTs (DML) have a header row; DDL and utility statements (SHOW, DESCRIBE) do not. When Athena does
    // not say, a first row that spells the column names is taken for the header.
    const header =
      completed.statementType === undefined ||
      (completed.statementType === "DML" &&
        (completed.substatementType === undefined || completed.substatementType.toUpperCase() === "SELECT"));
    let columns: AthenaColumnInfo[] | undefined;
    const rows: ReturnType<typeof decodeRows> = [];
    let updateCount: number | undefined;
    let nextToken: string | undefined;
    let first = true;
    do {
      const page = await this.resultsPage(id, label, completed.deadline, nextToken);
      const set = page.ResultSet;
      columns ??= set?.ResultSetMetadata?.ColumnInfo ?? [];
      let pageRows: AthenaRow[] = set?.Rows ?? [];
      if (first && header && isHeaderRow(pageRows[0], columns)) pageRows = pageRows.slice(1);
      updateCount ??= page.UpdateCount;
      for (const row of decodeRows(pageRows, columns, context)) rows.push(row);
      if (maxRows !== undefined && rows.length > maxRows) {
        throw new AthenaQueryError(
          "athena_result_too_large",
          `Athena query ${id} (${label}) returns more than ${maxRows} rows, the most it reads through GetQueryResults; aggregate or filter in SQL`,
          { queryExecutionId: id, state: "SUCCEEDED" },
        );
      }
      nextToken = page.NextToken;
      first = false;
    } while (nextToken !== undefined && nextToken !== "");
    return {
      queryExecutionId: id,
      columns: resultColumns(columns ?? []),
      rows,
      updateCount,
      stats: completed.stats,
    };
  }

  /** The UpdateCount of a CTAS / INSERT / UNLOAD (rows written), when Athena reports one. */
  async updateCount(completed: CompletedQuery): Promise<number | undefined> {
    const page = await this.resultsPage(
      completed.queryExecutionId,
      completed.label,
      completed.deadline,
      undefined,
      1,
    );
    return page.UpdateCount;
  }

  /** Stops a statement (best effort); returns Athena's error text when it could not. */
  async stop(queryExecutionId: string): Promise<string | undefined> {
    for (let retry = 0; ; retry++) {
      try {
        await this.client.send(new StopQueryExecutionCommand({ QueryExecutionId: queryExecutionId }));
        return undefined;
      } catch (error) {
        this.noteThrottling(error, "StopQueryExecution", queryExecutionId);
        if (!isRetryableApiError(error) || retry >= 3) return describeApiError(error);
        await this.clock.sleep(this.jittered(retry));
      }
    }
  }

  // ---- Internals.

  private async start(
    sql: string,
    token: string,
    options: RunQueryOptions,
    label: string,
    deadline: number,
  ): Promise<string> {
    for (let retry = 0; ; retry++) {
      if (this.clock.now() >= deadline) {
        throw new AthenaQueryError(
          "athena_deadline",
          `Athena statement (${label}) was not started: the deadline has passed (${this.deadlineText()})`,
        );
      }
      try {
        const output = await this.client.send(
          new StartQueryExecutionCommand({
            QueryString: sql,
            ClientRequestToken: token,
            WorkGroup: this.workGroup,
            QueryExecutionContext: {
              Catalog: options.catalog ?? this.catalog,
              ...(options.database === undefined ? {} : { Database: options.database }),
            },
            ...(options.parameters === undefined || options.parameters.length === 0
              ? {}
              : { ExecutionParameters: [...options.parameters] }),
          }),
        );
        if (output.QueryExecutionId === undefined || output.QueryExecutionId === "") {
          throw new AthenaQueryError(
            "athena_api_error",
            `Athena accepted the statement (${label}) but returned no query execution id`,
          );
        }
        return output.QueryExecutionId;
      } catch (error) {
        if (error instanceof AthenaQueryError) throw error;
        this.noteThrottling(error, "StartQueryExecution", label);
        const fields = apiErrorFields(error);
        if (!isRetryableApiError(error)) {
          throw new AthenaQueryError(
            "athena_rejected",
            `Athena rejected the statement (${label}): ${describeApiError(error)}`,
            { errorType: fields.name },
            { cause: error },
          );
        }
        if (retry >= this.maxThrottleRetries) {
          throw new AthenaQueryError(
            "athena_throttled",
            `Athena kept refusing to start the statement (${label}) after ${retry + 1} attempts: ${describeApiError(error)}`,
            { errorType: fields.name, retryable: true },
            { cause: error },
          );
        }
        await this.wait(
          this.jittered(retry),
          deadline,
          label,
          `starting (throttled: ${describeApiError(error)})`,
        );
      }
    }
  }

  /** Polls until a terminal state; stops the statement and throws at the deadline. */
  private async waitFor(id: string, label: string, deadline: number): Promise<QueryExecution> {
    const started = this.clock.now();
    let interval = this.poll.initialMs;
    let throttled = 0;
    let state = "QUEUED";
    for (;;) {
      let execution: QueryExecution | undefined;
      try {
        execution = (await this.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id })))
          .QueryExecution;
      } catch (error) {
        this.noteThrottling(error, "GetQueryExecution", label);
        if (!isRetryableApiError(error) || throttled >= this.maxThrottleRetries) {
          const stopped = await this.stop(id);
          throw new AthenaQueryError(
            "athena_api_error",
            `Could not follow Athena query ${id} (${label}): ${describeApiError(error)}; ${stopped === undefined ? "stopped it" : `and could not stop it: ${stopped}`}`,
            { queryExecutionId: id, state, errorType: apiErrorFields(error).name },
            { cause: error },
          );
        }
        throttled++;
      }
      if (execution !== undefined) {
        state = execution.Status?.State ?? state;
        if (TERMINAL.has(state)) return execution;
      }
      const left = deadline - this.clock.now();
      if (left <= 0) {
        const stopped = await this.stop(id);
        throw new AthenaQueryError(
          "athena_deadline",
          `Athena query ${id} (${label}) was still ${state} after ${this.clock.now() - started} ms, at the deadline (${this.deadlineText()}); ${stopped === undefined ? "stopped it with StopQueryExecution" : `StopQueryExecution failed: ${stopped}`}. Resume the run in a new invocation, or give the Lambda more time.`,
          { queryExecutionId: id, state },
        );
      }
      const wait = execution === undefined ? this.jittered(throttled - 1) : interval;
      await this.clock.sleep(Math.min(wait, left));
      if (execution !== undefined) interval = Math.min(this.poll.maxMs, interval * this.poll.factor);
    }
  }

  private async resultsPage(
    id: string,
    label: string,
    deadline: number,
    nextToken: string | undefined,
    maxResults = PAGE_SIZE,
  ): Promise<GetQueryResultsOutput> {
    for (let retry = 0; ; retry++) {
      try {
        return await this.client.send(
          new GetQueryResultsCommand({
            QueryExecutionId: id,
            MaxResults: maxResults,
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        );
      } catch (error) {
        this.noteThrottling(error, "GetQueryResults", label);
        if (!isRetryableApiError(error) || retry >= this.maxThrottleRetries) {
          throw new AthenaQueryError(
            "athena_api_error",
            `Could not read the results of Athena query ${id} (${label}): ${describeApiError(error)}`,
            { queryExecutionId: id, state: "SUCCEEDED", errorType: apiErrorFields(error).name },
            { cause: error },
          );
        }
        await this.wait(this.jittered(retry), deadline, label, `reading the results of ${id}`);
      }
    }
  }

  /** Tells onThrottled of a throttled answer (and nothing else: 5xx and network errors are not throttling). */
  private noteThrottling(error: unknown, operation: ThrottleEvent["operation"], label: string): void {
    if (this.options.onThrottled === undefined || !isThrottlingError(error)) return;
    const { name, reason } = apiErrorFields(error);
    this.options.onThrottled({ operation, label, errorName: name, reason });
  }

  /** Sleeps `ms`, unless that would pass the deadline. */
  private async wait(ms: number, deadline: number, label: string, doing: string): Promise<void> {
    if (this.clock.now() + ms >= deadline) {
      throw new AthenaQueryError(
        "athena_deadline",
        `Athena statement (${label}): gave up ${doing}: the deadline comes first (${this.deadlineText()})`,
      );
    }
    await this.clock.sleep(ms);
  }

  /** Full jitter: uniform in [0, min(max, initial × factor^retry)]. */
  private jittered(retry: number): number {
    const ceiling = Math.min(
      this.throttle.maxMs,
      this.throttle.initialMs * this.throttle.factor ** Math.max(0, retry),
    );
    return Math.floor(this.random() * ceiling);
  }

  private deadlineText(): string {
    if (this.options.remainingTimeMs !== undefined) {
      return `the Lambda's remaining time minus a ${this.options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS} ms safety margin`;
    }
    return this.options.deadlineMs !== undefined ? "the configured deadline" : "the statement's timeout";
  }

  private record(execution: QueryExecution, id: string, label: string, attempt: number): QueryStats {
    const statistics = execution.Statistics;
    const state = execution.Status?.State ?? "UNKNOWN";
    const base = {
      queryExecutionId: id,
      label,
      state,
      statementType: execution.StatementType,
      substatementType: execution.SubstatementType,
      dataScannedBytes: statistics?.DataScannedInBytes ?? 0,
      engineExecutionTimeMs: statistics?.EngineExecutionTimeInMillis ?? 0,
      totalExecutionTimeMs: statistics?.TotalExecutionTimeInMillis ?? 0,
      queueTimeMs: statistics?.QueryQueueTimeInMillis ?? 0,
      attempt,
    };
    const stats: QueryStats = {
      ...base,
      costUsd: queryCostUsd(
        { ...base, reusedResult: statistics?.ResultReuseInformation?.ReusedPreviousResult === true },
        this.pricing,
      ),
    };
    this.recorded.push(stats);
    this.options.onQuery?.(stats);
    return stats;
  }
}
