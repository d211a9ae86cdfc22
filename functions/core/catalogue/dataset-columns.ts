/**
 * The columns a curated file of a dataset holds, in order, as every reader declares them: the contract's
 * columns, the lineage columns, then the partition column of a partitioned dataset (`order_month`, written
 * into the files as well as the path: ADR 0010, decision 5). The Glue tables (infra) and the Athena run
 * tables (engines/athena) are declared from this one list.
 */
import { COLUMN_TYPES, type DatasetContract, LINEAGE_COLUMNS } from "./contracts.ts";

export interface StoredColumn {
  readonly name: string;
  /** The Hive/Glue type, e.g. `decimal(18,2)`. */
  readonly glue: string;
  readonly description: string;
}

export function datasetColumns(contract: DatasetContract): StoredColumn[] {
  const partition = contract.partition;
  return [
    ...contract.columns.map((c) => ({
      name: c.name,
      glue: COLUMN_TYPES[c.type].glue,
      description: c.description,
    })),
    ...LINEAGE_COLUMNS.map((c) => ({
      name: c.name,
      glue: COLUMN_TYPES[c.type].glue,
      description: c.description,
    })),
    ...(partition === undefined
      ? []
      : [
          {
            name: partition.column,
            glue: "string",
            description: `Month of ${partition.from} (yyyy-MM); a filter on it reads only those months' row groups`,
          },
        ]),
  ];
}
