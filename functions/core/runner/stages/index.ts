/**
 * The project's TypeScript stages (../stage.ts), registered here by import: a Lambda bundle cannot load .ts
 * files at run time, so every stage the runner may run is part of the bundle. The runner merges them into the
 * plan with the SQL models (RunOptions.stages; tests pass their own).
 *
 * None yet: the first, fitting BG/NBD and Gamma-Gamma for customer lifetime value, comes with its own issue.
 */
import type { Stage } from "../stage.ts";

export const STAGES: readonly Stage[] = [];
