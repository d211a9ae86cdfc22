import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { loadLocalReport, runLocal } from "../../backends/local.ts";
import { DATASET_NAMES } from "../../core/catalogue/contracts.ts";
import { defaultConfig } from "../../core/config.ts";
import { isCrmlakeError, UsageError } from "../../core/errors.ts";
import { generate } from "../../core/generate/generate.ts";
import { DEFAULT_OPTIONS } from "../../core/generate/options.ts";
import { ingestDrop } from "../../core/ingest/ingest.ts";
import { refreshManifests } from "../../core/ledger/manifests.ts";
import { renderReport, textSummary } from "../../core/report/report.ts";
import { LocalObjectStore } from "../../storage/local.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { intOption, stringOption } from "../command.ts";

const out = (line: string) => process.stdout.write(`${line}\n`);

/** The file that marks a folder as the demo's own: only then does a demo replace what it finds there. */
export const DEMO_MARKER = ".crmlake-demo";
/** What a demo writes into its folder besides the generator's drops (which guard themselves). */
const DEMO_OUTPUTS = ["lake", "report.html"] as const;

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Makes `dir` the demo's: a new or foreign folder gets the marker; a folder the demo marked before has its
 * lake and report removed. A folder holding a lake or a report the demo did not create is refused, untouched:
 * `--dir .` in a project whose ./lake is real must not delete it.
 */
async function prepareDemoDir(dir: string, shown: string): Promise<void> {
  const marker = join(dir, DEMO_MARKER);
  const owned = await exists(marker);
  const found: string[] = [];
  for (const name of DEMO_OUTPUTS) if (await exists(join(dir, name))) found.push(name);
  if (found.length > 0 && !owned) {
    throw new UsageError(
      "not_a_demo_dir",
      `${shown} already holds ${found.map((f) => `${shown}/${f}`).join(" and ")}, which crmlake demo did not create (there is no ${DEMO_MARKER} marker): it may be a real lake, so the demo leaves it alone. Pass --dir with a new or empty folder (the default is ./demo).`,
    );
  }
  await mkdir(dir, { recursive: true });
  if (!owned) {
    await writeFile(
      marker,
      `${JSON.stringify({ created_by: "crmlake demo", note: "crmlake demo replaces lake/, drops/ and report.html here on its next run" })}\n`,
    );
  }
  for (const name of DEMO_OUTPUTS) await rm(join(dir, name), { recursive: true, force: true });
}

export const demoCommand: Command = {
  name: "demo",
  summary: "Run the whole pipeline on a generated business and write the report",
  help: `Usage: crmlake demo [--dir DIR] [--customers N] [--seed S]

Generates two years of a retail business (customers, orders, campaigns, with a few faulty lines), ingests
it into a lake, computes every model as of the last day, and writes a report a manager would read.
Re-running replaces the previous demo in DIR; a DIR holding a lake or report the demo did not create is
refused and left as it is.

Options:
  --dir DIR        where drops, lake and report go (default ./demo)
  --customers N    customers to simulate (default ${DEFAULT_OPTIONS.customers})
  --seed S         random seed (default ${DEFAULT_OPTIONS.seed})`,
  options: { dir: { type: "string" }, customers: { type: "string" }, seed: { type: "string" } },
  async run(args: ParsedArgs) {
    const started = performance.now();
    const dir = resolve(stringOption(args, "dir") ?? "demo");
    const drops = join(dir, "drops");
    const lakeDir = join(dir, "lake");
    const shown = relative(process.cwd(), dir) || ".";
    await prepareDemoDir(dir, shown);

    const customers = intOption(args, "customers", DEFAULT_OPTIONS.customers, 1);
    out(
      `1/4 Generating a business: ${customers.toLocaleString("en-US")} customers, ${DEFAULT_OPTIONS.from} to ${DEFAULT_OPTIONS.to}`,
    );
    const generated = await generate({
      ...DEFAULT_OPTIONS,
      out: drops,
      customers,
      seed: intOption(args, "seed", DEFAULT_OPTIONS.seed, 0),
      // A few faulty lines, so the quarantine has something to show.
      dirty: 0.002,
      force: true,
    });
    out(
      `    ${generated.lines.toLocaleString("en-US")} transaction lines in ${generated.files} files → ${shown}/drops`,
    );

    out("2/4 Ingesting the drops into the lake");
    const store = new LocalObjectStore(lakeDir);
    const quarantined = new Map<string, number>();
    let rejected = 0;
    // The generator writes every dataset but the products catalogue (its lines carry their categories).
    const delivered = new Set(await readdir(drops));
    for (const dataset of DATASET_NAMES.filter((d) => delivered.has(d))) {
      const totals = { files: 0, in: 0, ok: 0, quarantined: 0 };
      for (const file of (await readdir(join(drops, dataset))).sort()) {
        const path = join(drops, dataset, file);
        try {
          const { ledger } = await ingestDrop({
            store,
            dataset,
            source: { localPath: path, uri: path },
            workDir: tmpdir(),
            refreshManifest: false,
          });
          totals.files++;
          totals.in += ledger.rows_in;
          totals.ok += ledger.rows_ok;
          totals.quarantined += ledger.rows_quarantined;
          for (const [code, n] of Object.entries(ledger.quarantine_reasons)) {
            quarantined.set(code, (quarantined.get(code) ?? 0) + (n ?? 0));
          }
        } catch (error) {
          if (!isCrmlakeError(error)) throw error;
          rejected++;
          out(`    ✗ ${dataset}/${file} rejected: ${error.code}`);
        }
      }
      await refreshManifests(store, [dataset]);
      out(
        `    ✓ ${dataset.padEnd(17)} ${String(totals.files).padStart(3)} files ${totals.in.toLocaleString("en-US").padStart(8)} rows: ${totals.ok.toLocaleString("en-US")} ok, ${totals.quarantined.toLocaleString("en-US")} quarantined`,
      );
    }
    // The generator wrote down every fault it injected: ingest must have caught exactly those.
    const injected = generated.truth.faults.counts as Record<string, number>;
    const caught = Object.entries(injected)
      .filter(([code]) => code !== "duplicate")
      .map(([code, n]) => `${code} ${quarantined.get(code) ?? 0}/${n}`);
    out(
      `    Faults caught / injected by the generator: ${caught.join(", ")}, duplicate drops ${rejected}/${injected.duplicate ?? 0}`,
    );

    out(`3/4 Computing the models as of ${DEFAULT_OPTIONS.to}`);
    const run = await runLocal({ lakeDir, config: defaultConfig(), asOf: DEFAULT_OPTIONS.to });
    const tables = run.models.filter((m) => m.rows !== null).length;
    out(`    ${run.models.length} models, ${tables} tables published to ${shown}/lake/models`);

    out("4/4 Writing the report");
    const data = await loadLocalReport(lakeDir, DEFAULT_OPTIONS.to);
    const reportPath = join(dir, "report.html");
    await writeFile(reportPath, renderReport(data));
    out("");
    out(textSummary(data));
    out("");
    out(`Report: ${reportPath}`);
    out(`Explore: npx crmlake query "select * from pyramid_summary_latest" --lake ${shown}/lake`);
    out(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    return 0;
  },
};
