/**
 * The audit queries over the index (SQLite or PostgreSQL, same SQL). Time ranges become position
 * ranges through the `blocks` table, so every access query is one index range scan on
 * `(filter column, pos)` with a LIMIT.
 *
 * @example
 * ```ts
 * import { IndexSource, openStore } from "medledger/indexer";
 * const audit = new IndexSource(await openStore(".medledger/index.sqlite"));
 * const { items } = await audit.accesses({ accessor: "0x…", from: "2026-01-01", order: "desc" });
 * ```
 */
import { InvalidInputError } from "../errors.js";
import { firstPosition } from "./schema.js";
import type { SqlStore, SqlValue } from "./store/types.js";
import {
  afterCursor,
  idParam,
  inForce,
  nowSeconds,
  parseAccessQuery,
  parseId,
  parsePage,
  parseTime,
  summarizeAccessors,
  toAccess,
  toConsent,
  toPage,
  toRecordVersion,
  toSession,
} from "./queries.js";
import type {
  AccessEntry,
  AccessQuery,
  AccessorSummary,
  AuditSource,
  BreakGlassSession,
  ConsentEntry,
  ConsentHistoryEntry,
  ConsentHistoryQuery,
  ConsentsInForceQuery,
  Page,
  PageParams,
  RecordHistoryQuery,
  RecordVersion,
  ReviewsQuery,
  Row,
  WhoSawQuery,
} from "./queries.js";

const CONSENT_SELECT = `SELECT c.*, r.revoked_at AS revoked_at, r.revoked_by AS revoked_by,
  (SELECT count(*) FROM consents c2 WHERE c2.subject = c.subject AND c2.pos <= c.pos) AS sequence
  FROM consents c LEFT JOIN revocations r ON r.consent_id = c.consent_id AND r.subject = c.subject`;

const VERSION_SELECT = `SELECT r.*, b.tag AS batch_tag, b.pointer AS batch_pointer, b.count AS batch_count,
  b.custodian AS batch_custodian, e.time AS erased_time, e.erased_by AS erased_by,
  (SELECT s.record_id FROM records s WHERE s.subject = r.subject AND s.previous = r.record_id) AS superseded_by
  FROM records r
  LEFT JOIN batches b ON r.kind = 1 AND b.subject = r.subject AND b.root = r.root
  LEFT JOIN erasures e ON e.subject = r.subject AND e.record_id = r.record_id`;

const SESSION_SELECT = `SELECT s.*, v.outcome AS outcome, v.reviewer AS reviewer, v.reviewer_org AS reviewer_org,
  v.time AS reviewed_time FROM sessions s LEFT JOIN reviews v ON v.session_id = s.session_id`;

/**
 * Audit queries answered from the index.
 *
 * @example
 * ```ts
 * const audit = new IndexSource(store);
 * const inForce = await audit.consentsInForce({ subject, at: "2026-03-01T00:00:00Z" });
 * ```
 */
export class IndexSource implements AuditSource {
  readonly store: SqlStore;

  constructor(store: SqlStore) {
    this.store = store;
  }

  /** The first position at or after time `t` (undefined: no indexed block that late). */
  async #positionAtTime(t: number): Promise<number | undefined> {
    const [row] = await this.store.all<{ n: number | null }>(
      "SELECT min(number) AS n FROM blocks WHERE timestamp >= ?",
      [t],
    );
    return row?.n === null || row?.n === undefined ? undefined : firstPosition(row.n);
  }

  #pageClause(p: PageParams, column: string, where: string[], params: SqlValue[]): string {
    if (p.after !== undefined) {
      where.push(`${column} ${p.order === "asc" ? ">" : "<"} ?`);
      params.push(p.after);
    }
    const clause = where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
    params.push(p.limit + 1);
    return `${clause} ORDER BY ${column} ${p.order === "asc" ? "ASC" : "DESC"} LIMIT ?`;
  }

  async accesses(q: AccessQuery): Promise<Page<AccessEntry>> {
    const f = parseAccessQuery(q);
    const where: string[] = [];
    const params: SqlValue[] = [];
    const eq = (column: string, value: SqlValue | undefined): void => {
      if (value === undefined) return;
      where.push(`a.${column} = ?`);
      params.push(value);
    };
    eq("subject", f.subject === undefined ? undefined : idParam(f.subject));
    eq("accessor", f.accessor === undefined ? undefined : idParam(f.accessor));
    eq("accessor_org", f.organization);
    eq("record_id", f.record === undefined ? undefined : idParam(f.record));
    eq("purpose", f.purpose);
    eq("basis", f.basis);
    if (f.from !== undefined) {
      const lo = await this.#positionAtTime(f.from);
      if (lo === undefined) return { items: [], nextCursor: null };
      where.push("a.pos >= ?");
      params.push(lo);
    }
    if (f.to !== undefined) {
      const hi = await this.#positionAtTime(f.to);
      if (hi !== undefined) {
        where.push("a.pos < ?");
        params.push(hi);
      }
    }
    const sql =
      "SELECT a.*, (SELECT r.category FROM records r WHERE r.subject = a.subject AND r.record_id = a.record_id) AS category FROM accesses a" +
      this.#pageClause(f, "a.pos", where, params);
    const rows = await this.store.all<Row>(sql, params);
    return toPage(rows.map(toAccess), f.limit, posOfEntry);
  }

  async consentsInForce(q: ConsentsInForceQuery): Promise<Page<ConsentEntry>> {
    const subject = parseId("subject", q.subject);
    const at = q.at === undefined ? nowSeconds() : parseTime("at", q.at);
    const p = parsePage(q);
    const where = [
      "c.subject = ?",
      "c.time <= ?",
      "c.valid_from <= ?",
      "(c.valid_until = 0 OR c.valid_until > ?)",
      "(r.revoked_at IS NULL OR r.revoked_at > ?)",
    ];
    const params: SqlValue[] = [idParam(subject), at, at, at, at];
    const rows = await this.store.all<Row>(CONSENT_SELECT + this.#pageClause(p, "c.pos", where, params), params);
    return toPage(
      rows.filter((r) => inForce(r, at)).map((r) => toConsent(r, at)),
      p.limit,
      posOfEntry,
    );
  }

  async consentHistory(q: ConsentHistoryQuery): Promise<Page<ConsentHistoryEntry>> {
    const subject = parseId("subject", q.subject);
    const at = q.at === undefined ? nowSeconds() : parseTime("at", q.at);
    const p = parsePage(q);
    const grantedParams: SqlValue[] = [idParam(subject)];
    const granted = await this.store.all<Row>(
      CONSENT_SELECT + this.#pageClause(p, "c.pos", ["c.subject = ?"], grantedParams),
      grantedParams,
    );
    const revokedParams: SqlValue[] = [idParam(subject)];
    const revoked = await this.store.all<Row & { h_pos: number; h_tx: Uint8Array; h_time: number; h_sig: number }>(
      `SELECT c.*, r.revoked_at AS revoked_at, r.revoked_by AS revoked_by, r.pos AS h_pos, r.tx AS h_tx,
        r.time AS h_time, r.by_signature AS h_sig,
        (SELECT count(*) FROM consents c2 WHERE c2.subject = c.subject AND c2.pos <= c.pos) AS sequence
       FROM revocations r JOIN consents c ON c.consent_id = r.consent_id AND c.subject = r.subject` +
        this.#pageClause(p, "r.pos", ["r.subject = ?"], revokedParams),
      revokedParams,
    );
    const entries: ConsentHistoryEntry[] = [
      ...granted.map((row) => {
        const consent = toConsent(row, at);
        return {
          ...positionOf(consent),
          event: "granted" as const,
          consentId: consent.consentId,
          by: consent.grantedBy,
          bySignature: consent.bySignature,
          consent,
        };
      }),
      ...revoked.map((row) => {
        const consent = toConsent(row, at);
        const step = toConsent({ ...row, pos: row.h_pos, tx: row.h_tx, time: row.h_time }, at);
        return {
          ...positionOf(step),
          event: "revoked" as const,
          consentId: consent.consentId,
          by: consent.revokedBy ?? "",
          bySignature: row.h_sig === 1,
          consent,
        };
      }),
    ];
    const sign = p.order === "asc" ? 1 : -1;
    entries.sort((x, y) => sign * (posOfEntry(x) - posOfEntry(y)));
    return toPage(
      entries.filter((e) => afterCursor(posOfEntry(e), p)),
      p.limit,
      posOfEntry,
    );
  }

  async recordHistory(q: RecordHistoryQuery): Promise<Page<RecordVersion>> {
    const subject = parseId("subject", q.subject);
    const record = parseId("record", q.record);
    const p = parsePage(q);
    const subjectBytes = idParam(subject);
    const ids = new Set<string>([record]);
    // Back along `previous`, then forward along successors (chains never fork).
    let current: Uint8Array | undefined = idParam(record);
    while (current !== undefined) {
      const [row]: { previous: Uint8Array }[] = await this.store.all<{ previous: Uint8Array }>(
        "SELECT previous FROM records WHERE subject = ? AND record_id = ?",
        [subjectBytes, current],
      );
      current = row === undefined || row.previous.every((x) => x === 0) ? undefined : row.previous;
      if (current !== undefined) ids.add(hexOf(current));
    }
    current = idParam(record);
    while (current !== undefined) {
      const [row]: { record_id: Uint8Array }[] = await this.store.all<{ record_id: Uint8Array }>(
        "SELECT record_id FROM records WHERE subject = ? AND previous = ?",
        [subjectBytes, current],
      );
      current = row?.record_id;
      if (current !== undefined) ids.add(hexOf(current));
    }
    const list = [...ids];
    const where = ["r.subject = ?", `r.record_id IN (${list.map(() => "?").join(", ")})`];
    const params: SqlValue[] = [subjectBytes, ...list.map(idParam)];
    const rows = await this.store.all<Row>(VERSION_SELECT + this.#pageClause(p, "r.pos", where, params), params);
    return toPage(rows.map(toRecordVersion), p.limit, posOfEntry);
  }

  async reviews(q: ReviewsQuery): Promise<Page<BreakGlassSession>> {
    const p = parsePage(q);
    const where: string[] = [];
    const params: SqlValue[] = [];
    const status = q.status ?? "pending";
    if (status === "pending") where.push("v.session_id IS NULL");
    else if (status === "closed") where.push("v.session_id IS NOT NULL");
    if (q.organization !== undefined) {
      where.push("s.org_id = ?");
      params.push(parseOrganization(q.organization));
    }
    if (q.subject !== undefined) {
      where.push("s.subject = ?");
      params.push(idParam(parseId("subject", q.subject)));
    }
    const rows = await this.store.all<Row>(SESSION_SELECT + this.#pageClause(p, "s.pos", where, params), params);
    return toPage(rows.map(toSession), p.limit, posOfEntry);
  }

  async whoSawMyData(q: WhoSawQuery): Promise<AccessorSummary[]> {
    const subject = parseId("subject", q.subject);
    const where = ["subject = ?"];
    const params: SqlValue[] = [idParam(subject)];
    if (q.from !== undefined) {
      const lo = await this.#positionAtTime(parseTime("from", q.from));
      if (lo === undefined) return [];
      where.push("pos >= ?");
      params.push(lo);
    }
    if (q.to !== undefined) {
      const hi = await this.#positionAtTime(parseTime("to", q.to));
      if (hi !== undefined) {
        where.push("pos < ?");
        params.push(hi);
      }
    }
    const rows = await this.store.all<Row>(
      `SELECT pos, accessor, accessor_org, basis, purpose, time FROM accesses WHERE ${where.join(" AND ")}`,
      params,
    );
    return summarizeAccessors(rows);
  }

  async subjectRecords(subject: string): Promise<RecordVersion[]> {
    const rows = await this.store.all<Row>(`${VERSION_SELECT} WHERE r.subject = ? ORDER BY r.pos`, [
      idParam(parseId("subject", subject)),
    ]);
    return rows.map(toRecordVersion);
  }
}

/** The position of a result (from its block and log index). */
export function posOfEntry(e: { blockNumber: number; logIndex: number }): number {
  return firstPosition(e.blockNumber) + e.logIndex;
}

function positionOf(e: {
  blockNumber: number;
  logIndex: number;
  transactionHash: string;
  timestamp: number;
  time: string;
}) {
  return {
    blockNumber: e.blockNumber,
    logIndex: e.logIndex,
    transactionHash: e.transactionHash,
    timestamp: e.timestamp,
    time: e.time,
  };
}

function hexOf(bytes: Uint8Array): string {
  let s = "0x";
  for (const x of bytes) s += x.toString(16).padStart(2, "0");
  return s;
}

export function parseOrganization(value: unknown): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0 || n > 2 ** 32 - 1) {
    throw new InvalidInputError("Invalid organization", {
      details: `${JSON.stringify(value)}; allowed: 0..${2 ** 32 - 1}`,
    });
  }
  return n;
}
