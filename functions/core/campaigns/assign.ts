/**
 * Holdout assignment for `crmlake campaign assign` (docs/campaigns.md): deterministic, hash-based, stratified.
 * Each customer gets a number u in [0, 1) from SHA-256 of (seed, campaign, customer): the same inputs give the
 * same groups on any machine, and nothing about the customer but the id enters. Within each stratum (value
 * tier) the customers are ordered by u and the first k are held out, k = ⌊n·s + v⌋ with v in [0, 1) the
 * stratum's own hash: exactly n·s on average, within one customer of it in every stratum. The tiers are
 * therefore as balanced between the groups as whole customers allow, and the control share of the whole
 * audience is the planned one up to a customer per tier.
 */
import { createHash } from "node:crypto";

export type Group = "treatment" | "control";

/** u in [0, 1) from the first 48 bits of SHA-256(seed ␀ campaign ␀ key). */
export function assignmentHash(seed: string, campaignId: string, key: string): number {
  const digest = createHash("sha256").update(`${seed}\u0000${campaignId}\u0000${key}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export interface Candidate {
  readonly customerId: string;
  readonly stratum: string;
}

export interface Assignment {
  readonly customerId: string;
  readonly stratum: string;
  readonly group: Group;
}

/**
 * Splits the candidates into treatment and control, stratum by stratum. The output is in the order of
 * (stratum, customer id), whatever the input order. Duplicate customer ids are refused.
 */
export function assignGroups(
  candidates: readonly Candidate[],
  controlShare: number,
  seed: string,
  campaignId: string,
): Assignment[] {
  if (!(controlShare > 0 && controlShare < 1)) {
    throw new RangeError(`assignGroups: the control share must be in (0, 1), got ${controlShare}`);
  }
  const strata = new Map<string, Candidate[]>();
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (seen.has(candidate.customerId)) {
      throw new RangeError(`assignGroups: customer ${candidate.customerId} is listed twice`);
    }
    seen.add(candidate.customerId);
    const list = strata.get(candidate.stratum) ?? [];
    list.push(candidate);
    strata.set(candidate.stratum, list);
  }
  const out: Assignment[] = [];
  for (const stratum of [...strata.keys()].sort()) {
    const members = (strata.get(stratum) ?? [])
      .map((c) => ({ c, u: assignmentHash(seed, campaignId, `customer:${c.customerId}`) }))
      .sort((a, b) => a.u - b.u || (a.c.customerId < b.c.customerId ? -1 : 1));
    const held = Math.floor(
      members.length * controlShare + assignmentHash(seed, campaignId, `stratum:${stratum}`),
    );
    const groups = new Map(members.map((m, i) => [m.c.customerId, i < held ? "control" : "treatment"]));
    for (const c of [...members.map((m) => m.c)].sort((a, b) => (a.customerId < b.customerId ? -1 : 1))) {
      out.push({ customerId: c.customerId, stratum, group: groups.get(c.customerId) as Group });
    }
  }
  return out;
}
