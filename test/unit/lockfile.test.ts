import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

interface LockEntry {
  optionalDependencies?: Record<string, string>;
}

describe("package-lock.json", () => {
  it("lists every optional platform package, so npm ci accepts it (run scripts/lock-platform-packages.py after npm install)", async () => {
    const lock = JSON.parse(await readFile("package-lock.json", "utf8")) as {
      packages: Record<string, LockEntry>;
    };
    const missing = Object.values(lock.packages).flatMap((entry) =>
      Object.keys(entry.optionalDependencies ?? {}).filter(
        (name) => !(`node_modules/${name}` in lock.packages),
      ),
    );
    expect(missing).toEqual([]);
  });
});
