/**
 * A moto server (https://pypi.org/project/moto/, the Python AWS mock) on loopback: a second, independent
 * implementation of the Glue and S3 APIs to run the publishing code against, beside the project's own Glue
 * fake and s3rver. `.ci/run` installs `moto[server]` from PyPI into a virtual environment and passes its
 * `moto_server` in CRMLAKE_MOTO_SERVER; locally, a `moto_server` on PATH works too.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no free port on 127.0.0.1");
  return address.port;
}

export async function startMoto(): Promise<MotoServer> {
  const command = process.env.CRMLAKE_MOTO_SERVER ?? "moto_server";
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(command, ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (error) =>
      reject(
        new Error(
          `Cannot start ${command}: ${error.message}. This tier needs moto's server from PyPI: python3 -m venv .venv && .venv/bin/pip install "moto[server]==5.1.22", then CRMLAKE_MOTO_SERVER=.venv/bin/moto_server (.ci/run does this).`,
        ),
      ),
    );
    child.once("exit", (code) =>
      reject(new Error(`${command} exited with ${code} before it answered:\n${stderr}`)),
    );
  });
  const deadline = Date.now() + 60_000;
  const ready = (async () => {
    for (;;) {
      try {
        const response = await fetch(`${endpoint}/moto-api/`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`${command} did not answer on ${endpoint} within 60 s:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  await Promise.race([ready, failed]);
  failed.catch(() => {}); // the exit at stop() is expected
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** An S3 client of a moto server, with a bucket created for the test. */
export async function motoS3(moto: MotoServer, bucket: string): Promise<S3Client> {
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return s3;
}
