import { CrmlakeError } from "../errors.ts";

/**
 * Errors of the model runner: a model file that does not parse, an unknown or cyclic dependency, a model
 * that fails or breaks its own header's promises. `code` is stable (tests and the runs table use it).
 */
export class ModelError extends CrmlakeError {
  override name = "ModelError";
}

/** Another run holds the lake's run lock. */
export class RunLockedError extends ModelError {
  override name = "RunLockedError";
}
