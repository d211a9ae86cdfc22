/**
 * Bytes read per model on Trino (issue 17, item 5): what a run costs on Athena, which bills the bytes it scans.
 * For 1, 2 and 4 years of history of the same customer base (the generator's `--customers N --seed 1`, its
 * period ending 2024-12-31), the benchmark builds a lake with the real ingest, declares its input tables on the
 * local Trino of the Trino tier (test/trino/server.ts) from the Glue specs, and runs every model with the real
 * runner through the Trino warehouse, whose statements are the Athena adapter's own (test/trino/trino-warehouse.ts).
 *
 * A model's bytes are the `physicalInputBytes` of the statements sent for it: the statistics Trino returns with
 * each statement, counting what its connectors read from storage (here the lake's Parquet files; on Athena the
 * same reads are "data scanned"). Statements are assigned to the model whose table or view they end with, so
 * a TypeScript stage's queries count for its model. A view model reads nothing when it is defined; what it
 * reads is counted in the tables that select from it, as on Athena.
 *
 * The floor, measured in the same run on the same lake: one `GROUP BY customer_id` over the curated
 * transactions (customer_id, amount, ordered_at), the run benchmark's floor (bench/run-floor.ts) on Trino.
 *
 * Usage: npm run bench -- trino-bytes [--customers 10000] [--years 1,2,4] [--keep DIR]
 * Writes bench/trino-bytes-results.json. Needs the Trino tier's server (`npm run trino:fetch` fetches it; the
 * first start downloads it otherwise).
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_SQL_DIR } from "../functions/core/catalogue/models.ts";
import { parseConfig } from "../functions/core/config.ts";
import type {
  AttachRequest,
  MaterializeRequest,
  MaterializeResult,
} from "../functions/core/ports/warehouse.ts";
import { runModels } from "../functions/core/runner/run.ts";
import { STAGES } from "../functions/core/stages/index.ts";
import { LocalObjectStore } from "../functions/storage/local.ts";
import { LocalModelOutputs } from "../functions/storage/local-outputs.ts";
import { registerLakeTables } from "../test/trino/lake-tables.ts";
import { startTrino, type TrinoServer } from "../test/trino/server.ts";
import { TrinoWarehouse } from "../test/trino/trino-warehouse.ts";
import { addFigure, markdown } from "./summary.ts";

const AS_OF = "2024-12-31";
const DATASETS = ["transactions", "customers", "campaigns", "campaign_contacts"] as const;

/** The Trino warehouse, marking where each model's statements end. */
class MeteredWarehouse extends TrinoWarehouse {
  /** [model, index in history after its last statement]. */
  readonly ends: [string, number][] = [];

  override async materialize(request: MaterializeRequest): Promise<MaterializeResult> {
    const result = await super.materialize(request);
    this.ends.push([request.model, this.history.length]);
    return result;
  }

  override async attachMaterialized(request: AttachRequest): Promise<MaterializeResult> {
    const result = await super.attachMaterialized(request);
    this.ends.push([request.model, this.history.length]);
    return result;
  }

  override async replaceView(name: string, select: string): Promise<void> {
    await super.replaceView(name, select);
    this.ends.push([name, this.history.length]);
  }

  /** Bytes per model, in run order: every statement before a model's end and after the previous one's. */
  bytesPerModel(): { model: string; bytes: number; statements: number }[] {
    let from = 0;
    return this.ends.map(([model, to]) => {
      const statements = this.history.slice(from, to);
      from = to;
      return {
        model,
        bytes: statements.reduce((sum, s) => sum + (s.physicalInputBytes ?? 0), 0),
        statements: statements.length,
      };
    });
  }
}

interface YearsMeasure {
  years: number;
  from: string;
  lines: number;
  /** Bytes of the lake's curated transactions Parquet files. */
  curatedTransactionBytes: number;
  floorBytes: number;
  runBytes: number;
  ratio: number;
  /** Statements with physicalInputBytes above zero: each is billed at least 10 MB on Athena. */
  scanningStatements: number;
  perModel: { model: string; bytes: number; statements: number }[];
}

function crmlake(args: string[]): string {
  const run = spawnSync(process.execPath, ["bin/crmlake.mjs", ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (run.status !== 0) throw new Error(`crmlake ${args[0]} failed: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

function option(args: string[], name: string): string | undefined {
  const value = args[args.indexOf(name) + 1];
  return args.includes(name) && value ? value : undefined;
}

function duSum(dir: string): number {
  const run = spawnSync("du", ["-sb", dir], { encoding: "utf8" });
  return Number(run.stdout.split("\t")[0] ?? 0);
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

async function measureYears(
  trino: TrinoServer,
  dir: string,
  customers: number,
  years: number,
): Promise<YearsMeasure> {
  const from = `${2025 - years}-01-01`;
  const work = join(dir, `y${years}`);
  const lakeDir = join(work, "lake");
  const generated = join(work, "generated");
  await mkdir(work, { recursive: true });
  process.stderr.write(`  ${years} year(s): generating ${customers} customers from ${from}\n`);
  crmlake(["generate", "--out", generated, "--customers", String(customers), "--from", from, "--to", AS_OF]);
  for (const dataset of DATASETS) crmlake(["ingest", dataset, join(generated, dataset), "--lake", lakeDir]);
  const lines = Number(
    crmlake(["query", "select count(*) as n from transactions", "--lake", lakeDir, "--format", "csv"])
      .trim()
      .split("\n")
      .pop(),
  );

  const inputSchema = `bytes_y${years}_lake`;
  const runSchema = `bytes_y${years}_run`;
  for (const schema of [runSchema, inputSchema])
    await trino.query(`DROP SCHEMA IF EXISTS hive.${schema} CASCADE`);
  await registerLakeTables(trino, inputSchema, lakeDir, join(work, "trino-schemas", inputSchema));
  const floor = await trino.query(
    `SELECT customer_id, COUNT(*) AS lines, SUM(amount) AS revenue, MAX(ordered_at) AS last_ordered_at
     FROM hive.${inputSchema}.transactions GROUP BY customer_id`,
  );
  const floorBytes = Number(floor.stats?.physicalInputBytes ?? Number.NaN);

  process.stderr.write(`  ${years} year(s): ${lines} lines; running every model on Trino\n`);
  const warehouse = new MeteredWarehouse(trino, {
    inputSchema,
    runSchema,
    lakeDir: join(work, "trino-lake"),
    inputLakeDir: lakeDir,
  });
  const summary = await runModels({
    sqlDir: DEFAULT_SQL_DIR,
    warehouse,
    outputs: new LocalModelOutputs(join(work, "trino-lake")),
    lake: new LocalObjectStore(lakeDir),
    asOf: AS_OF,
    config: parseConfig({}, "bench"),
    stages: STAGES,
  });
  if (summary.models.length === 0) throw new Error("the run ran no model");
  const perModel = warehouse.bytesPerModel().sort((a, b) => b.bytes - a.bytes);
  const runBytes = warehouse.history.reduce((sum, s) => sum + (s.physicalInputBytes ?? 0), 0);
  await warehouse.close();
  return {
    years,
    from,
    lines,
    curatedTransactionBytes: duSum(join(lakeDir, "curated", "transactions")),
    floorBytes,
    runBytes,
    ratio: runBytes / floorBytes,
    scanningStatements: warehouse.history.filter((s) => (s.physicalInputBytes ?? 0) > 0).length,
    perModel,
  };
}

export async function benchTrinoBytes(args: string[]): Promise<void> {
  const customers = Number(option(args, "--customers") ?? 10_000);
  const yearsList = (option(args, "--years") ?? "1,2,4").split(",").map(Number);
  const keep = option(args, "--keep");
  const dir = keep ? resolve(keep) : await mkdtemp(join(tmpdir(), "crmlake-bench-bytes-"));
  const trino = await startTrino({ heap: "4G" });
  const measured: YearsMeasure[] = [];
  try {
    for (const years of yearsList) measured.push(await measureYears(trino, dir, customers, years));
  } finally {
    await trino.stop();
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `Bytes read on Trino (physical input), ${customers.toLocaleString("en-US")} customers, every model, as of ${AS_OF}`,
  );
  console.log(
    markdown(
      [
        "history",
        "lines",
        "curated transactions",
        "run reads",
        "floor (GROUP BY customer_id)",
        "× floor",
        "scanning statements",
      ],
      measured.map((m) => [
        `${m.years} year(s) from ${m.from}`,
        m.lines.toLocaleString("en-US"),
        `${mb(m.curatedTransactionBytes)} MB`,
        `${mb(m.runBytes)} MB`,
        `${mb(m.floorBytes)} MB`,
        m.ratio.toFixed(1),
        String(m.scanningStatements),
      ]),
    ),
  );
  const models = [
    ...new Set(measured.flatMap((m) => m.perModel.filter((p) => p.bytes > 0).map((p) => p.model))),
  ];
  const bytesOf = (m: YearsMeasure, model: string) => m.perModel.find((p) => p.model === model)?.bytes ?? 0;
  const last = measured.at(-1);
  if (last !== undefined) models.sort((a, b) => bytesOf(last, b) - bytesOf(last, a));
  console.log("\nPer model (MB read; models that read nothing are left out):\n");
  console.log(
    markdown(
      ["model", ...measured.map((m) => `${m.years} y`), ...measured.map((m) => `× floor, ${m.years} y`)],
      models.map((model) => [
        model,
        ...measured.map((m) => mb(bytesOf(m, model))),
        ...measured.map((m) => (bytesOf(m, model) / m.floorBytes).toFixed(2)),
      ]),
    ),
  );
  for (const m of measured) {
    addFigure({
      bench: "trino-bytes",
      measure: `bytes read on Trino by every model, ${customers.toLocaleString("en-US")} customers, ${m.years} year(s) (${m.lines.toLocaleString("en-US")} lines)`,
      value: `${mb(m.runBytes)} MB in ${m.scanningStatements} statements`,
      floor: `${mb(m.floorBytes)} MB (GROUP BY customer_id)`,
      ratio: m.ratio,
      target: "",
      met: null,
    });
  }
  await writeFile(
    join("bench", "trino-bytes-results.json"),
    `${JSON.stringify({ customers, asOf: AS_OF, measured }, null, 2)}\n`,
  );
}
