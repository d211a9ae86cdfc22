/**
 * The model runner: computes every model (or a selection and what it needs) as of one date, in dependency
 * order, checks each output against its header, and publishes the run atomically (outputs.ts). Each run is
 * recorded in the `runs` table, whether it succeeds or fails.
 */
import { randomBytes } from "node:crypto";
import { canonicalType } from "../catalogue/column-types.ts";
import { MODEL_LAYOUT } from "../catalogue/layout.ts";
import { DEFAULT_SQL_DIR, loadProjectModels, type Model, selectModels } from "../catalogue/models.ts";
import { type CrmlakeConfig, defaultConfig } from "../config.ts";
import { dayIn, isIsoDate, notADate } from "../dates.ts";
import { errorMessage, ModelError } from "../errors.ts";
import { ensureLakeFormat } from "../ledger/format.ts";
import { INPUT_SNAPSHOT, type InputSnapshot, takeSnapshot } from "../ledger/ledger.ts";
import type { ModelOutputs } from "../ports/model-outputs.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import type { MaterializeResult, Warehouse } from "../ports/warehouse.ts";
import { exportRunActions } from "./action-lists.ts";
import { driftDiagnostics } from "./drift.ts";
import { formatFinding, lintSql, PORTABILITY_DOC } from "./lint.ts";
import { expandMacros, renderParameters } from "./params.ts";
import { type ModelRunRecord, type RunRecord, timestampText } from "./runs.ts";
import { materializeStage, type Stage, type StageResult } from "./stage.ts";

export interface RunOptions {
  /** Directory of the models; default DEFAULT_SQL_DIR. */
  readonly sqlDir?: string;
  /**
   * The TypeScript stages (stage.ts) planned with the SQL models; default none. The composition roots
   * (functions/backends/) pass the project's registered stages; the runner never imports the registry.
   */
  readonly stages?: readonly Stage[];
  /**
   * `YYYY-MM-DD`; default the date of the latest transaction in the lake, or today when that lies later
   * (today in the configuration's calendar.time_zone). A date after today is refused unless allowFutureAsOf.
   */
  readonly asOf?: string;
  /** Accept an asOf after today (a what-if run); default false: such a run would become every `*_latest`. */
  readonly allowFutureAsOf?: boolean;
  readonly config?: CrmlakeConfig;
  /** Run these models and everything they depend on; default all. */
  readonly models?: readonly string[];
  /** The engine (the caller opens and closes it; a composition root pairs it with its publisher). */
  readonly warehouse: Warehouse;
  /** Where outputs go, matched with the engine by the same composition root. */
  readonly outputs: ModelOutputs;
  /**
   * The lake the inputs are read from: its ledger is snapshotted at the start of the run, and the engine
   * reads exactly the files the snapshot lists (docs/adr/0010-ledger-visibility-and-snapshots.md).
   */
  readonly lake: ObjectStore;
  /** The command that upgrades the lake in place, for the error on a lake of an older format. */
  readonly upgradeCommand?: string;
  /** Progress lines (one per model). */
  readonly log?: (line: string) => void;
  /** Notes the caller knows before the run starts (a scheduled run's ingest backlog), first among its diagnostics. */
  readonly notes?: readonly string[];
  readonly now?: () => Date;
  /**
   * The run's id; default a new one (newRunId). A caller that names engine resources after the run before
   * it starts (the Athena adapter's run database and token scope, functions/score.ts) passes its own.
   */
  readonly runId?: string;
  /**
   * Continue the run `runId` from what an earlier invocation of it left: models the engine already holds
   * (Warehouse.materialized) are checked and kept, not computed again. Needs `runId`. A run interrupted by its
   * engine's deadline (Warehouse.interrupted) is recorded as `interrupted` and keeps its staging for this.
   */
  readonly resume?: boolean;
  /**
   * After a run that published customer_actions, write its action lists into the lake (exports/actions/,
   * action-lists.ts; docs/adr/0013-action-lists-after-publish.md); default true.
   */
  readonly exportActions?: boolean;
}

/** What a run id may contain: it becomes an S3 key segment and, lower-cased, part of a Glue database name. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

export interface RunSummary {
  readonly runId: string;
  readonly asOf: string;
  readonly durationMs: number;
  readonly models: readonly ModelRunRecord[];
}

export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, "").slice(0, 18);
  return `${stamp}Z-${randomBytes(3).toString("hex")}`;
}

/** The code of a stage model, from the stages the runner was given (the plan was built from the same list). */
function stageOf(model: Model, stages: ReadonlyMap<string, Stage>): Stage {
  const stage = stages.get(model.name);
  if (stage === undefined)
    throw new ModelError("unknown_model", `${model.file}: no code was given for this stage`);
  return stage;
}

/** The inputs an earlier attempt of this run pinned, or undefined when it pinned none. */
async function readPinnedInputs(lake: ObjectStore, runId: string): Promise<InputSnapshot | undefined> {
  const key = MODEL_LAYOUT.snapshotKey(runId);
  const bytes = await lake.get(key);
  if (bytes === undefined) return undefined;
  const parsed = INPUT_SNAPSHOT.safeParse(JSON.parse(Buffer.from(bytes).toString("utf8")));
  if (!parsed.success) {
    throw new ModelError(
      "bad_snapshot",
      `The inputs pinned by run ${runId} (${lake.location}/${key}) do not parse: ${parsed.error.issues[0]?.message ?? "invalid"}. Start a new run instead of resuming this one.`,
    );
  }
  return parsed.data;
}

/**
 * The default as-of: the date of the latest transaction, but never after today. Ingest quarantines rows
 * dated beyond its tolerance (future_date); the ones within it must not move the as-of past today either.
 */
async function defaultAsOf(
  warehouse: Warehouse,
  lake: string,
  today: string,
  log: (line: string) => void,
): Promise<string> {
  const latest = await latestOrderDate(warehouse, lake);
  if (latest <= today) return latest;
  log(`the latest transaction is dated ${latest}, after today (${today}): running as of today`);
  return today;
}

/** The date of the latest transaction. */
async function latestOrderDate(warehouse: Warehouse, lake: string): Promise<string> {
  const { rows } = await warehouse.query(
    "SELECT CAST(MAX(ordered_at) AS DATE) AS latest_on FROM transactions",
  );
  const latest = rows[0]?.latest_on;
  if (typeof latest !== "string") {
    throw new ModelError(
      "no_transactions",
      `The lake ${lake} has no transactions, so there is no default as-of date. Ingest data first, or pass --as-of YYYY-MM-DD.`,
    );
  }
  return latest;
}

/**
 * Fails when a model's output columns differ from the columns its header documents: names and order first,
 * then each column's type, the engine's name mapped to the header notation (column-types.ts), so the declared
 * types (the catalogue's) hold on every engine.
 */
function checkColumns(model: Model, result: MaterializeResult, engine: string): void {
  const actual = result.columns.map((c) => c.name);
  const documented = model.header.columns.map((c) => c.name);
  if (actual.join(",") === documented.join(",")) {
    const mismatches = model.header.columns.flatMap((declared, index) => {
      const engineType = result.columns[index]?.type ?? "unknown";
      const type = canonicalType(engineType);
      if (type === declared.type) return [];
      const fix =
        type === "hugeint"
          ? " (CAST it AS BIGINT)"
          : /^varchar\(\d+\)$/.test(type)
            ? " (CAST it AS VARCHAR: a bounded varchar truncates values in Athena)"
            : "";
      return [
        `column ${declared.name} is ${engineType} on ${engine}, but the header declares ${declared.type}${fix}`,
      ];
    });
    if (mismatches.length === 0) return;
    throw new ModelError(
      "column_types_mismatch",
      `${model.file}: ${mismatches.join("; ")}. Give each column its declared type in the SELECT (an explicit CAST, the same on every engine), or correct the header.`,
    );
  }
  const missing = documented.filter((c) => !actual.includes(c));
  const undocumented = actual.filter((c) => !documented.includes(c));
  const parts = [
    missing.length > 0 ? `documented but not produced: ${missing.join(", ")}` : "",
    undocumented.length > 0 ? `produced but not documented: ${undocumented.join(", ")}` : "",
    missing.length === 0 && undocumented.length === 0
      ? `order differs: the SELECT gives ${actual.join(", ")}; the header documents ${documented.join(", ")}`
      : "",
  ].filter((p) => p !== "");
  throw new ModelError(
    "columns_mismatch",
    `${model.file}: the output columns do not match the header (${parts.join("; ")})`,
  );
}

function sumOrNull(a: number | null, b: number | null): number | null {
  return a === null ? b : a + (b ?? 0);
}

/** Fails when the header's unique_key does not identify rows (duplicates or NULLs). */
async function checkUniqueKey(warehouse: Warehouse, model: Model): Promise<void> {
  const key = model.header.uniqueKey;
  if (key.length === 0) return;
  const list = key.join(", ");
  const nulls = key.map((k) => `COUNT(CASE WHEN ${k} IS NULL THEN 1 END)`).join(" + ");
  const { rows } = await warehouse.query(
    `SELECT (SELECT COUNT(*) FROM (SELECT ${list} FROM ${model.name} GROUP BY ${list} HAVING COUNT(*) > 1) AS d) AS duplicate_keys, (SELECT ${nulls} FROM ${model.name}) AS null_keys`,
  );
  const duplicates = Number(rows[0]?.duplicate_keys ?? 0);
  const nullKeys = Number(rows[0]?.null_keys ?? 0);
  if (duplicates > 0 || nullKeys > 0) {
    throw new ModelError(
      "unique_key_violated",
      `${model.file}: unique_key (${list}) does not identify rows: ${duplicates} key value(s) repeat, ${nullKeys} row(s) have a NULL key`,
    );
  }
}

/** Re-reads the published outputs through the query views and compares row counts with what was written. */
async function verifyPublished(
  warehouse: Warehouse,
  asOf: string,
  plan: readonly Model[],
  records: readonly ModelRunRecord[],
): Promise<void> {
  await warehouse.attachPublished();
  for (const [index, model] of plan.entries()) {
    const expected = records[index]?.rows;
    if (model.header.materialized !== "table" || expected === null || expected === undefined) continue;
    const { rows } = await warehouse.query(
      `SELECT COUNT(*) AS n FROM ${model.name} WHERE as_of = DATE '${asOf}'`,
    );
    const actual = Number(rows[0]?.n ?? -1);
    if (actual !== expected) {
      throw new ModelError(
        "publish_mismatch",
        `Published ${model.name} has ${actual} rows as of ${asOf}, but the run wrote ${expected}`,
      );
    }
  }
}

/**
 * The drift notes of a finished run (drift.ts), against the lake's earlier run records. Reading them must not fail
 * a run that has published: a failure to read is itself the note.
 */
async function driftNotes(
  outputs: ModelOutputs,
  record: RunRecord,
  thresholds: ReadonlyMap<string, number>,
): Promise<string[]> {
  if (thresholds.size === 0 || outputs.listRunRecords === undefined) return [];
  try {
    return driftDiagnostics(record, thresholds, await outputs.listRunRecords());
  } catch (error) {
    return [
      `Parameter drift was not checked: the earlier run records could not be read (${errorMessage(error)}).`,
    ];
  }
}

/**
 * Re-points the latest tables a deploy reset (ModelOutputs.repairLatest, ADR 0014), after every publish, not
 * only the greatest as-of's. The run is published by then: a failure is a note in its diagnostics (and a log
 * line), and the next run repairs them.
 */
async function repairLatestNotes(
  outputs: ModelOutputs,
  runId: string,
  asOf: string,
  models: readonly string[],
  log: (line: string) => void,
): Promise<string[]> {
  if (outputs.repairLatest === undefined) return [];
  try {
    const repaired = await outputs.repairLatest(runId, asOf, models);
    if (repaired.length === 0) return [];
    const note = `Re-pointed ${repaired.length} latest table(s) that did not show their model's greatest succeeded as-of (a deploy resets them): ${repaired.join(", ")}.`;
    log(note);
    return [note];
  } catch (error) {
    const note = `The latest tables were not checked (${errorMessage(error)}); the run is published, and the next run checks them.`;
    log(note);
    return [note];
  }
}

/** The model whose rows the runner writes as action lists after publishing (action-lists.ts). */
const ACTIONS_MODEL = "customer_actions";

/**
 * Writes the run's action lists into the lake (action-lists.ts) from the published customer_actions, which
 * verifyPublished has just made readable. The run is published by then: a failure is noted in the run's
 * diagnostics (and logged), not a failed run; the next run of the as-of, or `crmlake export actions`, writes
 * them again.
 */
async function actionListNotes(
  warehouse: Warehouse,
  lake: ObjectStore,
  asOf: string,
  runId: string,
  now: Date,
  log: (line: string) => void,
): Promise<string[]> {
  try {
    log(await exportRunActions({ query: (sql) => warehouse.query(sql), lake, asOf, runId, now }));
    return [];
  } catch (error) {
    const note = `The action lists were not written to ${lake.location}/exports/actions/ (${errorMessage(error)}); the run is published, and the next run of ${asOf} writes them.`;
    log(note);
    return [note];
  }
}

/**
 * Runs the models. Resolves with the summary when every model succeeded and the run is published; rejects
 * with a ModelError naming the failed model otherwise (the previous outputs stay as they were).
 */
export async function runModels(options: RunOptions): Promise<RunSummary> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => {});
  const config = options.config ?? defaultConfig();
  if (options.asOf !== undefined && !isIsoDate(options.asOf)) {
    throw new ModelError("bad_as_of", `--as-of ${notADate(options.asOf)}`);
  }
  const today = dayIn(now(), config.calendar.time_zone);
  if (options.asOf !== undefined && options.asOf > today && options.allowFutureAsOf !== true) {
    throw new ModelError(
      "future_as_of",
      `--as-of ${options.asOf} is after today (${today} in ${config.calendar.time_zone}): a run as of a future date would become what every *_latest view shows. Pass --allow-future-as-of to run it anyway.`,
    );
  }
  if (options.runId !== undefined && !RUN_ID_PATTERN.test(options.runId)) {
    throw new ModelError(
      "bad_run_id",
      `Run id "${options.runId}" is not allowed: use 1 to 100 letters, digits, "_" or "-", starting with a letter or digit`,
    );
  }

  if (options.resume === true && options.runId === undefined) {
    throw new ModelError("bad_run_id", "Resuming a run needs the id of the run to resume");
  }

  const stages = options.stages ?? [];
  const stagesByName = new Map(stages.map((s) => [s.name, s]));
  const allModels = await loadProjectModels(options.sqlDir ?? DEFAULT_SQL_DIR, stages);
  const byName = new Map(allModels.map((m) => [m.name, m]));
  const plan = selectModels(allModels, options.models);
  const sqlPlan = plan.filter((m) => m.stage === undefined);
  const findings = sqlPlan.flatMap((m) => lintSql(m.sql, m.file));
  if (findings.length > 0) {
    throw new ModelError(
      "not_portable",
      `${findings.length} non-portable construct(s) in the models (portable forms: ${PORTABILITY_DOC}):\n${findings.map(formatFinding).join("\n")}`,
    );
  }

  const { warehouse, outputs, lake } = options;
  {
    const started = now();
    const runId = options.runId ?? newRunId(started);
    // The inputs this run reads, pinned: a resumed run reads the set its first attempt pinned, whatever was
    // ingested since; a new run reads the ledger once, now. Every model reads exactly these drops.
    await ensureLakeFormat(lake, options.upgradeCommand ?? "crmlake doctor --upgrade", { create: false });
    const pinned = options.resume === true ? await readPinnedInputs(lake, runId) : undefined;
    const inputs = pinned ?? (await takeSnapshot(lake, started));
    await warehouse.attachInputs(inputs);
    const asOf = options.asOf ?? (await defaultAsOf(warehouse, outputs.location, today, log));
    const literals = renderParameters({ asOf, config });
    const bodies = new Map(sqlPlan.map((m) => [m.name, expandMacros(m.sql, m.file, literals)]));

    const records: ModelRunRecord[] = plan.map((m) => ({
      model: m.name,
      layer: m.layer,
      materialized: m.header.materialized,
      status: "not_run",
      started_at: null,
      finished_at: null,
      duration_ms: null,
      rows: null,
      bytes_scanned: null,
      cost_usd: null,
      error: null,
    }));
    const record: RunRecord = {
      run_id: runId,
      as_of: asOf,
      status: "running",
      engine: warehouse.engine,
      started_at: timestampText(started),
      finished_at: null,
      duration_ms: null,
      models_requested:
        options.models === undefined || options.models.length === 0 ? null : [...options.models],
      config: JSON.stringify(config),
      models: records,
      bytes_scanned: null,
      cost_usd: null,
      error: null,
      figures: null,
      diagnostics: [...(options.notes ?? [])],
      inputs_taken_at: timestampText(new Date(inputs.taken_at)),
    };
    // The stages of the plan that follow figures across runs (stage.ts StageWatch), with their thresholds.
    const thresholds = new Map<string, number>();
    // Figures keyed `<stage>.<name>`; one the stage did not produce (null, not finite) is left out.
    const recordFigures = (entries: readonly (readonly [string, number | null])[]) => {
      const kept = entries.filter((e): e is [string, number] => e[1] !== null && Number.isFinite(e[1]));
      if (kept.length > 0) record.figures = { ...record.figures, ...Object.fromEntries(kept) };
    };
    const runUsageStart = warehouse.usage?.();

    const release = await outputs.lock(runId);
    let publishing = false;
    try {
      await outputs.recover(runId);
      const resumable = options.resume === true && warehouse.materialized !== undefined;
      const previous = resumable ? await outputs.readRunRecord(runId) : undefined;
      if (previous !== undefined && previous.as_of !== asOf) {
        throw new ModelError(
          "bad_run_id",
          `Run ${runId} was started as of ${previous.as_of}; it cannot be resumed as of ${asOf}`,
        );
      }
      // Pinned before the run is recorded `running`, so that retirement never misses what it reads.
      if (pinned === undefined) {
        await lake.put(MODEL_LAYOUT.snapshotKey(runId), `${JSON.stringify(inputs)}\n`);
      }
      await outputs.writeRunRecord(record);
      log(
        `run ${runId}: ${plan.length} model(s) as of ${asOf}${previous === undefined ? "" : `, resumed (the previous attempt ended ${previous.status})`}`,
      );
      try {
        for (const [index, model] of plan.entries()) {
          const entry = records[index];
          if (entry === undefined) continue;
          const modelStart = now();
          const usageStart = warehouse.usage?.();
          entry.started_at = timestampText(modelStart);
          let resumed = false;
          const earlier = previous?.models.find((m) => m.model === model.name);
          try {
            const body = bodies.get(model.name) ?? "";
            const temporary = model.header.materialized === "temporary";
            if (temporary && warehouse.materializeTemporary !== undefined) {
              // Its rows are not recorded: the record reads the same on every engine (a view elsewhere).
              checkColumns(model, await warehouse.materializeTemporary(model.name, body), warehouse.engine);
            } else if (model.header.materialized === "view" || temporary) {
              // A temporary model on an engine that cannot keep one: a view, the same rows.
              await warehouse.replaceView(model.name, body);
            } else {
              let result: StageResult | undefined = resumable
                ? await warehouse.materialized?.(model.name, asOf)
                : undefined;
              // Kept only when the earlier attempt recorded it done with these very rows: files lost since
              // (swept, discarded) read back as fewer rows and are computed again.
              if (result !== undefined && (earlier?.status !== "succeeded" || earlier.rows !== result.rows)) {
                log(
                  `  ${model.name}: the run database holds ${result.rows} rows, the earlier attempt recorded ${earlier?.status === "succeeded" ? earlier.rows : "no result"}; computing it again`,
                );
                result = undefined;
              }
              resumed = result !== undefined;
              if (result === undefined) {
                // An earlier attempt may have left part of this model's files: start it afresh.
                if (resumable) await outputs.clearTable(runId, model.name);
                result =
                  model.stage !== undefined
                    ? await materializeStage({
                        model,
                        stage: stageOf(model, stagesByName),
                        models: byName,
                        runId,
                        asOf,
                        config,
                        outputs,
                        warehouse,
                      })
                    : await warehouse.materialize({
                        model: model.name,
                        body,
                        tableLocation: outputs.stagingTable(runId, model.name),
                        orderBy: model.header.uniqueKey,
                        partition: { column: "as_of", value: asOf },
                      });
              }
              checkColumns(model, result, warehouse.engine);
              await checkUniqueKey(warehouse, model);
              entry.rows = result.rows;
              const watch = model.stage === undefined ? undefined : stagesByName.get(model.name)?.watch;
              if (watch !== undefined) {
                thresholds.set(model.name, watch.threshold(config));
                // A stage kept from an earlier attempt: the figures that attempt recorded.
                const prefix = `${model.name}.`;
                recordFigures(
                  resumed
                    ? Object.entries(previous?.figures ?? {}).filter(([key]) => key.startsWith(prefix))
                    : Object.entries(result.figures ?? {}).map(([name, value]) => [
                        `${prefix}${name}`,
                        value,
                      ]),
                );
              }
            }
            entry.status = "succeeded";
          } catch (error) {
            entry.error = errorMessage(error);
            if (warehouse.interrupted?.(error) === true) {
              entry.status = "not_run";
              throw new ModelError(
                "run_interrupted",
                `Run ${runId} was interrupted at model ${model.name}: ${errorMessage(error)}. What it computed is kept; invoking the run again with the same id resumes it.`,
                { cause: error },
              );
            }
            entry.status = "failed";
            throw error instanceof ModelError
              ? error
              : new ModelError(
                  "model_failed",
                  `Model ${model.name} (${model.file}) failed: ${errorMessage(error)}`,
                  {
                    cause: error,
                  },
                );
          } finally {
            const finished = now();
            entry.finished_at = timestampText(finished);
            entry.duration_ms = finished.getTime() - modelStart.getTime();
            const usageEnd = warehouse.usage?.();
            if (usageStart && usageEnd) {
              entry.bytes_scanned = usageEnd.dataScannedBytes - usageStart.dataScannedBytes;
              entry.cost_usd = usageEnd.costUsd - usageStart.costUsd;
            }
            // A kept model cost what its first computation cost, plus this attempt's checks.
            if (resumed && earlier?.status === "succeeded") {
              entry.started_at = earlier.started_at;
              entry.bytes_scanned = sumOrNull(entry.bytes_scanned, earlier.bytes_scanned);
              entry.cost_usd = sumOrNull(entry.cost_usd, earlier.cost_usd);
            }
          }
          log(
            `  ${model.name.padEnd(32)} ${entry.rows === null ? "view" : `${entry.rows} rows`}  ${entry.duration_ms} ms${resumed ? "  (kept from the earlier attempt)" : ""}`,
          );
          // Progress on record: a resumed attempt keeps only models recorded done (and an attempt that is
          // killed outright still shows how far it came).
          await outputs.writeRunRecord(record);
        }
        publishing = true;
        const published = plan.filter((m) => m.header.materialized === "table").map((m) => m.name);
        await outputs.publish(runId, asOf, published);
        await verifyPublished(warehouse, asOf, plan, records);
        const latestNotes = await repairLatestNotes(outputs, runId, asOf, published, log);
        record.status = "succeeded";
        record.diagnostics = [
          ...(options.notes ?? []),
          ...latestNotes,
          ...(await driftNotes(outputs, record, thresholds)),
        ];
        if (
          options.exportActions !== false &&
          plan.some((m) => m.name === ACTIONS_MODEL && m.header.materialized === "table")
        ) {
          record.diagnostics = [
            ...record.diagnostics,
            ...(await actionListNotes(warehouse, lake, asOf, runId, now(), log)),
          ];
        }
      } catch (error) {
        record.error = errorMessage(error);
        if (error instanceof ModelError && error.code === "run_interrupted") {
          record.status = "interrupted";
          throw error;
        }
        if (warehouse.interrupted?.(error) === true) {
          // Out of time while publishing or verifying: the journal and the run's files carry it forward.
          record.status = "interrupted";
          throw new ModelError(
            "run_interrupted",
            `Run ${runId} was interrupted while publishing: ${errorMessage(error)}. Invoking the run again with the same id resumes it.`,
            { cause: error },
          );
        }
        record.status = "failed";
        // Once publishing has begun, the run's files may be what readers read, and its journal rolls the
        // publish forward at the next run: nothing is discarded then.
        if (!publishing) await outputs.discard(runId);
        throw error;
      } finally {
        const finished = now();
        record.finished_at = timestampText(finished);
        record.duration_ms = finished.getTime() - started.getTime();
        const runUsageEnd = warehouse.usage?.();
        if (runUsageStart && runUsageEnd) {
          // A resumed run's bill includes its earlier attempts'.
          record.bytes_scanned = sumOrNull(
            runUsageEnd.dataScannedBytes - runUsageStart.dataScannedBytes,
            previous?.bytes_scanned ?? null,
          );
          record.cost_usd = sumOrNull(
            runUsageEnd.costUsd - runUsageStart.costUsd,
            previous?.cost_usd ?? null,
          );
        }
        await outputs.writeRunRecord(record);
      }
    } finally {
      await release();
    }
    return { runId, asOf, durationMs: record.duration_ms ?? 0, models: records };
  }
}
