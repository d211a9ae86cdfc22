/**
 * Removing a published as-of (`crmlake runs delete --as-of D`, issue 12 case 4): a run as of a wrong date (a
 * future one, a typo) otherwise stays what every `*_latest` view shows for good. Under the run lock, so no run
 * publishes meanwhile, it removes every model's `as_of=D` partition; the `*_latest` views and the default
 * report then read the greatest as-of that remains, since they take the latest partition there is. Where the
 * latest tables are tables of their own (Glue, ADR 0014), each is first pointed at the greatest as-of its
 * model keeps, so no reader of one finds its partition gone.
 *
 * The runs that published D keep their records, with status `deleted` and a note of when: the runs table is
 * the lake's history (what was computed, when, with which configuration and inputs), and a record that
 * vanished would leave published-then-removed outputs unexplained. `deleted` is not `succeeded`, so
 * "the latest succeeded run" never names outputs that are gone.
 */
import { isIsoDate, notADate } from "../dates.ts";
import { errorMessage, ModelError, RunLockedError } from "../errors.ts";
import type { DeletableOutputs, PublishedPartition } from "../ports/model-outputs.ts";
import { type RunRecord, timestampText } from "./runs.ts";

export interface DeletedAsOf {
  readonly asOf: string;
  /** The models whose partition was removed, sorted. */
  readonly models: readonly string[];
  /** The runs recorded as having published it, now marked `deleted`. */
  readonly runs: readonly string[];
  /** The greatest as-of still published (what `*_latest` and the default report show now), if any. */
  readonly latest: string | undefined;
}

export interface DeleteAsOfOptions {
  readonly now?: () => Date;
  /** How the command is written in notes left on the run records. */
  readonly command?: string;
}

export async function deletePublishedAsOf(
  outputs: DeletableOutputs,
  asOf: string,
  options: DeleteAsOfOptions = {},
): Promise<DeletedAsOf> {
  if (!isIsoDate(asOf)) throw new ModelError("bad_as_of", `--as-of ${notADate(asOf)}`);
  const now = options.now ?? (() => new Date());
  const holder = `delete-as_of-${asOf}-${now().getTime().toString(36)}`;
  let release: () => Promise<void>;
  try {
    release = await outputs.lock(holder);
  } catch (error) {
    if (!(error instanceof RunLockedError)) throw error;
    throw new RunLockedError("run_locked", `Cannot delete as of ${asOf} now: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  try {
    // A publish a dead run left half-done is finished first, or it would bring the partitions back later.
    await outputs.recover(holder);
    const partitions = (await outputs.publishedPartitions()).filter((p) => p.asOf === asOf);
    const records = (await outputs.listRunRecords()).filter(
      (r) => r.as_of === asOf && r.status === "succeeded",
    );
    if (partitions.length === 0 && records.length === 0) {
      const published = [...new Set((await outputs.publishedPartitions()).map((p) => p.asOf))].sort();
      throw new ModelError(
        "no_such_as_of",
        published.length === 0
          ? `Nothing is published as of ${asOf} in ${outputs.location}: nothing is published there at all`
          : `Nothing is published as of ${asOf} in ${outputs.location}. Published as-ofs: ${published.join(", ")}`,
      );
    }
    await removeAsOf(outputs, asOf, {
      partitions,
      records,
      note: `Its outputs were deleted on ${timestampText(now())} (${options.command ?? `crmlake runs delete --as-of ${asOf}`})`,
    });
    const remaining = (await outputs.publishedPartitions()).map((p) => p.asOf).sort();
    return {
      asOf,
      models: partitions.map((p) => p.model).sort(),
      runs: records.map((r) => r.run_id).sort(),
      latest: remaining.at(-1),
    };
  } finally {
    await release();
  }
}

/**
 * Removes one as-of, under the lock the caller holds (deletePublishedAsOf, and the retention sweep of
 * retention.ts): its succeeded `records` are marked `deleted` with `note`, each latest table is moved off it,
 * then its `partitions` go. Records first: an interrupted removal is finished by running it again, which finds
 * what is left.
 */
export async function removeAsOf(
  outputs: DeletableOutputs,
  asOf: string,
  removal: {
    readonly partitions: readonly PublishedPartition[];
    readonly records: readonly RunRecord[];
    readonly note: string;
    /**
     * False when the caller knows no latest table shows `asOf` (the retention sweep keeps every as-of one
     * shows): the latest tables are then left where they are.
     */
    readonly moveLatest?: boolean;
  },
): Promise<void> {
  for (const record of removal.records) {
    const marked: RunRecord = { ...record, status: "deleted", error: removal.note };
    await outputs.writeRunRecord(marked);
  }
  if (removal.moveLatest !== false) await outputs.moveLatestFrom?.(asOf);
  for (const partition of removal.partitions) await outputs.deletePartition(partition);
}
