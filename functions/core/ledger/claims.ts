/**
 * At-most-once content (docs/adr/0010-ledger-visibility-and-snapshots.md, decision 4): before converting, an
 * attempt claims the content key `ledger/content/<dataset>/<sha256>.json` with a conditional create. Of two
 * drops with the same bytes, one holds the claim; the other is a duplicate (the holder committed those bytes)
 * or waits for the holder (it has not committed yet, and its lease runs). A claim whose lease ran out without
 * a commit is taken over by a conditional overwrite, so of two takers one wins.
 */
import { z } from "zod";
import type { DatasetName } from "../catalogue/contracts.ts";
import { LAKE } from "../catalogue/layout.ts";
import type { LedgerRecord } from "../ingest/types.ts";
import type { ObjectStore, TaggedObject } from "../ports/object-store.ts";
import { parseLedgerRecord } from "./ledger.ts";

/** A Lambda lives at most 15 minutes: a claim older than that without a commit has no living holder. */
export const DEFAULT_CLAIM_LEASE_MS = 15 * 60 * 1000;

const CLAIM = z.looseObject({
  drop_id: z.string(),
  version: z.string().optional(),
  lease_until: z.string().optional(),
});
export type ContentClaim = z.infer<typeof CLAIM>;

export type ClaimOutcome =
  /** This attempt holds the content key. */
  | { readonly kind: "claimed" }
  /** Another drop committed these bytes: this one is a duplicate. */
  | { readonly kind: "duplicate"; readonly holder: LedgerRecord }
  /** Another drop holds the claim and has not committed yet; its lease ends at `leaseUntil`. */
  | { readonly kind: "in_progress"; readonly holder: ContentClaim; readonly leaseUntil: Date };

export interface ClaimRequest {
  readonly dataset: DatasetName;
  readonly sha256: string;
  readonly dropId: string;
  readonly version: string;
  readonly now: Date;
  readonly leaseMs?: number;
}

function parseClaim(object: TaggedObject): ContentClaim | undefined {
  try {
    const parsed = CLAIM.safeParse(JSON.parse(Buffer.from(object.body).toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // an unreadable claim is no claim: it is taken over like a stale one
  }
}

/** The holder's committed record, if it has one. */
async function holderRecord(store: ObjectStore, dropId: string): Promise<LedgerRecord | undefined> {
  const key = LAKE.ledgerKey(dropId);
  const bytes = await store.get(key);
  return bytes === undefined ? undefined : parseLedgerRecord(bytes, key, store.location);
}

/**
 * Claims the content for `request.dropId`. The same drop may always re-claim its own content (a re-ingest of
 * an unchanged file replaces its own version). The committed ledger is the truth: a claim whose holder's
 * record holds these bytes is a commit, whatever the claim says.
 */
export async function claimContent(store: ObjectStore, request: ClaimRequest): Promise<ClaimOutcome> {
  const key = LAKE.contentKey(request.dataset, request.sha256);
  const leaseUntil = new Date(request.now.getTime() + (request.leaseMs ?? DEFAULT_CLAIM_LEASE_MS));
  const body = `${JSON.stringify({ drop_id: request.dropId, version: request.version, lease_until: leaseUntil.toISOString() })}\n`;
  for (let attempt = 0; attempt < 4; attempt++) {
    if ((await store.putIf(key, body, { ifNoneMatch: "*" })) !== undefined) return { kind: "claimed" };
    const current = await store.getTagged(key);
    if (current === undefined) continue; // released meanwhile: try to create it again
    const holder = parseClaim(current);
    if (holder !== undefined && holder.drop_id !== request.dropId) {
      const record = await holderRecord(store, holder.drop_id);
      if (record?.status === "ok" && record.content_sha256 === request.sha256) {
        return { kind: "duplicate", holder: record };
      }
      // A claim by an attempt no later than the holder's committed version, which holds other bytes, is
      // spent: that attempt committed and was superseded, or died before a later one committed. Only a
      // newer attempt of the holder can still be converting.
      const spent =
        record?.status === "ok" &&
        holder.version !== undefined &&
        record.version !== undefined &&
        holder.version <= record.version;
      const holderLease = holder.lease_until === undefined ? Number.NaN : Date.parse(holder.lease_until);
      if (!spent && Number.isFinite(holderLease) && holderLease > request.now.getTime()) {
        return { kind: "in_progress", holder, leaseUntil: new Date(holderLease) };
      }
    }
    // Our own drop's claim, or a stale or unreadable one: take it over, unless another taker wins first.
    if ((await store.putIf(key, body, { ifMatch: current.etag })) !== undefined) return { kind: "claimed" };
  }
  const holder = await store.getTagged(key);
  const claim = holder === undefined ? undefined : parseClaim(holder);
  return {
    kind: "in_progress",
    holder: claim ?? { drop_id: "unknown" },
    leaseUntil: leaseUntil,
  };
}

/**
 * Gives up a claim this attempt holds (it was rejected or failed before committing), so the bytes may be
 * ingested under another name at once instead of after the lease: the claim's lease is ended by a conditional
 * overwrite, so a claim another attempt took over meanwhile is left as it is.
 */
export async function releaseClaim(
  store: ObjectStore,
  request: Omit<ClaimRequest, "leaseMs">,
): Promise<void> {
  const key = LAKE.contentKey(request.dataset, request.sha256);
  const current = await store.getTagged(key);
  if (current === undefined) return;
  const claim = parseClaim(current);
  if (claim?.drop_id !== request.dropId || claim.version !== request.version) return;
  const ended = { drop_id: request.dropId, version: request.version, lease_until: request.now.toISOString() };
  await store.putIf(key, `${JSON.stringify(ended)}\n`, { ifMatch: current.etag });
}
