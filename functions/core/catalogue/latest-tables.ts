/**
 * The `<model>_latest` Glue tables (docs/adr/0014-latest-tables-in-the-catalogue.md): one beside each
 * published model table, with its columns, partitioned by `as_of` like it, whose partition projection covers
 * exactly one date. The stack declares them pointed at a placeholder (infra/constructs/lake-catalog.ts); the
 * publisher points each at the run that published the greatest succeeded as-of with one UpdateTable that sets
 * the projected range and the location template together (functions/storage/glue-partitions.ts).
 *
 * Both sides build the table parameters from here, so the stack and the publisher agree on them.
 */
import { MODEL_LAYOUT } from "./layout.ts";

/** The partition key every model table and its latest table share. */
const KEY = "as_of";

export const LATEST_TABLE = {
  /** `<model>_latest`: the Glue table that shows only the model's latest as-of. */
  name: (model: string) => `${model}_latest`,
  suffix: "_latest",
  /**
   * The one date a latest table projects before any run has pointed it (and after `runs delete` removed the
   * last as-of): no run has it, and it lies under MODEL_LAYOUT.latestPlaceholder, which holds no files.
   */
  placeholderAsOf: "1970-01-01",
  rangeParameter: `projection.${KEY}.range`,
  templateParameter: "storage.location.template",
  /** The projection of the partition key, without the `projection.as_of.` prefix: one day, `asOf`. */
  projection: (asOf: string): Readonly<Record<string, string>> => ({
    type: "date",
    format: "yyyy-MM-dd",
    range: `${asOf},${asOf}`,
    interval: "1",
    "interval.unit": "DAYS",
  }),
  /**
   * The location template of a latest table reading `partition`, a partition location that ends in
   * `as_of=<asOf>/` (`s3://…/models/<m>/run=<id>/as_of=<d>/`): the same with the date replaced by Athena's
   * placeholder, which a projected table's template must contain for each partition key.
   */
  template(partition: string, asOf: string): string {
    const dir = `${MODEL_LAYOUT.partitionDir(asOf)}/`;
    if (!partition.endsWith(dir)) {
      throw new Error(`The partition location ${partition} does not end in ${dir}`);
    }
    return `${partition.slice(0, -dir.length)}${KEY}=\${${KEY}}/`;
  },
} as const;
