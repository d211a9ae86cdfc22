import { z } from "zod";
import { DATASET_NAMES, type DatasetName, isDatasetName } from "../catalogue/contracts.ts";
import { IngestError } from "../errors.ts";

/**
 * The S3 event notification that S3 puts into SQS as a message body
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
 * Only the fields ingest needs are checked; the rest passes through.
 */
const s3RecordSchema = z.looseObject({
  eventSource: z.literal("aws:s3"),
  eventName: z.string(),
  s3: z.looseObject({
    bucket: z.looseObject({ name: z.string().min(1) }),
    object: z.looseObject({
      key: z.string().min(1),
      size: z.number().optional(),
      eTag: z.string().optional(),
    }),
  }),
});

const s3NotificationSchema = z.union([
  z.looseObject({ Records: z.array(s3RecordSchema).min(1) }),
  // Sent once when a notification configuration is saved; carries no object.
  z.looseObject({ Event: z.literal("s3:TestEvent") }),
]);

export interface LandedObject {
  readonly bucket: string;
  readonly key: string;
  readonly size?: number;
}

/**
 * Parses one SQS message body into the objects it announces (none for S3's test event).
 * Throws a plain Error for a body that is not an S3 notification: such a message is poison and must end
 * in the dead-letter queue, not be dropped silently.
 */
export function parseS3Notification(body: string): LandedObject[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Error(`SQS message body is not JSON: ${body.slice(0, 120)}`);
  }
  const parsed = s3NotificationSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `SQS message body is not an S3 event notification: ${parsed.error.issues[0]?.message ?? ""}`,
    );
  }
  const data = parsed.data;
  if (!("Records" in data) || !Array.isArray(data.Records)) return [];
  const records = data.Records as z.output<typeof s3RecordSchema>[];
  return records
    .filter((r) => r.eventName.startsWith("ObjectCreated"))
    .map((r) => ({
      bucket: r.s3.bucket.name,
      // Keys arrive URL-encoded, with `+` for spaces.
      key: decodeURIComponent(r.s3.object.key.replace(/\+/g, " ")),
      ...(r.s3.object.size === undefined ? {} : { size: r.s3.object.size }),
    }));
}

export interface DropRoute {
  readonly dataset: DatasetName;
  /** Name of the source profile to apply, from the key's second segment, if any. */
  readonly profile?: string;
}

/**
 * Where a landed key goes. The landing bucket is organised by dataset:
 *
 *   <dataset>/<file>              e.g. transactions/2024-05-01.csv
 *   <dataset>/<profile>/<file>    e.g. transactions/online-retail/2011-12.csv.gz  (profile
 *                                  `profiles/online-retail.json` in the landing bucket)
 *
 * A key with three or more segments names its profile in the second one.
 */
export function routeKey(key: string): DropRoute {
  const segments = key.split("/").filter((s) => s !== "");
  const [dataset, ...rest] = segments;
  if (dataset === undefined || !isDatasetName(dataset) || rest.length === 0) {
    throw new IngestError(
      "bad_landing_key",
      `Landed object "${key}" is not under a dataset folder. Put files under ${DATASET_NAMES.map((d) => `${d}/`).join(", ")}`,
    );
  }
  return rest.length >= 2 ? { dataset, profile: rest[0] } : { dataset };
}
