import { defineConfig } from "vitest/config";

// The moto tier: the S3/Glue publishing code against moto's server (Python, from PyPI), a second
// implementation of those APIs beside s3rver and the project's Glue fake. .ci/run installs moto.
export default defineConfig({
  test: {
    name: "moto",
    include: ["test/moto/**/*.test.ts"],
    hookTimeout: 90_000,
    testTimeout: 60_000,
  },
});
