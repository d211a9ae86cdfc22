import { describe, expect, it } from "vitest";
import { parseModelHeader } from "../../functions/core/catalogue/header.ts";
import {
  type Layer,
  type Model,
  planModels,
  selectModels,
  validateModels,
} from "../../functions/core/catalogue/models.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";

/** A model in memory: `reads` become depends_on and FROM clauses. */
function model(name: string, reads: string[] = [], layer: Layer = "marts"): Model {
  const from =
    reads.length > 0 ? reads.map((r, i) => (i === 0 ? `from ${r}` : `join ${r} on true`)).join(" ") : "";
  const sql = `-- question: q\n-- grain: g\n-- depends_on: ${reads.join(", ") || "none"}\n-- unique_key: a\n-- column a integer: A.\nselect 1 as a ${from}\n`;
  const file = `sql/${layer}/${name}.sql`;
  const { header, bodyLine } = parseModelHeader(sql, file);
  return { name, layer, file, header, sql, bodyLine };
}

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error");
}

describe("model graph", () => {
  it("orders dependencies first, then by layer and name, the same way every time", () => {
    const models = [
      model("customer_scores", ["customer_rfm", "customer_base"], "scores"),
      model("customer_rfm", ["customer_base"]),
      model("customer_base", ["stg_transactions"]),
      model("stg_transactions", [], "staging"),
      model("another_mart", ["stg_transactions"]),
    ];
    const names = planModels(models).map((m) => m.name);
    expect(names).toEqual([
      "stg_transactions",
      "another_mart",
      "customer_base",
      "customer_rfm",
      "customer_scores",
    ]);
    expect(planModels([...models].reverse()).map((m) => m.name)).toEqual(names);
  });

  it("explains an unknown dependency with a suggestion and the known models", () => {
    const models = [
      model("customer_scores", ["customer_scroes"], "scores"),
      model("customer_base"),
      model("customer_rfm"),
    ];
    expect(failure(() => validateModels(models))).toBe(
      'Unknown model "customer_scroes" in depends_on of customer_scores (sql/scores/customer_scores.sql). Did you mean "customer_scores"? Known models: customer_base, customer_rfm, customer_scores',
    );
  });

  it("spells out a cycle", () => {
    expect(failure(() => planModels([model("a", ["b"]), model("b", ["a"])]))).toBe(
      "Dependency cycle: a → b → a",
    );
    expect(
      failure(() => planModels([model("a", ["b"]), model("b", ["c"]), model("c", ["a"]), model("d", ["a"])])),
    ).toBe("Dependency cycle: a → b → c → a");
  });

  it("rejects a dependency on a later layer", () => {
    expect(failure(() => validateModels([model("early", ["late"], "staging"), model("late")]))).toBe(
      "sql/staging/early.sql: staging model early depends on marts model late; a model may only read its own layer or earlier ones (staging → intermediate → marts → scores)",
    );
  });

  it("rejects a body that reads a model its header does not declare, or declares one it never reads", () => {
    const sneaky = model("sneaky");
    const reads = { ...sneaky, sql: sneaky.sql.replace("select 1 as a", "select a from other") };
    expect(failure(() => validateModels([reads, model("other")]))).toBe(
      'sql/marts/sneaky.sql: reads model "other" but its header does not list it in depends_on',
    );
    const unused = model("unused", ["other"]);
    const noRead = { ...unused, sql: unused.sql.replace("from other", "") };
    expect(failure(() => validateModels([noRead, model("other")]))).toBe(
      'sql/marts/unused.sql: the header declares "other" but the SELECT never reads it (FROM/JOIN other)',
    );
  });

  it("rejects a model named like an input relation", () => {
    expect(failure(() => validateModels([model("transactions")]))).toMatch(/"transactions" is reserved/);
  });

  it("selects the requested models plus everything they need, in run order", () => {
    const models = [
      model("stg", [], "staging"),
      model("base", ["stg"]),
      model("rfm", ["base"]),
      model("other", ["stg"]),
      model("scores", ["rfm", "other"], "scores"),
    ];
    expect(selectModels(models, ["rfm"]).map((m) => m.name)).toEqual(["stg", "base", "rfm"]);
    expect(selectModels(models, undefined).map((m) => m.name)).toEqual([
      "stg",
      "base",
      "other",
      "rfm",
      "scores",
    ]);
    expect(failure(() => selectModels(models, ["rmf"]))).toBe(
      'Unknown model "rmf" in --models. Did you mean "rfm"? Known models: base, other, rfm, scores, stg',
    );
  });

  it("loads the project's models without errors", async () => {
    const models = await loadCatalogueModels("sql");
    expect(models.length).toBeGreaterThanOrEqual(20);
    expect(models.map((m) => m.name)).toContain("customer_scores");
  });

  it("points every model's header to the one page of definitions (issue 13)", async () => {
    const models = await loadCatalogueModels("sql");
    const without = models.filter(
      (m) => !m.header.notes.some((note) => note.includes("docs/definitions.md")),
    );
    expect(without.map((m) => m.name)).toEqual([]);
  });

  it("describes the project's models without a doubled word (the text becomes Glue comments and docs)", async () => {
    const doubled = /\b([a-z]{3,})\s*\1\b/i;
    const texts = (await loadCatalogueModels("sql")).flatMap((m) => [
      ...[m.header.question, m.header.grain, ...m.header.notes].map((text) => `${m.file}: ${text}`),
      ...m.header.columns.map((c) => `${m.file}:${c.line} ${c.name}: ${c.description}`),
    ]);
    expect(texts.filter((text) => doubled.test(text.replace(/^[^ ]+ /, "")))).toEqual([]);
  });
});
