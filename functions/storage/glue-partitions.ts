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
 *
 * Beside each model table the stack declares `<model>_latest`, which projects one as-of date
 * (docs/adr/0014-latest-tables-in-the-catalogue.md). `pointLatest` moves it to a run's partition with one
 * UpdateTable that sets the projected date and the location template together: Athena reads the table's
 * properties when it plans a query, so a reader sees the previous latest or the new one, never a mix.
 */
import {
  AlreadyExistsException,
  CreatePartitionCommand,
  DeletePartitionCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GetPartitionsCommand,
  GetTableCommand,
  type GlueClient,
  type PartitionInput,
  type StorageDescriptor,
  type Table,
  type TableInput,
  UpdatePartitionCommand,
  UpdateTableCommand,
} from "@aws-sdk/client-glue";
import { LATEST_TABLE } from "../core/catalogue/latest-tables.ts";
import { MODEL_LAYOUT } from "../core/catalogue/layout.ts";
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

/** Where a `<model>_latest` table points: the one as-of it projects and the location template it reads. */
export interface LatestPointer {
  readonly asOf: string;
  readonly template: string;
}

/**
 * The TableInput that gives a table back as GetTable returned it: UpdateTable replaces the whole table with its
 * TableInput (a field left out is removed), so every field TableInput has is carried over.
 */
function inputOf(table: Table): TableInput {
  const input: TableInput = { Name: table.Name };
  const fields = [
    "Description",
    "Owner",
    "LastAccessTime",
    "LastAnalyzedTime",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "ViewOriginalText",
    "ViewExpandedText",
    "TableType",
    "Parameters",
    "TargetTable",
  ] as const satisfies readonly (keyof TableInput & keyof Table)[];
  for (const field of fields) {
    if (table[field] !== undefined) Object.assign(input, { [field]: table[field] });
  }
  return input;
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
    return (await this.partitions(table)).map((p) => p.location);
  }

  /** Every partition of the table: its as-of and where it points. */
  async partitions(table: string): Promise<{ asOf: string; location: string }[]> {
    const out: { asOf: string; location: string }[] = [];
    let token: string | undefined;
    do {
      try {
        const page = await this.client.send(
          new GetPartitionsCommand({ DatabaseName: this.database, TableName: table, NextToken: token }),
        );
        for (const partition of page.Partitions ?? []) {
          const location = partition.StorageDescriptor?.Location;
          const [asOf] = partition.Values ?? [];
          if (location !== undefined && asOf !== undefined) out.push({ asOf, location });
        }
        token = page.NextToken === "" ? undefined : page.NextToken;
      } catch (error) {
        throw this.failure("GetPartitions", table, undefined, error);
      }
    } while (token !== undefined);
    return out;
  }

  /** Whether the stack declares a table of this name (a model it no longer publishes has none). */
  async hasTable(table: string): Promise<boolean> {
    try {
      await this.client.send(new GetTableCommand({ DatabaseName: this.database, Name: table }));
      return true;
    } catch (error) {
      if (error instanceof EntityNotFoundException) return false;
      throw this.failure("GetTable", table, undefined, error);
    }
  }

  /** Unregisters the partition `as_of=<asOf>` (its files stay); nothing when it is not registered. */
  async remove(table: string, asOf: string): Promise<void> {
    try {
      await this.client.send(
        new DeletePartitionCommand({
          DatabaseName: this.database,
          TableName: table,
          PartitionValues: [asOf],
        }),
      );
    } catch (error) {
      if (error instanceof EntityNotFoundException && (await this.tableExists(table))) return;
      throw this.failure("DeletePartition", table, asOf, error);
    }
  }

  /**
   * Points `<model>_latest` at `target`, a partition location of the model (`…/run=<id>/as_of=<d>/`) and its
   * as-of, or at the placeholder the stack declared (undefined: the table shows nothing), with one
   * UpdateTable that sets `projection.as_of.range` and `storage.location.template` together. The rest of the
   * table is sent back as GetTable gave it (UpdateTable replaces the whole table), without an archived
   * version: the run records say which as-of each run published. Nothing is sent when the table already
   * points there, so rolling a publish forward twice is one call. Returns where it pointed before.
   */
  async pointLatest(
    model: string,
    target: { readonly asOf: string; readonly location: string } | undefined,
  ): Promise<LatestPointer> {
    const name = LATEST_TABLE.name(model);
    const table = await this.latestTable(model);
    const previous = this.latestPointer(table);
    const next: LatestPointer =
      target === undefined
        ? {
            asOf: LATEST_TABLE.placeholderAsOf,
            // The placeholder date's partition under the table's own location, which holds no files.
            template: LATEST_TABLE.template(
              `${table.StorageDescriptor?.Location}${MODEL_LAYOUT.partitionDir(LATEST_TABLE.placeholderAsOf)}/`,
              LATEST_TABLE.placeholderAsOf,
            ),
          }
        : { asOf: target.asOf, template: LATEST_TABLE.template(target.location, target.asOf) };
    if (previous.asOf === next.asOf && previous.template === next.template) return previous;
    const input = inputOf(table);
    input.Parameters = {
      ...input.Parameters,
      [LATEST_TABLE.rangeParameter]: LATEST_TABLE.projection(next.asOf).range as string,
      [LATEST_TABLE.templateParameter]: next.template,
    };
    try {
      await this.client.send(
        new UpdateTableCommand({ DatabaseName: this.database, TableInput: input, SkipArchive: true }),
      );
    } catch (error) {
      throw this.failure("UpdateTable", name, undefined, error);
    }
    return previous;
  }

  /**
   * The as-of `<model>_latest` shows, or undefined when it is at the placeholder (shows nothing). What the
   * retention sweep keeps (functions/core/runner/retention.ts).
   */
  async latestAsOf(model: string): Promise<string | undefined> {
    const { asOf } = this.latestPointer(await this.latestTable(model));
    return asOf === LATEST_TABLE.placeholderAsOf ? undefined : asOf;
  }

  private async latestTable(model: string): Promise<Table> {
    const name = LATEST_TABLE.name(model);
    let table: Table | undefined;
    try {
      table = (await this.client.send(new GetTableCommand({ DatabaseName: this.database, Name: name })))
        .Table;
    } catch (error) {
      if (error instanceof EntityNotFoundException) {
        throw new StorageError(
          "no_latest_table",
          `The Glue table ${this.database}.${name} does not exist, so the latest as-of of model ${model} cannot be shown. The stack declares one beside each published model (ADR 0014): deploy the stack that matches this code (cdk deploy). Glue said: ${errorMessage(error)}`,
          { cause: error },
        );
      }
      throw this.failure("GetTable", name, undefined, error);
    }
    const location = table?.StorageDescriptor?.Location;
    if (table === undefined || location === undefined || !location.endsWith("/")) {
      throw new StorageError(
        "no_latest_table",
        `The Glue table ${this.database}.${name} has no storage location ending in /; it was not declared by the crmlake stack`,
      );
    }
    return table;
  }

  private latestPointer(table: Table): LatestPointer {
    const parameters = table.Parameters ?? {};
    const range = parameters[LATEST_TABLE.rangeParameter] ?? "";
    const template = parameters[LATEST_TABLE.templateParameter];
    const [from, to] = range.split(",").map((d) => d.trim());
    if (parameters["projection.enabled"] !== "true" || from === undefined || from !== to || !template) {
      throw new StorageError(
        "no_latest_table",
        `The Glue table ${this.database}.${table.Name} does not project one as_of date (projection.enabled, ${LATEST_TABLE.rangeParameter} "d,d", ${LATEST_TABLE.templateParameter}); it was not declared by the crmlake stack (ADR 0014)`,
      );
    }
    return { asOf: from, template };
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
