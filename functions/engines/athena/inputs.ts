/**
 * How a run database sees its inputs on Athena (docs/adr/0010-ledger-visibility-and-snapshots.md, decision
 * 5): each dataset, and the quarantine, through a symlink table over the run's own manifest of the files it
 * pinned (`<relation>__pinned`), and a view `<relation>` over it with the columns of the stack's table of the
 * same name. So a run reads exactly its snapshot, however many files that is, and hours later when it is
 * resumed, even after newer commits replaced the dataset's own manifest. The drop ledger is read whole.
 * The statements come from sql.ts; the Trino tier runs the same ones (test/trino/trino-warehouse.ts).
 */
import { CONTRACTS, DATASET_NAMES } from "../../core/catalogue/contracts.ts";
import { datasetColumns } from "../../core/catalogue/dataset-columns.ts";
import { hiveType } from "../../core/catalogue/hive-types.ts";
import { SYSTEM_TABLES } from "../../core/catalogue/system-tables.ts";
import { PINNED_SUFFIX, sql } from "./sql.ts";

/** The files of a pinned relation: the Parquet columns of its files, in Hive types. */
export function pinnedColumns(relation: string): { name: string; hive: string }[] | undefined {
  const dataset = DATASET_NAMES.find((d) => d === relation);
  if (dataset !== undefined) {
    return datasetColumns(CONTRACTS[dataset]).map((c) => ({ name: c.name, hive: c.glue }));
  }
  if (relation === "quarantine") {
    return SYSTEM_TABLES.quarantine.columns.map((c) => ({ name: c.name, hive: hiveType(c.type) }));
  }
  return undefined;
}

/** The columns a relation's view reads from the files' paths (sql.ts pinnedView). */
function pathColumns(relation: string): Record<string, "derive" | "fallback"> {
  if (relation === "quarantine") return { dataset: "derive" };
  const dataset = DATASET_NAMES.find((d) => d === relation);
  const partition = dataset === undefined ? undefined : CONTRACTS[dataset].partition;
  return partition === undefined ? {} : { [partition.column]: "fallback" };
}

/**
 * What an input relation of a run is made of: a view alone (a relation read whole, or of which the run
 * pinned nothing), or a symlink table over the run's manifest of the pinned files and a view over it (sent
 * in this order: `drop`, the manifest, `create`, `view`).
 */
export type InputPlan =
  | { readonly kind: "view"; readonly view: string }
  | {
      readonly kind: "pinned";
      readonly relation: string;
      /** The symlink table in the run database, `<relation>__pinned`. */
      readonly table: string;
      readonly columns: readonly { name: string; hive: string }[];
      /** The manifest's text: the pinned files' locations, one per line. */
      readonly manifest: string;
      readonly drop: string;
      /** The table over the manifest's folder, `s3://…/`. */
      readonly create: (manifestLocation: string) => string;
      readonly view: string;
    };

/**
 * The plan of one input relation: `files` are the pinned files' full locations (undefined for a relation
 * read whole, the drop ledger).
 */
export function inputPlan(
  runDatabase: string,
  inputDatabase: string,
  relation: string,
  files: readonly string[] | undefined,
): InputPlan {
  const columns = pinnedColumns(relation);
  if (files === undefined || columns === undefined) {
    return { kind: "view", view: sql.inputView(runDatabase, inputDatabase, relation) };
  }
  if (files.length === 0) {
    return { kind: "view", view: sql.emptyInputView(runDatabase, inputDatabase, relation) };
  }
  const table = `${relation}${PINNED_SUFFIX}`;
  return {
    kind: "pinned",
    relation,
    table,
    columns,
    manifest: files.map((f) => `${f}\n`).join(""),
    drop: sql.dropTable(runDatabase, table),
    create: (location) => sql.symlinkTable(runDatabase, table, columns, location),
    view: sql.pinnedView(
      runDatabase,
      relation,
      table,
      columns.map((c) => c.name),
      pathColumns(relation),
    ),
  };
}
