/**
 * Error families. Each module throws its own family so callers (the CLI, the Lambda handlers) can tell a
 * user's mistake (print one line, exit non-zero) from a bug (keep the stack).
 */

/** Base class of every error the user can fix: bad input, bad configuration, unknown names. */
export class CrmlakeError extends Error {
  override name = "CrmlakeError";
  /** A stable, machine-readable code (e.g. `missing_column`), used in the drop ledger and in tests. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A drop that cannot be ingested at all: unreadable, wrong format, missing a required column, empty. */
export class IngestError extends CrmlakeError {
  override name = "IngestError";
}

/**
 * The function ran out of a resource while ingesting a drop (`out_of_memory`, `disk_full`, `deadline`): not
 * the file's fault and not recorded as a rejection. The Lambda reports it as a batch item failure, so SQS
 * retries the drop and, if it keeps failing, moves it to the dead-letter queue (an alarm).
 */
export class ResourceError extends CrmlakeError {
  override name = "ResourceError";
}

/** A configuration file or source profile that does not validate. */
export class ConfigError extends CrmlakeError {
  override name = "ConfigError";
}

/** A usage mistake on the command line. */
export class UsageError extends CrmlakeError {
  override name = "UsageError";
}

/** An object-store operation that failed (missing key, access denied, network). */
export class StorageError extends CrmlakeError {
  override name = "StorageError";
}

/** A query or model that failed in an engine; carries the engine's own text. */
export class QueryFailedError extends CrmlakeError {
  override name = "QueryFailedError";
}

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

export function isCrmlakeError(error: unknown): error is CrmlakeError {
  return error instanceof CrmlakeError;
}

/**
 * The code of an engine's refusal to read a relation with the caller's rights, as adapters give it (the
 * stack's Athena queries, functions/backends/aws-stack.ts): an analyst may not read the ledger or quarantine.
 */
export const ACCESS_DENIED = "access_denied";

/** The error is an engine's refusal to read with the caller's rights (ACCESS_DENIED). */
export function isAccessDenied(error: unknown): boolean {
  return isCrmlakeError(error) && error.code === ACCESS_DENIED;
}

/** The message of anything thrown, for logs and the ledger. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
