/**
 * The plumbing the protocol fakes (athena-fake.ts, glue-fake.ts) share: an HTTP server on 127.0.0.1 at a free
 * port, closed with the keep-alive connections the SDK holds, and the client settings that point a real AWS
 * SDK client at it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Loopback {
  readonly server: Server;
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function listenOnLoopback(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Loopback> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
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
