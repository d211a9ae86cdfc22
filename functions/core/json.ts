/**
 * The one way a JSON document a user wrote (the config file, CRMLAKE_CONFIG, a source profile on disk or in
 * the landing bucket) is read: text → JSON → zod schema, every failure a ConfigError that names the source,
 * the key path and what was expected. A document that fails here is the user's to fix, never a crash or a
 * retry: the ingest Lambda rejects a drop whose profile fails, rather than dead-lettering it.
 */
import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { ConfigError, errorMessage } from "./errors.ts";

export interface JsonDocumentOptions {
  /** The ConfigError's code, e.g. `bad_config`, `bad_profile`. */
  readonly code: string;
}

/** One zod issue as `key.path: what was expected`, or `unknown key "x" in key.path`. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const where = path === "" ? "at the top level" : `in ${path}`;
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")} ${where}`;
  }
  return `${path === "" ? "(top level)" : path}: ${issue.message}`;
}

/** Every issue of a failed parse, `; `-separated. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map(describeIssue).join("; ");
}

/** Validates an already-parsed value; `source` names it in the error (`crmlake.config.json: …`). */
export function validateJson<S extends z.ZodType>(
  schema: S,
  value: unknown,
  source: string,
  options: JsonDocumentOptions,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(options.code, `${source}: ${describeIssues(result.error)}`);
}

/** Parses JSON text and validates it. */
export function parseJson<S extends z.ZodType>(
  schema: S,
  text: string,
  source: string,
  options: JsonDocumentOptions,
): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(options.code, `${source}: not valid JSON (${errorMessage(error)})`, {
      cause: error,
    });
  }
  return validateJson(schema, value, source, options);
}

/** Reads a local JSON file and validates it; `source` defaults to the path. */
export async function readJsonFile<S extends z.ZodType>(
  schema: S,
  path: string,
  options: JsonDocumentOptions & { readonly source?: string },
): Promise<z.output<S>> {
  const source = options.source ?? path;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(options.code, `${source}: cannot read the file (${errorMessage(error)})`, {
      cause: error,
    });
  }
  return parseJson(schema, text, source, options);
}
