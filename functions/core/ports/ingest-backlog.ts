/**
 * IngestBacklog: files that have landed and are not ingested yet, as a scoring run sees them before it pins the
 * ledger (issue 18). On AWS it is the ingest queue's depth (functions/storage/sqs-backlog.ts); the local lake has
 * none, since `crmlake ingest` finishes before `crmlake run` starts.
 */
export interface IngestBacklog {
  /**
   * Landed files waiting for ingest or being ingested now: an approximate count (SQS's), 0 when drained.
   * Where the backlog is read from, in messages (e.g. the queue's URL), for logs and the run record.
   */
  pending(): Promise<number>;
  readonly location: string;
}
