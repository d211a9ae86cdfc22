import { defineConfig } from "vitest/config";

// One project per tier (STYLE.md); the Trino tier has its own config (vitest.trino.config.ts).
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { test: { name: "sql", include: ["test/sql/**/*.test.ts"], testTimeout: 60_000 } },
      {
        test: {
          name: "infra",
          include: ["test/infra/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], testTimeout: 180_000, hookTimeout: 120_000 },
      },
    ],
  },
});
