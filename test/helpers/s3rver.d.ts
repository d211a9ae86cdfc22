// s3rver 3.x ships CommonJS without types; this declares only the part of its API the tests use.
declare module "s3rver" {
  interface S3rverBucket {
    readonly name: string;
    readonly configs?: readonly (string | Uint8Array)[];
  }

  interface S3rverOptions {
    readonly address?: string;
    readonly port?: number;
    readonly silent?: boolean;
    readonly directory?: string;
    readonly resetOnClose?: boolean;
    readonly allowMismatchedSignatures?: boolean;
    readonly vhostBuckets?: boolean;
    readonly configureBuckets?: readonly S3rverBucket[];
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    /** Creates the configured buckets and starts listening; resolves to the bound address. */
    run(): Promise<import("node:net").AddressInfo>;
    close(): Promise<void>;
  }

  export = S3rver;
}
