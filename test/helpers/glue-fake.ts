/**
 * A small Glue Data Catalog on loopback: an HTTP server that speaks the Glue API's JSON 1.1 protocol
 * (`POST /`, `X-Amz-Target: AWSGlue.<Operation>`), so tests drive the real GlueClient (serialisation, error
 * parsing) against it. It keeps the catalogue's partition semantics that publishing relies on: a table's
 * partitions keyed by their values, CreatePartition refusing an existing one (AlreadyExistsException),
 * GetPartition/UpdatePartition refusing a missing one (EntityNotFoundException), GetPartitions paging with
 * NextToken. Errors are Glue's shape: HTTP 400 with `{"__type": "...", "Message": "..."}`.
 *
 * Tables are declared by the test (`table`), as the stack declares them in a deployment.
 */
import { GlueClient, type GlueClientConfig, type StorageDescriptor } from "@aws-sdk/client-glue";
import { AwsJsonError, type Loopback, listenJson11, loopbackClientConfig } from "./loopback.ts";

export interface GlueFakeCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

interface FakeTable {
  readonly descriptor: StorageDescriptor;
  readonly partitions: Map<string, { Values: string[]; StorageDescriptor: StorageDescriptor }>;
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
    this.tables.set(`${database}.${name}`, {
      descriptor: {
        Columns: [{ Name: "customer_id", Type: "string" }],
        Location: location,
        InputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        OutputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        SerdeInfo: { SerializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
      },
      partitions: new Map(),
    });
    return this;
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
        return {
          Table: {
            Name: input.Name,
            DatabaseName: input.DatabaseName,
            StorageDescriptor: table.descriptor,
            PartitionKeys: [{ Name: "as_of", Type: "date" }],
          },
        };
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
