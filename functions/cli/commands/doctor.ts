import { readdir, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { MODEL_LAYOUT } from "../../core/catalogue/layout.ts";
import { UsageError } from "../../core/errors.ts";
import { doctorLake } from "../../core/ledger/doctor.ts";
import { upgradeLake } from "../../core/ledger/format.ts";
import type { ObjectStore } from "../../core/ports/object-store.ts";
import type { RunRecord } from "../../core/runner/runs.ts";
import { LocalObjectStore, processAlive } from "../../storage/local.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";
import { STACK_HELP, STACK_OPTION, stackOption, withStack } from "../stack.ts";

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

/**
 * A scoring run on AWS is alive while its event may still be retried: the scoring Lambda's async event lives
 * 6 hours (infra/stacks/crmlake-stack.ts maxEventAge) and an attempt lasts at most 15 minutes. A run recorded
 * `running` that started longer ago than that ended without recording it (its retries were used up).
 */
const AWS_RUN_HORIZON_MS = (6 * 60 + 15) * 60 * 1000;

function awsRunAlive(now: Date): (record: RunRecord) => Promise<boolean> {
  return async (record) => {
    const started = Date.parse(`${record.started_at.replace(" ", "T")}Z`);
    return !(now.getTime() - started > AWS_RUN_HORIZON_MS);
  };
}

/** Locally a run recorded `running` is alive while a live process of this host holds the run lock for it. */
async function localRunAlive(store: ObjectStore): Promise<(record: RunRecord) => Promise<boolean>> {
  const lock = await store.get(MODEL_LAYOUT.lock);
  const holder =
    lock === undefined
      ? undefined
      : (JSON.parse(Buffer.from(lock).toString("utf8")) as {
          run_id?: string;
          pid?: number;
          host?: string;
        });
  return async (record) =>
    holder?.run_id === record.run_id &&
    (holder.host !== hostname() || (holder.pid !== undefined && processAlive(holder.pid)));
}

/**
 * The lake bucket (and prefix) of an `s3://bucket/prefix` lake, with CRMLAKE_S3_ENDPOINT for local servers.
 * The S3 store is loaded here, on demand: the AWS SDK is a third of the command line's code, which every
 * command would otherwise load at start-up (ADR 0012).
 */
async function s3Store(uri: string): Promise<ObjectStore> {
  const { parseS3Uri, S3ObjectStore, s3ClientFromEnv } = await import("../../storage/s3.ts");
  const { bucket, key } = parseS3Uri(uri);
  return new S3ObjectStore({ bucket, prefix: key, client: s3ClientFromEnv() });
}

export const doctorCommand: Command = {
  name: "doctor",
  summary: "Check a lake for what killed processes leave behind, and repair or upgrade it",
  help: `Usage: crmlake doctor [--lake DIR|s3://bucket/prefix | --stack NAME] [--repair] [--upgrade]

Reports what a killed ingest or run leaves in a lake (docs/adr/0010-ledger-visibility-and-snapshots.md):
files no committed drop lists (readers never read them), content claims of attempts that never committed,
superseded versions past their grace period, runs left "running" by a process that no longer exists, and
temporary files of writers that died. Nothing younger than 15 minutes is touched: an ingest may still be
writing it. Exits 1 when it finds something it did not repair.

Options:
  --lake DIR   lake directory (default ./lake), or a lake bucket: s3://bucket[/prefix] (AWS credentials
               from the environment; CRMLAKE_S3_ENDPOINT for an S3-compatible server). A run on S3
               recorded "running" for longer than its retries can last (6 h 15 min) is stuck.
${STACK_HELP}
  --repair     heal what it finds: delete orphans, stale claims and temporary files, sweep retired
               versions, mark dead runs failed
  --upgrade    upgrade a lake written by an older crmlake to this one's format, in place`,
  options: {
    lake: { type: "string" },
    repair: { type: "boolean" },
    upgrade: { type: "boolean" },
    ...STACK_OPTION,
  },
  async run(args: ParsedArgs) {
    if (args.positionals.length > 0) {
      throw new UsageError(
        "bad_arguments",
        `crmlake doctor takes no positional arguments (got "${args.positionals.join(" ")}")`,
      );
    }
    const stack = stackOption(args, "doctor", ["lake"]);
    if (stack !== undefined) {
      return withStack(stack, ({ lake, outputs, stack: deployed }) =>
        checkLake(
          args,
          lake,
          `${outputs.location} (stack ${deployed.name})`,
          true,
          `crmlake doctor --repair --stack ${deployed.name}`,
        ),
      );
    }
    const lakeDir = stringOption(args, "lake") ?? "lake";
    const onS3 = lakeDir.startsWith("s3://");
    if (
      !onS3 &&
      !(await stat(lakeDir).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
      throw new UsageError("no_lake", `Lake directory ${lakeDir} does not exist. Pass --lake DIR`);
    }
    const store: ObjectStore = onS3 ? await s3Store(lakeDir) : new LocalObjectStore(lakeDir);
    return checkLake(args, store, lakeDir, onS3, "crmlake doctor --repair");
  },
};

/** Upgrades (--upgrade), checks and repairs (--repair) the lake in `store`, named `lakeDir` in messages. */
async function checkLake(
  args: ParsedArgs,
  store: ObjectStore,
  lakeDir: string,
  onS3: boolean,
  repairCommand: string,
): Promise<number> {
  if (args.values.upgrade === true) {
    const report = await upgradeLake(store);
    process.stdout.write(
      report.from === report.to
        ? `The lake ${lakeDir} already has format ${report.to}; nothing to upgrade.\n`
        : `Upgraded the lake ${lakeDir} from format ${report.from ?? "none (empty)"} to ${report.to}: ${report.records} ledger record(s) given the version v1, ${report.manifests} dataset manifest(s) written.\n`,
    );
  }
  const repair = args.values.repair === true;
  const now = new Date();
  const runAlive = onS3 ? awsRunAlive(now) : await localRunAlive(store);
  const report = await doctorLake(store, { now, repair, runAlive, settleMs: SETTLE_MS });
  const temporary = onS3 ? [] : await temporaryFiles(lakeDir, now.getTime());
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
        : `${open} finding(s) in ${lakeDir}.${repair ? "" : ` Run ${repairCommand} to heal them.`}\n`,
  );
  return open === 0 ? 0 : 1;
}
