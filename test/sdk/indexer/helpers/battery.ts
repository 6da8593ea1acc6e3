/**
 * A battery of audit queries over a world: every query kind, every filter, both orders, paged
 * with a small limit to the last page. Its result is one JSON-able object, so two sources (the
 * index, the chain, SQLite, PostgreSQL) can be compared with one deep equality.
 */
import type { AuditSource, Page, PageQuery } from "../../../../sdk/indexer/index.js";
import type { World } from "./scenario.js";

async function all<T>(fetch: (q: PageQuery) => Promise<Page<T>>, order: "asc" | "desc" = "asc"): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 10_000; i++) {
    const page: Page<T> = await fetch({ limit: 7, order, cursor });
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
  throw new Error("paging did not end");
}

export interface BatteryTimes {
  /** Times to ask "in force at" and time ranges with. */
  times: number[];
}

/** Runs every query kind against `source`; returns the results keyed by a description. */
export async function runBattery(source: AuditSource, w: World, t: BatteryTimes): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const accessors = [...w.doctors, w.labTech, w.payerAgent, w.responder].map((p) => p.address);
  const [t0, t1, t2] = [t.times[0]!, t.times[Math.floor(t.times.length / 2)]!, t.times[t.times.length - 1]!];
  for (const [i, p] of w.patients.entries()) {
    out[`accesses subject ${i} asc`] = await all((q) => source.accesses({ ...q, subject: p.subject }));
    out[`accesses subject ${i} desc`] = await all((q) => source.accesses({ ...q, subject: p.subject }), "desc");
    out[`accesses subject ${i} window`] = await all((q) =>
      source.accesses({ ...q, subject: p.subject, from: t0, to: t1 }),
    );
    out[`accesses subject ${i} emergency`] = await all((q) =>
      source.accesses({ ...q, subject: p.subject, emergencyOnly: true }),
    );
    out[`accesses subject ${i} purpose`] = await all((q) =>
      source.accesses({ ...q, subject: p.subject, purpose: "HPAYMT" }),
    );
    out[`who saw ${i}`] = await source.whoSawMyData({ subject: p.subject });
    out[`who saw ${i} window`] = await source.whoSawMyData({ subject: p.subject, from: t1, to: t2 });
    for (const [j, at] of [t0, t1, t2].entries()) {
      out[`in force ${i} t${j}`] = await all((q) => source.consentsInForce({ ...q, subject: p.subject, at }));
    }
    out[`consent history ${i}`] = await all((q) => source.consentHistory({ ...q, subject: p.subject, at: t2 }));
    out[`consent history ${i} desc`] = await all(
      (q) => source.consentHistory({ ...q, subject: p.subject, at: t1 }),
      "desc",
    );
    out[`records ${i}`] = await source.subjectRecords(p.subject);
    for (const rec of p.records.filter((_, k) => k % 3 === 0)) {
      out[`record history ${i} ${rec.id}`] = await all((q) =>
        source.recordHistory({ ...q, subject: p.subject, record: rec.id }),
      );
      out[`accesses record ${rec.id}`] = await all((q) => source.accesses({ ...q, record: rec.id }), "desc");
    }
  }
  for (const a of accessors) {
    out[`accesses accessor ${a}`] = await all((q) => source.accesses({ ...q, accessor: a }), "desc");
  }
  for (const org of [0, w.orgs.hospital, w.orgs.lab, w.orgs.payer]) {
    out[`accesses org ${org}`] = await all((q) => source.accesses({ ...q, organization: org }));
    out[`accesses org ${org} consent`] = await all((q) =>
      source.accesses({ ...q, organization: org, basis: "CONSENT", from: t1 }),
    );
  }
  out["accesses emergency"] = await all((q) => source.accesses({ ...q, emergencyOnly: true }), "desc");
  out["accesses subject basis"] = await all((q) => source.accesses({ ...q, basis: "SUBJECT" }));
  for (const status of ["pending", "closed", "all"] as const) {
    out[`reviews ${status}`] = await all((q) => source.reviews({ ...q, status }));
    out[`reviews ${status} hospital`] = await all(
      (q) => source.reviews({ ...q, status, organization: w.orgs.hospital }),
      "desc",
    );
  }
  out["reviews subject"] = await all((q) => source.reviews({ ...q, status: "all", subject: w.patients[0]!.subject }));
  return out;
}
