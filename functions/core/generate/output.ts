/**
 * The output directory: preparing it (never overwriting anything but an earlier generator output), the small
 * files, and finishing the transaction files (the --dirty truncated and duplicated drops, gzip).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { DatasetName } from "../catalogue/contracts.ts";
import { errorMessage } from "../errors.ts";
import type { CampaignPlan } from "./campaigns.ts";
import { type FaultCounts, truncatedRow } from "./faults.ts";
import { formatCents } from "./format.ts";
import { GenerateError, type GenerateOptions } from "./options.ts";
import { STREAMS, stream, uniformInt } from "./random.ts";
import { campaignRow, headerOf } from "./rows.ts";
import type { FileRecord } from "./truth.ts";
import type { PeriodFiles, TextFile } from "./writer.ts";

export const GROUND_TRUTH_FILE = "ground_truth.json";
export const LATENT_FILE = "ground_truth_latent.csv";
export const CUSTOMERS_FILE = "customers/customers.csv";
export const CONTACTS_FILE = "campaign_contacts/contacts.csv";
/** What the generator writes in its output directory; --force removes exactly these. */
const OUTPUT_ENTRIES = [
  "transactions",
  "customers",
  "campaigns",
  "campaign_contacts",
  GROUND_TRUTH_FILE,
  LATENT_FILE,
];

/** Whether `path` is an empty directory; undefined when it does not exist. */
async function isEmptyDirectory(path: string): Promise<boolean | undefined> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new GenerateError("bad_output", `Cannot read --out ${path}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  if (!isDirectory) throw new GenerateError("bad_output", `--out ${path} is not a directory`);
  return (await readdir(path)).length === 0;
}

/** Creates the output directory, or empties an earlier generator output with `force`; never anything else. */
export async function prepareOutput(out: string, force: boolean): Promise<void> {
  const empty = await isEmptyDirectory(out);
  if (empty === false) {
    const entries = await readdir(out);
    if (!force) {
      throw new GenerateError(
        "output_not_empty",
        `Output directory ${out} is not empty. Choose a new directory, or pass --force to replace an earlier generator output there`,
      );
    }
    if (!entries.includes(GROUND_TRUTH_FILE)) {
      throw new GenerateError(
        "output_not_generated",
        `Refusing to --force ${out}: it has no ${GROUND_TRUTH_FILE}, so it is not a generator output`,
      );
    }
    for (const entry of OUTPUT_ENTRIES) await rm(join(out, entry), { recursive: true, force: true });
  }
  try {
    for (const dir of ["transactions", "customers", "campaigns", "campaign_contacts"]) {
      await mkdir(join(out, dir), { recursive: true });
    }
  } catch (error) {
    throw new GenerateError(
      "bad_output",
      `Cannot create the output directory ${out}: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** campaigns.csv, unless there are no campaigns. */
export async function writeCampaigns(
  out: string,
  plans: readonly CampaignPlan[],
  days: readonly string[],
  controlShare: number,
): Promise<FileRecord[]> {
  if (plans.length === 0) return [];
  // Every selected customer is held out with this probability: the planned split campaign_results tests.
  const share = controlShare > 0 && controlShare < 1 ? String(Number(controlShare.toFixed(6))) : "";
  const rows = plans.map((plan) =>
    campaignRow({
      campaign_id: plan.id,
      name: plan.name,
      channel: plan.channel,
      starts_on: days[plan.startDay] ?? "",
      ends_on: days[plan.endDay] ?? "",
      cost_per_contact: formatCents(plan.costPerContactCents),
      fixed_cost: formatCents(plan.fixedCostCents),
      planned_control_share: share,
    }),
  );
  const path = "campaigns/campaigns.csv";
  await writeFile(join(out, path), [headerOf("campaigns"), ...rows, ""].join("\n"));
  return [{ path, dataset: "campaigns", rows: rows.length, cleanRows: rows.length, faults: {} }];
}

async function gzipFile(path: string): Promise<void> {
  await pipeline(createReadStream(path), createGzip({ level: 6 }), createWriteStream(`${path}.gz`));
  await rm(path);
}

interface TransactionFileInfo {
  readonly records: FileRecord[];
  readonly truncated: { path: string; lineNumber: number }[];
}

/**
 * Closes the transaction files: with --dirty, cuts one file's last line and delivers one file twice; then
 * gzips if asked. Returns the files' records for the ground truth.
 */
export async function finishTransactions(
  out: string,
  options: GenerateOptions,
  transactions: PeriodFiles,
  faults: FaultCounts,
  names: readonly string[],
): Promise<TransactionFileInfo> {
  const used = transactions.usedFiles();
  const rng = stream(options.seed, STREAMS.faultFiles, 0);
  const dirty = options.dirty > 0 && used.length > 0;
  const truncatedFile = dirty ? used[uniformInt(rng, used.length)] : undefined;
  const truncated: { path: string; lineNumber: number }[] = [];
  const csv = (file: number, suffix = "") => `transactions/${names[file] ?? ""}${suffix}.csv`;
  const final = (file: number, suffix = "") => `${csv(file, suffix)}${options.gzip ? ".gz" : ""}`;
  if (truncatedFile !== undefined) {
    transactions.writePartialRow(truncatedFile, truncatedRow(rng, transactions.lastRow[truncatedFile] ?? ""));
    faults.add(truncatedFile, "malformed_row");
    truncated.push({ path: final(truncatedFile), lineNumber: (transactions.rows[truncatedFile] ?? 0) + 1 });
  }
  await transactions.flush();
  if (options.gzip) {
    for (const file of used) await gzipFile(join(out, csv(file)));
  }
  const records: FileRecord[] = used.map((file) => ({
    path: final(file),
    dataset: "transactions",
    rows: transactions.rows[file] ?? 0,
    cleanRows: (transactions.rows[file] ?? 0) - faults.total(file),
    faults: faults.byFile.get(file) ?? {},
  }));
  if (dirty) {
    const others = used.filter((file) => file !== truncatedFile);
    const candidates = others.length > 0 ? others : used;
    const source = candidates[uniformInt(rng, candidates.length)] ?? 0;
    const original = records.find((r) => r.path === final(source));
    const copy = final(source, "-redelivered");
    await copyFile(join(out, final(source)), join(out, copy));
    records.push({
      path: copy,
      dataset: "transactions",
      rows: original?.rows ?? 0,
      cleanRows: original?.cleanRows ?? 0,
      faults: original?.faults ?? {},
      duplicateOf: final(source),
    });
  }
  return { records, truncated };
}

/** Closes a small file; a file without rows is removed (ingest rejects an empty drop) and not listed. */
export async function closeSmallFile(
  out: string,
  file: TextFile,
  relativePath: string,
  dataset: DatasetName,
): Promise<FileRecord[]> {
  await file.close();
  if (file.rows === 0) {
    await rm(join(out, relativePath));
    return [];
  }
  return [{ path: relativePath, dataset, rows: file.rows, cleanRows: file.rows, faults: {} }];
}
