/**
 * Issue 11, "Done when" (docs/adr/0010-ledger-visibility-and-snapshots.md): faults injected into the ledger's
 * writes. The store below dies at a chosen step: it throws there and on every call after it, as a killed
 * process runs no cleanup. Killing a publish and a retirement at every step, a seeded random mix of killed
 * ingests and runs, and a run during an ingest all keep one invariant: readers see exactly the rows the
 * committed records count (never half a drop, never a copy twice), and re-ingesting plus
 * `crmlake doctor --repair` converge to a clean lake.
 */

import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runLocal } from "../../functions/backends/local.ts";
import { LAKE, MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { stream } from "../../functions/core/generate/random.ts";
import { type DropResult, dropIdFor, ingestDrop } from "../../functions/core/ingest/ingest.ts";
import type { LedgerRecord } from "../../functions/core/ingest/types.ts";
import { doctorLake } from "../../functions/core/ledger/doctor.ts";
import {
  curatedFiles,
  INPUT_SNAPSHOT,
  type InputSnapshot,
  readLedger,
  snapshotOf,
} from "../../functions/core/ledger/ledger.ts";
import { sweepRetired } from "../../functions/core/ledger/retire.ts";
import type {
  ObjectInfo,
  ObjectStore,
  TaggedObject,
  WriteCondition,
} from "../../functions/core/ports/object-store.ts";
import type { Warehouse } from "../../functions/core/ports/warehouse.ts";
import { attachLakeViews } from "../../functions/engines/duckdb/lake-views.ts";
import { type DuckDBConnection, openDuckDB, sqlPath } from "../../functions/engines/duckdb/session.ts";
import { DuckDBWarehouse } from "../../functions/engines/duckdb/warehouse.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";

const scratchDirs: string[] = [];

/** A temporary directory, removed after the file's tests. */
async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(scratchDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

// ---------------------------------------------------------------------------------------------------------
// A store that is killed at a chosen step

/**
 * Wraps a store, counts its mutating steps and, at step `killAt`, throws Error("killed") instead of taking
 * the step; from then on every call throws, reads included. Each key of a delete is a step of its own (the
 * local store deletes keys one by one, S3's DeleteObjects is not atomic across keys), so a kill can also
 * land half-way through a delete. Killing before step k+1 is killing right after step k: steps 1..N cover
 * every point of a scenario of N steps.
 */
class KillableStore implements ObjectStore {
  readonly location: string;
  /** Mutating steps taken (or attempted, the fatal one included). */
  steps = 0;
  killed = false;
  /** What each step was, for the failure messages. */
  readonly log: string[] = [];

  constructor(
    private readonly inner: ObjectStore,
    private readonly killAt = Number.POSITIVE_INFINITY,
  ) {
    this.location = inner.location;
  }

  uri(key: string): string {
    return this.inner.uri(key);
  }

  private alive(): void {
    if (this.killed) throw new Error("killed");
  }

  private step(what: string): void {
    this.alive();
    this.steps++;
    this.log.push(what);
    if (this.steps === this.killAt) {
      this.killed = true;
      throw new Error("killed");
    }
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    this.step(`put ${key}`);
    await this.inner.put(key, body);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    this.step(`putFile ${key}`);
    await this.inner.putFile(key, localPath);
  }

  async putIf(
    key: string,
    body: string | Uint8Array,
    condition: WriteCondition,
  ): Promise<string | undefined> {
    this.step(`putIf ${key} ${"ifNoneMatch" in condition ? "if-none-match" : "if-match"}`);
    return this.inner.putIf(key, body, condition);
  }

  async delete(keys: readonly string[]): Promise<void> {
    this.alive();
    for (const key of keys) {
      this.step(`delete ${key}`);
      await this.inner.delete([key]);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.alive();
    return this.inner.get(key);
  }

  async getTagged(key: string): Promise<TaggedObject | undefined> {
    this.alive();
    return this.inner.getTagged(key);
  }

  async getToFile(key: string, localPath: string): Promise<void> {
    this.alive();
    await this.inner.getToFile(key, localPath);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.alive();
    return this.inner.list(prefix);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Drops, ingest and the readers

const HEADER = "order_id,customer_id,ordered_at,amount";
const AS_OF = "2024-12-31";

/** A transactions export: its bytes, the order ids that must land, their customers; one line quarantined. */
interface Export {
  readonly csv: string;
  readonly sha256: string;
  readonly orderIds: readonly string[];
  readonly customers: ReadonlySet<string>;
}

/** Two lines per month (order ids unique to `tag`), customers from `customers`, and one bad timestamp. */
function exportOf(tag: string, months: readonly number[], customers: readonly string[]): Export {
  const lines = [HEADER];
  const orderIds: string[] = [];
  const used = new Set<string>();
  let n = 0;
  for (const month of months) {
    for (let i = 0; i < 2; i++, n++) {
      const id = `${tag}-${n}`;
      const customer = customers[n % customers.length] ?? "c0";
      lines.push(`${id},${customer},2024-${String(month).padStart(2, "0")}-1${i} 10:00:00,${n + 1}.50`);
      orderIds.push(id);
      used.add(customer);
    }
  }
  lines.push(`${tag}-bad,c0,not-a-date,1.00`);
  const csv = `${lines.join("\n")}\n`;
  return {
    csv,
    sha256: createHash("sha256").update(csv).digest("hex"),
    orderIds: orderIds.sort(),
    customers: used,
  };
}

function ingest(
  store: ObjectStore,
  path: string,
  workDir: string,
  retireGraceMs?: number,
): Promise<DropResult> {
  return ingestDrop({
    store,
    dataset: "transactions",
    source: { localPath: path, uri: path },
    workDir,
    duckdb: { threads: 1, memoryLimit: "256MB" },
    ...(retireGraceMs === undefined ? {} : { retireGraceMs }),
  });
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

/** `crmlake doctor --repair` as if run long after every lease and grace period, with no run alive. */
function doctor(store: ObjectStore) {
  return doctorLake(store, {
    now: new Date("2100-01-01T00:00:00Z"),
    repair: true,
    runAlive: async () => false,
    settleMs: 0,
    retireGraceMs: 0,
  });
}

type Sql = (query: string) => Promise<Record<string, unknown>[]>;

/** A DuckDB session of one thread, closed after `use`. */
async function withDuckDB<T>(use: (sql: Sql, connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const session = await openDuckDB({ threads: 1, memoryLimit: "256MB" });
  try {
    return await use(
      async (query) =>
        (await session.connection.runAndReadAll(query)).getRowObjectsJson() as Record<string, unknown>[],
      session.connection,
    );
  } finally {
    session.close();
  }
}

function countsBy(rows: readonly Record<string, unknown>[]): Record<string, number> {
  return Object.fromEntries(rows.map((r) => [String(r.drop_id), Number(r.n)]));
}

function expectedBy(records: readonly LedgerRecord[], field: "rows_ok" | "rows_quarantined") {
  return Object.fromEntries(records.filter((r) => r[field] > 0).map((r) => [r.drop_id, r[field]]));
}

/**
 * The invariant: the lake's views, built from the ledger as a reader builds them, see per drop exactly the
 * `rows_ok` of its committed record (and the quarantine its `rows_quarantined`); every view can be read (a
 * listed file that is missing fails the query); no order line is counted twice. Returns the committed
 * records and the order ids readers see, sorted.
 */
async function expectReadersMatchLedger(
  lakeDir: string,
  store: ObjectStore,
  context: string,
): Promise<{ records: LedgerRecord[]; orderIds: string[] }> {
  const records = (await readLedger(store)).filter((r) => r.status === "ok");
  const snapshot = snapshotOf(records, new Date());
  return withDuckDB(async (read, connection) => {
    await attachLakeViews(connection, lakeDir, snapshot);
    const transactions = await read(
      "SELECT drop_id, COUNT(*)::INTEGER AS n FROM transactions GROUP BY drop_id",
    );
    const quarantine = await read("SELECT drop_id, COUNT(*)::INTEGER AS n FROM quarantine GROUP BY drop_id");
    const orderIds = (await read("SELECT order_id FROM transactions")).map((r) => String(r.order_id)).sort();
    await read("SELECT COUNT(*) AS n FROM drops");
    expect(countsBy(transactions), `${context}: transactions per drop = rows_ok`).toEqual(
      expectedBy(records, "rows_ok"),
    );
    expect(countsBy(quarantine), `${context}: quarantine per drop = rows_quarantined`).toEqual(
      expectedBy(records, "rows_quarantined"),
    );
    expect(new Set(orderIds).size, `${context}: no order line counted twice`).toBe(orderIds.length);
    return { records, orderIds };
  });
}

/**
 * A healed lake: readers see `expectedOrderIds` and match the ledger; every committed record's files exist;
 * nothing under curated/ or quarantine/ is unlisted; no retirement is pending; the content claims are exactly
 * those of the committed records (before a doctor: those, and released ones).
 */
async function expectConverged(
  lakeDir: string,
  store: ObjectStore,
  expectedOrderIds: readonly string[] | undefined,
  context: string,
  doctored = true,
): Promise<LedgerRecord[]> {
  const { records, orderIds } = await expectReadersMatchLedger(lakeDir, store, context);
  if (expectedOrderIds !== undefined)
    expect(orderIds, `${context}: rows after healing`).toEqual(expectedOrderIds);
  const listed = records.flatMap((r) => r.output_keys).sort();
  const present = [...(await store.list("curated/")), ...(await store.list("quarantine/"))]
    .map((o) => o.key)
    .sort();
  expect(present, `${context}: the files under curated/ and quarantine/ are exactly the listed ones`).toEqual(
    listed,
  );
  expect(await store.list(LAKE.retiredPrefix), `${context}: no retirement pending`).toEqual([]);
  const claims = (await store.list(LAKE.contentPrefix)).map((o) => o.key).sort();
  const held = records.map((r) => LAKE.contentKey(r.dataset, r.content_sha256)).sort();
  if (doctored) {
    expect(claims, `${context}: a claim for each committed content, no other`).toEqual(held);
  } else {
    // Before a doctor, a superseded content keeps its claim, released: its lease ended at the commit.
    expect(claims, `${context}: a claim for each committed content`).toEqual(expect.arrayContaining(held));
    for (const key of claims.filter((c) => !held.includes(c))) {
      const claim = JSON.parse(Buffer.from((await store.get(key)) ?? "{}").toString("utf8")) as {
        lease_until?: string;
      };
      expect(Date.parse(claim.lease_until ?? ""), `${context}: ${key} is released`).toBeLessThanOrEqual(
        Date.now(),
      );
    }
  }
  return records;
}

// ---------------------------------------------------------------------------------------------------------
// 1. A kill at every step of a publish and of a retirement

interface FaultScenario {
  /** Builds the lake every kill starts from (no faults). */
  readonly setup: (store: ObjectStore, workDir: string) => Promise<void>;
  /** The operation killed at each step. */
  readonly act: (store: ObjectStore, workDir: string) => Promise<unknown>;
  /** The order ids readers may see after a kill: before the operation, or after it. */
  readonly before: readonly string[];
  readonly after: readonly string[];
  /** The files re-ingested to heal. */
  readonly paths: () => readonly string[];
}

/**
 * Runs `act` once to learn its N steps, then, for every k in 1..N, kills it at step k on a copy of the
 * prepared lake and checks the invariant, heals (re-ingest, then doctor) and checks convergence. Returns the
 * steps of the undisturbed run.
 */
async function killAtEveryStep(root: string, scenario: FaultScenario): Promise<string[]> {
  const template = join(root, "template");
  await mkdir(template, { recursive: true });
  await scenario.setup(new LocalObjectStore(template), root);

  const counting = join(root, "counting");
  await cp(template, counting, { recursive: true });
  const counter = new KillableStore(new LocalObjectStore(counting));
  await scenario.act(counter, root);
  const steps = [...counter.log];
  expect(steps.length).toBeGreaterThan(0);
  await expectConverged(counting, new LocalObjectStore(counting), scenario.after, "undisturbed", false);

  for (let k = 1; k <= steps.length; k++) {
    const context = `killed at step ${k}/${steps.length} (${steps[k - 1]})`;
    const lakeDir = join(root, `kill-${k}`);
    await cp(template, lakeDir, { recursive: true });
    const killable = new KillableStore(new LocalObjectStore(lakeDir), k);
    // A kill during ingest's housekeeping after its commit is reported in the result, not thrown.
    await scenario.act(killable, root).catch((error: unknown) => {
      if ((error as Error).message !== "killed") throw error;
    });
    expect(killable.killed, context).toBe(true);

    const store = new LocalObjectStore(lakeDir);
    const { orderIds } = await expectReadersMatchLedger(lakeDir, store, context);
    expect([scenario.before, scenario.after], `${context}: readers see one whole state`).toContainEqual(
      orderIds,
    );
    // A sweep right after the kill (the next ingest's, with no grace) never deletes what readers read, even
    // when the kill left a marker for the version that stayed current.
    await sweepRetired(store, { now: new Date(), graceMs: 0 });
    expect((await expectReadersMatchLedger(lakeDir, store, `${context}, swept`)).orderIds).toEqual(orderIds);

    for (const path of scenario.paths()) {
      const healed = await ingest(store, path, root);
      expect(healed.ledger.status, `${context}: re-ingest`).toBe("ok");
    }
    await doctor(store);
    await expectConverged(lakeDir, store, scenario.after, `${context}, healed`);
  }
  return steps;
}

describe("a kill at every step", () => {
  it("of a new drop's publish: readers see all of it or none of it, and re-ingest + doctor converge", async () => {
    const root = await scratch("crmlake-faults-new-");
    const first = exportOf("a", [1, 2, 3], ["c1", "c2", "c3"]);
    const path = join(root, "inbox", "orders.csv");
    await mkdir(join(root, "inbox"), { recursive: true });
    await writeFile(path, first.csv);
    const steps = await killAtEveryStep(root, {
      setup: async () => {},
      act: (store, workDir) => ingest(store, path, workDir),
      before: [],
      after: first.orderIds,
      paths: () => [path],
    });
    // The kills covered the format record, the claim, every file, and the commit itself.
    expect(steps.filter((s) => s.startsWith("putFile curated/transactions/order_month="))).toHaveLength(3);
    expect(steps.filter((s) => s.startsWith("putFile quarantine/"))).toHaveLength(1);
    expect(steps).toContain(`putIf ${LAKE.formatKey} if-none-match`);
    expect(steps).toContain(`putIf ${LAKE.contentKey("transactions", first.sha256)} if-none-match`);
    expect(steps.findIndex((s) => s.startsWith("putIf ledger/drops/"))).toBeGreaterThan(
      steps.findIndex((s) => s.startsWith("putFile quarantine/")),
    );
    expect(steps.length).toBeGreaterThanOrEqual(8);
  });

  it("of a replacement at the same path, sharing a month: readers see the old version or the new one, never a mix", async () => {
    const root = await scratch("crmlake-faults-replace-");
    const first = exportOf("a", [1, 2], ["c1", "c2"]);
    // February is in both: a version that overwrote the old one's file would mix them (issue 11, case 2).
    const second = exportOf("b", [2, 3, 5], ["c2", "c3", "c4"]);
    const path = join(root, "inbox", "orders.csv");
    await mkdir(join(root, "inbox"), { recursive: true });
    await writeFile(path, first.csv);
    const steps = await killAtEveryStep(root, {
      setup: async (store, workDir) => {
        await ingest(store, path, workDir);
        await writeFile(path, second.csv);
      },
      // Grace 0, as the ingest Lambda passes it: the ingest's own sweep deletes the old version, so its
      // steps are killed too.
      act: (store, workDir) => ingest(store, path, workDir, 0),
      before: first.orderIds,
      after: second.orderIds,
      paths: () => [path],
    });
    expect(steps.filter((s) => s.startsWith("put ledger/retired/"))).toHaveLength(1);
    // The old version's two months and quarantine file, then its marker.
    expect(
      steps.filter((s) => s.startsWith("delete curated/") || s.startsWith("delete quarantine/")),
    ).toHaveLength(3);
    expect(steps.at(-1)).toMatch(/^delete ledger\/retired\//);
    expect(steps).toContain(`putIf ${LAKE.contentKey("transactions", first.sha256)} if-match`); // released
  });

  it("of a retirement sweep: no listed file is ever deleted, and the next sweep finishes the job", async () => {
    const root = await scratch("crmlake-faults-sweep-");
    const first = exportOf("a", [1, 2, 3], ["c1", "c2"]);
    const second = exportOf("b", [2, 6], ["c3"]);
    const path = join(root, "inbox", "orders.csv");
    await mkdir(join(root, "inbox"), { recursive: true });
    await writeFile(path, first.csv);
    const steps = await killAtEveryStep(root, {
      setup: async (store, workDir) => {
        await ingest(store, path, workDir);
        await writeFile(path, second.csv);
        // The default grace period: the superseded version waits, marked, for the sweep below.
        await ingest(store, path, workDir);
        expect(await store.list(LAKE.retiredPrefix)).toHaveLength(1);
      },
      act: (store) => sweepRetired(store, { now: new Date(), graceMs: 0 }),
      before: second.orderIds,
      after: second.orderIds,
      paths: () => [path],
    });
    expect(steps).toHaveLength(5); // three months and a quarantine file, then the marker
    expect(steps.at(-1)).toMatch(/^delete ledger\/retired\//);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 2. Random faults over ingest and run

const DEFAULT_SEED = 20_240_611;

/** The generator's own seeded source (xoshiro128**), so a failing sequence replays exactly. */
function seeded(seed: number): () => number {
  const rng = stream(seed, 0, 0);
  return () => rng.next();
}

async function openWarehouse(lakeDir: string): Promise<DuckDBWarehouse> {
  const session = await openDuckDB({ threads: 1, memoryLimit: "512MB" });
  return new DuckDBWarehouse(session.connection, lakeDir, () => session.close());
}

async function readSnapshot(lakeDir: string, runId: string): Promise<InputSnapshot> {
  const key = MODEL_LAYOUT.snapshotKey(runId);
  return INPUT_SNAPSHOT.parse(JSON.parse(await readFile(join(lakeDir, ...key.split("/")), "utf8")));
}

/** Distinct customers in the transactions files a snapshot lists, read straight from the files. */
async function customersIn(lakeDir: string, snapshot: InputSnapshot): Promise<number> {
  const files = curatedFiles(snapshot, "transactions").map((k) => sqlPath(join(lakeDir, ...k.split("/"))));
  if (files.length === 0) return 0;
  return withDuckDB(async (sql) => {
    const rows = await sql(
      `SELECT COUNT(DISTINCT customer_id)::INTEGER AS n FROM read_parquet([${files.join(", ")}])`,
    );
    return Number(rows[0]?.n);
  });
}

function modelRows(summary: Awaited<ReturnType<typeof runLocal>>, model: string): number | null | undefined {
  return summary.models.find((m) => m.model === model)?.rows;
}

describe("random faults over ingest and run", () => {
  it("keeps readers equal to the ledger after every step, never counts a copy twice, pins every run, and converges", async () => {
    // CRMLAKE_FAULT_SEED runs another sequence (a failure names the step; the seed replays it exactly).
    const seed = Number(process.env.CRMLAKE_FAULT_SEED ?? DEFAULT_SEED);
    const random = seeded(seed);
    const int = (n: number) => Math.floor(random() * n);
    const root = await scratch("crmlake-faults-random-");
    const inbox = join(root, "inbox");
    await mkdir(inbox, { recursive: true });
    const lakeDir = join(root, "lake");
    const store = new LocalObjectStore(lakeDir);

    const exports = new Map<string, Export>(); // by sha256
    const files = new Map<string, Export>(); // path → current content, in creation order
    let made = 0;
    const fresh = () => {
      made++;
      const months = [1 + int(12), 1 + int(12), 1 + int(12)].slice(0, 1 + int(3));
      const customers = Array.from({ length: 1 + int(4) }, () => `c${int(12)}`);
      const content = exportOf(`x${made}`, months, customers);
      exports.set(content.sha256, content);
      return content;
    };
    const place = async (path: string, content: Export) => {
      await writeFile(path, content.csv);
      files.set(path, content);
    };
    /** Contents whose claim a killed attempt may have left held (its own, or the one it superseded). */
    const leftClaimed = new Set<string>();
    /**
     * Why an ingest may be rejected as a duplicate: `duplicate_drop` only when another drop committed these
     * bytes; `duplicate_in_progress` only when another drop holds their claim, has not committed them, and
     * a killed attempt left that claim (no ingest is running: the lease of a dead attempt has not run out).
     */
    const expectJustifiedDuplicate = async (path: string, content: Export, code: string, context: string) => {
      const dropId = dropIdFor("transactions", path);
      const records = (await readLedger(store)).filter((r) => r.status === "ok");
      const holder = records.find((r) => r.content_sha256 === content.sha256);
      if (code === "duplicate_drop") {
        expect(holder?.drop_id, `${context}: committed under another drop`).toBeDefined();
        expect(holder?.drop_id).not.toBe(dropId);
        return;
      }
      expect(holder, `${context}: in progress, so not committed by anyone`).toBeUndefined();
      const bytes = await store.get(LAKE.contentKey("transactions", content.sha256));
      const claim = JSON.parse(Buffer.from(bytes ?? "{}").toString("utf8")) as {
        drop_id?: string;
        lease_until?: string;
      };
      expect(claim.drop_id, `${context}: claimed by another drop`).not.toBe(dropId);
      expect(Date.parse(claim.lease_until ?? "")).toBeGreaterThan(Date.now());
      expect(leftClaimed.has(content.sha256), `${context}: the claim was left by a killed attempt`).toBe(
        true,
      );
    };

    /** Each committed record holds a known export, whole; readers see exactly the committed exports. */
    const check = async (context: string) => {
      const { records, orderIds } = await expectReadersMatchLedger(lakeDir, store, context);
      const shas = records.map((r) => r.content_sha256);
      expect(new Set(shas).size, `${context}: each content committed at most once`).toBe(shas.length);
      const committed = records.map((r) => {
        const content = exports.get(r.content_sha256);
        expect(content, `${context}: ${r.drop_id} holds a known export`).toBeDefined();
        expect(r.rows_ok).toBe(content?.orderIds.length);
        expect(r.rows_quarantined).toBe(1);
        return content as Export;
      });
      expect(orderIds, context).toEqual(committed.flatMap((c) => c.orderIds).sort());
      return { records, committed };
    };

    const tally = { ingests: 0, killed: 0, duplicates: 0, runs: 0 };
    const STEPS = 36;
    for (let step = 1; step <= STEPS; step++) {
      const paths = [...files.keys()];
      const roll = random();
      const action =
        paths.length === 0
          ? "new"
          : roll < 0.25
            ? "new"
            : roll < 0.45
              ? "replace"
              : roll < 0.6
                ? "copy"
                : roll < 0.72
                  ? "again"
                  : "run";
      const context = `step ${step} (${action})`;

      if (action === "run") {
        const before = await check(`${context}, before`);
        const warehouse = await openWarehouse(lakeDir);
        let summary: Awaited<ReturnType<typeof runLocal>>;
        try {
          summary = await runLocal({ lakeDir, warehouse, models: ["customer_base"], asOf: AS_OF });
        } finally {
          await warehouse.close();
        }
        tally.runs++;
        const snapshot = await readSnapshot(lakeDir, summary.runId);
        expect(
          snapshot.drops.map((d) => `${d.drop_id}@${d.version}`).sort(),
          `${context}: the run pinned the ledger as it started`,
        ).toEqual(before.records.map((r) => `${r.drop_id}@${r.version}`).sort());
        const customers = await customersIn(lakeDir, snapshot);
        expect(customers).toBe(new Set(before.committed.flatMap((c) => [...c.customers])).size);
        expect(modelRows(summary, "customer_base"), `${context}: customer_base = pinned customers`).toBe(
          customers,
        );
        await check(context);
        continue;
      }

      let path: string;
      if (action === "new") {
        path = join(inbox, `drop-${step}.csv`);
        await place(path, fresh());
      } else if (action === "replace") {
        path = paths[int(paths.length)] as string;
        await place(path, fresh());
      } else if (action === "copy") {
        const source = files.get(paths[int(paths.length)] as string) as Export;
        path = join(inbox, `copy-${step}.csv`);
        await place(path, source);
      } else {
        path = paths[int(paths.length)] as string;
      }
      const content = files.get(path) as Export;
      const killAt = random() < 0.5 ? 1 + int(12) : undefined;
      const graceMs = random() < 0.5 ? 0 : undefined;
      const killable = new KillableStore(store, killAt);
      const previous = (await readLedger(store)).find(
        (r) => r.drop_id === dropIdFor("transactions", path) && r.status === "ok",
      );
      tally.ingests++;
      try {
        const result = await ingest(killable, path, root, graceMs);
        expect(result.ledger.content_sha256, context).toBe(content.sha256);
      } catch (error) {
        if ((error as Error).message === "killed") {
          expect(killable.killed, context).toBe(true);
        } else if (/^duplicate_(drop|in_progress)$/.test(errorCode(error) ?? "")) {
          await expectJustifiedDuplicate(path, content, errorCode(error) ?? "", context);
          tally.duplicates++;
        } else {
          throw error;
        }
      }
      if (killable.killed) {
        tally.killed++;
        leftClaimed.add(content.sha256);
        if (previous !== undefined) leftClaimed.add(previous.content_sha256);
      }
      await check(
        `${context}${killable.killed ? `, killed at step ${killAt} (${killable.log.at(-1)})` : ""}`,
      );
    }
    if (seed === DEFAULT_SEED) {
      // What the default sequence covers (another seed covers what it happens to draw).
      expect(tally.killed).toBeGreaterThanOrEqual(5);
      expect(tally.runs).toBeGreaterThanOrEqual(3);
      expect(tally.duplicates).toBeGreaterThanOrEqual(1);
    }

    // Healing: every file ingested again, doctor, once more (claims of killed attempts are gone by then).
    for (let pass = 0; pass < 2; pass++) {
      for (const path of files.keys()) {
        await ingest(store, path, root).catch((error: unknown) => {
          if (!/^duplicate_(drop|in_progress)$/.test(errorCode(error) ?? "")) throw error;
        });
      }
      await doctor(store);
    }
    const healed = await expectConverged(lakeDir, store, undefined, "healed");
    const { records, committed } = await check("healed");
    // Every file's content is committed exactly once: under its own drop, or (a copy) under another's.
    const current = new Set([...files.values()].map((c) => c.sha256));
    for (const sha of current) {
      expect(
        records.filter((r) => r.content_sha256 === sha),
        `content ${sha.slice(0, 12)}`,
      ).toHaveLength(1);
    }
    // A drop whose record is not its file's current content kept its old version because the new content
    // is another drop's (a duplicate is rejected without touching what was published).
    for (const record of records) {
      const own = files.get(record.source);
      expect(own, record.source).toBeDefined();
      if (own?.sha256 !== record.content_sha256) expect(current.has(own?.sha256 ?? "")).toBe(true);
    }

    // Converged: ingesting everything again changes nothing.
    const ledgerBefore = JSON.stringify(healed);
    for (const path of files.keys()) {
      await ingest(store, path, root).then(
        (result) => expect(result.unchanged, path).toBe(true),
        (error: unknown) => expect(errorCode(error), path).toBe("duplicate_drop"),
      );
    }
    expect(JSON.stringify((await readLedger(store)).filter((r) => r.status === "ok"))).toBe(ledgerBefore);

    // And a run over the healed lake counts every committed customer once.
    const warehouse = await openWarehouse(lakeDir);
    try {
      const summary = await runLocal({ lakeDir, warehouse, models: ["customer_base"], asOf: AS_OF });
      expect(modelRows(summary, "customer_base")).toBe(
        new Set(committed.flatMap((c) => [...c.customers])).size,
      );
    } finally {
      await warehouse.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// 3. A run during an ingest

describe("a run during an ingest", () => {
  it("reads one state in every model: a drop committed mid-run is seen by the next run only", async () => {
    const root = await scratch("crmlake-faults-midrun-");
    const lakeDir = join(root, "lake");
    const store = new LocalObjectStore(lakeDir);
    await mkdir(join(root, "inbox"), { recursive: true });
    const early = exportOf("early", [1, 2, 3], ["c1", "c2", "c3", "c4", "c5"]);
    const late = exportOf("late", [2, 4], ["c1", "c6", "c7", "c8"]);
    const earlyPath = join(root, "inbox", "early.csv");
    const latePath = join(root, "inbox", "late.csv");
    await writeFile(earlyPath, early.csv);
    await writeFile(latePath, late.csv);
    await ingest(store, earlyPath, root);

    const duck = await openWarehouse(lakeDir);
    const materialized: string[] = [];
    let ingestedAfter: string | undefined;
    const ingestingMidRun: Warehouse = {
      engine: duck.engine,
      attachInputs: (inputs) => duck.attachInputs(inputs),
      replaceView: (name, select) => duck.replaceView(name, select),
      materialize: async (request) => {
        const result = await duck.materialize(request);
        materialized.push(request.model);
        if (ingestedAfter === undefined) {
          ingestedAfter = request.model;
          const { ledger } = await ingest(store, latePath, root);
          expect(ledger.status).toBe("ok");
        }
        return result;
      },
      attachMaterialized: (request) => duck.attachMaterialized(request),
      attachPublished: () => duck.attachPublished(),
      query: (sql) => duck.query(sql),
      close: () => duck.close(),
    };
    let during: Awaited<ReturnType<typeof runLocal>>;
    try {
      during = await runLocal({
        lakeDir,
        warehouse: ingestingMidRun,
        models: ["customer_rfm"],
        asOf: AS_OF,
      });
    } finally {
      await duck.close();
    }
    // The new drop was committed after the first table model and before the others.
    expect(ingestedAfter).toBe("int_customer_orders");
    expect(materialized).toEqual([
      "int_customer_orders",
      "int_purchase_occasions",
      "data_capabilities",
      "customer_base",
      "customer_rfm",
    ]);
    expect((await readLedger(store)).filter((r) => r.status === "ok")).toHaveLength(2);

    // Every model of that run agrees with the state before the new drop.
    expect(modelRows(during, "int_customer_orders")).toBe(early.orderIds.length);
    expect(modelRows(during, "customer_base")).toBe(early.customers.size);
    expect(modelRows(during, "customer_rfm")).toBe(early.customers.size);
    const pinned = await readSnapshot(lakeDir, during.runId);
    expect(pinned.drops.map((d) => d.drop_id)).toHaveLength(1);
    expect(await customersIn(lakeDir, pinned)).toBe(early.customers.size);

    // The next run sees the new drop, in every model.
    const next = await openWarehouse(lakeDir);
    let after: Awaited<ReturnType<typeof runLocal>>;
    try {
      after = await runLocal({ lakeDir, warehouse: next, models: ["customer_rfm"], asOf: AS_OF });
    } finally {
      await next.close();
    }
    const everyone = new Set([...early.customers, ...late.customers]).size;
    expect(everyone).toBe(8);
    expect(modelRows(after, "int_customer_orders")).toBe(early.orderIds.length + late.orderIds.length);
    expect(modelRows(after, "customer_base")).toBe(everyone);
    expect(modelRows(after, "customer_rfm")).toBe(everyone);
  });
});
