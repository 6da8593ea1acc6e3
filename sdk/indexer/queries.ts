/**
 * The audit query API: its parameters, its results (the JSON the CLI's `--json` prints and the web
 * view consumes), validation at the boundary, and the conversion of index rows into results.
 *
 * Two sources implement {@link AuditSource} with identical results: {@link IndexSource} (SQL over
 * the index: fast) and {@link ChainSource} (paged `eth_getLogs`, no index: slow but needs nothing
 * but a node). Both build the same rows ({@link projectEvent}) and convert them with the functions
 * below.
 *
 * Conventions: results are sorted by chain position (which is time order), `asc` unless `order`
 * says `desc`; lists are pages of at most `limit` items with an opaque `nextCursor` (null on the
 * last page); times are unix seconds plus an ISO string; ids and addresses are lowercase hex; codes
 * are names from sdk/codes.ts. Sealed-terms and label commitments are shown as the opaque values
 * the chain carries, never decoded.
 *
 * @example
 * ```ts
 * import { IndexSource } from "medledger/indexer";
 * const audit = new IndexSource(store);
 * const page = await audit.accesses({ subject, order: "desc", limit: 20 });
 * for (const a of page.items) console.log(a.time, a.accessor, a.purpose, a.basis);
 * const next = page.nextCursor === null ? undefined : await audit.accesses({ subject, cursor: page.nextCursor });
 * ```
 */
import { AccessBasis, Action, Category, OrgKind, Purpose, ReviewOutcome, Role } from "../codes.js";
import { InvalidInputError } from "../errors.js";
import { bytesToHex, hexToBytes } from "./events.js";
import { blockOf, logIndexOf } from "./schema.js";
import type { SqlValue } from "./store/types.js";

// ───────────────────────────── parameters ─────────────────────────────

export type Order = "asc" | "desc";
export type BasisName = "CONSENT" | "EMERGENCY" | "SUBJECT";

/** Paging: at most `limit` items (default 100, at most 10,000) after `cursor`. */
export interface PageQuery {
  limit?: number;
  cursor?: string | null;
  order?: Order;
}

/** A time: unix seconds, a Date, or an ISO-8601 string. */
export type TimeInput = number | Date | string;

/** Filters of {@link AuditSource.accesses}; all given filters must hold. */
export interface AccessQuery extends PageQuery {
  subject?: string;
  accessor?: string;
  /** The accessor's organization (0: accesses by the subject or a guardian). */
  organization?: number;
  /** A record id (with or without `subject`). */
  record?: string;
  purpose?: string | number;
  basis?: BasisName;
  /** Only break-glass reads (basis EMERGENCY). */
  emergencyOnly?: boolean;
  /** From this time (inclusive). */
  from?: TimeInput;
  /** Until this time (exclusive). */
  to?: TimeInput;
}

export interface ConsentsInForceQuery extends PageQuery {
  subject: string;
  /** The time (default: now). */
  at?: TimeInput;
}

export interface ConsentHistoryQuery extends PageQuery {
  subject: string;
  /** The time statuses are given for (default: now). */
  at?: TimeInput;
}

export interface RecordHistoryQuery extends PageQuery {
  subject: string;
  /** Any version of the record. */
  record: string;
}

export interface ReviewsQuery extends PageQuery {
  /** Default "pending". */
  status?: "pending" | "closed" | "all";
  /** The responder's organization. */
  organization?: number;
  subject?: string;
}

export interface WhoSawQuery {
  subject: string;
  from?: TimeInput;
  to?: TimeInput;
}

// ───────────────────────────── results ─────────────────────────────

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Where an event is on the chain. */
export interface ChainPosition {
  blockNumber: number;
  logIndex: number;
  transactionHash: string;
  /** Block time, unix seconds. */
  timestamp: number;
  /** Block time, ISO-8601. */
  time: string;
}

/** One logged read of a record. */
export interface AccessEntry extends ChainPosition {
  subject: string;
  recordId: string;
  accessor: string;
  /** The accessor's organization (0: the subject or a guardian). */
  organization: number;
  /** The record's public clinical category (null if the record is unknown to the index). */
  category: string | null;
  purpose: string;
  basis: string;
  /** The consent the read was allowed under (basis CONSENT). */
  consentId: string | null;
  /** The break-glass session (basis EMERGENCY). */
  sessionId: number | null;
}

/** Who a consent is for. */
export type Grantee =
  { kind: "practitioner"; account: string } | { kind: "organization"; organization: number; roles: string[] };

export type ConsentStatus = "active" | "not-yet-valid" | "expired" | "revoked";

/** A consent (permit or deny) as granted, with its revocation and status at the query's time. */
export interface ConsentEntry extends ChainPosition {
  consentId: string;
  subject: string;
  /** The consent's sequence number within its subject (1, 2, …). */
  sequence: number;
  effect: "permit" | "deny";
  grantee: Grantee;
  categories: string[];
  purposes: string[];
  actions: string[];
  /** Unix seconds (0: from the start). */
  validFrom: number;
  /** Unix seconds (null: no expiry). */
  validUntil: number | null;
  /** The opaque salted commitment to the sealed terms (never decoded here). */
  sealedTerms: string;
  grantedBy: string;
  bySignature: boolean;
  revokedAt: number | null;
  revokedBy: string | null;
  status: ConsentStatus;
}

/** A step of a subject's consent history. */
export interface ConsentHistoryEntry extends ChainPosition {
  event: "granted" | "revoked";
  consentId: string;
  by: string;
  bySignature: boolean;
  /** The consent (for both steps: as granted, with its current revocation and status). */
  consent: ConsentEntry;
}

/** One version of a record. */
export interface RecordVersion extends ChainPosition {
  subject: string;
  recordId: string;
  /** single: anchorRecord; batch: a proven member of a Merkle batch; imported: carried from 1.0. */
  anchor: "single" | "batch" | "imported";
  custodian: number;
  category: string;
  digest: string;
  /** The opaque salted commitment to the record's sensitive labels. */
  labelCommitment: string;
  previous: string | null;
  /** The next version, if this one was superseded. */
  supersededBy: string | null;
  /** Where the envelope is stored (for a batch member: the batch manifest). */
  pointer: string;
  anchoredBy: string | null;
  /** The APPEND consent used (null when the subject anchored). */
  consentId: string | null;
  /** When it was anchored, unix seconds (for an import: on the earlier deployment). */
  anchoredAt: number;
  batch: { root: string; tag: string; pointer: string; count: number } | null;
  erasedAt: number | null;
  erasedBy: string | null;
}

/** A break-glass session and its review. */
export interface BreakGlassSession extends ChainPosition {
  sessionId: number;
  subject: string;
  responder: string;
  organization: number;
  purpose: string;
  reasonCode: number;
  expiresAt: number;
  outcome: string;
  reviewer: string | null;
  reviewerOrganization: number | null;
  reviewedAt: number | null;
}

/** "Who saw my data": one line per accessor. */
export interface AccessorSummary {
  accessor: string;
  organization: number;
  accesses: number;
  emergencyAccesses: number;
  purposes: string[];
  firstAccess: number;
  lastAccess: number;
}

/** The queries both sources answer. */
export interface AuditSource {
  accesses(q: AccessQuery): Promise<Page<AccessEntry>>;
  consentsInForce(q: ConsentsInForceQuery): Promise<Page<ConsentEntry>>;
  consentHistory(q: ConsentHistoryQuery): Promise<Page<ConsentHistoryEntry>>;
  recordHistory(q: RecordHistoryQuery): Promise<Page<RecordVersion>>;
  reviews(q: ReviewsQuery): Promise<Page<BreakGlassSession>>;
  whoSawMyData(q: WhoSawQuery): Promise<AccessorSummary[]>;
  /** Every record version of a subject (for integrity reports), in chain order. */
  subjectRecords(subject: string): Promise<RecordVersion[]>;
}

// ───────────────────────────── validation ─────────────────────────────

export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 100;

const BASES: readonly BasisName[] = ["CONSENT", "EMERGENCY", "SUBJECT"];

function fail(what: string, value: unknown, allowed?: string): never {
  throw new InvalidInputError(`Invalid ${what}`, {
    details: `${JSON.stringify(value)}${allowed === undefined ? "" : `; allowed: ${allowed}`}`,
  });
}

/** A 32-byte id (subject, record, consent), lowercase. */
export function parseId(what: string, value: unknown): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) fail(what, value, "0x and 64 hex digits");
  return value.toLowerCase();
}

/** A 20-byte account, lowercase. */
export function parseAccount(what: string, value: unknown): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) fail(what, value, "0x and 40 hex digits");
  return value.toLowerCase();
}

function parseCount(what: string, value: unknown, max = 2 ** 32 - 1): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0 || n > max) fail(what, value, `0..${max}`);
  return n;
}

/** A time → unix seconds. */
export function parseTime(what: string, value: TimeInput): number {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) fail(what, String(value));
    return Math.floor(value.getTime() / 1000);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) fail(what, value, "unix seconds or an ISO date");
    return Math.floor(value);
  }
  if (typeof value === "string") {
    if (/^\d+$/.test(value)) return Number(value);
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) fail(what, value, "unix seconds or an ISO-8601 date");
    return Math.floor(ms / 1000);
  }
  return fail(what, value, "unix seconds or an ISO-8601 date");
}

/** The numeric purpose code for a name or number. */
export function parsePurpose(value: string | number): number {
  if (typeof value === "number" || /^\d+$/.test(value)) {
    const n = Number(value);
    if (Object.values(Purpose).includes(n as never)) return n;
  } else if (Object.hasOwn(Purpose, value.toUpperCase())) {
    return Purpose[value.toUpperCase() as keyof typeof Purpose];
  }
  return fail("purpose", value, Object.keys(Purpose).join(", "));
}

export function parseBasis(value: string): number {
  const upper = value.toUpperCase();
  if (!BASES.includes(upper as BasisName)) fail("basis", value, BASES.join(", "));
  return AccessBasis.indexOf(upper as BasisName);
}

export interface PageParams {
  limit: number;
  order: Order;
  /** Items strictly after this position (in `order`), or undefined. */
  after: number | undefined;
}

export function parsePage(q: PageQuery): PageParams {
  const limit = q.limit === undefined ? DEFAULT_LIMIT : parseCount("limit", q.limit, MAX_LIMIT);
  if (limit === 0) fail("limit", 0, `1..${MAX_LIMIT}`);
  const order = q.order ?? "asc";
  if (order !== "asc" && order !== "desc") fail("order", order, "asc, desc");
  let after: number | undefined;
  if (q.cursor !== undefined && q.cursor !== null) {
    const m = /^p(\d{1,16})$/.exec(q.cursor);
    if (m === null) fail("cursor", q.cursor, "a nextCursor returned by the previous page");
    after = Number(m[1]);
  }
  return { limit, order, after };
}

/** Normalised access filters. */
export interface AccessFilter {
  subject?: string;
  accessor?: string;
  organization?: number;
  record?: string;
  purpose?: number;
  basis?: number;
  from?: number;
  to?: number;
}

export function parseAccessQuery(q: AccessQuery): AccessFilter & PageParams {
  const f: AccessFilter = {};
  if (q.subject !== undefined) f.subject = parseId("subject", q.subject);
  if (q.accessor !== undefined) f.accessor = parseAccount("accessor", q.accessor);
  if (q.organization !== undefined) f.organization = parseCount("organization", q.organization);
  if (q.record !== undefined) f.record = parseId("record", q.record);
  if (q.purpose !== undefined) f.purpose = parsePurpose(q.purpose);
  if (q.basis !== undefined) f.basis = parseBasis(q.basis);
  if (q.emergencyOnly === true) {
    const emergency = AccessBasis.indexOf("EMERGENCY");
    if (f.basis !== undefined && f.basis !== emergency) fail("basis", q.basis, "EMERGENCY (with emergencyOnly)");
    f.basis = emergency;
  }
  if (q.from !== undefined) f.from = parseTime("from", q.from);
  if (q.to !== undefined) f.to = parseTime("to", q.to);
  return { ...f, ...parsePage(q) };
}

/** The cursor for an item at `pos`. */
export function cursorAt(pos: number): string {
  return `p${pos}`;
}

/** Cuts a sorted list of positioned items into a page (the list may hold one item more than the limit). */
export function toPage<T>(items: readonly T[], limit: number, posOf: (item: T) => number): Page<T> {
  const shown = items.slice(0, limit);
  const last = shown[shown.length - 1];
  return { items: shown, nextCursor: items.length > limit && last !== undefined ? cursorAt(posOf(last)) : null };
}

/** Whether position `pos` comes after the page's cursor, in the page's order. */
export function afterCursor(pos: number, p: PageParams): boolean {
  if (p.after === undefined) return true;
  return p.order === "asc" ? pos > p.after : pos < p.after;
}

// ───────────────────────────── names ─────────────────────────────

function reverse(table: Readonly<Record<string, number>>): Map<number, string> {
  return new Map(Object.entries(table).map(([k, v]) => [v, k]));
}
const CATEGORY_NAMES = reverse(Category);
const PURPOSE_NAMES = reverse(Purpose);
const OUTCOME_NAMES = reverse(ReviewOutcome);
const ORG_KIND_NAMES = reverse(OrgKind);

export function categoryName(code: number): string {
  return CATEGORY_NAMES.get(code) ?? `CATEGORY_${code}`;
}
export function purposeName(code: number): string {
  return PURPOSE_NAMES.get(code) ?? `PURPOSE_${code}`;
}
export function basisName(code: number): string {
  return AccessBasis[code] ?? `BASIS_${code}`;
}
export function outcomeName(code: number): string {
  return OUTCOME_NAMES.get(code) ?? `OUTCOME_${code}`;
}
export function orgKindName(code: number): string {
  return ORG_KIND_NAMES.get(code) ?? `KIND_${code}`;
}

/** Names of the set bits of a mask whose bits are indexes (categories, purposes). */
function indexNames(mask: number, names: Map<number, string>, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < 16; i++) if ((mask >> i) & 1) out.push(names.get(i) ?? `${prefix}_${i}`);
  return out;
}
/** Names of the set bits of a mask whose values are bit masks (roles, actions). */
function flagNames(mask: number, table: Readonly<Record<string, number>>): string[] {
  return Object.entries(table)
    .filter(([, bit]) => (mask & bit) !== 0)
    .map(([name]) => name);
}

export const categoriesOf = (mask: number): string[] => indexNames(mask, CATEGORY_NAMES, "CATEGORY");
export const purposesOf = (mask: number): string[] => indexNames(mask, PURPOSE_NAMES, "PURPOSE");
export const rolesOf = (mask: number): string[] => flagNames(mask, Role);
export const actionsOf = (mask: number): string[] => flagNames(mask, Action);

// ───────────────────────────── rows → results ─────────────────────────────

/** A row as the store returns it (or as the chain source builds it): column name → value. */
export type Row = Record<string, SqlValue>;

const ZERO32_HEX = `0x${"00".repeat(32)}`;

export const hex = (v: SqlValue): string => bytesToHex(v as Uint8Array);
export const num = (v: SqlValue): number => v as number;
const optionalId = (v: SqlValue): string | null => {
  const h = hex(v);
  return h === ZERO32_HEX ? null : h;
};

export function positionFrom(row: Row): ChainPosition {
  const pos = num(row.pos!);
  const timestamp = num(row.time!);
  return {
    blockNumber: blockOf(pos),
    logIndex: logIndexOf(pos),
    transactionHash: hex(row.tx!),
    timestamp,
    time: new Date(timestamp * 1000).toISOString(),
  };
}

/** accesses row (+ `category`, null if unknown) → AccessEntry. */
export function toAccess(row: Row): AccessEntry {
  const basis = num(row.basis!);
  const basisId = hex(row.basis_id!);
  const category = row.category;
  return {
    ...positionFrom(row),
    subject: hex(row.subject!),
    recordId: hex(row.record_id!),
    accessor: hex(row.accessor!),
    organization: num(row.accessor_org!),
    category: category === null || category === undefined ? null : categoryName(num(category)),
    purpose: purposeName(num(row.purpose!)),
    basis: basisName(basis),
    consentId: basisName(basis) === "CONSENT" ? basisId : null,
    sessionId: basisName(basis) === "EMERGENCY" ? Number(BigInt(basisId)) : null,
  };
}

/** A consent's status at time `at`. */
export function consentStatus(row: Row, at: number): ConsentStatus {
  const revokedAt = row.revoked_at;
  if (revokedAt !== null && revokedAt !== undefined && num(revokedAt) <= at) return "revoked";
  if (at < num(row.valid_from!)) return "not-yet-valid";
  const until = num(row.valid_until!);
  if (until !== 0 && at >= until) return "expired";
  return "active";
}

/** consents row (+ `sequence`, `revoked_at`, `revoked_by`) → ConsentEntry. */
export function toConsent(row: Row, at: number): ConsentEntry {
  const kind = num(row.grantee_kind!);
  const revokedAt = row.revoked_at === null || row.revoked_at === undefined ? null : num(row.revoked_at);
  return {
    ...positionFrom(row),
    consentId: hex(row.consent_id!),
    subject: hex(row.subject!),
    sequence: num(row.sequence!),
    effect: num(row.effect!) === 1 ? "deny" : "permit",
    grantee:
      kind === 0
        ? { kind: "practitioner", account: hex(row.grantee_account!) }
        : { kind: "organization", organization: num(row.grantee_org!), roles: rolesOf(num(row.grantee_roles!)) },
    categories: categoriesOf(num(row.categories!)),
    purposes: purposesOf(num(row.purposes!)),
    actions: actionsOf(num(row.actions!)),
    validFrom: num(row.valid_from!),
    validUntil: num(row.valid_until!) === 0 ? null : num(row.valid_until!),
    sealedTerms: hex(row.sealed_terms!),
    grantedBy: hex(row.granted_by!),
    bySignature: num(row.by_signature!) === 1,
    revokedAt,
    revokedBy: row.revoked_by === null || row.revoked_by === undefined ? null : hex(row.revoked_by),
    status: consentStatus(row, at),
  };
}

/** Whether a consent row (with `revoked_at`) is in force at `at` and was granted by then. */
export function inForce(row: Row, at: number): boolean {
  return num(row.time!) <= at && consentStatus(row, at) === "active";
}

/** records row (+ batch_* columns, erased_*, superseded_by) → RecordVersion. */
export function toRecordVersion(row: Row): RecordVersion {
  const kind = num(row.kind!);
  const inBatch = kind === 1;
  const erasedAt =
    row.erased_time !== null && row.erased_time !== undefined
      ? num(row.erased_time)
      : num(row.erased_at!) !== 0
        ? num(row.erased_at!)
        : null;
  return {
    ...positionFrom(row),
    subject: hex(row.subject!),
    recordId: hex(row.record_id!),
    anchor: kind === 0 ? "single" : inBatch ? "batch" : "imported",
    custodian: inBatch ? num(row.batch_custodian ?? 0) : num(row.custodian!),
    category: categoryName(num(row.category!)),
    digest: hex(row.digest!),
    labelCommitment: hex(row.label_commitment!),
    previous: optionalId(row.previous!),
    supersededBy: row.superseded_by === null || row.superseded_by === undefined ? null : hex(row.superseded_by),
    pointer: inBatch ? ((row.batch_pointer as string | null) ?? "") : (row.pointer as string),
    anchoredBy: inBatch || kind === 2 ? null : hex(row.anchored_by!),
    consentId: optionalId(row.consent_id!),
    anchoredAt: num(row.anchored_at!),
    batch:
      inBatch && row.batch_tag !== null && row.batch_tag !== undefined
        ? {
            root: hex(row.root!),
            tag: hex(row.batch_tag),
            pointer: row.batch_pointer as string,
            count: num(row.batch_count!),
          }
        : inBatch
          ? { root: hex(row.root!), tag: "", pointer: "", count: 0 }
          : null,
    erasedAt,
    erasedBy: row.erased_by === null || row.erased_by === undefined ? null : hex(row.erased_by),
  };
}

/** sessions row (+ review columns) → BreakGlassSession. */
export function toSession(row: Row): BreakGlassSession {
  const reviewed = row.outcome !== null && row.outcome !== undefined;
  return {
    ...positionFrom(row),
    sessionId: num(row.session_id!),
    subject: hex(row.subject!),
    responder: hex(row.responder!),
    organization: num(row.org_id!),
    purpose: purposeName(num(row.purpose!)),
    reasonCode: num(row.reason_code!),
    expiresAt: num(row.expires_at!),
    outcome: reviewed ? outcomeName(num(row.outcome!)) : "PENDING",
    reviewer: reviewed ? hex(row.reviewer!) : null,
    reviewerOrganization: reviewed ? num(row.reviewer_org!) : null,
    reviewedAt: reviewed ? num(row.reviewed_time!) : null,
  };
}

/** Aggregates access rows into "who saw my data" lines (sorted by last access, newest first). */
export function summarizeAccessors(rows: Iterable<Row>): AccessorSummary[] {
  const byAccessor = new Map<string, AccessorSummary & { lastPos: number; purposeMask: number }>();
  for (const row of rows) {
    const accessor = hex(row.accessor!);
    let s = byAccessor.get(accessor);
    if (s === undefined) {
      s = {
        accessor,
        organization: num(row.accessor_org!),
        accesses: 0,
        emergencyAccesses: 0,
        purposes: [],
        firstAccess: num(row.time!),
        lastAccess: num(row.time!),
        lastPos: num(row.pos!),
        purposeMask: 0,
      };
      byAccessor.set(accessor, s);
    }
    s.accesses++;
    if (basisName(num(row.basis!)) === "EMERGENCY") s.emergencyAccesses++;
    s.purposeMask |= 1 << num(row.purpose!);
    s.firstAccess = Math.min(s.firstAccess, num(row.time!));
    s.lastAccess = Math.max(s.lastAccess, num(row.time!));
    s.lastPos = Math.max(s.lastPos, num(row.pos!));
  }
  return [...byAccessor.values()]
    .sort((x, y) => y.lastPos - x.lastPos)
    .map(({ lastPos: _lastPos, purposeMask, ...s }) => ({ ...s, purposes: purposesOf(purposeMask) }));
}

/** Id/address string → bytes for a SQL parameter. */
export const idParam = (hexValue: string): Uint8Array => hexToBytes(hexValue);

/** "now" in unix seconds. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
