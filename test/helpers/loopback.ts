/**
 * The plumbing the protocol fakes (athena-fake.ts, glue-fake.ts) share: an HTTP server on 127.0.0.1 at a free
 * port that speaks the AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target: <Service>.<Operation>`, errors as HTTP
 * 400 with `{"__type", "Message"}`), closed with the keep-alive connections the SDK holds, and the client
 * settings that point a real AWS SDK client at it.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Loopback {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** An error the fake answers with, in the service's own shape. */
export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    readonly fields: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "fake-request" });
  res.end(JSON.stringify(body));
}

/**
 * Serves `<targetPrefix><Operation>` requests: `serve` gets the operation and the parsed input and returns the
 * response body, or throws AwsJsonError (any other error is answered as InvalidRequestException).
 */
export async function listenJson11(
  targetPrefix: string,
  serve: (operation: string, input: Record<string, unknown>) => unknown,
): Promise<Loopback> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      try {
        let input: Record<string, unknown>;
        try {
          input = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
        } catch {
          throw new AwsJsonError("SerializationException", "bad JSON");
        }
        if (req.method !== "POST" || !target.startsWith(targetPrefix)) {
          throw new AwsJsonError("UnknownOperationException", `unexpected ${req.method} ${target}`);
        }
        reply(res, 200, serve(target.slice(targetPrefix.length), input));
      } catch (error) {
        const e =
          error instanceof AwsJsonError ? error : new AwsJsonError("InvalidRequestException", String(error));
        reply(res, e.status, { __type: e.type, Message: e.message, ...e.fields });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // the SDK keeps connections alive
      await closed;
    },
  };
}

/** What an SDK client needs to talk to a fake: its endpoint, a region, dummy credentials, SDK retries off. */
export function loopbackClientConfig(endpoint: string) {
  return {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" },
    maxAttempts: 1,
  };
}
