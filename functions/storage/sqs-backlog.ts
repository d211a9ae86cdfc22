/**
 * The ingest queue's depth as the scoring run's IngestBacklog (functions/core/ports/ingest-backlog.ts): messages
 * waiting (visible), being ingested (in flight: not visible) and delayed, each of S3's object-created
 * notifications being one landed file. SQS's counts are approximate ("ApproximateNumberOf…"), which is what a
 * wait for a drained queue needs: a file counted late is a late file, re-scored by its own rule.
 */
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { IngestBacklog } from "../core/ports/ingest-backlog.ts";

const COUNTS = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
] as const;

export class SqsIngestBacklog implements IngestBacklog {
  readonly location: string;
  private readonly client: SQSClient;

  constructor(options: { client: SQSClient; queueUrl: string }) {
    this.client = options.client;
    this.location = options.queueUrl;
  }

  async pending(): Promise<number> {
    const { Attributes } = await this.client.send(
      new GetQueueAttributesCommand({ QueueUrl: this.location, AttributeNames: [...COUNTS] }),
    );
    return COUNTS.reduce((sum, name) => sum + Number(Attributes?.[name] ?? 0), 0);
  }
}
