/**
 * Runs s3rver in its own Node process; test/helpers/s3-server.ts starts it. Input: one JSON argument
 * `{ directory, buckets }`. Output: one JSON line `{ port }` on stdout once it listens. It stops when
 * its stdin closes, so it never outlives the test process that started it, even one that crashed.
 */
import S3rver from "s3rver";

interface ChildConfig {
  readonly directory: string;
  readonly buckets: readonly string[];
}

function parseConfig(raw: string | undefined): ChildConfig {
  const value: unknown = JSON.parse(raw ?? "null");
  if (
    typeof value === "object" &&
    value !== null &&
    "directory" in value &&
    typeof value.directory === "string" &&
    "buckets" in value &&
    Array.isArray(value.buckets) &&
    value.buckets.every((bucket: unknown) => typeof bucket === "string")
  ) {
    return { directory: value.directory, buckets: value.buckets };
  }
  throw new Error(`s3rver-process expects {"directory": string, "buckets": string[]}, got ${raw}`);
}

const config = parseConfig(process.argv[2]);
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory: config.directory,
  configureBuckets: config.buckets.map((name) => ({ name })),
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

process.stdin.resume();
process.stdin.on("end", () => {
  server.close().finally(() => process.exit(0));
});
