/**
 * The project's TypeScript stages (runner/stage.ts), registered here by import: a Lambda bundle cannot load .ts
 * files at run time, so every stage the runner may run is part of the bundle. Only the composition roots
 * (functions/backends/) import this registry and hand it to the runner (RunOptions.stages); the runner never
 * imports it. Each stage is defined on its declaration in catalogue/stages.ts, which the Glue tables and the
 * docs read without loading any stage code.
 */
import type { Stage } from "../runner/stage.ts";
import { campaignResults } from "./campaign_results.ts";
import { clvExpectations } from "./clv_expectations.ts";
import { clvModel } from "./clv_model.ts";

export const STAGES: readonly Stage[] = [campaignResults, clvModel, clvExpectations];
