/**
 * Publishing a model's as-of partition by pointing its Glue partition at a new location
 * (docs/adr/0006-atomic-publish-and-resumable-runs.md).
 *
 * The stack declares one Glue table per published model, partitioned by `as_of` with registered partitions
 * (infra/constructs/lake-catalog.ts). A run writes its files to a prefix of its own; `point` then makes the
 * partition `as_of=<d>` read that prefix, with one UpdatePartition call (or CreatePartition the first time).
 * Athena resolves a partition's location once, when it plans a query, so a reader sees the previous run's
 * files or the new run's, never a mix. The partition's storage descriptor is the table's, with the location
 * replaced, so the columns, SerDe and formats always follow the table the stack declared.
 */
import {
  AlreadyExistsException,
  CreatePartitionCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GetPartitionsCommand,
  GetTableCommand,
  type GlueClient,
  type PartitionInput,
  type StorageDescriptor,
  UpdatePartitionCommand,
} from "@aws-sdk/client-glue";
import { errorMessage, StorageError } from "../core/errors.ts";

export interface GluePartitionsOptions {
  readonly client: GlueClient;
  /** The stack's database, which holds one table per published model. */
  readonly database: string;
}

export interface PartitionChange {
  readonly table: string;
  readonly asOf: string;
  /** Where the partition pointed before, or undefined when it did not exist. */
  readonly previous: string | undefined;
  readonly location: string;
}

export class GluePartitions {
  readonly database: string;
  private readonly client: GlueClient;
  private readonly descriptors = new Map<string, StorageDescriptor>();

  constructor(options: GluePartitionsOptions) {
    this.client = options.client;
    this.database = options.database;
  }

  /** Points the table's partition `as_of=<asOf>` at `location` (an `s3://…/` prefix); idempotent. */
  async point(table: string, asOf: string, location: string): Promise<PartitionChange> {
    const [change] = await this.pointAll(asOf, [{ table, location }]);
    if (change === undefined) throw new Error(`No partition change for ${table}`);
    return change;
  }

  /**
   * Points the partition `as_of=<asOf>` of each table at its location. Every read (the tables' descriptors,
   * the partitions' current locations) comes first, then the writes back to back, so that the moment in
   * which some tables show the new run and others the previous one is as short as Glue allows.
   */
  async pointAll(
    asOf: string,
    targets: readonly { readonly table: string; readonly location: string }[],
  ): Promise<PartitionChange[]> {
    const planned: (PartitionChange & { descriptor: StorageDescriptor })[] = [];
    for (const { table, location } of targets) {
      const descriptor = await this.tableDescriptor(table);
      planned.push({ table, asOf, location, previous: await this.location(table, asOf), descriptor });
    }
    for (const { table, location, previous, descriptor } of planned) {
      await this.write(
        table,
        asOf,
        { Values: [asOf], StorageDescriptor: { ...descriptor, Location: location } },
        previous,
      );
    }
    return planned.map(({ table, location, previous }) => ({ table, asOf, location, previous }));
  }

  private async write(
    table: string,
    asOf: string,
    input: PartitionInput,
    previous: string | undefined,
  ): Promise<void> {
    if (previous === undefined) {
      try {
        await this.client.send(
          new CreatePartitionCommand({
            DatabaseName: this.database,
            TableName: table,
            PartitionInput: input,
          }),
        );
        return;
      } catch (error) {
        // Created meanwhile (a concurrent or earlier attempt): update it instead.
        if (!(error instanceof AlreadyExistsException))
          throw this.failure("CreatePartition", table, asOf, error);
      }
    }
    try {
      await this.client.send(
        new UpdatePartitionCommand({
          DatabaseName: this.database,
          TableName: table,
          PartitionValueList: [asOf],
          PartitionInput: input,
        }),
      );
    } catch (error) {
      throw this.failure("UpdatePartition", table, asOf, error);
    }
  }

  /** Where the partition `as_of=<asOf>` points, or undefined when it is not registered. */
  async location(table: string, asOf: string): Promise<string | undefined> {
    try {
      const response = await this.client.send(
        new GetPartitionCommand({ DatabaseName: this.database, TableName: table, PartitionValues: [asOf] }),
      );
      return response.Partition?.StorageDescriptor?.Location;
    } catch (error) {
      if (error instanceof EntityNotFoundException && (await this.tableExists(table))) return undefined;
      throw this.failure("GetPartition", table, asOf, error);
    }
  }

  /** Every location the table's partitions point at. */
  async locations(table: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      try {
        const page = await this.client.send(
          new GetPartitionsCommand({ DatabaseName: this.database, TableName: table, NextToken: token }),
        );
        for (const partition of page.Partitions ?? []) {
          const location = partition.StorageDescriptor?.Location;
          if (location !== undefined) out.push(location);
        }
        token = page.NextToken === "" ? undefined : page.NextToken;
      } catch (error) {
        throw this.failure("GetPartitions", table, undefined, error);
      }
    } while (token !== undefined);
    return out;
  }

  private async tableExists(table: string): Promise<boolean> {
    try {
      await this.tableDescriptor(table);
      return true;
    } catch {
      return false;
    }
  }

  private async tableDescriptor(table: string): Promise<StorageDescriptor> {
    const cached = this.descriptors.get(table);
    if (cached !== undefined) return cached;
    let descriptor: StorageDescriptor | undefined;
    try {
      const response = await this.client.send(
        new GetTableCommand({ DatabaseName: this.database, Name: table }),
      );
      descriptor = response.Table?.StorageDescriptor;
    } catch (error) {
      if (error instanceof EntityNotFoundException) {
        throw new StorageError(
          "no_model_table",
          `The Glue table ${this.database}.${table} does not exist, so model ${table} cannot be published. The stack declares one table per published model: deploy the stack that matches these models (cdk deploy). Glue said: ${errorMessage(error)}`,
          { cause: error },
        );
      }
      throw this.failure("GetTable", table, undefined, error);
    }
    if (descriptor === undefined) {
      throw new StorageError(
        "no_model_table",
        `The Glue table ${this.database}.${table} has no storage descriptor; it was not declared by the crmlake stack`,
      );
    }
    this.descriptors.set(table, descriptor);
    return descriptor;
  }

  private failure(operation: string, table: string, asOf: string | undefined, error: unknown): StorageError {
    if (error instanceof StorageError) return error;
    const partition = asOf === undefined ? "" : ` partition as_of=${asOf}`;
    return new StorageError(
      "glue_error",
      `Glue ${operation} failed for ${this.database}.${table}${partition}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}
