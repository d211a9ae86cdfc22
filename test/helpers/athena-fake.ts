/**
 * A scripted Athena on loopback: a tiny HTTP server that speaks the Athena API's JSON 1.1 protocol
 * (`POST /`, `X-Amz-Target: AmazonAthena.<Operation>`), so the tests drive the real AthenaClient (its
 * serialisation, error parsing and retry middleware) against responses they script.
 *
 * It keeps a little of Athena's behaviour: ids per StartQueryExecution, the same id for a repeated
 * ClientRequestToken (idempotency), GetQueryExecution walking through a scripted list of states,
 * GetQueryResults paging with the header row first on the first page of a SELECT, StopQueryExecution
 * turning a query CANCELLED. Errors are Athena's shape: HTTP 400 with `{"__type": "...", "Message": "..."}`.
 */
import { AthenaClient, type AthenaClientConfig } from "@aws-sdk/client-athena";
import type { Clock } from "../../functions/engines/athena/client.ts";
import { AwsJsonError, type Loopback, listenJson11, loopbackClientConfig } from "./loopback.ts";

export type AthenaOperation =
  | "StartQueryExecution"
  | "GetQueryExecution"
  | "GetQueryResults"
  | "StopQueryExecution";

export type FakeStateName = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";

export interface FakeState {
  readonly state: FakeStateName;
  readonly reason?: string;
  readonly error?: {
    readonly category?: number;
    readonly type?: number;
    readonly retryable?: boolean;
    readonly message?: string;
  };
}

export interface FakeColumn {
  readonly name: string;
  readonly type: string;
  readonly precision?: number;
  readonly scale?: number;
}

/** How one query behaves. Scripts are matched to queries in order, each used once. */
export interface FakeQueryScript {
  /** The query text contains this string, or matches this pattern; any query when absent. */
  readonly match?: string | RegExp;
  /** States of successive GetQueryExecution calls; the last repeats. Default ["SUCCEEDED"]. */
  readonly states?: readonly (FakeStateName | FakeState)[];
  readonly statementType?: "DML" | "DDL" | "UTILITY";
  readonly substatementType?: string;
  readonly dataScannedBytes?: number;
  readonly engineExecutionTimeMs?: number;
  readonly columns?: readonly FakeColumn[];
  /** Data rows as Athena's text; null is a Datum without VarCharValue. */
  readonly rows?: readonly (readonly (string | null)[])[];
  /** Whether the first page starts with the header row; default: for DML SELECTs. */
  readonly header?: boolean;
  /** Rows per page when smaller than the request's MaxResults. */
  readonly pageSize?: number;
  readonly updateCount?: number;
}

export interface FakeError {
  /** `__type`, e.g. TooManyRequestsException. */
  readonly type: string;
  readonly message: string;
  readonly status?: number;
  /** Extra members of the error shape, e.g. `{ Reason: "CONCURRENT_QUERY_LIMIT_EXCEEDED" }`. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

export interface FakeQuery {
  readonly id: string;
  readonly sql: string;
  readonly token: string;
  readonly workGroup: string | undefined;
  readonly database: string | undefined;
  readonly catalog: string | undefined;
  readonly parameters: readonly string[] | undefined;
  readonly script: FakeQueryScript;
  polls: number;
  stopped: boolean;
}

export interface FakeCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

function statementTypes(sql: string): { statementType: "DML" | "DDL" | "UTILITY"; substatementType: string } {
  const text = sql.trim().toUpperCase();
  if (text.startsWith("SELECT") || text.startsWith("WITH"))
    return { statementType: "DML", substatementType: "SELECT" };
  if (text.startsWith("UNLOAD")) return { statementType: "DML", substatementType: "UNLOAD" };
  if (/^CREATE TABLE [^(]*\bAS\b/s.test(text) || /^CREATE TABLE .*\)\s*AS SELECT/s.test(text)) {
    return { statementType: "DDL", substatementType: "CREATE_TABLE_AS_SELECT" };
  }
  if (text.startsWith("SHOW") || text.startsWith("DESCRIBE"))
    return { statementType: "UTILITY", substatementType: "SHOW" };
  return { statementType: "DDL", substatementType: text.split(/\s+/).slice(0, 2).join("_") };
}

function toState(state: FakeStateName | FakeState): FakeState {
  return typeof state === "string" ? { state } : state;
}

export class AthenaFake {
  readonly calls: FakeCall[] = [];
  readonly queries: FakeQuery[] = [];
  private readonly scripts: FakeQueryScript[] = [];
  private readonly errors = new Map<string, FakeError[]>();
  private readonly byToken = new Map<string, FakeQuery>();
  readonly endpoint: string;

  private constructor(private readonly loopback: Loopback) {
    this.endpoint = loopback.endpoint;
  }

  static async start(): Promise<AthenaFake> {
    let fake: AthenaFake | undefined;
    const loopback = await listenJson11("AmazonAthena.", (operation, input) => {
      if (fake === undefined) throw new AwsJsonError("ServiceUnavailable", "starting", 503);
      return fake.serve(operation, input);
    });
    fake = new AthenaFake(loopback);
    return fake;
  }

  /** A real AthenaClient pointed at the fake (dummy credentials; SDK retries off unless configured). */
  client(config: Partial<AthenaClientConfig> = {}): AthenaClient {
    return new AthenaClient({ ...loopbackClientConfig(this.endpoint), ...config });
  }

  script(...scripts: FakeQueryScript[]): this {
    this.scripts.push(...scripts);
    return this;
  }

  /** The next requests to `operation` fail with these errors, one each, before it answers normally again. */
  failNext(operation: AthenaOperation, ...errors: FakeError[]): this {
    this.errors.set(operation, [...(this.errors.get(operation) ?? []), ...errors]);
    return this;
  }

  inputsOf(operation: AthenaOperation): Record<string, unknown>[] {
    return this.calls.filter((c) => c.operation === operation).map((c) => c.input);
  }

  /** The SQL of every query started, in order. */
  get statements(): string[] {
    return this.queries.map((q) => q.sql);
  }

  close(): Promise<void> {
    return this.loopback.close();
  }

  private serve(operation: string, input: Record<string, unknown>): unknown {
    this.calls.push({ operation, input });
    const error = this.errors.get(operation)?.shift();
    if (error !== undefined) throw new AwsJsonError(error.type, error.message, error.status, error.fields);
    return this.answer(operation, input);
  }

  private answer(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case "StartQueryExecution":
        return this.startQuery(input);
      case "GetQueryExecution":
        return this.getQueryExecution(this.find(input.QueryExecutionId));
      case "GetQueryResults":
        return this.getQueryResults(this.find(input.QueryExecutionId), input);
      case "StopQueryExecution":
        this.find(input.QueryExecutionId).stopped = true;
        return {};
      default:
        throw new Error(`operation ${operation} is not faked`);
    }
  }

  private find(id: unknown): FakeQuery {
    const query = this.queries.find((q) => q.id === id);
    if (query === undefined) throw new Error(`QueryExecution ${String(id)} was not found`);
    return query;
  }

  private startQuery(input: Record<string, unknown>): unknown {
    const token = String(input.ClientRequestToken ?? "");
    if (token.length < 32 || token.length > 128) {
      throw new Error(`ClientRequestToken must be 32 to 128 characters long, got ${token.length}`);
    }
    const known = this.byToken.get(token);
    if (known !== undefined) {
      if (known.sql !== input.QueryString) throw new Error("Idempotent parameters do not match");
      return { QueryExecutionId: known.id };
    }
    const sql = String(input.QueryString ?? "");
    const index = this.scripts.findIndex(
      (s) =>
        s.match === undefined || (typeof s.match === "string" ? sql.includes(s.match) : s.match.test(sql)),
    );
    const script = index >= 0 ? (this.scripts.splice(index, 1)[0] ?? {}) : {};
    const context = (input.QueryExecutionContext ?? {}) as Record<string, unknown>;
    const query: FakeQuery = {
      id: `q-${String(this.queries.length + 1).padStart(4, "0")}-0000-4000-8000-000000000000`,
      sql,
      token,
      workGroup: typeof input.WorkGroup === "string" ? input.WorkGroup : undefined,
      database: typeof context.Database === "string" ? context.Database : undefined,
      catalog: typeof context.Catalog === "string" ? context.Catalog : undefined,
      parameters: Array.isArray(input.ExecutionParameters)
        ? input.ExecutionParameters.map(String)
        : undefined,
      script,
      polls: 0,
      stopped: false,
    };
    this.queries.push(query);
    this.byToken.set(token, query);
    return { QueryExecutionId: query.id };
  }

  private stateOf(query: FakeQuery): FakeState {
    if (query.stopped) return { state: "CANCELLED", reason: "Query cancelled by user" };
    const states = query.script.states ?? ["SUCCEEDED"];
    const state = states[Math.min(query.polls, states.length - 1)] ?? "SUCCEEDED";
    query.polls++;
    return toState(state);
  }

  private getQueryExecution(query: FakeQuery): unknown {
    const { state, reason, error } = this.stateOf(query);
    const inferred = statementTypes(query.sql);
    return {
      QueryExecution: {
        QueryExecutionId: query.id,
        Query: query.sql,
        StatementType: query.script.statementType ?? inferred.statementType,
        SubstatementType: query.script.substatementType ?? inferred.substatementType,
        WorkGroup: query.workGroup,
        QueryExecutionContext: { Database: query.database, Catalog: query.catalog },
        Status: {
          State: state,
          SubmissionDateTime: 1_706_702_400,
          ...(reason === undefined ? {} : { StateChangeReason: reason }),
          ...(error === undefined
            ? {}
            : {
                AthenaError: {
                  ErrorCategory: error.category ?? 2,
                  ErrorType: error.type ?? 1306,
                  Retryable: error.retryable ?? false,
                  ErrorMessage: error.message ?? reason,
                },
              }),
        },
        Statistics: {
          DataScannedInBytes: query.script.dataScannedBytes ?? 0,
          EngineExecutionTimeInMillis: query.script.engineExecutionTimeMs ?? 0,
          TotalExecutionTimeInMillis: (query.script.engineExecutionTimeMs ?? 0) + 50,
          QueryQueueTimeInMillis: 10,
        },
      },
    };
  }

  private getQueryResults(query: FakeQuery, input: Record<string, unknown>): unknown {
    const maxResults = typeof input.MaxResults === "number" ? input.MaxResults : 1000;
    if (maxResults < 1 || maxResults > 1000)
      throw new Error(`MaxResults must be 1 to 1000, got ${maxResults}`);
    const offset = typeof input.NextToken === "string" ? Number(input.NextToken.split(":")[1]) : 0;
    const script = query.script;
    const columns = script.columns ?? [];
    const inferred = statementTypes(query.sql);
    const header =
      script.header ??
      ((script.statementType ?? inferred.statementType) === "DML" &&
        (script.substatementType ?? inferred.substatementType) === "SELECT" &&
        columns.length > 0);
    const all = [...(header ? [columns.map((c) => c.name)] : []), ...(script.rows ?? [])];
    const size = Math.min(maxResults, script.pageSize ?? maxResults);
    const page = all.slice(offset, offset + size);
    const next = offset + size < all.length ? `${query.id}:${offset + size}` : undefined;
    return {
      ...(script.updateCount === undefined ? {} : { UpdateCount: script.updateCount }),
      ResultSet: {
        Rows: page.map((row) => ({ Data: row.map((v) => (v === null ? {} : { VarCharValue: v })) })),
        ResultSetMetadata: {
          ColumnInfo: columns.map((c) => ({
            CatalogName: "hive",
            SchemaName: "",
            TableName: "",
            Name: c.name,
            Label: c.name,
            Type: c.type,
            Precision: c.precision ?? (c.type === "varchar" ? 2147483647 : 0),
            Scale: c.scale ?? 0,
            Nullable: "UNKNOWN",
            CaseSensitive: c.type === "varchar",
          })),
        },
      },
      ...(next === undefined ? {} : { NextToken: next }),
    };
  }
}

/** A clock whose sleep returns at once and moves time forward; `slept` lists every wait. */
export function fakeClock(start = Date.UTC(2024, 0, 31, 12, 0, 0)): Clock & { readonly slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
  };
}

type RetryStrategyV2 = Extract<
  NonNullable<AthenaClientConfig["retryStrategy"]>,
  { acquireInitialRetryToken: unknown }
>;

/** The SDK's own retries, without their waits: retries throttling and transient errors up to maxAttempts. */
export function immediateSdkRetries(maxAttempts: number): RetryStrategyV2 {
  const token = (count: number) => ({ getRetryCount: () => count, getRetryDelay: () => 0 });
  return {
    acquireInitialRetryToken: async () => token(0),
    refreshRetryTokenForRetry: async (previous, info) => {
      const count = previous.getRetryCount() + 1;
      if (count >= maxAttempts || (info.errorType !== "THROTTLING" && info.errorType !== "TRANSIENT")) {
        throw new Error("no more SDK retries");
      }
      return token(count);
    },
    recordSuccess: () => {},
  };
}

/** What Athena answers to the adapter's information_schema query for `table`: its columns and types. */
export function columnsScript(
  table: string,
  columns: readonly (readonly [string, string])[],
): FakeQueryScript {
  return {
    match: `table_name = '${table}'`,
    columns: [
      { name: "column_name", type: "varchar" },
      { name: "data_type", type: "varchar" },
    ],
    rows: columns.map((c) => [...c]),
  };
}

/** A one-row `n` answer (`COUNT(*) AS n`) to the query containing `match`. */
export function countScript(match: string, n: number): FakeQueryScript {
  return { match, columns: [{ name: "n", type: "bigint" }], rows: [[String(n)]] };
}

/** The runner's unique-key check, finding no repeated and no NULL key. */
export const NO_DUPLICATE_KEYS: FakeQueryScript = {
  match: "AS duplicate_keys",
  columns: [
    { name: "duplicate_keys", type: "bigint" },
    { name: "null_keys", type: "bigint" },
  ],
  rows: [["0", "0"]],
};
