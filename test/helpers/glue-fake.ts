/**
 * A small Glue Data Catalog on loopback: an HTTP server that speaks the Glue API's JSON 1.1 protocol
 * (`POST /`, `X-Amz-Target: AWSGlue.<Operation>`), so tests drive the real GlueClient (serialisation, error
 * parsing) against it. It keeps the catalogue's partition semantics that publishing relies on: a table's
 * partitions keyed by their values, CreatePartition refusing an existing one (AlreadyExistsException),
 * GetPartition/UpdatePartition/DeletePartition refusing a missing one (EntityNotFoundException), GetPartitions
 * paging with NextToken; GetTable returning the table's Parameters, and UpdateTable replacing the whole table
 * with its TableInput (a field left out is gone, as in Glue: a caller that sends only what it changes loses the
 * rest). Errors are Glue's shape: HTTP 400 with `{"__type": "...", "Message": "..."}`.
 *
 * Tables are declared by the test (`table`, `declare`), as the stack declares them in a deployment.
 * `projected` reads a projected table's one partition as Athena would, from its properties.
 */
import {
  GlueClient,
  type GlueClientConfig,
  type StorageDescriptor,
  type TableInput,
} from "@aws-sdk/client-glue";
import { LATEST_TABLE } from "../../functions/core/catalogue/latest-tables.ts";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { AwsJsonError, type Loopback, listenJson11, loopbackClientConfig } from "./loopback.ts";

export interface GlueFakeCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

interface FakeTable {
  /** The table as last declared or updated: what GetTable returns. */
  input: TableInput & { StorageDescriptor: StorageDescriptor };
  readonly partitions: Map<string, { Values: string[]; StorageDescriptor: StorageDescriptor }>;
}

/** CloudFormation's camelCase TableInput (infra tableInput) → the API's PascalCase; `parameters` keep their keys. */
export function apiCase(value: unknown, keepKeys = false): unknown {
  if (Array.isArray(value)) return value.map((v) => apiCase(v));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      keepKeys ? key : key.charAt(0).toUpperCase() + key.slice(1),
      apiCase(v, key === "parameters"),
    ]),
  );
}

export class GlueFake {
  readonly calls: GlueFakeCall[] = [];
  private readonly tables = new Map<string, FakeTable>();
  private readonly errors = new Map<string, string[]>();
  /** GetPartitions page size (small, to exercise NextToken). */
  pageSize = 2;

  readonly endpoint: string;

  private constructor(private readonly loopback: Loopback) {
    this.endpoint = loopback.endpoint;
  }

  static async start(): Promise<GlueFake> {
    let fake: GlueFake | undefined;
    const loopback = await listenJson11("AWSGlue.", (operation, input) => {
      if (fake === undefined) throw new AwsJsonError("ServiceUnavailable", "starting", 503);
      return fake.serve(operation, input);
    });
    fake = new GlueFake(loopback);
    return fake;
  }

  client(config: Partial<GlueClientConfig> = {}): GlueClient {
    return new GlueClient({ ...loopbackClientConfig(this.endpoint), ...config });
  }

  /** Declares a Parquet table partitioned by as_of (what the stack deploys for a model). */
  table(database: string, name: string, location: string): this {
    return this.declare(database, {
      Name: name,
      TableType: "EXTERNAL_TABLE",
      Parameters: { EXTERNAL: "TRUE", classification: "parquet" },
      PartitionKeys: [{ Name: "as_of", Type: "date" }],
      StorageDescriptor: {
        Columns: [{ Name: "customer_id", Type: "string" }],
        Location: location,
        InputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        OutputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        SerdeInfo: { SerializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
      },
    });
  }

  /**
   * Declares `<model>_latest` as the stack does (infra/constructs/lake-catalog.ts latestTable, from the same
   * catalogue constants): the model table's columns, as_of projected over the placeholder date, under the
   * placeholder prefix of the lake at `lake` (`s3://bucket/prefix/`). Declare the model table first.
   */
  latestTable(database: string, model: string, lake: string): this {
    const of = this.tables.get(`${database}.${model}`);
    if (of === undefined) throw new Error(`declare ${model} before its latest table`);
    const location = `${lake}${MODEL_LAYOUT.latestPlaceholder(model)}`;
    const projection = LATEST_TABLE.projection(LATEST_TABLE.placeholderAsOf);
    return this.declare(database, {
      ...structuredClone(of.input),
      Name: LATEST_TABLE.name(model),
      Parameters: {
        EXTERNAL: "TRUE",
        classification: "parquet",
        "projection.enabled": "true",
        ...Object.fromEntries(Object.entries(projection).map(([k, v]) => [`projection.as_of.${k}`, v])),
        [LATEST_TABLE.templateParameter]: `${location}as_of=\${as_of}/`,
      },
      StorageDescriptor: { ...structuredClone(of.input.StorageDescriptor), Location: location },
    });
  }

  /** Declares a table as given (e.g. the stack's own TableInput, through apiCase), replacing any of that name. */
  declare(database: string, input: TableInput): this {
    const descriptor = input.StorageDescriptor;
    if (input.Name === undefined || descriptor === undefined)
      throw new Error("a table needs Name and StorageDescriptor");
    this.tables.set(`${database}.${input.Name}`, {
      input: structuredClone({ ...input, StorageDescriptor: descriptor }),
      partitions: new Map(),
    });
    return this;
  }

  /** The table as Glue holds it now (what GetTable returns), or undefined. */
  tableInput(database: string, name: string): TableInput | undefined {
    const table = this.tables.get(`${database}.${name}`);
    return table === undefined ? undefined : structuredClone(table.input);
  }

  /**
   * What Athena reads of a table that projects one date (a `<model>_latest`): the date and the location its
   * template gives for it. Fails as Athena does when the template lacks a partition key's placeholder
   * (INVALID_TABLE_PROPERTY), and on projections this fake does not resolve (more than one date, not a date).
   */
  projected(database: string, name: string): { asOf: string; location: string } {
    const table = this.tables.get(`${database}.${name}`);
    if (table === undefined) throw new Error(`no table ${database}.${name}`);
    const p = table.input.Parameters ?? {};
    const keys = (table.input.PartitionKeys ?? []).map((k) => k.Name ?? "");
    const template = p["storage.location.template"] ?? "";
    if (p["projection.enabled"] !== "true" || keys.length !== 1)
      throw new Error(`${name} is not projected on one key`);
    const [key = ""] = keys;
    if (!template.includes(`\${${key}}`)) {
      throw new Error(`INVALID_TABLE_PROPERTY: ${name}'s storage.location.template lacks \${${key}}`);
    }
    const [from, to] = (p[`projection.${key}.range`] ?? "").split(",");
    if (p[`projection.${key}.type`] !== "date" || from === undefined || from !== to) {
      throw new Error(`the fake projects one date only; ${name} has ${p[`projection.${key}.range`]}`);
    }
    return { asOf: from, location: template.replace(`\${${key}}`, from) };
  }

  /** Where each partition of a table points, by its value. */
  partitions(database: string, name: string): Record<string, string | undefined> {
    const table = this.tables.get(`${database}.${name}`);
    return Object.fromEntries(
      [...(table?.partitions ?? new Map()).entries()].map(([k, p]) => [k, p.StorageDescriptor.Location]),
    );
  }

  /** The next requests to `operation` fail with an error of this `__type`, one each. */
  failNext(operation: string, ...types: string[]): this {
    this.errors.set(operation, [...(this.errors.get(operation) ?? []), ...types]);
    return this;
  }

  operations(): string[] {
    return this.calls.map((c) => c.operation);
  }

  close(): Promise<void> {
    return this.loopback.close();
  }

  private serve(operation: string, input: Record<string, unknown>): unknown {
    this.calls.push({ operation, input });
    const injected = this.errors.get(operation)?.shift();
    if (injected !== undefined) throw new AwsJsonError(injected, `injected ${injected}`);
    return this.answer(operation, input);
  }

  private tableOf(input: Record<string, unknown>, nameField: "Name" | "TableName"): FakeTable {
    const database = required(input, "DatabaseName");
    const name = required(input, nameField);
    const table = this.tables.get(`${database}.${name}`);
    if (table === undefined) throw new AwsJsonError("EntityNotFoundException", `Table ${name} not found.`);
    return table;
  }

  private answer(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case "GetTable": {
        const table = this.tableOf(input, "Name");
        return { Table: { ...table.input, DatabaseName: input.DatabaseName } };
      }
      case "UpdateTable": {
        const given = input.TableInput as TableInput | undefined;
        if (given?.Name === undefined)
          throw new AwsJsonError("InvalidInputException", "TableInput.Name is required");
        const table = this.tableOf({ ...input, Name: given.Name }, "Name");
        if (given.StorageDescriptor === undefined) {
          throw new AwsJsonError("InvalidInputException", "The fake keeps tables with a StorageDescriptor");
        }
        // The whole table is replaced: what the TableInput leaves out is gone.
        table.input = structuredClone({ ...given, StorageDescriptor: given.StorageDescriptor });
        return {};
      }
      case "DeletePartition": {
        const table = this.tableOf(input, "TableName");
        const key = valuesOf(input.PartitionValues).join("/");
        if (!table.partitions.delete(key))
          throw new AwsJsonError("EntityNotFoundException", "Partition not found.");
        return {};
      }
      case "GetPartition": {
        const table = this.tableOf(input, "TableName");
        const values = valuesOf(input.PartitionValues);
        const partition = table.partitions.get(values.join("/"));
        if (partition === undefined)
          throw new AwsJsonError("EntityNotFoundException", "Partition not found.");
        return { Partition: partition };
      }
      case "GetPartitions": {
        const table = this.tableOf(input, "TableName");
        const all = [...table.partitions.values()];
        const start = typeof input.NextToken === "string" ? Number(input.NextToken) : 0;
        const page = all.slice(start, start + this.pageSize);
        const next = start + this.pageSize < all.length ? String(start + this.pageSize) : undefined;
        return { Partitions: page, ...(next === undefined ? {} : { NextToken: next }) };
      }
      case "CreatePartition": {
        const table = this.tableOf(input, "TableName");
        const partition = partitionInput(input.PartitionInput);
        const key = partition.Values.join("/");
        if (table.partitions.has(key)) {
          throw new AwsJsonError("AlreadyExistsException", "Partition already exists.");
        }
        table.partitions.set(key, partition);
        return {};
      }
      case "UpdatePartition": {
        const table = this.tableOf(input, "TableName");
        const key = valuesOf(input.PartitionValueList).join("/");
        if (!table.partitions.has(key))
          throw new AwsJsonError("EntityNotFoundException", "Partition not found.");
        const partition = partitionInput(input.PartitionInput);
        table.partitions.delete(key);
        table.partitions.set(partition.Values.join("/"), partition);
        return {};
      }
      default:
        throw new AwsJsonError("InvalidInputException", `The fake does not implement ${operation}`);
    }
  }
}

function required(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== "string" || value === "") {
    throw new AwsJsonError("InvalidInputException", `${field} is required`);
  }
  return value;
}

function valuesOf(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === "string")) {
    throw new AwsJsonError("InvalidInputException", "Partition values must be a non-empty list of strings");
  }
  return value as string[];
}

function partitionInput(value: unknown): { Values: string[]; StorageDescriptor: StorageDescriptor } {
  const input = value as { Values?: unknown; StorageDescriptor?: StorageDescriptor } | undefined;
  const descriptor = input?.StorageDescriptor;
  if (descriptor?.Location === undefined || descriptor.Columns === undefined) {
    throw new AwsJsonError(
      "InvalidInputException",
      "PartitionInput needs a StorageDescriptor with Location and Columns",
    );
  }
  return { Values: valuesOf(input?.Values), StorageDescriptor: descriptor };
}
