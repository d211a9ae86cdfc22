import { defineConfig } from "vitest/config";

// The Trino tier starts a real Trino JVM (fetch.ts downloads ~0.8 GB on a cold cache), so it runs apart
// from the default projects, one file at a time in a single fork: each server wants ~3 GB of heap and a
// 2-core CI machine cannot usefully run two of them.
export default defineConfig({
  test: {
    name: "trino",
    include: ["test/trino/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
    // Cold cache: download + extract + JVM start-up; warm cache start-up is ~15-25 s on 2 cores.
    hookTimeout: 20 * 60_000,
    testTimeout: 5 * 60_000,
    teardownTimeout: 60_000,
  },
});
