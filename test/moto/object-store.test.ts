/**
 * The ObjectStore's conditional writes (ADR 0010) against moto's S3, which honours If-None-Match and If-Match
 * as S3 does (s3rver ignores them): the ledger's commits and content claims rely on them on AWS.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe } from "vitest";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { conditionalWriteContract } from "../helpers/conditional-writes.ts";
import { type MotoServer, motoS3, startMoto } from "./moto-server.ts";

const BUCKET = "crmlake-conditional";
let moto: MotoServer;
let s3: S3Client;
let counter = 0;

beforeAll(async () => {
  moto = await startMoto();
  s3 = await motoS3(moto, BUCKET);
});

afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

describe("S3ObjectStore's conditional writes on moto", () => {
  conditionalWriteContract(() => new S3ObjectStore({ bucket: BUCKET, prefix: `t${++counter}`, client: s3 }));
});
