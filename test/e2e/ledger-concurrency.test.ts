/**
 * Issue 11, case 1: two byte-identical files under different names, ingested at the same time into one
 * lake, by two processes. Before the content claim (ADR 0010) both were accepted and every row counted twice.
 */
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempLake } from "../helpers/lake.ts";

const BIN = resolve("bin/crmlake.mjs");

function crmlake(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/** An export of `lines` order lines (enough that converting takes a while, so the two ingests overlap). */
function orders(lines: number): string {
  const rows = ["order_id,customer_id,ordered_at,amount"];
  for (let i = 0; i < lines; i++)
    rows.push(`o${i},c${i % 997},2024-0${1 + (i % 9)}-1${i % 10},${(i % 50) + 1}.25`);
  return `${rows.join("\n")}\n`;
}

describe("identical drops ingested at the same time", () => {
  it("by two processes: exactly one lands, the other is rejected as a duplicate, every line counted once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-concurrent-"));
    const content = orders(20_000);
    await writeFile(join(dir, "export-monday.csv"), content);
    await writeFile(join(dir, "export-copy.csv"), content);
    const [a, b] = await Promise.all([
      crmlake(["ingest", "transactions", "export-monday.csv", "--lake", "lake"], dir),
      crmlake(["ingest", "transactions", "export-copy.csv", "--lake", "lake"], dir),
    ]);
    const outcomes = [a, b].map((r) => r.code);
    expect(outcomes.sort()).toEqual([0, 1]);
    const rejected = a.code === 1 ? a : b;
    expect(rejected.stderr).toMatch(/duplicate_(drop|in_progress)|same content/);
    const count = await crmlake(
      ["query", "select count(*) as n from transactions", "--lake", "lake", "--format", "csv"],
      dir,
    );
    expect(count.stdout).toBe("n\n20000\n");
  });

  it("in one process, many at once: exactly one of them lands", async () => {
    const lake = await tempLake();
    const content = orders(2_000);
    const paths = await Promise.all(Array.from({ length: 4 }, (_, i) => lake.file(`copy-${i}.csv`, content)));
    const results = await Promise.allSettled(paths.map((p) => lake.ingest("transactions", p)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected")
        expect((r.reason as { code?: string }).code).toMatch(/^duplicate_(drop|in_progress)$/);
    }
    expect(await lake.query("select count(*)::INTEGER as n from transactions")).toEqual([{ n: 2000 }]);
  });
});
