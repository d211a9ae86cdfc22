/**
 * Storage hygiene (issue 18, item 6): what the lifecycle rules of the versioned buckets remove. Model snapshot
 * retention is not a lifecycle rule (docs/deploying.md, "Storage"): this file also pins that no rule expires
 * current objects under models/ or runs/, which a latest table or a pinned run may point at.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanup, resourceProps, type Synth, synth } from "./helpers.ts";

type Rule = Record<string, unknown>;

describe("lifecycle of the versioned buckets", () => {
  let s: Synth;
  beforeAll(() => {
    s = synth();
  });
  afterAll(() => cleanup(s));

  const rules = (bucket: () => Synth["stack"]["lake"]): Rule[] =>
    (resourceProps(s, bucket()).LifecycleConfiguration as { Rules: Rule[] }).Rules;

  it.each([
    ["landing", () => s.stack.landing],
    ["lake", () => s.stack.lake],
  ])("removes expired delete markers in the %s bucket, in a rule of their own", (_name, bucket) => {
    const markers = rules(bucket).filter((r) => r.ExpiredObjectDeleteMarker === true);
    expect(markers).toEqual([
      { Id: "remove-expired-delete-markers", ExpiredObjectDeleteMarker: true, Status: "Enabled" },
    ]);
    // The noncurrent versions behind a marker expire first; then the marker is "expired" and goes.
    expect(rules(bucket)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
      ]),
    );
  });

  it("leaves the unversioned buckets without a delete-marker rule (they have no markers)", () => {
    for (const bucket of [s.stack.results, s.stack.accessLogs]) {
      expect(JSON.stringify(rules(() => bucket))).not.toContain("ExpiredObjectDeleteMarker");
    }
  });

  it("expires no current object in the lake: snapshots are retired by what knows which are pointed at", () => {
    for (const rule of rules(() => s.stack.lake)) {
      expect(rule).not.toHaveProperty("ExpirationInDays");
      expect(rule).not.toHaveProperty("ExpirationDate");
    }
  });
});
