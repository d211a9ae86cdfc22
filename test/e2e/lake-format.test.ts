/**
 * Issue 11: lakes carry a format version (ADR 0010, decision 7). A lake written by crmlake before versions
 * (test/fixtures/lake-format-1, made by commit 7e7cd2f) is refused by the commands that write, with the
 * command that upgrades it; `crmlake doctor --upgrade` upgrades it in place, and everything works after.
 */
import { cp, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { crmlake } from "../helpers/cli.ts";

const FIXTURE = resolve("test/fixtures/lake-format-1");

describe("a lake written before format versions", () => {
  it("is refused with the upgrade command, upgraded in place, and works as before afterwards", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-format-"));
    await cp(join(FIXTURE, "lake"), join(dir, "lake"), { recursive: true });
    await writeFile(join(dir, "may.csv"), "order_id,customer_id,ordered_at,amount\no9,c3,2024-05-02,40.00\n");

    const refused = crmlake(["ingest", "transactions", "may.csv"], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "has format 1; this crmlake writes format 3. Upgrade it in place with: crmlake doctor --upgrade --lake lake",
    );
    const run = crmlake(["run", "--as-of", "2024-03-31"], dir);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/has format 1.*crmlake doctor --upgrade --lake lake/);
    expect(crmlake(["doctor"], dir)).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/found +format/),
    });

    const upgraded = crmlake(["doctor", "--upgrade"], dir);
    expect(upgraded.stdout).toContain(
      "Upgraded the lake lake from format 1 to 3: 2 ledger record(s) given the version v1, 5 dataset manifest(s) written.",
    );
    expect(upgraded.code).toBe(0);

    // The rows written before the upgrade read as they did.
    const count = (sql: string) => crmlake(["query", sql, "--format", "csv"], dir).stdout;
    expect(count("select count(*) as n from transactions")).toBe("n\n3\n");
    expect(count("select count(*) as n from quarantine")).toBe("n\n1\n");
    expect(count("select drop_id, version from drops order by drop_id")).toBe(
      "drop_id,version\ncustomers-5eca87b4ab,v1\norders-2024-eec6072fbf,v1\n",
    );
    // Its content index still holds: the same bytes under another name are a duplicate.
    await cp(join(FIXTURE, "orders-2024.csv"), join(dir, "orders-copy.csv"));
    const copy = crmlake(["ingest", "transactions", "orders-copy.csv"], dir);
    expect(copy.code).toBe(1);
    expect(copy.stderr).toContain("same content");
    // New drops and runs work.
    expect(crmlake(["ingest", "transactions", "may.csv"], dir).code).toBe(0);
    expect(count("select count(*) as n from transactions")).toBe("n\n4\n");
    expect(crmlake(["run", "--as-of", "2024-05-31", "--models", "customer_base"], dir).code).toBe(0);
    expect(crmlake(["doctor"], dir)).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("is healthy (format 3)"),
    });
  });
});
