/**
 * `crmlake doctor` (docs/adr/0010-ledger-visibility-and-snapshots.md, decision 6): finds, and with `repair`
 * heals, what a killed process leaves in a lake. It works on any ObjectStore, so the same code checks a
 * local lake and a lake bucket.
 *
 * - orphans: files under curated/ or quarantine/ that no committed record, retirement marker or pinned run
 *   lists (an attempt killed before its commit, a copied or stray file); only those older than the claim
 *   lease are removed, so an ingest still converting is never touched;
 * - stale claims: content claims whose lease ran out and whose holder never committed those bytes;
 * - retirements: superseded versions past their grace period and no longer pinned (the same sweep ingest
 *   runs);
 * - stale manifests: a dataset's symlink manifest that does not list exactly the committed files (a crash
 *   between a commit and its rebuild, a lake moved to another directory); repair rebuilds it;
 * - runs left `running` by a process that no longer exists (the caller says which: locally, no live
 *   holder of the run lock), marked `failed` so that they stop pinning their inputs.
 * Temporary files of writers that died are the local store's own (the CLI removes them).
 */
import { z } from "zod";
import { LAKE, LAKE_PREFIXES, MODEL_LAYOUT } from "../catalogue/layout.ts";
import type { ObjectInfo, ObjectStore } from "../ports/object-store.ts";
import { parseRunRecord, type RunRecord, timestampText } from "../runner/runs.ts";
import { DEFAULT_CLAIM_LEASE_MS } from "./claims.ts";
import { LAKE_FORMAT_VERSION, lakeFormat } from "./format.ts";
import { readLedger } from "./ledger.ts";
import { manifestFresh, manifestStates, refreshManifests } from "./manifests.ts";
import { pinnedKeys, sweepRetired } from "./retire.ts";

export interface DoctorOptions {
  readonly now: Date;
  /** Heal what is found; without it, only report. */
  readonly repair: boolean;
  /** Objects younger than this are left alone (an ingest may still be writing them); default the claim lease. */
  readonly settleMs?: number;
  /** Whether a run recorded `running` is still alive (locally: it holds the run lock from a live process). */
  readonly runAlive: (record: RunRecord) => Promise<boolean>;
  /** Retirement grace period, as ingest uses it. */
  readonly retireGraceMs?: number;
}

export interface DoctorFinding {
  readonly kind: "orphan" | "stale_claim" | "retired" | "stuck_run" | "temporary" | "format" | "manifest";
  /** The object or run concerned. */
  readonly subject: string;
  readonly detail: string;
  /** True when `repair` healed it. */
  readonly repaired: boolean;
}

export interface DoctorReport {
  readonly format: number | undefined;
  readonly findings: readonly DoctorFinding[];
}

const CLAIM = z.looseObject({ drop_id: z.string(), lease_until: z.string().optional() });

function age(object: ObjectInfo, now: Date): number {
  return object.lastModified === undefined
    ? Number.POSITIVE_INFINITY
    : now.getTime() - object.lastModified.getTime();
}

/** Examines a lake and, with `repair`, heals it. */
export async function doctorLake(store: ObjectStore, options: DoctorOptions): Promise<DoctorReport> {
  const findings: DoctorFinding[] = [];
  const settle = options.settleMs ?? DEFAULT_CLAIM_LEASE_MS;
  const format = await lakeFormat(store);
  if (format !== undefined && format !== LAKE_FORMAT_VERSION) {
    findings.push({
      kind: "format",
      subject: LAKE.formatKey,
      detail: `the lake has format ${format}; this crmlake writes ${LAKE_FORMAT_VERSION} (crmlake doctor --upgrade)`,
      repaired: false,
    });
  }

  // Runs left running by a dead process: marked failed first, so they stop pinning what they read.
  for (const { key } of await store.list(MODEL_LAYOUT.runLogPrefix)) {
    if (!key.endsWith(".json")) continue;
    const bytes = await store.get(key);
    if (bytes === undefined) continue;
    const record = parseRunRecord(Buffer.from(bytes).toString("utf8"), `${store.location}/${key}`);
    if (record.status !== "running" || (await options.runAlive(record))) continue;
    if (options.repair) {
      const failed: RunRecord = {
        ...record,
        status: "failed",
        finished_at: record.finished_at ?? timestampText(options.now),
        error: record.error ?? "the process running it ended without recording an outcome (crmlake doctor)",
      };
      await store.put(key, `${JSON.stringify(failed)}\n`);
    }
    findings.push({
      kind: "stuck_run",
      subject: record.run_id,
      detail: `recorded running since ${record.started_at}, but no process runs it`,
      repaired: options.repair,
    });
  }

  const records = await readLedger(store);
  // Stale manifests first: a repair rebuilds them before anything is deleted, so no BI reader is left
  // listing a file the repair removes.
  const stale = (await manifestStates(store, records)).filter((m) => !manifestFresh(m));
  for (const m of stale) {
    findings.push({
      kind: "manifest",
      subject: LAKE.manifestKey(m.dataset),
      detail:
        m.actual === undefined
          ? `missing: the ${m.dataset} table on Athena shows none of the ${m.expected.length} committed file(s)`
          : `lists ${m.actual.length} file(s), the ledger commits ${m.expected.length}: the ${m.dataset} table on Athena is out of date`,
      repaired: options.repair,
    });
  }
  if (options.repair && stale.length > 0)
    await refreshManifests(
      store,
      stale.map((m) => m.dataset),
    );
  const listed = new Set(records.flatMap((r) => r.output_keys));
  const pinned = await pinnedKeys(store);
  const markers = new Set<string>();
  for (const { key } of await store.list(LAKE.retiredPrefix)) {
    const bytes = await store.get(key);
    if (bytes === undefined) continue;
    try {
      for (const k of (JSON.parse(Buffer.from(bytes).toString("utf8")) as { keys?: string[] }).keys ?? []) {
        markers.add(k);
      }
    } catch {
      findings.push({
        kind: "retired",
        subject: key,
        detail: "unreadable retirement marker",
        repaired: false,
      });
    }
  }

  const orphans: string[] = [];
  for (const prefix of [LAKE_PREFIXES.curated, LAKE_PREFIXES.quarantine]) {
    for (const object of await store.list(prefix)) {
      if (listed.has(object.key) || markers.has(object.key) || pinned.has(object.key)) continue;
      if (age(object, options.now) < settle) continue;
      orphans.push(object.key);
      findings.push({
        kind: "orphan",
        subject: object.key,
        detail: "no committed drop lists it: readers never read it",
        repaired: options.repair,
      });
    }
  }

  const byDrop = new Map(records.map((r) => [r.drop_id, r]));
  const staleClaims: string[] = [];
  for (const object of await store.list(LAKE.contentPrefix)) {
    const bytes = await store.get(object.key);
    if (bytes === undefined) continue;
    let claim: z.infer<typeof CLAIM> | undefined;
    try {
      claim = CLAIM.parse(JSON.parse(Buffer.from(bytes).toString("utf8")));
    } catch {
      claim = undefined;
    }
    const sha = object.key
      .split("/")
      .at(-1)
      ?.replace(/\.json$/, "");
    const holder = claim === undefined ? undefined : byDrop.get(claim.drop_id);
    if (holder?.status === "ok" && holder.content_sha256 === sha) continue;
    const lease = claim?.lease_until === undefined ? Number.NaN : Date.parse(claim.lease_until);
    if (Number.isFinite(lease) && lease > options.now.getTime()) continue;
    staleClaims.push(object.key);
    findings.push({
      kind: "stale_claim",
      subject: object.key,
      detail: `claimed by ${claim?.drop_id ?? "an unreadable claim"}, which never committed these bytes`,
      repaired: options.repair,
    });
  }

  if (options.repair) {
    await store.delete([...orphans, ...staleClaims]);
    const swept = await sweepRetired(store, {
      now: options.now,
      ...(options.retireGraceMs === undefined ? {} : { graceMs: options.retireGraceMs }),
    });
    for (const key of swept.deleted) {
      findings.push({
        kind: "retired",
        subject: key,
        detail: "superseded version past its grace period",
        repaired: true,
      });
    }
  }
  return { format, findings };
}
