/**
 * ObjectStore: the one interface between the core and where the lake lives (DESIGN.md §2). Keys are
 * `/`-separated paths relative to the store's root (a local directory, or a bucket and prefix).
 */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** When the object was last written, where the store knows it (S3). */
  readonly lastModified?: Date;
}

/** An object's bytes with its entity tag, for a later conditional write (ObjectStore.putIf). */
export interface TaggedObject {
  readonly body: Uint8Array;
  readonly etag: string;
}

/**
 * The condition of a conditional write: `ifNoneMatch: "*"` creates the object only when it does not exist;
 * `ifMatch` replaces it only while its entity tag is still the given one (S3 conditional writes).
 */
export type WriteCondition = { readonly ifNoneMatch: "*" } | { readonly ifMatch: string };

export interface ObjectStore {
  /** Human-readable location of the root, e.g. `/home/me/lake` or `s3://bucket/prefix`. */
  readonly location: string;
  /**
   * The absolute URI of a key as another engine reads it: `s3://bucket/prefix/key`, or `file:///abs/path` for
   * a local lake. Symlink manifests list these (docs/adr/0010-ledger-visibility-and-snapshots.md).
   */
  uri(key: string): string;
  /** Writes a small object from memory. */
  put(key: string, body: string | Uint8Array): Promise<void>;
  /** Uploads a local file (streamed; multipart on S3 for large files). */
  putFile(key: string, localPath: string): Promise<void>;
  /** Reads a small object, or undefined when it does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Reads a small object with its entity tag, or undefined when it does not exist. */
  getTagged(key: string): Promise<TaggedObject | undefined>;
  /**
   * Writes a small object only if `condition` holds, atomically with the check: of two writers racing on the
   * same condition, one wins. Returns the new entity tag, or undefined when the condition did not hold (the
   * object exists, or changed since it was read). The ledger's commits and claims are made of these
   * (docs/adr/0010-ledger-visibility-and-snapshots.md).
   */
  putIf(key: string, body: string | Uint8Array, condition: WriteCondition): Promise<string | undefined>;
  /** Streams an object to a local file. Throws StorageError when it does not exist. */
  getToFile(key: string, localPath: string): Promise<void>;
  /** Lists every object under a prefix (recursively), in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes objects; keys that do not exist are ignored. */
  delete(keys: readonly string[]): Promise<void>;
}

/** Joins key segments with `/`, without doubling separators. */
export function joinKey(...parts: string[]): string {
  return parts
    .filter((part) => part !== "")
    .map((part, index) => (index === 0 ? part.replace(/\/+$/, "") : part.replace(/^\/+|\/+$/g, "")))
    .join("/");
}
