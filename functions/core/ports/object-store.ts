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

export interface ObjectStore {
  /** Human-readable location of the root, e.g. `/home/me/lake` or `s3://bucket/prefix`. */
  readonly location: string;
  /** Writes a small object from memory. */
  put(key: string, body: string | Uint8Array): Promise<void>;
  /** Uploads a local file (streamed; multipart on S3 for large files). */
  putFile(key: string, localPath: string): Promise<void>;
  /** Reads a small object, or undefined when it does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
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
