/**
 * The TypeScript stages of the project, declared: name, layer and header (catalogue/models.ts
 * StageDeclaration), apart from their code. The Glue tables of the stack and the generated docs read these;
 * each stage's code (core/stages/) is built on its declaration and registered in core/stages/index.ts, which
 * only the composition roots import (docs/adr/0008-layout-and-architecture-rules.md).
 *
 * None yet: the first, fitting BG/NBD and Gamma-Gamma for customer lifetime value, comes with its own issue.
 */
import { DEFAULT_SQL_DIR, loadProjectModels, type Model, type StageDeclaration } from "./models.ts";

export const STAGE_DECLARATIONS: readonly StageDeclaration[] = [];

/** The catalogue's whole plan: the SQL models under `sqlDir` and the declared stages (Glue tables, docs). */
export function loadCatalogueModels(sqlDir: string = DEFAULT_SQL_DIR): Promise<Model[]> {
  return loadProjectModels(sqlDir, STAGE_DECLARATIONS);
}
