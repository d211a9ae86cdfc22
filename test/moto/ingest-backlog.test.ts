/**
 * The ingest queue's depth as a scoring run reads it before pinning the ledger (functions/storage/sqs-backlog.ts,
 * issue 18), against moto's SQS: waiting, in-flight (received, not deleted) and delayed messages all count as
 * landed files not yet ingested; a drained queue reads 0.
 */
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqsIngestBacklog } from "../../functions/storage/sqs-backlog.ts";
import { type MotoServer, startMoto } from "./moto-server.ts";

let moto: MotoServer;
let sqs: SQSClient;

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient({
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
});

afterAll(async () => {
  sqs?.destroy();
  await moto?.stop();
});

describe("SqsIngestBacklog on moto's SQS", () => {
  it("counts waiting, in-flight and delayed messages, and reads 0 once they are deleted", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "crmlake-ingest" }));
    if (QueueUrl === undefined) throw new Error("moto created no queue");
    const backlog = new SqsIngestBacklog({ client: sqs, queueUrl: QueueUrl });
    expect(backlog.location).toBe(QueueUrl);
    expect(await backlog.pending()).toBe(0);

    for (const key of ["a.csv", "b.csv"]) {
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ key }) }));
    }
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "{}", DelaySeconds: 60 }));
    expect(await backlog.pending()).toBe(3);

    // Ingest has received one (in flight, invisible): still not ingested.
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 300 }),
    );
    expect(Messages).toHaveLength(1);
    expect(await backlog.pending()).toBe(3);

    // Ingest finished it: the message is deleted.
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages?.[0]?.ReceiptHandle }));
    expect(await backlog.pending()).toBe(2);
  });

  it("fails loudly on a queue that does not exist, rather than reading it as drained", async () => {
    const backlog = new SqsIngestBacklog({
      client: sqs,
      queueUrl: `${moto.endpoint}/123456789012/no-such-queue`,
    });
    await expect(backlog.pending()).rejects.toThrow(/queue|exist/i);
  });
});
