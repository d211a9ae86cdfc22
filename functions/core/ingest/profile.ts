import { z } from "zod";
import { DATASET_NAMES } from "../catalogue/contracts.ts";
import { parseJson, readJsonFile, validateJson } from "../json.ts";

/**
 * A source profile maps a foreign export onto a dataset contract (DESIGN.md §3). Every field is optional;
 * the defaults read a UTF-8, comma-separated CSV with a header whose columns already carry contract names.
 */
const formats = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]));

const profileFields = z.strictObject({
  /** Shown in the ledger. Defaults to the profile file's name. */
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  /** When set, the profile may only be used for this dataset. */
  dataset: z.enum(DATASET_NAMES).optional(),
  /** Defaults to the file extension: .csv/.txt → csv, .tsv → csv with tab, .jsonl/.ndjson/.json → jsonl, .parquet. */
  format: z.enum(["csv", "jsonl", "parquet"]).optional(),
  /** One character; defaults to `,` (tab for .tsv). Use "\t" for tab. */
  delimiter: z.string().length(1).optional(),
  /** Quote character (default `"`); doubled inside a quoted field to escape it. Empty string: no quoting. */
  quote: z.string().max(1).default('"'),
  /**
   * A quoted field may run over at most this many line ends (default 100); past it, or at the end of the
   * file, its quote is taken as stray: the record's first line is quarantined and reading resumes at the
   * next line (docs/ingest.md#broken-quoting).
   */
  quoted_field_max_lines: z.number().int().min(1).default(100),
  /** And at most this many bytes, once it runs over a line end (default 1 MiB). */
  quoted_field_max_bytes: z.number().int().min(1).default(1_048_576),
  /** Whether the first line names the columns (default true). */
  header: z.boolean().default(true),
  /**
   * The source reuses one file name for each new export (`export.csv` every day): each new content is a drop
   * of its own, added beside the earlier ones, instead of replacing the file's previous version. Overlapping
   * rows count once all the same (the latest drop holding an order wins: stg_transactions).
   */
  append: z.boolean().default(false),
  /** Column names for a file without header, in order. */
  columns: z.array(z.string().min(1)).min(1).optional(),
  encoding: z.enum(["utf-8", "latin-1"]).default("utf-8"),
  /** `,` for exports that write 12,50. */
  decimal_separator: z.enum([".", ","]).default("."),
  /** Removed from numbers before parsing, e.g. `.` in 1.234,50 (default none). */
  thousands_separator: z.enum(["", ",", ".", " ", "'"]).default(""),
  /**
   * strptime formats tried in order for timestamp columns, e.g. "%m/%d/%Y %H:%M" for 12/1/2010 8:26.
   * Default: ISO 8601 (2024-01-31, 2024-01-31 10:00:00[.123], 2024-01-31T10:00:00Z, with an offset).
   */
  timestamp_formats: formats.optional(),
  /** strptime formats for date columns, e.g. "%d.%m.%Y". Default: ISO 2024-01-31. */
  date_formats: formats.optional(),
  /** Source column → contract column, e.g. {"InvoiceNo": "order_id"}. Matching is case-insensitive. */
  rename: z.record(z.string().min(1), z.string().min(1)).default({}),
  /** Derived columns. Only `amount` can be derived: the product of two source columns (after renaming). */
  derive: z
    .strictObject({
      amount: z.strictObject({ multiply: z.tuple([z.string().min(1), z.string().min(1)]) }),
    })
    .optional(),
  /** Values for contract columns the file does not have, e.g. {"channel": "web"}. */
  defaults: z.record(z.string().min(1), z.string()).default({}),
  /** Source columns to drop silently (no "unknown column" warning). */
  ignore_columns: z.array(z.string().min(1)).default([]),
  /**
   * Transactions: the lines that sell no product (postage, fees, manual adjustments, discount lines), by
   * product id. A line whose product id is listed, or matches the pattern (a whole-id match, RE2 syntax as
   * DuckDB's regexp_full_match reads it; case-sensitive), gets line_type non_product, any other line product.
   * A file's own line_type column wins where it has a value. Non-product lines stay in the lake but leave the
   * customer and product models (docs/definitions.md, Non-product lines).
   */
  non_product_lines: z
    .strictObject({
      product_ids: z.array(z.string().min(1)).default([]),
      product_id_pattern: z
        .string()
        .min(1)
        .refine(
          (pattern) => {
            try {
              new RegExp(pattern);
              return true;
            } catch {
              return false;
            }
          },
          { message: "not a regular expression" },
        )
        .optional(),
    })
    .optional(),
  /**
   * Exact duplicate lines (a line repeating an earlier line of the drop in every field): "keep" (the default)
   * curates every copy and counts them in the ledger's rows_duplicate; "quarantine" keeps the first copy and
   * quarantines the others as duplicate_line.
   */
  duplicate_lines: z.enum(["keep", "quarantine"]).default("keep"),
});

export const profileSchema = profileFields.superRefine((profile, context) => {
  if (profile.non_product_lines && profile.dataset !== undefined && profile.dataset !== "transactions") {
    context.addIssue({
      code: "custom",
      path: ["non_product_lines"],
      message: `applies to transactions only, and the profile is for ${profile.dataset}`,
    });
  }
  // One character for both would read "1,5" as 15: no file can be read right with such a profile.
  if (profile.thousands_separator === profile.decimal_separator) {
    context.addIssue({
      code: "custom",
      path: ["thousands_separator"],
      message: `"${profile.thousands_separator}" is also the decimal_separator; they must differ (a number like "1${profile.decimal_separator}5" would be ambiguous)`,
    });
  }
});

export type SourceProfile = z.output<typeof profileSchema>;

export const DEFAULT_PROFILE: SourceProfile = profileSchema.parse({});

const PROFILE_DOCUMENT = { code: "bad_profile" } as const;

/** Validates an already-parsed profile; `source` names it in errors (a path, `s3://…`). */
export function parseProfile(value: unknown, source: string): SourceProfile {
  return validateJson(profileSchema, value, `Source profile ${source}`, PROFILE_DOCUMENT);
}

/** A profile's JSON text (the ingest Lambda reads it from the landing bucket); `name` defaults its name. */
export function parseProfileText(text: string, source: string, name: string): SourceProfile {
  const profile = parseJson(profileSchema, text, `Source profile ${source}`, PROFILE_DOCUMENT);
  return { ...profile, name: profile.name ?? name };
}

/** Reads a local profile file; its name defaults to the file's name without `.json`. */
export async function loadProfile(path: string): Promise<SourceProfile> {
  const profile = await readJsonFile(profileSchema, path, {
    ...PROFILE_DOCUMENT,
    source: `Source profile ${path}`,
  });
  return {
    ...profile,
    name:
      profile.name ??
      path
        .split("/")
        .pop()
        ?.replace(/\.json$/, ""),
  };
}
