/**
 * Issue 10: a stage that uses a runner value at module level loads, runs and synthesises. The imports below
 * come in the order that failed on the old layout (the model list first, then the runner, then the stack).
 */
import { afterAll, describe, expect, it } from "vitest";
import { runLocal } from "../../functions/backends/local.ts";
import { loadProjectModels } from "../../functions/core/catalogue/models.ts";
import { STAGE_DECLARATIONS } from "../../functions/core/catalogue/stages.ts";
import { STAGES } from "../../functions/core/stages/index.ts";
import { customerCountStage, LOADED_WITH } from "../fixtures/stages/module-level-values.ts";
import { synth } from "../infra/helpers.ts";
import { makeLake, read, removeLake } from "../sql/helpers.ts";

const AS_OF = "2024-03-31";
const lake = await makeLake({
  transactions: [
    { order_id: "o1", customer_id: "c1", ordered_at: "2024-03-01", amount: "10.00" },
    { order_id: "o2", customer_id: "c2", ordered_at: "2024-03-02", amount: "20.00" },
    { order_id: "o3", customer_id: "c2", ordered_at: "2024-03-05", amount: "5.00" },
  ],
});
afterAll(() => removeLake(lake));

describe("a stage that reads runner values at module level", () => {
  it("loads", () => {
    expect(LOADED_WITH.layer).toBe("marts");
    expect(LOADED_WITH.runIdPattern).not.toBe("");
  });

  it("runs: the runner plans it after its dependency and publishes its rows", async () => {
    // With the project's stages: its SQL models read some of them.
    const summary = await runLocal({ lakeDir: lake, asOf: AS_OF, stages: [...STAGES, customerCountStage] });
    expect(summary.models.find((m) => m.model === "throwaway_customer_count")).toMatchObject({
      status: "succeeded",
      rows: 1,
    });
    expect(await read(lake, "throwaway_customer_count", AS_OF, "customers")).toEqual([{ customers: "2" }]);
  });

  it("synthesises: the stack declares its Glue table from its header", async () => {
    const models = await loadProjectModels("sql", [...STAGE_DECLARATIONS, customerCountStage]);
    const { template } = synth({}, { models });
    const tables = template.findResources("AWS::Glue::Table");
    const names = Object.values(tables).map(
      (t) => (t as { Properties: { TableInput: { Name: string } } }).Properties.TableInput.Name,
    );
    expect(names).toContain("throwaway_customer_count");
  });
});
