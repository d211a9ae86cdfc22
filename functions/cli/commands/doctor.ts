import { readdir, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { MODEL_LAYOUT } from "../../core/catalogue/layout.ts";
import { UsageError } from "../../core/errors.ts";
import { doctorLake } from "../../core/ledger/doctor.ts";
import { upgradeLake } from "../../core/ledger/format.ts";
import type { RunRecord } from "../../core/runner/runs.ts";
import { LocalObjectStore, processAlive } from "../../storage/local.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";

/** A writer's temporary file older than this belongs to a writer that died. */
const SETTLE_MS = 15 * 60 * 1000;

/** Temporary files of writers that died (`…​.tmp-<pid>-…`, key locks), older than SETTLE_MS, under `dir`. */
async function temporaryFiles(dir: string, now: number): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true, encoding: "utf8" });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (!/\.tmp-|\.lock-key$/.test(entry)) continue;
    const path = join(dir, entry);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() === true && now - info.mtimeMs > SETTLE_MS) found.push(path);
  }
  return found.sort();
}

export const doctorCommand: Command = {
  name: "doctor",
  summary: "Check a lake for what killed processes leave behind, and repair or upgrade it",
  help: `Usage: crmlake doctor [--lake DIR] [--repair] [--upgrade]

Reports what a killed ingest or run leaves in a lake (docs/adr/0010-ledger-visibility-and-snapshots.md):
files no committed drop lists (readers never read them), content claims of attempts that never committed,
superseded versions past their grace period, runs left "running" by a process that no longer exists, and
temporary files of writers that died. Nothing younger than 15 minutes is touched: an ingest may still be
writing it. Exits 1 when it finds something it did not repair.

Options:
  --lake DIR   lake directory (default ./lake)
  --repair     heal what it finds: delete orphans, stale claims and temporary files, sweep retired
               versions, mark dead runs failed
  --upgrade    upgrade a lake written by an older crmlake to this one's format, in place`,
  options: { lake: { type: "string" }, repair: { type: "boolean" }, upgrade: { type: "boolean" } },
  async run(args: ParsedArgs) {
    if (args.positionals.length > 0) {
      throw new UsageError(
        "bad_arguments",
        `crmlake doctor takes no positional arguments (got "${args.positionals.join(" ")}")`,
      );
    }
    const lakeDir = stringOption(args, "lake") ?? "lake";
    if (
      !(await stat(lakeDir).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
      throw new UsageError("no_lake", `Lake directory ${lakeDir} does not exist. Pass --lake DIR`);
    }
    const store = new LocalObjectStore(lakeDir);
    if (args.values.upgrade === true) {
      const report = await upgradeLake(store);
      process.stdout.write(
        report.from === report.to
          ? `The lake ${lakeDir} already has format ${report.to}; nothing to upgrade.\n`
          : `Upgraded the lake ${lakeDir} from format ${report.from ?? "none (empty)"} to ${report.to}: ${report.records} ledger record(s) given the version v1.\n`,
      );
    }
    const repair = args.values.repair === true;
    const now = new Date();
    // A run recorded `running` is alive while a process of this host that exists holds the run lock for it.
    const lock = await store.get(MODEL_LAYOUT.lock);
    const holder =
      lock === undefined
        ? undefined
        : (JSON.parse(Buffer.from(lock).toString("utf8")) as {
            run_id?: string;
            pid?: number;
            host?: string;
          });
    const runAlive = async (record: RunRecord) =>
      holder?.run_id === record.run_id &&
      (holder.host !== hostname() || (holder.pid !== undefined && processAlive(holder.pid)));
    const report = await doctorLake(store, { now, repair, runAlive, settleMs: SETTLE_MS });
    const temporary = await temporaryFiles(lakeDir, now.getTime());
    if (repair) for (const path of temporary) await rm(path, { force: true });

    const lines = [
      ...report.findings.map(
        (f) => `${f.repaired ? "repaired" : "found"}  ${f.kind.padEnd(11)} ${f.subject}: ${f.detail}`,
      ),
      ...temporary.map(
        (p) => `${repair ? "repaired" : "found"}  ${"temporary".padEnd(11)} ${p}: left by a writer that died`,
      ),
    ];
    for (const line of lines) process.stdout.write(`${line}\n`);
    const open = report.findings.filter((f) => !f.repaired).length + (repair ? 0 : temporary.length);
    process.stdout.write(
      lines.length === 0
        ? `The lake ${lakeDir} is healthy (format ${report.format ?? "none yet"}).\n`
        : open === 0
          ? `Repaired ${lines.length} finding(s) in ${lakeDir}.\n`
          : `${open} finding(s) in ${lakeDir}.${repair ? "" : " Run crmlake doctor --repair to heal them."}\n`,
    );
    return open === 0 ? 0 : 1;
  },
};
