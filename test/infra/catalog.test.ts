import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import { describe, expect, it } from "vitest";
import { MODEL_LAYOUT } from "../../functions/core/runner/layout.ts";
import { loadModels } from "../../functions/core/runner/models.ts";
import { PROJECT_ROOT } from "../../infra/config.ts";
import { LakeCatalog, modelOutputTables, tableInput } from "../../infra/constructs/lake-catalog.ts";

describe("model output tables", () => {
  const [customerScores] = modelOutputTables([
    {
      name: "customer_scores",
      description: "One row per customer and run.",
      columns: [
        { name: "customer_id", type: "string", comment: "Customer id" },
        { name: "clv_12m", type: "decimal(18,2)", comment: "Predicted value over the next 12 months" },
      ],
    },
  ]);

  it("puts each model under models/<name>/ with its header's columns and comments", () => {
    expect(customerScores).toMatchObject({
      name: "customer_scores",
      prefix: "models/customer_scores/",
      format: "parquet",
      columns: [
        { name: "customer_id", type: "string", comment: "Customer id" },
        { name: "clv_12m", type: "decimal(18,2)", comment: "Predicted value over the next 12 months" },
      ],
    });
  });

  it("partitions a model by as_of, projected as daily dates", () => {
    if (customerScores === undefined) throw new Error("no table");
    const input = tableInput(customerScores, "lake-bucket");
    expect(input.partitionKeys).toEqual([{ name: "as_of", type: "date", comment: expect.any(String) }]);
    expect(input.parameters).toMatchObject({
      "projection.enabled": "true",
      "projection.as_of.type": "date",
      "projection.as_of.format": "yyyy-MM-dd",
      "projection.as_of.range": "2000-01-01,NOW",
      "projection.as_of.interval.unit": "DAYS",
      "storage.location.template": `s3://lake-bucket/models/customer_scores/as_of=\${as_of}/`,
    });
  });

  it("matches the model runner's layout: models/<model>/as_of=<date>/data.parquet", () => {
    if (customerScores === undefined) throw new Error("no table");
    const template = tableInput(customerScores, "lake").parameters as Record<string, string>;
    const key = `${MODEL_LAYOUT.modelPrefix("customer_scores")}${MODEL_LAYOUT.partitionDir("2024-01-31")}/`;
    expect(template["storage.location.template"]?.replace(`\${as_of}`, "2024-01-31")).toBe(
      `s3://lake/${key}`,
    );
  });

  it("refuses a column comment longer than Glue allows, naming the column", () => {
    expect(() =>
      modelOutputTables([
        {
          name: "m",
          description: "",
          columns: [{ name: "wordy", type: "string", comment: "x".repeat(256) }],
        },
      ]),
    ).toThrow('Comment of column "wordy" has 256 characters; Glue allows 255');
  });

  it("refuses two tables of the same name", () => {
    const stack = new Stack(new App(), "S");
    const specs = modelOutputTables([
      { name: "twice", description: "", columns: [] },
      { name: "twice", description: "", columns: [] },
    ]);
    expect(
      () =>
        new LakeCatalog(stack, "C", { databaseName: "db", lake: new s3.Bucket(stack, "B"), tables: specs }),
    ).toThrow('Glue table "twice" is declared twice');
  });
});

describe("model headers as a source of Glue tables", () => {
  // The stack declares no model output tables because the headers carry no column types (ADR 0003,
  // decision 4). When a header grows types, this fails: feed modelOutputTables() from the headers then.
  it("still document names and descriptions only, no types", async () => {
    const models = await loadModels(join(PROJECT_ROOT, "sql"));
    expect(models.length).toBeGreaterThan(0);
    for (const model of models) {
      for (const c of model.header.columns)
        expect(Object.keys(c).sort()).toEqual(["description", "line", "name"]);
    }
  });
});
