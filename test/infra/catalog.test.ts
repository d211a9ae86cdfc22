import { App, Stack } from "aws-cdk-lib";
import type * as glue from "aws-cdk-lib/aws-glue";
import * as s3 from "aws-cdk-lib/aws-s3";
import { describe, expect, it } from "vitest";
import type { ModelColumn } from "../../functions/core/catalogue/header.ts";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { loadProjectModels } from "../../functions/core/catalogue/models.ts";
import { STAGE_DECLARATIONS } from "../../functions/core/catalogue/stages.ts";
import { defineStage } from "../../functions/core/runner/stage.ts";
import {
  glueText,
  LAKE_PREFIXES,
  LakeCatalog,
  lakeTables,
  latestTable,
  type ModelTableSource,
  modelOutputTables,
  partitioning,
  type TableSpec,
  tableInput,
} from "../../infra/constructs/lake-catalog.ts";

const col = (name: string, type: string, description: string): ModelColumn => ({
  name,
  type,
  description,
  line: 1,
});

function model(
  name: string,
  columns: readonly ModelColumn[],
  header: Partial<ModelTableSource["header"]> = {},
): ModelTableSource {
  return {
    name,
    file: `sql/marts/${name}.sql`,
    header: {
      question: "Which customers are worth the most today?",
      grain: "one row per customer",
      materialized: "table",
      columns,
      ...header,
    },
  };
}

const only = (specs: TableSpec[]): TableSpec => {
  expect(specs).toHaveLength(1);
  return specs[0] as TableSpec;
};

describe("model output tables", () => {
  it("declares a table for a TypeScript stage of the project's plan, from its header, like a SQL model", async () => {
    const stage = defineStage({
      name: "customer_future_value",
      layer: "marts",
      header: [
        "-- question: What is each customer expected to be worth over the horizon?",
        "-- grain: one row per customer",
        "-- depends_on: customer_base",
        "-- unique_key: customer_id",
        "-- column customer_id varchar: Customer id.",
        "-- column expected_orders double: Expected purchase orders over the horizon.",
      ].join("\n"),
      run: () => {
        throw new Error("not run at synth");
      },
    });
    const specs = modelOutputTables(await loadProjectModels("sql", [...STAGE_DECLARATIONS, stage]));
    const future = specs.find((t) => t.name === "customer_future_value");
    expect(future?.columns.map((c) => [c.name, c.type])).toEqual([
      ["customer_id", "string"],
      ["expected_orders", "double"],
    ]);
    expect(future?.prefix).toBe(MODEL_LAYOUT.modelPrefix("customer_future_value"));
    expect(specs.some((t) => t.name === "customer_rfm")).toBe(true);
  });

  it("declares the profitability matrix and the next-best actions like every mart (issue 14)", async () => {
    const specs = modelOutputTables(await loadProjectModels("sql", STAGE_DECLARATIONS));
    const actions = specs.find((t) => t.name === "customer_actions");
    expect(actions?.prefix).toBe(MODEL_LAYOUT.modelPrefix("customer_actions"));
    expect(actions?.columns.slice(0, 4).map((c) => [c.name, c.type])).toEqual([
      ["customer_id", "string"],
      ["next_action", "string"],
      ["action_rule", "int"],
      ["offer_category", "string"],
    ]);
    for (const name of ["customer_quadrants", "quadrant_summary", "clv_expectations"]) {
      expect(specs.find((t) => t.name === name)?.prefix).toBe(MODEL_LAYOUT.modelPrefix(name));
    }
  });

  const scores = only(
    modelOutputTables([
      model("customer_scores", [
        col("customer_id", "varchar", "Customer id."),
        col("orders", "bigint", "Purchase orders."),
        col("profit_decile", "integer", "Decile of net profit, 10 = most."),
        col("net_revenue", "decimal(18,2)", "Net revenue."),
        col("churn_probability", "double", "Probability that the customer has lapsed."),
        col("last_order_on", "date", "Date of the latest purchase order."),
        col("scored_at", "timestamp(3)", "When the run scored the customer."),
        col("is_prospect", "boolean", "True when the customer never bought."),
        col("categories", "array(varchar)", "Categories bought, alphabetically."),
      ]),
    ]),
  );

  it("names the table after the model and puts it under the runner's models/<model>/", () => {
    expect(scores.name).toBe("customer_scores");
    expect(scores.prefix).toBe(MODEL_LAYOUT.modelPrefix("customer_scores"));
    expect(scores.prefix).toBe("models/customer_scores/");
    expect(scores.prefix.startsWith(LAKE_PREFIXES.models)).toBe(true);
    expect(scores.format).toBe("parquet");
  });

  it("keeps the header's columns in order, types them in Hive notation, and comments them", () => {
    expect(scores.columns).toEqual([
      { name: "customer_id", type: "string", comment: "Customer id." },
      { name: "orders", type: "bigint", comment: "Purchase orders." },
      { name: "profit_decile", type: "int", comment: "Decile of net profit, 10 = most." },
      { name: "net_revenue", type: "decimal(18,2)", comment: "Net revenue." },
      { name: "churn_probability", type: "double", comment: "Probability that the customer has lapsed." },
      { name: "last_order_on", type: "date", comment: "Date of the latest purchase order." },
      { name: "scored_at", type: "timestamp", comment: "When the run scored the customer." },
      { name: "is_prospect", type: "boolean", comment: "True when the customer never bought." },
      { name: "categories", type: "array<string>", comment: "Categories bought, alphabetically." },
    ]);
  });

  it("describes the table with the header's question and grain", () => {
    expect(scores.description).toBe("Which customers are worth the most today? Grain: one row per customer.");
  });

  it("partitions by as_of, a date, with registered partitions: no projection, no location template", () => {
    expect(scores.partitionKeys).toEqual([{ name: "as_of", type: "date", comment: expect.any(String) }]);
    expect(scores.projection).toEqual({});
    expect(partitioning(scores)).toBe("registered");
    const input = tableInput(scores, "lake-bucket");
    expect(input).toEqual({
      name: "customer_scores",
      description: scores.description,
      tableType: "EXTERNAL_TABLE",
      parameters: { EXTERNAL: "TRUE", classification: "parquet" },
      partitionKeys: [
        { name: "as_of", type: "date", comment: expect.stringMatching(/registered partition/) },
      ],
      storageDescriptor: {
        inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        serdeInfo: { serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
        location: `s3://lake-bucket/${MODEL_LAYOUT.modelPrefix("customer_scores")}`,
        columns: scores.columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
      },
    });
  });

  it("stores model outputs with the same Parquet SerDe as the curated input tables, read directly", () => {
    type Descriptor = glue.CfnTable.StorageDescriptorProperty;
    const curated = tableInput(lakeTables()[0] as TableSpec, "b").storageDescriptor as Descriptor;
    const output = tableInput(scores, "b").storageDescriptor as Descriptor;
    expect(output.serdeInfo).toEqual(curated.serdeInfo);
    expect(curated.serdeInfo).toEqual({
      serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    });
    // The curated tables read a manifest of Parquet files; the outputs read their partitions' files.
    expect(curated.inputFormat).toBe("org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat");
    expect(output.inputFormat).toBe("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat");
  });

  it("gives a view no table: only materialized tables are published", () => {
    const specs = modelOutputTables([
      model("stg_customers", [col("customer_id", "varchar", "Customer id.")], { materialized: "view" }),
      model("customer_base", [col("customer_id", "varchar", "Customer id.")]),
    ]);
    expect(specs.map((t) => t.name)).toEqual(["customer_base"]);
  });

  it("truncates a column comment longer than Glue's 255 characters at a word, with an ellipsis", () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
    const [c] = only(modelOutputTables([model("m", [col("wordy", "varchar", words)])])).columns;
    expect(c?.comment.length).toBeLessThanOrEqual(255);
    expect(c?.comment.endsWith("…")).toBe(true);
    const kept = c?.comment.slice(0, -1) ?? "";
    expect(words.startsWith(kept)).toBe(true);
    expect(words[kept.length]).toBe(" ");
    expect(kept.length).toBeGreaterThan(200);
  });

  it("truncates a description longer than Glue's 2048 characters", () => {
    const spec = only(
      modelOutputTables([model("m", [col("a", "varchar", "A.")], { grain: "x ".repeat(1500) })]),
    );
    expect(spec.description.length).toBeLessThanOrEqual(2048);
    expect(spec.description.endsWith("…")).toBe(true);
  });

  it("refuses a column without a type, naming the model file and the column", () => {
    expect(() =>
      modelOutputTables([model("m", [{ name: "untyped", description: "No type.", line: 3 } as ModelColumn])]),
    ).toThrow('sql/marts/m.sql: column "untyped" declares no type');
  });

  it("refuses a type Glue cannot declare, naming the model file, the column and the type", () => {
    expect(() => modelOutputTables([model("m", [col("id", "uuid", "Id.")])])).toThrow(
      /^sql\/marts\/m\.sql: column "id" has type "uuid", which a Glue table cannot declare/,
    );
  });

  it("refuses two tables of the same name", () => {
    const stack = new Stack(new App(), "S");
    const twice = model("twice", [col("a", "varchar", "A.")]);
    const specs = modelOutputTables([twice, twice]);
    expect(
      () =>
        new LakeCatalog(stack, "C", { databaseName: "db", lake: new s3.Bucket(stack, "B"), tables: specs }),
    ).toThrow('Glue table "twice" is declared twice');
  });

  it("tells the catalog which tables have registered partitions: the model outputs only", () => {
    const stack = new Stack(new App(), "S");
    const catalog = new LakeCatalog(stack, "C", {
      databaseName: "db",
      lake: new s3.Bucket(stack, "B"),
      tables: [...lakeTables(), ...modelOutputTables([model("m", [col("a", "varchar", "A.")])])],
    });
    expect(catalog.registeredPartitionTables).toEqual(["m"]);
  });

  it("declares a model's latest table (ADR 0014) only from a model output table, and no other table named *_latest", () => {
    const [m] = modelOutputTables([model("m", [col("a", "varchar", "A.")])]) as [TableSpec];
    const latest = latestTable(m);
    expect(latest).toMatchObject({ name: "m_latest", latestOf: "m", columns: m.columns });
    expect(partitioning(latest)).toBe("projected");
    expect(() => latestTable(latest)).toThrow('Glue table "m_latest" is not a model output table');
    expect(() => latestTable(lakeTables()[0] as TableSpec)).toThrow(/is not a model output table/);
    // The scoring role may update table/<db>/*_latest: a model so named would fall under that grant.
    const named = modelOutputTables([model("sales_latest", [col("a", "varchar", "A.")])]);
    const stack = new Stack(new App(), "S");
    expect(
      () =>
        new LakeCatalog(stack, "C", { databaseName: "db", lake: new s3.Bucket(stack, "B"), tables: named }),
    ).toThrow('Glue table "sales_latest": only the latest table of a model');
    const catalog = new LakeCatalog(stack, "D", {
      databaseName: "db",
      lake: new s3.Bucket(stack, "B2"),
      tables: [m, latest],
    });
    expect(catalog.latestTables).toEqual(["m_latest"]);
    expect(catalog.registeredPartitionTables).toEqual(["m"]);
  });
});

describe("input tables", () => {
  it("declares the products catalogue like every dataset: a symlink table of its contract's columns (issue 16)", () => {
    const products = lakeTables().find((t) => t.name === "products");
    expect(products?.format).toBe("parquet-symlink");
    expect(products?.partitionKeys).toEqual([]);
    expect(products?.columns.map((c) => [c.name, c.type])).toEqual([
      ["product_id", "string"],
      ["category", "string"],
      ["brand", "string"],
      ["list_price", "decimal(18,2)"],
      ["cost", "decimal(18,2)"],
      ["drop_id", "string"],
      ["line_number", "bigint"],
    ]);
  });
});

describe("partitioning", () => {
  it("is projected for the system tables, none for the datasets (symlink tables)", () => {
    const kinds = Object.fromEntries(lakeTables().map((t) => [t.name, partitioning(t)]));
    expect(kinds).toMatchObject({
      transactions: "none",
      customers: "none",
      quarantine: "projected",
      drops: "projected",
    });
    expect(Object.values(kinds)).not.toContain("registered");
    expect(Object.values(kinds)).toContain("none");
  });

  it("refuses a table that projects some of its partition keys but not all", () => {
    const quarantine = lakeTables().find((t) => t.name === "quarantine") as TableSpec;
    const half: TableSpec = {
      ...quarantine,
      partitionKeys: [...quarantine.partitionKeys, { name: "store", type: "string", comment: "Store" }],
    };
    expect(() => partitioning(half)).toThrow(
      'Glue table "quarantine" projects dataset but is partitioned by dataset, store',
    );
    expect(() => tableInput(half, "b")).toThrow("project every partition key or none");
  });
});

describe("glueText", () => {
  it("keeps text that fits, to the character", () => {
    expect(glueText("x".repeat(255), 255)).toBe("x".repeat(255));
    expect(glueText("Net revenue.", 255)).toBe("Net revenue.");
  });

  it("cuts at the last word boundary near the limit, drops trailing punctuation, adds an ellipsis", () => {
    expect(glueText("alpha beta, gamma delta", 19)).toBe("alpha beta, gamma…");
    expect(glueText("alpha beta, gamma delta", 18)).toBe("alpha beta, gamma…");
    expect(glueText("alpha beta, gamma delta", 17)).toBe("alpha beta, gamm…");
    expect(glueText("alpha beta, gamma delta", 12)).toBe("alpha beta…");
  });

  it("cuts mid-word when the text has no space near the limit", () => {
    expect(glueText("x".repeat(300), 255)).toBe(`${"x".repeat(254)}…`);
  });
});
