import { readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { DATASET_NAMES, isDatasetName } from "../../core/catalogue/contracts.ts";
import { loadConfig } from "../../core/config.ts";
import { isCrmlakeError, UsageError } from "../../core/errors.ts";
import { ingestDrop } from "../../core/ingest/ingest.ts";
import { formatFromName } from "../../core/ingest/inspect.ts";
import { loadProfile } from "../../core/ingest/profile.ts";
import type { LedgerRecord } from "../../core/ingest/types.ts";
import { refreshManifests } from "../../core/ledger/manifests.ts";
import { dropList, findLateDrops } from "../../core/runner/late-drops.ts";
import { LocalObjectStore } from "../../storage/local.ts";
import { LocalModelOutputs } from "../../storage/local-outputs.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";

const fmt = (n: number) => n.toLocaleString("en-US");

/** Expands directories into the data files they hold (recursively, sorted), so `ingest transactions drops/` works. */
async function expandInputs(inputs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(input);
    } catch {
      throw new UsageError("not_found", `No such file or directory: ${input}`);
    }
    if (info.isDirectory()) {
      const entries = (await readdir(input, { recursive: true })).sort();
      const found = entries.map((e) => join(input, e)).filter((p) => formatFromName(p).format !== undefined);
      if (found.length === 0) throw new UsageError("no_files", `Directory ${input} holds no data files`);
      files.push(...found);
    } else files.push(input);
  }
  return files;
}

export function summarize(ledger: LedgerRecord): string {
  const reasons = Object.entries(ledger.quarantine_reasons)
    .map(([code, n]) => `${code} ${fmt(n ?? 0)}`)
    .join(", ");
  // Duplicates are kept unless the profile quarantines them; either way the line says how many there were.
  const duplicates = ledger.rows_duplicate ? `, ${fmt(ledger.rows_duplicate)} exact duplicates` : "";
  return `${basename(ledger.source)} → ${fmt(ledger.rows_in)} rows: ${fmt(ledger.rows_ok)} ok, ${fmt(ledger.rows_quarantined)} quarantined${reasons ? ` (${reasons})` : ""}${duplicates} in ${(ledger.duration_ms / 1000).toFixed(1)} s [drop ${ledger.drop_id}]`;
}

/**
 * After a commit: when the lake's latest as-of was scored without drops dated on or before it, says so and how
 * to re-score it (docs/adr/0016-late-files-rescore-the-latest-as-of.md). Locally no run starts by itself. A
 * hint: a failure to read the run records is a warning, never the ingest's.
 */
async function hintLateDrops(lakeDir: string, store: LocalObjectStore): Promise<void> {
  try {
    const finding = await findLateDrops(new LocalModelOutputs(lakeDir), store);
    if (finding.kind !== "found" || finding.late.length === 0) return;
    const { latest, late } = finding;
    const lake = lakeDir === "lake" ? "" : ` --lake ${lakeDir}`;
    process.stderr.write(
      `note: the latest as-of ${latest.asOf} (run ${latest.runId}) was scored before ${late.length} drop(s) with data on or before it arrived (${dropList(late)}); run crmlake run --as-of ${latest.asOf}${lake} to re-score it\n`,
    );
  } catch (error) {
    if (!isCrmlakeError(error)) throw error;
    process.stderr.write(`warning: could not tell whether the latest as-of is stale (${error.message})\n`);
  }
}

export const ingestCommand: Command = {
  name: "ingest",
  summary: "Validate files and add them to the lake as Parquet (bad rows go to the quarantine)",
  help: `Usage: crmlake ingest <dataset> <file|dir>... [--profile FILE] [--lake DIR] [--config FILE] [--append]

Validates each file against the dataset's contract and writes its rows to the lake as Parquet; rows that
fail validation go to the quarantine with a reason code. Re-ingesting a file replaces its earlier rows
(with --append, a file of new content is added beside them instead). Exports that overlap count once: an
order's lines come from the latest file, in ingest order, that holds the order.
A row dated more than calendar.future_date_tolerance_days (default 2) after today, in calendar.time_zone
(default Etc/UTC), is quarantined as future_date.
A file dated on or before the latest scored as-of that arrives after it was scored is late: ingest ends with
a note naming that as-of and the crmlake run --as-of that re-scores it.

Arguments:
  dataset          ${DATASET_NAMES.join(" | ")}
  file|dir         CSV/TSV, JSON Lines or Parquet files, optionally .gz; directories are searched recursively

Options:
  --profile FILE   source profile (JSON) mapping a foreign export onto the contract (docs/ingest.md)
  --lake DIR       lake directory (default ./lake)
  --append         for a source that reuses one file name: each new content is a drop of its own (default:
                   the profile's "append", else off: new content replaces the file's earlier version)
  --config FILE    configuration file, for its calendar (default: built-in defaults; see
                   examples/crmlake.config.json)`,
  options: {
    profile: { type: "string" },
    lake: { type: "string" },
    config: { type: "string" },
    append: { type: "boolean" },
  },
  async run(args: ParsedArgs) {
    const [dataset, ...inputs] = args.positionals;
    if (dataset === undefined || !isDatasetName(dataset)) {
      throw new UsageError(
        "bad_arguments",
        dataset === undefined
          ? `Missing dataset. Usage: crmlake ingest <dataset> <file|dir>...; datasets: ${DATASET_NAMES.join(", ")}`
          : `Unknown dataset "${dataset}". Known datasets: ${DATASET_NAMES.join(", ")}`,
      );
    }
    if (inputs.length === 0)
      throw new UsageError("bad_arguments", "No files given. Usage: crmlake ingest <dataset> <file|dir>...");
    const profilePath = stringOption(args, "profile");
    const profile = profilePath ? await loadProfile(profilePath) : undefined;
    const { calendar } = await loadConfig(stringOption(args, "config"));
    const lakeDir = stringOption(args, "lake") ?? "lake";
    const store = new LocalObjectStore(lakeDir);
    const files = await expandInputs(inputs);

    let failed = 0;
    let committed = 0;
    const totals = { in: 0, ok: 0, quarantined: 0 };
    for (const file of files) {
      const started = Date.now();
      let phase = "starting";
      // Progress on long drops only: a line every 2 s on stderr, so piped stdout stays clean.
      const timer = setInterval(() => {
        process.stderr.write(
          `  … ${basename(file)}: ${phase} (${Math.round((Date.now() - started) / 1000)} s)\n`,
        );
      }, 2000);
      try {
        const { ledger, unchanged, superseded, retired } = await ingestDrop({
          ...(args.values.append === true ? { append: true } : {}),
          store,
          dataset,
          source: { localPath: file, uri: resolve(file) },
          ...(profile ? { profile } : {}),
          workDir: tmpdir(),
          upgradeCommand: `crmlake doctor --upgrade --lake ${lakeDir}`,
          calendar,
          // Rebuilt once below: each rebuild reads the whole ledger.
          refreshManifest: false,
          onProgress: (p) => {
            phase = p.phase;
          },
        });
        totals.in += ledger.rows_in;
        totals.ok += ledger.rows_ok;
        if (unchanged !== true) committed++;
        totals.quarantined += ledger.rows_quarantined;
        if (unchanged === true) {
          process.stdout.write(
            `✓ ${basename(file)} unchanged: already ingested on ${ledger.finished_at} as drop ${ledger.drop_id} (${fmt(ledger.rows_ok)} rows); nothing written\n`,
          );
          continue;
        }
        const replaced =
          superseded === undefined
            ? ""
            : `; replaced ${fmt(superseded.rows_ok)} rows of the version ingested on ${superseded.finished_at}`;
        process.stdout.write(`✓ ${summarize(ledger)}${replaced}\n`);
        for (const warning of ledger.warnings) process.stderr.write(`  warning: ${warning}\n`);
        if (retired !== undefined && "error" in retired) {
          process.stderr.write(
            `  warning: the drop is committed, but superseded files could not be retired (${retired.error}); crmlake doctor --repair finishes it\n`,
          );
        }
      } catch (error) {
        if (!isCrmlakeError(error)) throw error;
        failed++;
        process.stderr.write(`✗ ${basename(file)}: ${error.message}\n`);
      } finally {
        clearInterval(timer);
      }
    }
    try {
      // Only after a commit: a refused lake (an older format, say) is not written to.
      if (committed > 0) await refreshManifests(store, [dataset]);
    } catch (error) {
      if (!isCrmlakeError(error)) throw error;
      process.stderr.write(
        `warning: the drops are committed, but the ${dataset} manifest could not be rebuilt (${error.message}); crmlake doctor --repair rebuilds it\n`,
      );
    }
    if (committed > 0) await hintLateDrops(lakeDir, store);
    if (files.length > 1) {
      process.stdout.write(
        `${files.length - failed} of ${files.length} files ingested into ${store.location}: ${fmt(totals.in)} rows, ${fmt(totals.ok)} ok, ${fmt(totals.quarantined)} quarantined\n`,
      );
    }
    return failed > 0 ? 1 : 0;
  },
};
