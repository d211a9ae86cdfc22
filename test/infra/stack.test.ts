import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  COLUMN_TYPES,
  CONTRACTS,
  DATASET_NAMES,
  LINEAGE_COLUMNS,
} from "../../functions/core/catalogue/contracts.ts";
import { EXPORT_LAYOUT, LAKE, MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { STACK_OUTPUTS } from "../../functions/core/catalogue/stack-outputs.ts";
import type { LedgerRecord } from "../../functions/core/ingest/types.ts";
import { LATE_DROP_EVENT } from "../../functions/core/runner/schedule.ts";
import { runDatabaseName } from "../../functions/engines/athena/warehouse.ts";
import { S3ModelOutputs } from "../../functions/storage/s3-outputs.ts";
import { PROJECT_ROOT } from "../../infra/config.ts";
import { buildCrmlakeApp } from "../../infra/crmlake-app.ts";
import { METRIC_SERVICES, METRICS_NAMESPACE } from "../../infra/stacks/crmlake-stack.ts";
import {
  CDK_JSON_CONTEXT,
  cleanup,
  flat,
  list,
  logicalId,
  MODELS,
  nagFindings,
  type Statement,
  type Synth,
  statementsOf as statementsOfRole,
  synth,
} from "./helpers.ts";

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};
const strings = (value: unknown): string[] => list(value as string | string[]);

/** The models that publish a table (`materialized: table`), in the order loadModels reads them. */
const published = () => MODELS.filter((m) => m.header.materialized === "table");

/**
 * The Hive type a Glue column gets for a header's Trino type, written out independently of the Athena
 * adapter's hiveType for the notation the headers use (ADR 0003, decision 4). A type not listed here fails
 * the test: add it with the Hive spelling Athena's DDL expects.
 */
function expectedHive(trino: string): string {
  const simple: Record<string, string> = {
    varchar: "string",
    integer: "int",
    bigint: "bigint",
    double: "double",
    boolean: "boolean",
    date: "date",
  };
  const t = trino.trim().toLowerCase();
  if (simple[t] !== undefined) return simple[t];
  if (/^decimal\(\d+,\d+\)$/.test(t)) return t;
  if (/^timestamp(\(\d\))?$/.test(t)) return "timestamp";
  const array = /^array\((.+)\)$/.exec(t);
  if (array?.[1] !== undefined) return `array<${expectedHive(array[1])}>`;
  throw new Error(`the test does not know the header type "${trino}"`);
}

/** Names of the Glue tables of the default synth. */
const glueTableNames = () =>
  Object.values(resources)
    .filter((r) => r.Type === "AWS::Glue::Table")
    .map((r) => (r.Properties.TableInput as { Name: string }).Name);

let s: Synth;
let resources: Record<string, Resource>;
let id: (construct: IConstruct) => string;

/** Resource of a construct; fails the test when absent. */
function resourceOf(construct: IConstruct): Resource {
  const r = resources[id(construct)];
  if (r === undefined) throw new Error(`no resource ${id(construct)}`);
  return r;
}

/** Every statement of the inline policies attached to a role. */
const statementsOf = (roleLogicalId: string): Statement[] => statementsOfRole(s, roleLogicalId);

/** Actions → flattened resources, for the Allow statements of a role. */
function allowed(roleLogicalId: string): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const st of statementsOf(roleLogicalId).filter((x) => x.Effect === "Allow")) {
    for (const action of list(st.Action)) {
      const set = map.get(action) ?? new Set<string>();
      for (const r of list(st.Resource)) set.add(flat(r));
      map.set(action, set);
    }
  }
  return map;
}

beforeAll(() => {
  s = synth();
  resources = s.template.toJSON().Resources as Record<string, Resource>;
  id = (construct) => logicalId(s, construct);
});
afterAll(() => cleanup(s));

describe("buckets", () => {
  it("creates landing, lake, Athena results and access-log buckets, nothing else", () => {
    s.template.resourceCountIs("AWS::S3::Bucket", 4);
  });

  it("encrypts the data buckets with the rotating data key (bucket keys on) and access logs with SSE-S3", () => {
    for (const bucket of [s.stack.landing, s.stack.lake, s.stack.results]) {
      expect(resourceOf(bucket).Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: "aws:kms",
              KMSMasterKeyID: { "Fn::GetAtt": [id(s.stack.dataKey), "Arn"] },
            },
          },
        ],
      });
    }
    expect(resourceOf(s.stack.accessLogs).Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
    });
    s.template.resourceCountIs("AWS::KMS::Key", 2);
    s.template.allResourcesProperties("AWS::KMS::Key", { EnableKeyRotation: true });
  });

  it("blocks all public access on every bucket", () => {
    s.template.allResourcesProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it("denies every request without TLS (and below TLS 1.2) in each bucket's policy", () => {
    for (const bucket of [s.stack.landing, s.stack.lake, s.stack.results, s.stack.accessLogs]) {
      s.template.hasResourceProperties("AWS::S3::BucketPolicy", {
        Bucket: { Ref: id(bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "s3:*",
              Principal: { AWS: "*" },
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
            Match.objectLike({
              Effect: "Deny",
              Action: "s3:*",
              Condition: { NumericLessThan: { "s3:TlsVersion": 1.2 } },
            }),
          ]),
        },
      });
    }
  });

  it("versions landing and lake, not results or logs", () => {
    for (const bucket of [s.stack.landing, s.stack.lake]) {
      expect(resourceOf(bucket).Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
    }
    for (const bucket of [s.stack.results, s.stack.accessLogs]) {
      expect(resourceOf(bucket).Properties.VersioningConfiguration).toBeUndefined();
    }
  });

  it("logs requests to the data buckets into the access-log bucket, one prefix per bucket", () => {
    const prefixes = [s.stack.landing, s.stack.lake, s.stack.results].map((bucket) => {
      const logging = resourceOf(bucket).Properties.LoggingConfiguration as Record<string, unknown>;
      expect(logging.DestinationBucketName).toEqual({ Ref: id(s.stack.accessLogs) });
      return logging.LogFilePrefix;
    });
    expect(new Set(prefixes).size).toBe(3);
    expect(resourceOf(s.stack.accessLogs).Properties.LoggingConfiguration).toBeUndefined();
  });

  it("ages raw drops to STANDARD_IA after 30 days and GLACIER_IR after 90, and expires old versions", () => {
    const rules = (resourceOf(s.stack.landing).Properties.LifecycleConfiguration as { Rules: unknown[] })
      .Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Status: "Enabled",
          Transitions: [
            { StorageClass: "STANDARD_IA", TransitionInDays: 30 },
            { StorageClass: "GLACIER_IR", TransitionInDays: 90 },
          ],
        }),
        expect.objectContaining({ Status: "Enabled", NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }),
      ]),
    );
    const lakeRules = (resourceOf(s.stack.lake).Properties.LifecycleConfiguration as { Rules: unknown[] })
      .Rules;
    expect(lakeRules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
      ]),
    );
    expect(JSON.stringify(lakeRules)).not.toContain("ExpirationInDays");
  });

  it("expires Athena results after 7 days and access logs after the log retention", () => {
    expect(resourceOf(s.stack.results).Properties.LifecycleConfiguration).toEqual({
      Rules: expect.arrayContaining([expect.objectContaining({ ExpirationInDays: 7, Status: "Enabled" })]),
    });
    expect(resourceOf(s.stack.accessLogs).Properties.LifecycleConfiguration).toEqual({
      Rules: expect.arrayContaining([expect.objectContaining({ ExpirationInDays: 90, Status: "Enabled" })]),
    });
  });

  it("retains buckets, keys and logs on stack deletion by default, and deletes no objects", () => {
    for (const type of ["AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"]) {
      const found = Object.values(resources).filter((r) => r.Type === type);
      expect(found.length).toBeGreaterThan(0);
      for (const r of found) {
        expect(r.DeletionPolicy).toBe("Retain");
        expect(r.UpdateReplacePolicy).toBe("Retain");
      }
    }
    s.template.resourceCountIs("Custom::S3AutoDeleteObjects", 0);
  });
});

describe("crmlake:destroyData", () => {
  let d: Synth;
  beforeAll(() => {
    d = synth({ "crmlake:destroyData": "true" });
  });
  afterAll(() => cleanup(d));

  it("deletes buckets with their objects, keys and logs when set", () => {
    const all = Object.values(d.template.toJSON().Resources as Record<string, Resource>);
    for (const type of ["AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"]) {
      for (const r of all.filter((x) => x.Type === type)) expect(r.DeletionPolicy).toBe("Delete");
    }
    d.template.resourceCountIs("Custom::S3AutoDeleteObjects", 4);
  });
});

describe("Glue catalog", () => {
  const table = (name: string) => {
    const found = Object.values(resources).filter(
      (r) => r.Type === "AWS::Glue::Table" && (r.Properties.TableInput as { Name: string }).Name === name,
    );
    expect(found).toHaveLength(1);
    const input = (found[0] as Resource).Properties.TableInput as {
      Name: string;
      Description: string;
      TableType: string;
      Parameters: Record<string, unknown>;
      PartitionKeys: { Name: string; Type: string; Comment: string }[];
      StorageDescriptor: {
        Location: unknown;
        Columns: { Name: string; Type: string; Comment: string }[];
        SerdeInfo: { SerializationLibrary: string; Parameters?: Record<string, string> };
        InputFormat: string;
        OutputFormat: string;
      };
    };
    return { ...input, location: flat(input.StorageDescriptor.Location) };
  };
  const lake = () => `s3://<${id(s.stack.lake)}>/`;

  it("declares one database named after the stack and a table per dataset, quarantine, ledger, runs and published model, and its latest table", () => {
    s.template.hasResourceProperties("AWS::Glue::Database", {
      CatalogId: { Ref: "AWS::AccountId" },
      DatabaseInput: { Name: "crmlake" },
    });
    s.template.resourceCountIs("AWS::Glue::Table", DATASET_NAMES.length + 3 + 2 * published().length);
    s.template.allResourcesProperties("AWS::Glue::Table", {
      DatabaseName: { Ref: id(s.stack.catalog.database) },
      TableInput: { TableType: "EXTERNAL_TABLE" },
    });
  });

  it.each(DATASET_NAMES)(
    "types the columns of %s from the contract, comments included, plus lineage and the partition column",
    (name) => {
      const t = table(name);
      const contract = CONTRACTS[name];
      const partition = contract.partition;
      expect(t.StorageDescriptor.Columns).toEqual([
        ...contract.columns.map((c) => ({
          Name: c.name,
          Type: COLUMN_TYPES[c.type].glue,
          Comment: c.description,
        })),
        ...LINEAGE_COLUMNS.map((c) => ({
          Name: c.name,
          Type: COLUMN_TYPES[c.type].glue,
          Comment: c.description,
        })),
        ...(partition === undefined
          ? []
          : [{ Name: partition.column, Type: "string", Comment: expect.any(String) }]),
      ]);
      expect(t.Description.startsWith(contract.description)).toBe(true);
      expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
      );
    },
  );

  it.each(DATASET_NAMES)(
    "reads %s through its symlink manifest, which ingest rebuilds from the ledger (ADR 0010)",
    (name) => {
      const t = table(name);
      expect(t.StorageDescriptor.InputFormat).toBe("org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat");
      expect(t.StorageDescriptor.OutputFormat).toBe(
        "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
      );
      // The manifest alone in its folder: a symlink reader fails on any other object there.
      expect(t.location).toBe(`${lake()}${LAKE.manifestPrefix(name)}`);
      expect(`${LAKE.manifestKey(name)}`.startsWith(LAKE.manifestPrefix(name))).toBe(true);
      expect(t.PartitionKeys).toEqual([]);
      expect(Object.keys(t.Parameters).filter((k) => k.startsWith("projection."))).toEqual([]);
      expect(t.Parameters).toEqual({ EXTERNAL: "TRUE", classification: "parquet" });
    },
  );

  it("types money as decimal(18,2), timestamps as timestamp and the line number as bigint", () => {
    const types = Object.fromEntries(
      table("transactions").StorageDescriptor.Columns.map((c) => [c.Name, c.Type]),
    );
    expect(types).toMatchObject({
      amount: "decimal(18,2)",
      ordered_at: "timestamp",
      quantity: "int",
      drop_id: "string",
      line_number: "bigint",
    });
  });

  it("keeps transactions' order_month as a column of the files, as ingest writes it", () => {
    const t = table("transactions");
    expect(t.StorageDescriptor.Columns.map((c) => c.Name)).toContain("order_month");
  });

  it("declares the quarantine with its columns and an enum projection of the datasets", () => {
    const t = table("quarantine");
    expect(t.StorageDescriptor.Columns.map((c) => [c.Name, c.Type])).toEqual([
      ["drop_id", "string"],
      ["line_number", "bigint"],
      ["reason_code", "string"],
      ["reason", "string"],
      ["raw", "string"],
    ]);
    expect(t.PartitionKeys.map((c) => [c.Name, c.Type])).toEqual([["dataset", "string"]]);
    expect(t.Parameters).toMatchObject({
      "projection.enabled": "true",
      "projection.dataset.type": "enum",
      "projection.dataset.values": DATASET_NAMES.join(","),
    });
    const template = flat(t.Parameters["storage.location.template"]);
    expect(template).toBe(`${lake()}quarantine/dataset=\${dataset}/`);
    expect(`${lake()}${LAKE.quarantineKey("customers", "d1")}`).toContain(
      template.replace(`\${dataset}`, "customers"),
    );
  });

  it("declares the drop ledger as JSON lines with every LedgerRecord field", () => {
    // Adding a field to LedgerRecord fails type-checking here until the Glue table gets the column too.
    const fields = {
      drop_id: "string",
      dataset: "string",
      source: "string",
      content_sha256: "string",
      size_bytes: "bigint",
      format: "string",
      profile: "string",
      status: "string",
      rows_in: "bigint",
      rows_ok: "bigint",
      rows_quarantined: "bigint",
      quarantine_reasons: "map<string,bigint>",
      rows_duplicate: "bigint",
      error_code: "string",
      error: "string",
      warnings: "array<string>",
      version: "string",
      output_keys: "array<string>",
      first_business_day: "date",
      last_business_day: "date",
      started_at: "timestamp",
      finished_at: "timestamp",
      duration_ms: "bigint",
    } satisfies Record<keyof LedgerRecord, string>;
    const t = table("drops");
    expect(Object.fromEntries(t.StorageDescriptor.Columns.map((c) => [c.Name, c.Type]))).toEqual(fields);
    expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe("org.openx.data.jsonserde.JsonSerDe");
    expect(t.StorageDescriptor.InputFormat).toBe("org.apache.hadoop.mapred.TextInputFormat");
  });

  it("reads successful and rejected ledger records, like the local drops view, and not the content index", () => {
    const t = table("drops");
    expect(t.PartitionKeys.map((c) => [c.Name, c.Type])).toEqual([["ledger_dir", "string"]]);
    expect(t.Parameters).toMatchObject({
      "projection.enabled": "true",
      "projection.ledger_dir.type": "enum",
      "projection.ledger_dir.values": "drops,rejected",
    });
    const template = flat(t.Parameters["storage.location.template"]);
    expect(template).toBe(`${lake()}ledger/\${ledger_dir}/`);
    expect(`${lake()}${LAKE.ledgerKey("d1")}`).toBe(`${template.replace(`\${ledger_dir}`, "drops")}d1.json`);
    expect(`${lake()}${LAKE.rejectedKey("d1")}`).toBe(
      `${template.replace(`\${ledger_dir}`, "rejected")}d1.json`,
    );
  });

  it("reads the project's models: published tables and the views (staging, the value tiers)", () => {
    expect(published().length).toBeGreaterThan(10);
    // Views and temporary models (stg_order_lines): none is published.
    expect(MODELS.filter((m) => m.header.materialized !== "table").map((m) => m.name)).toEqual([
      "int_value_tiers",
      "stg_campaign_contacts",
      "stg_customers",
      "stg_drops",
      "stg_order_lines",
      "stg_products",
      "stg_transactions",
    ]);
  });

  it("gives a view no table", () => {
    const names = glueTableNames();
    for (const view of MODELS.filter((m) => m.header.materialized !== "table")) {
      expect(names).not.toContain(view.name);
    }
  });

  it.each(published().map((m) => m.name))(
    "declares %s from its header: columns, Hive types and comments in header order",
    (name) => {
      const m = MODELS.find((x) => x.name === name);
      if (m === undefined) throw new Error(`no model ${name}`);
      const t = table(name);
      expect(t.StorageDescriptor.Columns).toEqual(
        m.header.columns.map((c) => ({ Name: c.name, Type: expectedHive(c.type), Comment: c.description })),
      );
      const grain = m.header.grain;
      expect(t.Description).toBe(`${m.header.question} Grain: ${grain}${grain.endsWith(".") ? "" : "."}`);
    },
  );

  it.each(published().map((m) => m.name))(
    "stores %s as Parquet under the runner's models/<model>/, partitioned by a registered as_of date",
    (name) => {
      const t = table(name);
      expect(t.location).toBe(`${lake()}${MODEL_LAYOUT.modelPrefix(name)}`);
      expect(t.PartitionKeys).toEqual([{ Name: "as_of", Type: "date", Comment: expect.any(String) }]);
      // Registered partitions: the scoring run re-points as_of=<d> to publish; a projection could not.
      expect(t.Parameters).toEqual({ EXTERNAL: "TRUE", classification: "parquet" });
      const transactions = table("transactions").StorageDescriptor;
      expect(t.StorageDescriptor.SerdeInfo).toEqual(transactions.SerdeInfo);
      expect(t.StorageDescriptor.InputFormat).toBe(
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
      );
      expect(t.StorageDescriptor.OutputFormat).toBe(
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
      );
    },
  );

  it.each(published().map((m) => m.name))(
    "declares %s_latest beside it (ADR 0014): its columns, as_of projected over the placeholder date, under a prefix no run writes",
    (name) => {
      const model = table(name);
      const latest = table(`${name}_latest`);
      expect(latest.StorageDescriptor.Columns).toEqual(model.StorageDescriptor.Columns);
      expect(latest.StorageDescriptor.SerdeInfo).toEqual(model.StorageDescriptor.SerdeInfo);
      expect(latest.StorageDescriptor.InputFormat).toBe(model.StorageDescriptor.InputFormat);
      expect(latest.PartitionKeys).toEqual([{ Name: "as_of", Type: "date", Comment: expect.any(String) }]);
      expect(latest.Description).toContain(`${name} as of the latest succeeded run only`);
      const placeholder = `${lake()}models/${name}/latest=none/`;
      expect(latest.location).toBe(placeholder);
      // No run's files: a run writes models/<model>/run=<id>/ (MODEL_LAYOUT.runTable), never latest=none/.
      expect(placeholder.startsWith(`${lake()}${MODEL_LAYOUT.runTable("", name).slice(0, -1)}`)).toBe(false);
      expect(Object.fromEntries(Object.entries(latest.Parameters).map(([k, v]) => [k, flat(v)]))).toEqual({
        EXTERNAL: "TRUE",
        classification: "parquet",
        "projection.enabled": "true",
        "projection.as_of.type": "date",
        "projection.as_of.format": "yyyy-MM-dd",
        "projection.as_of.range": "1970-01-01,1970-01-01",
        "projection.as_of.interval": "1",
        "projection.as_of.interval.unit": "DAYS",
        // Athena rejects a projected table whose template lacks a partition key's placeholder.
        "storage.location.template": `${placeholder}as_of=\${as_of}/`,
      });
    },
  );

  it("declares a _latest table for every published model and for nothing else", () => {
    const latest = Object.values(resources)
      .filter((r) => r.Type === "AWS::Glue::Table")
      .map((r) => (r.Properties.TableInput as { Name: string }).Name)
      .filter((n) => n.endsWith("_latest"))
      .sort();
    expect(latest).toEqual(
      published()
        .map((m) => `${m.name}_latest`)
        .sort(),
    );
  });

  it("keeps partition projection on the system tables and the latest tables (ADR 0014)", () => {
    const projected = Object.values(resources)
      .filter((r) => r.Type === "AWS::Glue::Table")
      .map((r) => r.Properties.TableInput as { Name: string; Parameters: Record<string, unknown> })
      .filter((t) =>
        Object.keys(t.Parameters).some((k) => k.startsWith("projection.") || k.startsWith("storage.")),
      )
      .map((t) => t.Name)
      .sort();
    const latest = published().map((m) => `${m.name}_latest`);
    expect(projected).toEqual(["drops", "quarantine", ...latest].sort());
    expect(s.stack.catalog.registeredPartitionTables).toEqual(published().map((m) => m.name));
    expect(s.stack.catalog.latestTables).toEqual(latest);
  });

  it("gives every column a comment", () => {
    for (const r of Object.values(resources).filter((x) => x.Type === "AWS::Glue::Table")) {
      const input = r.Properties.TableInput as {
        PartitionKeys: { Comment?: string }[];
        StorageDescriptor: { Columns: { Comment?: string }[] };
      };
      for (const c of [...input.StorageDescriptor.Columns, ...input.PartitionKeys]) {
        expect(c.Comment?.length ?? 0).toBeGreaterThan(0);
      }
    }
  });
});

describe("Athena workgroup", () => {
  it("runs engine v3 with enforced settings, a 10 GB cutoff, metrics and KMS-encrypted results", () => {
    s.template.hasResourceProperties("AWS::Athena::WorkGroup", {
      Name: "crmlake",
      State: "ENABLED",
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EngineVersion: { SelectedEngineVersion: "Athena engine version 3" },
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        PublishCloudWatchMetricsEnabled: true,
        ResultConfiguration: {
          OutputLocation: { "Fn::Join": ["", ["s3://", { Ref: id(s.stack.results) }, "/athena/"]] },
          EncryptionConfiguration: {
            EncryptionOption: "SSE_KMS",
            KmsKey: { "Fn::GetAtt": [id(s.stack.dataKey), "Arn"] },
          },
          ExpectedBucketOwner: { Ref: "AWS::AccountId" },
        },
      },
    });
  });
});

describe("ingest path: S3 → SQS → Lambda", () => {
  it("sends the ObjectCreated events of each dataset's prefix in the landing bucket to the ingest queue", () => {
    s.template.hasResourceProperties("Custom::S3BucketNotifications", {
      BucketName: { Ref: id(s.stack.landing) },
      NotificationConfiguration: {
        QueueConfigurations: DATASET_NAMES.map((dataset) => ({
          Events: ["s3:ObjectCreated:*"],
          Filter: { Key: { FilterRules: [{ Name: "prefix", Value: `${dataset}/` }] } },
          QueueArn: { "Fn::GetAtt": [id(s.stack.ingestQueue), "Arn"] },
        })),
      },
    });
  });

  it("encrypts all queues with the message key and denies them non-TLS requests", () => {
    s.template.resourceCountIs("AWS::SQS::Queue", 3);
    s.template.allResourcesProperties("AWS::SQS::Queue", {
      KmsMasterKeyId: { "Fn::GetAtt": [id(s.stack.messageKey), "Arn"] },
    });
    for (const queue of [s.stack.ingestQueue, s.stack.ingestDeadLetters, s.stack.scoringDeadLetters]) {
      s.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: id(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
    }
  });

  it("dead-letters a drop after three receives, and hides a message for 6× the function timeout", () => {
    const queue = resourceOf(s.stack.ingestQueue).Properties;
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [id(s.stack.ingestDeadLetters), "Arn"] },
      maxReceiveCount: 3,
    });
    const fn = resourceOf(s.stack.ingest.function).Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (fn.Timeout as number));
  });

  it("feeds the ingest Lambda one drop at a time and lets it report failed items", () => {
    s.template.resourceCountIs("AWS::Lambda::EventSourceMapping", 1);
    s.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [id(s.stack.ingestQueue), "Arn"] },
      FunctionName: { Ref: id(s.stack.ingest.function) },
      BatchSize: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it("sizes the ingest Lambda for drops of a few GB: 3008 MB, 10 GB of /tmp, 15 minutes", () => {
    expect(resourceOf(s.stack.ingest.function).Properties).toMatchObject({
      MemorySize: 3008,
      EphemeralStorage: { Size: 10240 },
      Timeout: 900,
    });
  });

  it("tells the ingest Lambda its buckets, DuckDB's share of its memory and the largest drop it takes", () => {
    const env = (resourceOf(s.stack.ingest.function).Properties.Environment as { Variables: object })
      .Variables;
    expect(env).toEqual({
      LANDING_BUCKET: { Ref: id(s.stack.landing) },
      LAKE_BUCKET: { Ref: id(s.stack.lake) },
      DUCKDB_MEMORY_LIMIT: "1804MB",
      CRMLAKE_MAX_DROP_BYTES: String(4 * 1024 ** 3),
      NODE_OPTIONS: "--enable-source-maps",
    });
  });
});

describe("Lambda defaults (CrmlakeFunction)", () => {
  it("runs Node.js 22 on x86_64 with active tracing and JSON logs into its own log group", () => {
    for (const fn of [s.stack.ingest, s.stack.scoring]) {
      expect(resourceOf(fn.function).Properties).toMatchObject({
        Runtime: "nodejs22.x",
        Architectures: ["x86_64"],
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogFormat: "JSON", LogGroup: { Ref: id(fn.logGroup) } },
        Role: { "Fn::GetAtt": [id(fn.role), "Arn"] },
      });
      expect(resourceOf(fn.logGroup).Properties.RetentionInDays).toBe(90);
    }
  });

  it("gives the Lambdas roles without managed policies, writing only to their own log group", () => {
    for (const fn of [s.stack.ingest, s.stack.scoring]) {
      expect(resourceOf(fn.role).Properties.ManagedPolicyArns).toBeUndefined();
      expect([...(allowed(id(fn.role)).get("logs:PutLogEvents") ?? [])]).toEqual([
        `<${id(fn.logGroup)}.Arn>`,
      ]);
    }
  });
});

describe("scoring path: Scheduler → Lambda → Athena", () => {
  it("invokes the scoring Lambda daily at 03:00 UTC with a retry policy and a dead-letter queue", () => {
    const schedule = resourceOf(s.stack.schedule).Properties;
    expect(schedule).toMatchObject({
      ScheduleExpression: "cron(0 3 * * ? *)",
      ScheduleExpressionTimezone: "Etc/UTC",
      FlexibleTimeWindow: { Mode: "OFF" },
      State: "ENABLED",
      Target: {
        Arn: { "Fn::GetAtt": [id(s.stack.scoring.function), "Arn"] },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [id(s.stack.scoringDeadLetters), "Arn"] } },
      },
    });
    const input = JSON.parse((schedule.Target as { Input: string }).Input);
    expect(input).toEqual({
      source: "crmlake.schedule",
      scheduledTime: "<aws.scheduler.scheduled-time>",
      timeZone: "Etc/UTC",
      executionId: "<aws.scheduler.execution-id>",
    });
  });

  it("checks for late files every hour: the scoring Lambda re-scores the latest as-of when some arrived (ADR 0016)", () => {
    const check = s.stack.lateDropCheck;
    if (check === undefined) throw new Error("no LateDropCheck schedule");
    const schedule = resourceOf(check).Properties;
    expect(schedule).toMatchObject({
      ScheduleExpression: "rate(1 hour)",
      State: "ENABLED",
      Target: {
        Arn: { "Fn::GetAtt": [id(s.stack.scoring.function), "Arn"] },
        RoleArn: (resourceOf(s.stack.schedule).Properties.Target as { RoleArn: unknown }).RoleArn,
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [id(s.stack.scoringDeadLetters), "Arn"] } },
      },
    });
    const input = JSON.parse((schedule.Target as { Input: string }).Input);
    expect(LATE_DROP_EVENT.safeParse({ ...input, scheduledTime: "2024-02-01T11:00:00Z" }).success).toBe(true);
    expect(input).toEqual({
      source: "crmlake.late-drops",
      scheduledTime: "<aws.scheduler.scheduled-time>",
      executionId: "<aws.scheduler.execution-id>",
    });
    expect(s.template.findResources("AWS::Scheduler::Schedule")).toHaveProperty(id(check));
  });

  it("retries a failed or interrupted run twice (3 × 15 minutes to resume in), then dead-letters it", () => {
    s.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: id(s.stack.scoring.function) },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [id(s.stack.scoringDeadLetters), "Arn"] } },
      },
    });
  });

  it("gives the scoring Lambda 15 minutes and tells it the workgroup, database and buckets", () => {
    const fn = resourceOf(s.stack.scoring.function).Properties;
    expect(fn.Timeout).toBe(900);
    expect((fn.Environment as { Variables: object }).Variables).toEqual({
      LAKE_BUCKET: { Ref: id(s.stack.lake) },
      RESULTS_BUCKET: { Ref: id(s.stack.results) },
      ATHENA_WORKGROUP: { Ref: id(s.stack.workGroup) },
      GLUE_DATABASE: "crmlake",
      CRMLAKE_SQL_DIR: "/var/task/sql",
      INGEST_QUEUE_URL: { Ref: id(s.stack.ingestQueue) },
      CRMLAKE_INGEST_WAIT_SECONDS: "300",
      NODE_OPTIONS: "--enable-source-maps",
    });
  });

  it("lets scoring read the ingest queue's depth, and nothing else of any queue's", () => {
    const sqsActions = [...allowed(id(s.stack.scoring.role))].filter(([action]) => action.startsWith("sqs:"));
    // The scoring dead-letter queue is its async-invoke destination (SendMessage).
    expect(sqsActions.sort()).toEqual([
      ["sqs:GetQueueAttributes", new Set([`<${id(s.stack.ingestQueue)}.Arn>`])],
      ["sqs:SendMessage", new Set([`<${id(s.stack.scoringDeadLetters)}.Arn>`])],
    ]);
  });
});

describe("alarms", () => {
  it("watch the metrics the ingest handler publishes: namespace, service dimension and names", () => {
    const source = readFileSync(join(PROJECT_ROOT, "functions", "ingest.ts"), "utf8");
    expect(source).toMatch(
      new RegExp(
        `new Metrics\\(\\{\\s*namespace:\\s*"${METRICS_NAMESPACE}",\\s*serviceName:\\s*"${METRIC_SERVICES.ingest}"\\s*\\}\\)`,
      ),
    );
    for (const name of ["RowsIn", "RowsQuarantined"]) expect(source).toContain(`addMetric("${name}"`);
  });

  const alarm = (key: string) => {
    const a = s.stack.alarms[key];
    if (a === undefined) throw new Error(`no alarm ${key}`);
    return resourceOf(a).Properties;
  };

  it("encrypts the alarm topic, requires TLS to publish and lets this account's alarms publish", () => {
    s.template.hasResourceProperties("AWS::SNS::Topic", {
      KmsMasterKeyId: { "Fn::GetAtt": [id(s.stack.messageKey), "Arn"] },
    });
    s.template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({
            Effect: "Allow",
            Action: "sns:Publish",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
          }),
        ]),
      },
    });
    s.template.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
          }),
        ]),
      },
    });
    s.template.resourceCountIs("AWS::SNS::Subscription", 0);
  });

  it("sends every alarm to the topic", () => {
    s.template.resourceCountIs("AWS::CloudWatch::Alarm", Object.keys(s.stack.alarms).length);
    s.template.allResourcesProperties("AWS::CloudWatch::Alarm", {
      AlarmActions: [{ Ref: id(s.stack.alarmTopic) }],
    });
    // Only the alarms on something that did not happen (test/infra/operations.test.ts) treat no data as bad.
    for (const [key, a] of Object.entries(s.stack.alarms)) {
      const missing = resourceOf(a).Properties.TreatMissingData;
      expect([key, missing]).toEqual([
        key,
        ["ScoringStale", "IngestSilence"].includes(key) ? "breaching" : "notBreaching",
      ]);
    }
  });

  it.each([
    ["IngestDeadLetters", () => s.stack.ingestDeadLetters],
    ["ScoringDeadLetters", () => s.stack.scoringDeadLetters],
  ])("fires when a message waits in the %s queue", (key, queue) => {
    expect(alarm(key)).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [id(queue()), "QueueName"] } }],
      Statistic: "Maximum",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it.each([
    ["IngestErrors", () => s.stack.ingest],
    ["ScoringErrors", () => s.stack.scoring],
  ])("fires on any %s", (key, fn) => {
    expect(alarm(key)).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: id(fn().function) } }],
      Statistic: "Sum",
      Threshold: 1,
    });
  });

  it("fires on a failed run reported by the scoring handler (RunFailed, crmlake namespace)", () => {
    expect(alarm("RunFailed")).toMatchObject({
      Namespace: "crmlake",
      MetricName: "RunFailed",
      Dimensions: [{ Name: "service", Value: METRIC_SERVICES.score }],
      Statistic: "Sum",
      Threshold: 1,
    });
  });

  it("fires when more than 5 % of the rows ingested in an hour were quarantined", () => {
    const a = alarm("QuarantineRatio");
    expect(a).toMatchObject({ Threshold: 0.05, ComparisonOperator: "GreaterThanThreshold" });
    const metrics = a.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData?: boolean;
      MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown }; Stat: string };
    }[];
    expect(metrics.find((m) => m.Expression !== undefined)?.Expression).toBe(
      "IF(rowsIn > 0, rowsQuarantined / rowsIn, 0)",
    );
    for (const [metricId, name] of [
      ["rowsIn", "RowsIn"],
      ["rowsQuarantined", "RowsQuarantined"],
    ]) {
      expect(metrics.find((m) => m.Id === metricId)?.MetricStat).toMatchObject({
        Metric: {
          Namespace: "crmlake",
          MetricName: name,
          Dimensions: [{ Name: "service", Value: METRIC_SERVICES.ingest }],
        },
        Stat: "Sum",
        Period: 3600,
      });
    }
  });
});

describe("least-privilege IAM", () => {
  const lakeArn = () => `<${id(s.stack.lake)}.Arn>`;

  it("lets ingest read the landing bucket and write only curated/, quarantine/ and ledger/ of the lake", () => {
    const a = allowed(id(s.stack.ingest.role));
    const prefixes = ["curated/*", "quarantine/*", "ledger/*"].map((p) => `${lakeArn()}/${p}`);
    // Read-only: the run records and pinned snapshots that retirement must respect (ADR 0010).
    const pins = ["runs/log/*", "runs/snapshots/*"].map((p) => `${lakeArn()}/${p}`);
    expect([...(a.get("s3:GetObject") ?? [])].sort()).toEqual(
      [`<${id(s.stack.landing)}.Arn>/*`, ...prefixes, ...pins].sort(),
    );
    for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]) {
      expect([...(a.get(action) ?? [])].sort()).toEqual([...prefixes].sort());
    }
    const listLake = statementsOf(id(s.stack.ingest.role)).find(
      (st) => strings(st.Action).includes("s3:ListBucket") && flat(st.Resource) === lakeArn(),
    );
    expect(listLake?.Condition).toEqual({
      StringLike: {
        "s3:prefix": [
          "curated/",
          "curated/*",
          "quarantine/",
          "quarantine/*",
          "ledger/",
          "ledger/*",
          "runs/log/",
          "runs/log/*",
          "runs/snapshots/",
          "runs/snapshots/*",
        ],
      },
    });
    expect(a.has("glue:GetTable")).toBe(false);
    expect(a.has("athena:StartQueryExecution")).toBe(false);
  });

  it("lets ingest use the data key only through S3, and consume only its queue", () => {
    const kms = statementsOf(id(s.stack.ingest.role)).find(
      (st) => flat(st.Resource) === `<${id(s.stack.dataKey)}.Arn>`,
    );
    expect(kms).toMatchObject({
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Condition: {
        StringEquals: {
          "kms:ViaService": { "Fn::Join": ["", ["s3.", { Ref: "AWS::Region" }, ".amazonaws.com"]] },
        },
      },
    });
    expect([...(allowed(id(s.stack.ingest.role)).get("sqs:ReceiveMessage") ?? [])]).toEqual([
      `<${id(s.stack.ingestQueue)}.Arn>`,
    ]);
  });

  it("lets scoring read the lake, write only the runner's models/, runs/ and exports/, and use the results bucket", () => {
    const a = allowed(id(s.stack.scoring.role));
    const results = `<${id(s.stack.results)}.Arn>/*`;
    expect([...(a.get("s3:GetObject") ?? [])].sort()).toEqual([`${lakeArn()}/*`, results].sort());
    expect([...(a.get("s3:PutObject") ?? [])].sort()).toEqual(
      [`${lakeArn()}/models/*`, `${lakeArn()}/runs/*`, `${lakeArn()}/exports/*`, results].sort(),
    );
    // Every key the model runner writes falls under those three prefixes.
    for (const key of [
      `${MODEL_LAYOUT.modelPrefix("m")}${MODEL_LAYOUT.partitionDir("2024-01-31")}/${MODEL_LAYOUT.dataFile}`,
      MODEL_LAYOUT.stagingTable("r1", "m"),
      MODEL_LAYOUT.publishJournal("r1"),
      MODEL_LAYOUT.runRecord("r1"),
      MODEL_LAYOUT.lock,
      EXPORT_LAYOUT.asOfKey("2024-01-31", "win_back"),
      EXPORT_LAYOUT.asOfManifest("2024-01-31"),
      EXPORT_LAYOUT.latestKey("win_back"),
      EXPORT_LAYOUT.latestManifest,
    ]) {
      expect(key).toMatch(/^(models|runs|exports)\//);
    }
    expect(
      a.has("s3:GetObject") &&
        [...(a.get("s3:GetObject") ?? [])].some((r) => r.includes(id(s.stack.landing))),
    ).toBe(false);
  });

  it("covers every key S3ModelOutputs writes and the Athena UNLOAD target with the lake write grant", () => {
    const granted = [...(allowed(id(s.stack.scoring.role)).get("s3:PutObject") ?? [])]
      .filter((r) => r.startsWith(`${lakeArn()}/`))
      .map((r) => r.slice(`${lakeArn()}/`.length));
    expect(granted.sort()).toEqual(["exports/*", "models/*", "runs/*"]);
    const covered = (key: string) => granted.some((g) => key.startsWith(g.slice(0, -1)));
    // The handler's outputs at the bucket root (LAKE_PREFIX unset, as the stack deploys it).
    const outputs = new S3ModelOutputs({ bucket: "lake", client: {} as never, partitions: {} as never });
    const key = (uri: string) => {
      expect(uri.startsWith("s3://lake/")).toBe(true);
      return uri.slice("s3://lake/".length);
    };
    // The UNLOAD of functions/engines/athena/warehouse.ts writes `<run table>as_of=<d>/`, under the caller's rights.
    const unloadTarget = `${key(outputs.stagingTable("20240131T030000Z-abc123", "customer_rfm"))}${MODEL_LAYOUT.partitionDir("2024-01-30")}/`;
    expect(unloadTarget).toBe("models/customer_rfm/run=20240131T030000Z-abc123/as_of=2024-01-30/");
    for (const k of [
      unloadTarget,
      `${unloadTarget}20240131_000000_00001_abcd.parquet`,
      MODEL_LAYOUT.publishJournal("r1"),
      `${MODEL_LAYOUT.runLogPrefix}r1.json`,
      MODEL_LAYOUT.runRecord("r1"),
      MODEL_LAYOUT.lock,
      `${MODEL_LAYOUT.modelPrefix("customer_rfm")}${MODEL_LAYOUT.partitionDir("2024-01-30")}/x.parquet`,
    ]) {
      expect(covered(k), k).toBe(true);
    }
    expect(covered("curated/transactions/x.parquet")).toBe(false);
  });

  it("lets scoring run queries in its workgroup only", () => {
    const a = allowed(id(s.stack.scoring.role));
    for (const action of [
      "athena:StartQueryExecution",
      "athena:GetQueryExecution",
      "athena:StopQueryExecution",
    ]) {
      expect([...(a.get(action) ?? [])]).toEqual([
        `arn:<AWS::Partition>:athena:<AWS::Region>:<AWS::AccountId>:workgroup/<${id(s.stack.workGroup)}>`,
      ]);
    }
  });

  const glue = (rest: string) => `arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:${rest}`;
  /** The tables whose partitions are projected or that have none: all but the model outputs. */
  const inputTables = () => [...DATASET_NAMES, "quarantine", "drops", "runs"];
  const modelTables = () => published().map((m) => m.name);
  /** The scoring role's statement with this Sid, its actions sorted and its resources flattened. */
  const scoringSid = (sid: string) => {
    const found = statementsOf(id(s.stack.scoring.role)).filter((st) => st.Sid === sid);
    expect(found).toHaveLength(1);
    const [st] = found as [Statement];
    return { ...st, Action: strings(st.Action).sort(), Resource: strings(st.Resource).map(flat).sort() };
  };
  /** IAM's matching of an action or ARN against a statement's pattern (`*` any run, `?` one character). */
  const globMatch = (pattern: string, value: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
    ).test(value);
  /** IAM's verdict for the scoring role (identity policies only): an explicit Deny wins over any Allow. */
  const scoringMay = (action: string, arn: string): "allowed" | "denied" | "implicitly denied" => {
    const matching = statementsOf(id(s.stack.scoring.role)).filter(
      (st) =>
        strings(st.Action).some((a) => globMatch(a, action)) &&
        (st.NotResource === undefined
          ? strings(st.Resource)
              .map(flat)
              .some((r) => globMatch(r, arn))
          : !strings(st.NotResource)
              .map(flat)
              .some((r) => globMatch(r, arn))),
    );
    if (matching.some((st) => st.Effect === "Deny")) return "denied";
    return matching.some((st) => st.Effect === "Allow") ? "allowed" : "implicitly denied";
  };
  const MODEL_PARTITION_ACTIONS = [
    "glue:CreatePartition",
    "glue:DeletePartition",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:UpdatePartition",
  ];

  it("lets scoring read every table of its Glue database, and create, change or drop none", () => {
    const a = allowed(id(s.stack.scoring.role));
    const read = statementsOf(id(s.stack.scoring.role)).filter((st) =>
      strings(st.Resource).map(flat).includes(glue("table/crmlake/*")),
    );
    expect(
      read
        .filter((st) => st.Effect === "Allow")
        .map((st) => ({
          ...st,
          Action: strings(st.Action).sort(),
          Resource: strings(st.Resource).map(flat),
        })),
    ).toEqual([
      {
        Effect: "Allow",
        Action: [
          "glue:BatchGetPartition",
          "glue:GetDatabase",
          "glue:GetPartition",
          "glue:GetPartitions",
          "glue:GetTable",
          "glue:GetTables",
        ],
        Resource: [glue("catalog"), glue("database/crmlake"), glue("table/crmlake/*")],
      },
    ]);
    // Tables are created and dropped only in the run databases (ADR 0004), never in the stack's own.
    for (const action of ["glue:CreateTable", "glue:DeleteTable"]) {
      expect([...(a.get(action) ?? [])].sort(), action).toEqual(
        [glue("catalog"), glue("database/crmlake_run_*"), glue("table/crmlake_run_*/*")].sort(),
      );
    }
    // Partitions are dropped only on the model tables (the retention sweep): a run's tables are unpartitioned
    // (docs/aws-permissions.md).
    expect([...(a.get("glue:DeletePartition") ?? [])].sort()).toEqual(
      [
        glue("catalog"),
        glue("database/crmlake"),
        ...modelTables().map((t) => glue(`table/crmlake/${t}`)),
      ].sort(),
    );
    // and changed there, and in the stack's own only the latest tables (ADR 0014; test/infra/latest-tables).
    expect([...(a.get("glue:UpdateTable") ?? [])].sort()).toEqual(
      [
        glue("catalog"),
        glue("database/crmlake_run_*"),
        glue("table/crmlake_run_*/*"),
        glue("database/crmlake"),
        glue("table/crmlake/*_latest"),
      ].sort(),
    );
    // Databases are created and dropped only under the run prefix, never the stack's own.
    for (const action of ["glue:CreateDatabase", "glue:DeleteDatabase"]) {
      expect(a.get(action)?.has(glue("database/crmlake"))).toBe(false);
    }
  });

  it("lets scoring read the model output tables, register, re-point and remove their partitions, exactly", () => {
    expect(scoringSid("ModelOutputPartitions")).toEqual({
      Sid: "ModelOutputPartitions",
      Effect: "Allow",
      Action: MODEL_PARTITION_ACTIONS,
      Resource: [
        glue("catalog"),
        glue("database/crmlake"),
        ...modelTables().map((t) => glue(`table/crmlake/${t}`)),
      ].sort(),
    });
  });

  it("denies scoring creating or dropping a table of the stack's database, and deleting its partitions in batches", () => {
    expect(scoringSid("TablesOfTheStackDatabaseAreNotAltered")).toEqual({
      Sid: "TablesOfTheStackDatabaseAreNotAltered",
      Effect: "Deny",
      Action: [
        "glue:BatchDeletePartition",
        "glue:BatchDeleteTable",
        "glue:BatchDeleteTableVersion",
        "glue:CreateTable",
        "glue:DeleteTable",
        "glue:DeleteTableVersion",
      ],
      Resource: [glue("table/crmlake/*")],
    });
  });

  it("denies scoring registering or deleting partitions on the input and latest tables, whose partitions are projected", () => {
    expect(scoringSid("ProjectedTablesRegisterNoPartitions")).toEqual({
      Sid: "ProjectedTablesRegisterNoPartitions",
      Effect: "Deny",
      Action: [
        "glue:BatchCreatePartition",
        "glue:BatchDeletePartition",
        "glue:BatchUpdatePartition",
        "glue:CreatePartition",
        "glue:DeletePartition",
        "glue:UpdatePartition",
      ],
      Resource: [...inputTables(), "*_latest"].map((t) => glue(`table/crmlake/${t}`)).sort(),
    });
    expect(statementsOf(id(s.stack.scoring.role)).filter((st) => st.Effect === "Deny")).toHaveLength(3);
  });

  it("lets scoring update the <model>_latest tables, and no other table of the stack's database (ADR 0014)", () => {
    expect(scoringSid("LatestTablesArePointed")).toEqual({
      Sid: "LatestTablesArePointed",
      Effect: "Allow",
      Action: ["glue:UpdateTable"],
      Resource: [glue("catalog"), glue("database/crmlake"), glue("table/crmlake/*_latest")].sort(),
    });
    for (const t of modelTables()) {
      const latest = glue(`table/crmlake/${t}_latest`);
      expect(scoringMay("glue:UpdateTable", latest), `UpdateTable on ${t}_latest`).toBe("allowed");
      expect(scoringMay("glue:GetTable", latest), `GetTable on ${t}_latest`).toBe("allowed");
      // Its table is the stack's, its partitions projected: nothing else changes it.
      for (const action of [
        "glue:CreateTable",
        "glue:DeleteTable",
        "glue:DeleteTableVersion",
        "glue:CreatePartition",
        "glue:UpdatePartition",
        "glue:DeletePartition",
      ]) {
        expect(scoringMay(action, latest), `${action} on ${t}_latest`).toBe("denied");
      }
      expect(scoringMay("glue:UpdateTable", glue(`table/crmlake/${t}`)), `UpdateTable on ${t}`).toBe(
        "denied",
      );
    }
    for (const t of inputTables()) {
      expect(scoringMay("glue:UpdateTable", glue(`table/crmlake/${t}`)), t).toBe("denied");
    }
    // Glue authorises UpdateTable on the catalog and the database as well: the Deny leaves those alone.
    expect(scoringMay("glue:UpdateTable", glue("catalog"))).toBe("allowed");
    expect(scoringMay("glue:UpdateTable", glue("database/crmlake"))).toBe("allowed");
    // A table the stack did not declare, and another database's: denied outright.
    expect(scoringMay("glue:UpdateTable", glue("table/crmlake/not_a_model"))).toBe("denied");
    expect(scoringMay("glue:UpdateTable", glue("table/otherdb/customer_rfm_latest"))).toBe("denied");
    // A run's own tables and views are still its to update (ADR 0004).
    const runTable = glue("table/crmlake_run_20240131t030000z_abc123/customer_rfm");
    expect(scoringMay("glue:UpdateTable", runTable)).toBe("allowed");
    expect(scoringMay("glue:UpdateTable", glue("database/crmlake_run_20240131t030000z_abc123"))).toBe(
      "allowed",
    );
  });

  it("leaves no explicit Deny in the way of publishing a model partition (IAM's verdict, per table)", () => {
    for (const t of modelTables()) {
      const arn = glue(`table/crmlake/${t}`);
      for (const action of MODEL_PARTITION_ACTIONS) {
        expect(scoringMay(action, arn), `${action} on ${t}`).toBe("allowed");
        // Glue authorises a partition call on the catalog and the database as well.
        expect(scoringMay(action, glue("catalog")), action).toBe("allowed");
        expect(scoringMay(action, glue("database/crmlake")), action).toBe("allowed");
      }
      for (const action of [
        "glue:UpdateTable",
        "glue:DeleteTable",
        "glue:CreateTable",
        "glue:BatchDeletePartition",
      ]) {
        expect(scoringMay(action, arn), `${action} on ${t}`).toBe("denied");
      }
    }
    for (const t of inputTables()) {
      const arn = glue(`table/crmlake/${t}`);
      expect(scoringMay("glue:GetTable", arn)).toBe("allowed");
      for (const action of [
        "glue:UpdateTable",
        "glue:CreatePartition",
        "glue:UpdatePartition",
        "glue:DeletePartition",
      ]) {
        expect(scoringMay(action, arn), `${action} on ${t}`).toBe("denied");
      }
    }
    // A run's own tables live in its run database: the Deny does not reach them.
    for (const action of ["glue:CreateTable", "glue:DeleteTable", "glue:UpdateTable"]) {
      expect(scoringMay(action, glue("table/crmlake_run_20240131t030000z_abc123/customer_rfm"))).toBe(
        "allowed",
      );
    }
    // Partitions are registered on the model tables only, not on any other table of the database.
    expect(scoringMay("glue:UpdatePartition", glue("table/crmlake/not_a_model"))).toBe("implicitly denied");
    expect(scoringMay("glue:BatchUpdatePartition", glue("table/crmlake/not_a_model"))).toBe(
      "implicitly denied",
    );
    // The batch calls are not granted on the model tables either: the code makes one call per partition.
    expect(scoringMay("glue:BatchUpdatePartition", glue("table/crmlake/customer_rfm"))).toBe(
      "implicitly denied",
    );
    // Nor may a run put a table of its own into the stack's database.
    expect(scoringMay("glue:CreateTable", glue("table/crmlake/customer_rfm_latest"))).toBe("denied");
    // The verdict can come out the other way: an action no statement names is implicitly denied.
    expect(scoringMay("glue:DeleteDatabase", glue("database/crmlake"))).toBe("implicitly denied");
  });

  it("gives ingest no Glue rights at all", () => {
    const actions = statementsOf(id(s.stack.ingest.role)).flatMap((st) => strings(st.Action));
    expect(actions.filter((a) => a.startsWith("glue:"))).toEqual([]);
  });

  it("keeps the stack database's Glue statements in an inline policy of their own that the function waits for", () => {
    const policy = s.stack.scoring.role.node.tryFindChild("GlueCatalog");
    if (policy === undefined) throw new Error("no GlueCatalog policy");
    const r = resourceOf(policy);
    expect(r.Type).toBe("AWS::IAM::Policy");
    expect(list(r.Properties.Roles as unknown[]).map(flat)).toEqual([`<${id(s.stack.scoring.role)}>`]);
    const sids = (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement.map((st) => st.Sid);
    expect(sids).toEqual([
      undefined,
      "ModelOutputPartitions",
      "LatestTablesArePointed",
      "TablesOfTheStackDatabaseAreNotAltered",
      "OnlyLatestTablesAreUpdated",
      "ProjectedTablesRegisterNoPartitions",
    ]);
    const fn = s.template.toJSON().Resources[id(s.stack.scoring.function)] as { DependsOn?: string[] };
    expect(fn.DependsOn).toContain(id(policy));
  });

  it("keeps the scoring role's inline policies within IAM's 10,240-character limit", () => {
    // IAM counts the resolved policies without whitespace. Resolve every reference to a long value: a KMS key
    // ARN in the longest partition and region name is ~90 characters.
    const resolve = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(resolve);
      if (value === null || typeof value !== "object") return value;
      if ("Ref" in value || "Fn::GetAtt" in value || "Fn::Join" in value) {
        return flat(value)
          .replaceAll("<AWS::Partition>", "aws-us-gov")
          .replaceAll("<AWS::Region>", "ap-southeast-2")
          .replaceAll("<AWS::AccountId>", "123456789012")
          .replace(/<[A-Za-z0-9]+(\.Arn)?>/g, "x".repeat(90));
      }
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    };
    // CDK moves what it estimates will not fit into "overflow" managed policies; nothing may need that. The two
    // managed policies are the analysts' (test/infra/readers.test.ts) and the operators' (permissions.test.ts).
    s.template.resourceCountIs("AWS::IAM::ManagedPolicy", 2);
    expect(Object.keys(s.template.findResources("AWS::IAM::ManagedPolicy")).sort()).toEqual(
      [id(s.stack.analystPolicy), id(s.stack.operatorPolicy)].sort(),
    );
    const size = JSON.stringify(resolve(statementsOf(id(s.stack.scoring.role)))).length;
    expect(size).toBeGreaterThan(3000);
    expect(size).toBeLessThan(10_240 - 100);
  });

  it("lets scoring create, use and drop its run-scoped Glue databases <db>_run_<run id>, and nothing else", () => {
    const glue = (rest: string) => `arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:${rest}`;
    const bySid = (sid: string) => {
      const found = statementsOf(id(s.stack.scoring.role)).filter((st) => st.Sid === sid);
      expect(found).toHaveLength(1);
      const [st] = found as [Statement];
      return { ...st, Action: strings(st.Action).sort(), Resource: strings(st.Resource).map(flat) };
    };
    expect(bySid("RunScopedGlueDatabases")).toEqual({
      Sid: "RunScopedGlueDatabases",
      Effect: "Allow",
      // Tables and views, no partitions: a run's tables are unpartitioned (docs/aws-permissions.md).
      Action: [
        "glue:BatchGetPartition",
        "glue:CreateDatabase",
        "glue:CreateTable",
        "glue:DeleteDatabase",
        "glue:DeleteTable",
        "glue:GetDatabase",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:GetTable",
        "glue:GetTables",
        "glue:UpdateTable",
      ],
      Resource: [glue("catalog"), glue("database/crmlake_run_*"), glue("table/crmlake_run_*/*")],
    });
    expect(bySid("AthenaDefaultDatabase")).toEqual({
      Sid: "AthenaDefaultDatabase",
      Effect: "Allow",
      Action: ["glue:CreateDatabase", "glue:GetDatabase"],
      Resource: [glue("catalog"), glue("database/default")],
    });
    expect(bySid("RunScopedGlueDatabasesDrop")).toEqual({
      Sid: "RunScopedGlueDatabasesDrop",
      Effect: "Allow",
      Action: ["glue:DeleteDatabase"],
      Resource: [glue("userDefinedFunction/crmlake_run_*/*")],
    });
    // The names the Athena adapter gives a run's database fall under the grant; the stack's database does not.
    const glob = /^crmlake_run_.*$/;
    for (const runId of ["20240131T030000Z-abc123", "Manual-Rerun_2"]) {
      expect(runDatabaseName(s.stack.catalog.databaseName, runId)).toMatch(glob);
    }
    expect(s.stack.catalog.databaseName).not.toMatch(glob);
  });

  it("acknowledges the run-database wildcards to cdk-nag with the reason they are needed", () => {
    const acknowledged: Record<string, string> = {};
    for (const entry of s.stack.scoring.role.node.metadata) {
      if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
        Object.assign(acknowledged, entry.data as Record<string, string>);
      }
    }
    const arn = "arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>";
    for (const resource of [
      "database/crmlake_run_*",
      "table/crmlake_run_*/*",
      "userDefinedFunction/crmlake_run_*/*",
    ]) {
      expect(acknowledged[`Annotation::AwsSolutions-IAM5[Resource::${arn}:${resource}]`]).toMatch(
        /own Glue database <db>_run_<run id>.*only known at run time.*cannot match the stack's own database/,
      );
    }
  });

  it("lets the scheduler invoke the scoring Lambda and dead-letter to its queue, nothing more", () => {
    const role = Object.entries(resources).find(
      ([, r]) =>
        r.Type === "AWS::IAM::Role" &&
        JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes("scheduler.amazonaws.com"),
    );
    expect(role).toBeDefined();
    const [roleId, r] = role as [string, Resource];
    expect(JSON.stringify(r.Properties.AssumeRolePolicyDocument)).toContain("aws:SourceAccount");
    const a = allowed(roleId);
    expect(Object.fromEntries([...a].map(([k, v]) => [k, [...v]]))).toEqual({
      "lambda:InvokeFunction": [`<${id(s.stack.scoring.function)}.Arn>`],
      "sqs:SendMessage": [`<${id(s.stack.scoringDeadLetters)}.Arn>`],
      "kms:Decrypt": [`<${id(s.stack.messageKey)}.Arn>`],
      "kms:GenerateDataKey": [`<${id(s.stack.messageKey)}.Arn>`],
    });
  });

  it("names no wildcard action, and Resource '*' only for X-Ray, in the stack's own roles", () => {
    const own = [s.stack.ingest.role, s.stack.scoring.role].map((r) => id(r));
    for (const roleId of own) {
      for (const st of statementsOf(roleId)) {
        for (const action of strings(st.Action)) expect(action).not.toContain("*");
        const targets = strings(st.Resource ?? st.NotResource).map(flat);
        if (targets.includes("*")) {
          expect(strings(st.Action).sort()).toEqual(["xray:PutTelemetryRecords", "xray:PutTraceSegments"]);
        }
        for (const t of targets.filter((x) => x !== "*" && x.includes("*"))) {
          // Only a bucket ARN with a prefix (one or two levels), every table of the one database, its latest
          // tables (ADR 0014), or the run databases.
          expect(t).toMatch(
            /^(<\w+\.Arn>\/([a-z]+\/){0,2}\*|arn:<AWS::Partition>:glue:.*:(table\/crmlake\/\*(_latest)?|(database|table|userDefinedFunction)\/crmlake_run_\*(\/\*)?))$/,
          );
        }
      }
    }
  });
});

describe("outputs", () => {
  it("tells the user where to drop files and what to query", () => {
    for (const name of [
      "LandingBucketName",
      "LakeBucketName",
      "AthenaResultsBucketName",
      "GlueDatabaseName",
      "AthenaWorkGroupName",
      "AlarmTopicArn",
    ]) {
      s.template.hasOutput(name, {});
    }
  });

  it("has every output the command line reads from a stack (crmlake --stack), naming the stack's resources", () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const value = (key: string) => flat(outputs[key]?.Value);
    for (const key of Object.values(STACK_OUTPUTS)) expect(Object.keys(outputs)).toContain(key);
    expect(value(STACK_OUTPUTS.lakeBucket)).toBe(`<${logicalId(s, s.stack.lake)}>`);
    expect(value(STACK_OUTPUTS.database)).toBe(s.stack.catalog.databaseName);
    expect(value(STACK_OUTPUTS.workGroup)).toBe(`<${logicalId(s, s.stack.workGroup)}>`);
    expect(value(STACK_OUTPUTS.scoringFunction)).toBe(`<${logicalId(s, s.stack.scoring.function)}>`);
    expect(value(STACK_OUTPUTS.ingestQueueUrl)).toBe(`<${logicalId(s, s.stack.ingestQueue)}>`);
    expect(value(STACK_OUTPUTS.ingestDeadLettersUrl)).toBe(`<${logicalId(s, s.stack.ingestDeadLetters)}>`);
    expect(value(STACK_OUTPUTS.ingestDeadLettersArn)).toBe(
      `<${logicalId(s, s.stack.ingestDeadLetters)}.Arn>`,
    );
    expect(value(STACK_OUTPUTS.scoringDeadLettersUrl)).toBe(`<${logicalId(s, s.stack.scoringDeadLetters)}>`);
    expect(value(STACK_OUTPUTS.landingBucket)).toBe(`<${logicalId(s, s.stack.landing)}>`);
    expect(value(STACK_OUTPUTS.analystWorkGroup)).toBe(`<${logicalId(s, s.stack.analystWorkGroup)}>`);
  });
});

describe("context options", () => {
  let c: Synth;
  let dir: string;
  const config = { pyramid: { top_share: 0.02 }, calendar: { time_zone: "Europe/Berlin" }, note: "é" };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "crmlake-config-"));
    writeFileSync(join(dir, "crmlake.json"), JSON.stringify(config, null, 2));
    c = synth({
      "crmlake:architecture": "arm64",
      "crmlake:schedule": "cron(30 5 ? * MON-FRI *)",
      "crmlake:scheduleTimeZone": "Europe/Berlin",
      "crmlake:bytesScannedCutoff": "500MB",
      "crmlake:logRetentionDays": "30",
      "crmlake:resultsRetentionDays": 3,
      "crmlake:rawInfrequentAccessDays": 60,
      "crmlake:rawGlacierDays": 180,
      "crmlake:noncurrentVersionDays": 10,
      "crmlake:alarmEmail": "data-team@example.com",
      "crmlake:quarantineRatioThreshold": "0.2",
      "crmlake:configFile": join(dir, "crmlake.json"),
      "crmlake:lateDropCheck": "off",
    });
  });
  afterAll(() => {
    cleanup(c);
    rmSync(dir, { recursive: true, force: true });
  });
  const of = (construct: IConstruct) =>
    (c.template.toJSON().Resources as Record<string, Resource>)[logicalId(c, construct)] as Resource;

  it("has no late-drop check when it is off", () => {
    expect(c.stack.lateDropCheck).toBeUndefined();
    expect(Object.keys(c.template.findResources("AWS::Scheduler::Schedule"))).toEqual([
      logicalId(c, c.stack.schedule),
    ]);
  });

  it("runs both Lambdas on arm64 when asked", () => {
    for (const fn of [c.stack.ingest, c.stack.scoring]) {
      expect(of(fn.function).Properties.Architectures).toEqual(["arm64"]);
    }
  });

  it("schedules with the given cron expression in the given time zone", () => {
    expect(of(c.stack.schedule).Properties).toMatchObject({
      ScheduleExpression: "cron(30 5 ? * MON-FRI *)",
      ScheduleExpressionTimezone: "Europe/Berlin",
    });
    const input = JSON.parse((of(c.stack.schedule).Properties.Target as { Input: string }).Input);
    expect(input.timeZone).toBe("Europe/Berlin");
  });

  it("applies the bytes-scanned cutoff, retentions and lifecycle days", () => {
    c.template.hasResourceProperties("AWS::Athena::WorkGroup", {
      WorkGroupConfiguration: { BytesScannedCutoffPerQuery: 500 * 1024 ** 2 },
    });
    c.template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    const rules = (b: IConstruct) =>
      JSON.stringify((of(b).Properties.LifecycleConfiguration as { Rules: unknown[] }).Rules);
    expect(rules(c.stack.results)).toContain('"ExpirationInDays":3');
    expect(rules(c.stack.accessLogs)).toContain('"ExpirationInDays":30');
    expect(rules(c.stack.landing)).toContain('{"StorageClass":"STANDARD_IA","TransitionInDays":60}');
    expect(rules(c.stack.landing)).toContain('{"StorageClass":"GLACIER_IR","TransitionInDays":180}');
    expect(rules(c.stack.lake)).toContain('"NoncurrentVersionExpiration":{"NoncurrentDays":10}');
  });

  it("subscribes the alarm e-mail address to the topic", () => {
    c.template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "data-team@example.com",
      TopicArn: { Ref: logicalId(c, c.stack.alarmTopic) },
    });
  });

  it("uses the given quarantine ratio threshold", () => {
    const a = c.stack.alarms.QuarantineRatio;
    if (a === undefined) throw new Error("no quarantine alarm");
    expect(of(a).Properties.Threshold).toBe(0.2);
  });

  it("passes the run configuration, minified, to both Lambdas in CRMLAKE_CONFIG", () => {
    for (const fn of [c.stack.ingest, c.stack.scoring]) {
      const env = (of(fn.function).Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      expect(env.CRMLAKE_CONFIG).toBe(JSON.stringify(config));
    }
  });
});

describe("cdk-nag (AwsSolutions)", () => {
  it("reports no unacknowledged error or warning on the default stack", () => {
    expect(nagFindings(s.app)).toEqual([]);
  });

  it("reports none with destroyData (auto-delete custom resources) or the other options either", () => {
    const d = synth({
      "crmlake:destroyData": true,
      "crmlake:alarmEmail": "ops@example.com",
      "crmlake:architecture": "arm64",
    });
    try {
      expect(nagFindings(d.app)).toEqual([]);
    } finally {
      cleanup(d);
    }
  });

  it("would report an unencrypted, unlogged bucket (the check above can fail)", () => {
    const app = new App();
    new s3.Bucket(new Stack(app, "Bad"), "Plain");
    const found = nagFindings(app);
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/^error AwsSolutions-S1 at Bad\/Plain/)]),
    );
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/^error AwsSolutions-S10 at Bad\/Plain/)]),
    );
  });

  it("gives every acknowledgment a reason of its own", () => {
    const reasons: string[] = [];
    const visit = (node: IConstruct) => {
      for (const entry of node.node.metadata) {
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
          reasons.push(...Object.values(entry.data as Record<string, string>));
        }
      }
      for (const child of node.node.children) visit(child);
    };
    visit(s.app);
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(reason.length).toBeGreaterThan(40);
  });
});

describe("the app (infra/app.ts)", () => {
  it("synthesises offline with cdk.json's context, cdk-nag passing", () => {
    const outdir = mkdtempSync(join(tmpdir(), "crmlake-app-"));
    try {
      const run = spawnSync(process.execPath, ["--import", "tsx", join(PROJECT_ROOT, "infra", "app.ts")], {
        cwd: PROJECT_ROOT,
        encoding: "utf8",
        env: {
          ...process.env,
          CDK_OUTDIR: outdir,
          CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, "crmlake:placeholderCode": true }),
        },
      });
      expect(run.stderr).not.toMatch(/AwsSolutions-/);
      expect(run.status, run.stderr).toBe(0);
      const template = JSON.parse(readFileSync(join(outdir, "Crmlake.template.json"), "utf8"));
      expect(Object.keys(template.Resources).length).toBeGreaterThan(40);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it("refuses crmlake:placeholderCode outside the test suite, so a stub can never be deployed", () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CDK_OUTDIR: mkdtempSync(join(tmpdir(), "crmlake-app-")),
    };
    delete env.VITEST;
    const run = spawnSync(process.execPath, ["--import", "tsx", join(PROJECT_ROOT, "infra", "app.ts")], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      env: {
        ...env,
        CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, "crmlake:placeholderCode": true }),
      },
    });
    rmSync(env.CDK_OUTDIR ?? "", { recursive: true, force: true });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("Context crmlake:placeholderCode is for the test suite only");
  });

  it("fails the synth on a cdk-nag finding nobody acknowledged", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "crmlake-app-"));
    try {
      const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, "crmlake:placeholderCode": true } });
      const stack = await buildCrmlakeApp(app);
      new s3.Bucket(stack, "Unlogged", { enforceSSL: true });
      expect(() => app.synth()).toThrow(/Crmlake\/Unlogged[\s\S]*AwsSolutions-S1/);
      const report = readFileSync(join(outdir, "validation-report.json"), "utf8");
      expect(report).toContain("AwsSolutions-S1");
      expect(report).toContain("Crmlake/Unlogged");
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
