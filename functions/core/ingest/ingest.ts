import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { type DuckDBOptions, openDuckDB } from "../../engines/duckdb/session.ts";
import { CONTRACTS, type DatasetName } from "../catalogue/contracts.ts";
import { LAKE } from "../catalogue/layout.ts";
import { jsonTimestamp } from "../catalogue/system-tables.ts";
import { type CrmlakeConfig, defaultConfig } from "../config.ts";
import { canonicalZone } from "../dates.ts";
import { type CrmlakeError, errorMessage, IngestError, isCrmlakeError, ResourceError } from "../errors.ts";
import { claimContent, releaseClaim } from "../ledger/claims.ts";
import { ensureLakeFormat } from "../ledger/format.ts";
import { commitDrop, newVersion, parseLedgerRecord } from "../ledger/ledger.ts";
import { refreshManifests } from "../ledger/manifests.ts";
import { markRetired, type SweepReport, sweepRetired } from "../ledger/retire.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import { convertDrop, readFailure, resourceFailure } from "./convert.ts";
import { futureDateLimit } from "./future-dates.ts";
import { inspectFile } from "./inspect.ts";
import { DEFAULT_PROFILE, type SourceProfile } from "./profile.ts";
import type { DropSource, IngestProgress, LedgerRecord } from "./types.ts";

export interface IngestOptions {
  store: ObjectStore;
  dataset: DatasetName;
  source: DropSource;
  profile?: SourceProfile;
  /** Scratch space for the converted files (a Lambda passes a directory under /tmp). */
  workDir: string;
  duckdb?: DuckDBOptions;
  onProgress?: (progress: IngestProgress) => void;
  /**
   * How long superseded versions are kept after their commit, for readers that started before it (default a
   * day, ledger/retire.ts).
   */
  retireGraceMs?: number;
  /**
   * Rebuild the dataset's symlink manifest after the commit (default true). A caller ingesting many drops
   * passes false and rebuilds once at the end (ledger/manifests.ts refreshManifests): each rebuild reads the
   * whole ledger.
   */
  refreshManifest?: boolean;
  /**
   * Append mode (default: the profile's `append`, else false): a new content at the same source is a new
   * drop beside the earlier ones instead of a new version replacing it (appendDropIdFor).
   */
  append?: boolean;
  /** The command that upgrades this lake in place, for the error on a lake of an older format. */
  upgradeCommand?: string;
  /**
   * The business calendar (config `calendar`): a row dated more than its tolerance after the day of ingest
   * in its time zone is quarantined as future_date (future-dates.ts). Default: the configuration's defaults.
   */
  calendar?: CrmlakeConfig["calendar"];
  /**
   * The time left before the caller is killed (a Lambda passes context.getRemainingTimeInMillis). Ingest gives
   * up with a ResourceError `deadline` (retried, not a rejection) when less than `deadlineReserveMs` is left
   * before converting, while converting (DuckDB is interrupted), before each upload and before the commit, so
   * the commit is never attempted without time to finish it. Without it, no limit.
   */
  remainingTimeMs?: () => number;
  /** What must be left for the commit and its housekeeping (default 60 s). */
  deadlineReserveMs?: number;
  /**
   * Told the wall time of each step as it ends: hash (and scan), claim, the conversion's steps, publish,
   * commit, housekeeping. The ingest benchmark's profile (bench/ingest-one.ts).
   */
  onStep?: (step: string, ms: number) => void;
}

/**
 * DuckDB's memory limit for a conversion when the caller sets none (IngestOptions.duckdb.memoryLimit; the
 * Lambda sets its share of the function's memory). Past it the typed table of the drop spills to the work
 * directory instead of growing in memory with the drop (issue 17; docs/development.md, Benchmarks).
 */
export const INGEST_MEMORY_LIMIT = "512MB";

/** The default of IngestOptions.deadlineReserveMs: the commit, the manifest rebuild and a sweep fit in it. */
export const DEFAULT_DEADLINE_RESERVE_MS = 60_000;

/**
 * Refuses a drop larger than the function can hold, before it is downloaded: a `too_large` rejection in the
 * ledger (ledger/rejected/, as for any file the user must fix), then throws it. The drop id is the path's
 * (dropIdFor): the content, unread, is unknown. Nothing is claimed and nothing published is touched.
 */
export async function refuseOversizedDrop(options: {
  store: ObjectStore;
  dataset: DatasetName;
  uri: string;
  sizeBytes: number;
  limitBytes: number;
  profile?: SourceProfile;
}): Promise<never> {
  const now = new Date();
  const error = new IngestError(
    "too_large",
    `"${basename(options.uri)}" is ${formatBytes(options.sizeBytes)}, more than the ${formatBytes(options.limitBytes)} one ingest can hold (its temporary disk and memory); split it into smaller files, or raise the limit with the function's sizing`,
  );
  await recordRejection(
    options.store,
    {
      drop_id: dropIdFor(options.dataset, options.uri),
      dataset: options.dataset,
      source: options.uri,
      content_sha256: "",
      size_bytes: options.sizeBytes,
      format: "",
      profile: options.profile?.name ?? null,
      started_at: jsonTimestamp(now),
      finished_at: jsonTimestamp(now),
      duration_ms: 0,
    },
    error,
  );
  throw error;
}

function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Throws a ResourceError `deadline` when less than the reserve is left (IngestOptions.remainingTimeMs), naming
 * the step that would not have had time.
 */
function checkDeadline(options: IngestOptions, displayName: string, step: string): void {
  if (!options.remainingTimeMs) return;
  const left = options.remainingTimeMs();
  const reserve = options.deadlineReserveMs ?? DEFAULT_DEADLINE_RESERVE_MS;
  if (left < reserve) {
    throw new ResourceError(
      "deadline",
      `Gave up on "${displayName}" before ${step}: ${Math.max(0, Math.round(left / 1000))} s left, ${Math.round(reserve / 1000)} s needed to commit (retried; nothing of this attempt is visible)`,
    );
  }
}

/** What the ledger knows of a drop before its outcome: who it is, where from, when it started. */
type DropIdentity = Pick<
  LedgerRecord,
  "drop_id" | "dataset" | "source" | "content_sha256" | "size_bytes" | "format" | "profile" | "started_at"
>;

export interface DropResult {
  readonly ledger: LedgerRecord;
  /** The committed version this ingest replaced (the same source ingested before, with other content). */
  readonly superseded?: LedgerRecord;
  /** True when the source's committed version already holds these bytes: nothing was converted or written. */
  readonly unchanged?: boolean;
  /** What the retirement sweep after the commit did, or why it could not (the drop is committed either way). */
  readonly retired?: SweepReport | { readonly error: string };
  /** Why the manifest rebuild after the commit failed, if it did (the drop is committed either way). */
  readonly manifestError?: string;
}

/**
 * A drop's id: readable (the file name) and stable for the same dataset and source location, so a
 * re-delivered or re-run drop replaces its own outputs instead of adding a second copy.
 */
export function dropIdFor(dataset: DatasetName, uri: string): string {
  const stem = basename(uri)
    .replace(/(\.(csv|tsv|txt|jsonl|ndjson|json|parquet))?(\.gz)?$/i, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  const digest = createHash("sha256").update(`${dataset}\n${uri}`).digest("hex").slice(0, 10);
  return `${stem || "drop"}-${digest}`;
}

/**
 * The id of a drop in append mode: the file name, and a digest of the dataset, the source and the content,
 * so each new content at the same path is a drop of its own, and the same content again is the same drop
 * (ingested once).
 */
export function appendDropIdFor(dataset: DatasetName, uri: string, sha256: string): string {
  const byPath = dropIdFor(dataset, uri);
  const digest = createHash("sha256").update(`${dataset}\n${uri}\n${sha256}`).digest("hex").slice(0, 10);
  return `${byPath.slice(0, byPath.lastIndexOf("-"))}-${digest}`;
}

/**
 * Ingests one drop: checks it, converts it with DuckDB, publishes curated and quarantined Parquet to the
 * store, and records it in the ledger.
 *
 * - Whole-file problems (unreadable, wrong format, missing required column, empty, duplicate content of
 *   another drop) throw an IngestError after recording the attempt under ledger/rejected/; no data is
 *   written and nothing published before is touched.
 * - At most once per content: the bytes are claimed before converting (ledger/claims.ts), so of two drops
 *   with the same bytes ingested at once, one lands and the other is rejected as a duplicate.
 * - The ledger record is the commit (ledger/ledger.ts commitDrop): readers read the files it lists, so a
 *   new drop is invisible until its record lands, and keys the new version no longer writes are deleted
 *   only after it (docs/adr/0010-ledger-visibility-and-snapshots.md).
 */
export async function ingestDrop(options: IngestOptions): Promise<DropResult> {
  const { store, dataset, source } = options;
  const profile = options.profile ?? DEFAULT_PROFILE;
  const displayName = basename(source.uri);
  const append = options.append ?? profile.append;
  // In append mode the id also depends on the content, known after hashing (appendDropIdFor below).
  let dropId = dropIdFor(dataset, source.uri);
  const started = new Date();
  const progress = (phase: IngestProgress["phase"]) =>
    options.onProgress?.({ dropId, phase, elapsedMs: Date.now() - started.getTime() });

  const base: DropIdentity = {
    drop_id: dropId,
    dataset,
    source: source.uri,
    content_sha256: "",
    size_bytes: 0,
    format: "",
    profile: profile.name ?? null,
    started_at: jsonTimestamp(started),
  };
  const finish = () => {
    const finished = new Date();
    return { finished_at: jsonTimestamp(finished), duration_ms: finished.getTime() - started.getTime() };
  };

  if (profile.dataset && profile.dataset !== dataset) {
    throw new IngestError(
      "profile_dataset_mismatch",
      `The source profile "${profile.name ?? "?"}" is for ${profile.dataset}, not ${dataset}`,
    );
  }

  await ensureLakeFormat(store, options.upgradeCommand ?? "crmlake doctor --upgrade");
  const workDir = await mkdtemp(join(options.workDir, `${dropId}-`));
  try {
    progress("hashing");
    let facts: Awaited<ReturnType<typeof inspectFile>>;
    const hashStarted = performance.now();
    try {
      facts = await inspectFile(source.localPath, displayName, profile);
    } catch (error) {
      if (isCrmlakeError(error)) await recordRejection(store, { ...base, ...finish() }, error);
      throw error;
    }
    options.onStep?.("hash and scan", performance.now() - hashStarted);
    const claimStarted = performance.now();
    base.content_sha256 = facts.sha256;
    if (append) {
      dropId = appendDropIdFor(dataset, source.uri, facts.sha256);
      base.drop_id = dropId;
    }
    base.size_bytes = facts.sizeBytes;
    base.format = `${facts.format}${facts.gzip ? "+gzip" : ""}`;

    // The same source with the same bytes and profile is already committed (a re-delivered event, a re-run
    // over a folder): nothing to convert or write.
    const currentBytes = await store.get(LAKE.ledgerKey(dropId));
    const current =
      currentBytes === undefined
        ? undefined
        : parseLedgerRecord(currentBytes, LAKE.ledgerKey(dropId), store.location);
    if (
      current?.status === "ok" &&
      current.content_sha256 === facts.sha256 &&
      current.profile === (profile.name ?? null)
    ) {
      return { ledger: current, unchanged: true };
    }

    // At most once per content (ADR 0010): claim these bytes before converting. The same bytes already
    // committed under another name are a duplicated drop, not new business; bytes another drop is ingesting
    // right now wait for its outcome.
    const version = newVersion(started);
    const claimRequest = { dataset, sha256: facts.sha256, dropId, version };
    const claim = await claimContent(store, { ...claimRequest, now: new Date() });
    // A file with no rows has nothing to count twice: identical "no sales today" exports are all drops.
    if (claim.kind === "duplicate" && claim.holder.rows_in > 0) {
      const other = claim.holder;
      const error = new IngestError(
        "duplicate_drop",
        `"${displayName}" has the same content (sha256 ${facts.sha256.slice(0, 12)}…) as drop ${other.drop_id} from ${other.source}, already ingested; skipped so its rows are not counted twice${current?.status === "ok" ? `. The version of this file ingested on ${current.finished_at} stays in the lake` : ""}`,
      );
      await recordRejection(store, { ...base, ...finish() }, error, "duplicate");
      throw error;
    }
    if (claim.kind === "in_progress") {
      const error = new IngestError(
        "duplicate_in_progress",
        `"${displayName}" has the same content (sha256 ${facts.sha256.slice(0, 12)}…) as drop ${claim.holder.drop_id}, which is being ingested now; skipped so its rows are not counted twice. If that ingest fails, ingest this file again after ${claim.leaseUntil.toISOString()}`,
      );
      await recordRejection(store, { ...base, ...finish() }, error, "duplicate");
      throw error;
    }
    options.onStep?.("lookup and claim", performance.now() - claimStarted);
    try {
      return await convertAndCommit({
        options,
        profile,
        displayName,
        dropId,
        version,
        facts,
        base,
        workDir,
        finish,
        progress,
      });
    } catch (error) {
      await releaseClaim(store, { ...claimRequest, now: new Date() }).catch(() => undefined);
      throw error;
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** What converting and committing one claimed drop needs (ingestDrop prepares it). */
interface ClaimedDrop {
  readonly options: IngestOptions;
  readonly profile: SourceProfile;
  readonly displayName: string;
  readonly dropId: string;
  readonly version: string;
  readonly facts: Awaited<ReturnType<typeof inspectFile>>;
  readonly base: DropIdentity;
  readonly workDir: string;
  readonly finish: () => Pick<LedgerRecord, "finished_at" | "duration_ms">;
  readonly progress: (phase: IngestProgress["phase"]) => void;
}

/**
 * Converts a drop whose content this attempt holds the claim on, writes its version's files, and commits it
 * (ADR 0010): until the record lands, readers see the previous version and none of this one's files.
 */
async function convertAndCommit(drop: ClaimedDrop): Promise<DropResult> {
  const { options, profile, displayName, dropId, version, facts, base, workDir, finish, progress } = drop;
  const { store, dataset, source } = options;
  const contract = CONTRACTS[dataset];
  checkDeadline(options, displayName, "converting");
  progress("converting");
  let stepStarted = performance.now();
  const stepDone = (step: string) => {
    const now = performance.now();
    options.onStep?.(step, now - stepStarted);
    stepStarted = now;
  };
  const session = await openDuckDB({
    memoryLimit: INGEST_MEMORY_LIMIT,
    tempDirectory: join(workDir, "spill"),
    ...options.duckdb,
  });
  stepDone("open DuckDB");
  // Near the deadline DuckDB is interrupted mid-query, leaving the reserve for giving up cleanly. An interrupt
  // between two statements is lost (each statement starts uninterrupted), so it is repeated until the end.
  let interrupted = false;
  let repeat: NodeJS.Timeout | undefined;
  const interrupt = () => {
    interrupted = true;
    session.connection.interrupt();
  };
  const timer = options.remainingTimeMs
    ? setTimeout(
        () => {
          interrupt();
          repeat = setInterval(interrupt, 100);
        },
        Math.max(0, options.remainingTimeMs() - (options.deadlineReserveMs ?? DEFAULT_DEADLINE_RESERVE_MS)),
      )
    : undefined;
  let conversion: Awaited<ReturnType<typeof convertDrop>>;
  try {
    conversion = await convertDrop({
      connection: session.connection,
      path: source.localPath,
      displayName,
      facts,
      profile,
      contract,
      dropId,
      outDir: join(workDir, "out"),
      futureDates: futureDateLimit(new Date(), options.calendar ?? defaultConfig().calendar),
      timeZone: canonicalZone((options.calendar ?? defaultConfig().calendar).time_zone),
      ...(options.onStep ? { onStep: options.onStep } : {}),
    });
    stepStarted = performance.now();
  } catch (error) {
    // Out of time, memory or disk: the function's limits, not the file's fault. Retried, never a rejection.
    if (interrupted) {
      throw new ResourceError(
        "deadline",
        `Gave up converting "${displayName}" near the function's deadline (retried; nothing of this attempt is visible)`,
        { cause: error },
      );
    }
    const resource = resourceFailure(displayName, error);
    if (resource) throw resource;
    // Our reconciliation check failing is a bug, not the file's fault: let it surface as one.
    if (errorMessage(error).startsWith("Internal error")) throw error;
    // Anything else DuckDB could not read (a gzip corrupt half-way, bytes invalid in the encoding) is the file's.
    const rejection = isCrmlakeError(error) ? error : readFailure(displayName, error);
    await recordRejection(store, { ...base, ...finish() }, rejection);
    throw rejection;
  } finally {
    clearTimeout(timer);
    clearInterval(repeat);
    session.close();
  }

  stepDone("close DuckDB");
  progress("publishing");
  const outputKeys: string[] = [];
  const partitionColumn = contract.partition?.column;
  for (const file of conversion.curatedFiles) {
    const key = LAKE.curatedKey(
      dataset,
      LAKE.fileStem(dropId, version),
      partitionColumn && file.partitionValue !== undefined
        ? { column: partitionColumn, value: file.partitionValue }
        : undefined,
    );
    // DuckDB names files part_0, part_1, … within a partition; the first keeps the plain name.
    const index = Number(/part_(\d+)\.parquet$/.exec(file.localPath)?.[1] ?? "0");
    const target = index === 0 ? key : key.replace(/\.parquet$/, `-${index}.parquet`);
    checkDeadline(options, displayName, "uploading");
    await store.putFile(target, file.localPath);
    outputKeys.push(target);
  }
  if (conversion.quarantineFile) {
    const key = LAKE.quarantineKey(dataset, LAKE.fileStem(dropId, version));
    checkDeadline(options, displayName, "uploading");
    await store.putFile(key, conversion.quarantineFile);
    outputKeys.push(key);
  }
  const ledger: LedgerRecord = {
    ...base,
    status: "ok",
    rows_in: conversion.rowsIn,
    rows_ok: conversion.rowsOk,
    rows_quarantined: conversion.rowsQuarantined,
    quarantine_reasons: conversion.reasons,
    rows_duplicate: conversion.rowsDuplicate,
    error_code: null,
    error: null,
    warnings: conversion.warnings,
    version,
    output_keys: outputKeys,
    first_business_day: conversion.businessDays?.first ?? null,
    last_business_day: conversion.businessDays?.last ?? null,
    ...finish(),
  };
  // The commit (ADR 0010): one conditional write of the record. Readers read the files the record lists,
  // so until it lands they see the previous version and none of this one's files. The version it
  // supersedes is marked retired first; its files go once nothing reads them (sweepRetired below). Giving up
  // here leaves the uploaded files unlisted (invisible; `crmlake doctor --repair` removes such orphans).
  stepDone("publish");
  checkDeadline(options, displayName, "the commit");
  const superseded = await commitDrop(store, ledger, {
    retire: (previous) => markRetired(store, previous, new Date()),
  });
  if (superseded && superseded.content_sha256 !== facts.sha256) {
    await releaseClaim(store, {
      dataset,
      sha256: superseded.content_sha256,
      dropId,
      version: superseded.version ?? "",
      now: new Date(),
    });
  }
  await store.delete([LAKE.rejectedKey(dropId)]);
  stepDone("commit");
  // Housekeeping after the commit: the drop is in, whatever happens here; a failure is reported, and the
  // next ingest or `crmlake doctor` finishes the job.
  let manifestError: string | undefined;
  if (options.refreshManifest !== false) {
    try {
      await refreshManifests(store, [dataset]);
    } catch (error) {
      manifestError = errorMessage(error);
    }
  }
  let retired: DropResult["retired"];
  try {
    // The sweep can wait for the next ingest or `crmlake doctor`: near the deadline it is skipped.
    checkDeadline(options, displayName, "the retirement sweep");
    retired = await sweepRetired(store, {
      now: new Date(),
      ...(options.retireGraceMs === undefined ? {} : { graceMs: options.retireGraceMs }),
    });
  } catch (error) {
    retired = { error: errorMessage(error) };
  }
  stepDone("manifest and sweep");
  return {
    ledger,
    ...(superseded === undefined ? {} : { superseded }),
    retired,
    ...(manifestError === undefined ? {} : { manifestError }),
  };
}

async function recordRejection(
  store: ObjectStore,
  base: DropIdentity & Pick<LedgerRecord, "finished_at" | "duration_ms">,
  error: CrmlakeError,
  status: LedgerRecord["status"] = "rejected",
): Promise<void> {
  const record: LedgerRecord = {
    ...base,
    status,
    rows_in: 0,
    rows_ok: 0,
    rows_quarantined: 0,
    quarantine_reasons: {},
    rows_duplicate: 0,
    error_code: error.code,
    error: error.message,
    warnings: [],
    output_keys: [],
    first_business_day: null,
    last_business_day: null,
  };
  await store.put(LAKE.rejectedKey(base.drop_id), `${JSON.stringify(record)}\n`);
}
