/**
 * The audit queries answered directly from the chain: paged `eth_getLogs` with the narrowest topic
 * filter the query allows (subject, record and accessor are indexed topics), no index. The logs
 * become the same rows as in the index ({@link projectEvent}), the same joins are done in memory,
 * and the same converters build the results, so {@link IndexSource} and this source answer every
 * query identically (a test proves it on a random scenario).
 *
 * Slower than the index, and it needs nothing but a node: for a light client, or to cross-check an
 * index you do not trust. Access queries stop reading as soon as a page is full; memory holds one
 * page of logs and the matching rows.
 *
 * @example
 * ```ts
 * import { ChainSource, httpRpc } from "medledger/indexer";
 * const audit = new ChainSource({ rpc: httpRpc("http://127.0.0.1:8545"), deployment });
 * const { items } = await audit.accesses({ subject, order: "desc", limit: 20 });
 * ```
 */
import { LogDecoder, projectEvent } from "./events.js";
import type { ContractKey, DecodedEvent, Deployment } from "./events.js";
import { posOfEntry } from "./index-source.js";
import {
  afterCursor,
  hex,
  inForce,
  nowSeconds,
  num,
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
import { parseOrganization } from "./index-source.js";
import { ChainReader, httpRpc } from "./rpc.js";
import type { ChainReaderOptions, JsonRpc } from "./rpc.js";
import { columnsOf } from "./schema.js";

export interface ChainSourceOptions {
  rpc: JsonRpc | string;
  deployment: Deployment;
  /** Answer as of this block (default: the head). */
  toBlock?: number;
  reader?: ChainReaderOptions;
}

type Topic = string | readonly string[] | null;

interface TimedEvent {
  event: DecodedEvent;
  time: number;
}

const pad32 = (hexValue: string): string => `0x${hexValue.slice(2).toLowerCase().padStart(64, "0")}`;
const MAX_TOPIC_LIST = 500;

/**
 * Audit queries answered from `eth_getLogs`.
 *
 * @example
 * ```ts
 * const audit = new ChainSource({ rpc: "http://127.0.0.1:8545", deployment, toBlock: 1234 });
 * const reviews = await audit.reviews({ status: "pending" });
 * ```
 */
export class ChainSource implements AuditSource {
  readonly reader: ChainReader;
  readonly decoder: LogDecoder;
  readonly deployment: Deployment;
  readonly #toBlock: number | undefined;

  constructor(opts: ChainSourceOptions) {
    // Filtered queries return few logs: start wide (a node that refuses is answered by halving).
    const reader = {
      ...opts.reader,
      initialBlockRange: opts.reader?.initialBlockRange ?? opts.reader?.maxBlockRange ?? 10_000,
    };
    this.reader = new ChainReader(typeof opts.rpc === "string" ? httpRpc(opts.rpc) : opts.rpc, reader);
    this.decoder = new LogDecoder(opts.deployment.addresses);
    this.deployment = opts.deployment;
    this.#toBlock = opts.toBlock;
  }

  async #end(): Promise<number> {
    return this.#toBlock ?? (await this.reader.blockNumber());
  }

  /**
   * Visits the events of `contract` named `names` (with extra topic filters), in chain order or
   * backwards, page by page, until `visit` returns false.
   */
  async #scan(
    contract: ContractKey,
    names: readonly string[],
    topics: readonly Topic[],
    order: "asc" | "desc",
    visit: (events: TimedEvent[]) => boolean,
  ): Promise<void> {
    const address = this.decoder.addressOf(contract);
    if (address === undefined) return;
    const filter = { address: [address], topics: [this.decoder.topicsOf(contract, names), ...topics] };
    const start = this.deployment.startBlock;
    const end = await this.#end();
    const timed = (page: Awaited<ReturnType<ChainReader["page"]>>): TimedEvent[] =>
      page.logs.flatMap((log) => {
        const event = this.decoder.decode(log);
        return event === undefined ? [] : [{ event, time: page.headers.get(log.blockNumber)?.timestamp ?? 0 }];
      });
    if (order === "asc") {
      for await (const page of this.reader.pages({ ...filter, fromBlock: start, toBlock: end })) {
        if (!visit(timed(page))) return;
      }
      return;
    }
    for (let hi = end; hi >= start;) {
      const lo = Math.max(start, hi - this.reader.blockRange + 1);
      const page = await this.reader.page(filter, lo, hi);
      this.reader.adapt(page);
      if (!visit(timed(page).reverse())) return;
      hi = lo - 1;
    }
  }

  /** All events (ascending) of `contract` named `names` matching `topics`. */
  async #all(contract: ContractKey, names: readonly string[], topics: readonly Topic[] = []): Promise<TimedEvent[]> {
    const out: TimedEvent[] = [];
    await this.#scan(contract, names, topics, "asc", (events) => {
      out.push(...events);
      return true;
    });
    return out;
  }

  /** Practitioner account → organization, from every PractitionerEnrolled. */
  async #orgs(): Promise<Map<string, number>> {
    const orgs = new Map<string, number>();
    for (const { event } of await this.#all("directory", ["PractitionerEnrolled"])) {
      orgs.set((event.args[0] as string).toLowerCase(), Number(event.args[1]));
    }
    return orgs;
  }

  async accesses(q: AccessQuery): Promise<Page<AccessEntry>> {
    const f = parseAccessQuery(q);
    const orgs = await this.#orgs();
    let accessorTopic: Topic = f.accessor === undefined ? null : pad32(f.accessor);
    if (f.accessor === undefined && f.organization !== undefined && f.organization !== 0) {
      const members = [...orgs].filter(([, org]) => org === f.organization).map(([account]) => pad32(account));
      if (members.length === 0) return { items: [], nextCursor: null };
      if (members.length <= MAX_TOPIC_LIST) accessorTopic = members;
    }
    const topics: Topic[] = [
      f.subject === undefined ? null : f.subject,
      f.record === undefined ? null : f.record,
      accessorTopic,
    ];
    const rows: Row[] = [];
    const orgOf = (account: string): number => orgs.get(account.toLowerCase()) ?? 0;
    await this.#scan("records", ["RecordAccessed"], topics, f.order, (events) => {
      for (const { event, time } of events) {
        const row = rowOf(event, time, orgOf);
        if (f.to !== undefined && time >= f.to) {
          if (f.order === "asc") return false;
          continue;
        }
        if (f.from !== undefined && time < f.from) {
          if (f.order === "desc") return false;
          continue;
        }
        if (!afterCursor(num(row.pos!), f)) continue;
        if (f.subject !== undefined && hex(row.subject!) !== f.subject) continue;
        if (f.accessor !== undefined && hex(row.accessor!) !== f.accessor) continue;
        if (f.organization !== undefined && num(row.accessor_org!) !== f.organization) continue;
        if (f.record !== undefined && hex(row.record_id!) !== f.record) continue;
        if (f.purpose !== undefined && num(row.purpose!) !== f.purpose) continue;
        if (f.basis !== undefined && num(row.basis!) !== f.basis) continue;
        rows.push(row);
        if (rows.length > f.limit) return false;
      }
      return true;
    });
    const categories = await this.#categories(new Set(rows.map((r) => hex(r.subject!))));
    for (const row of rows) row.category = categories.get(`${hex(row.subject!)}/${hex(row.record_id!)}`) ?? null;
    return toPage(rows.map(toAccess), f.limit, posOfEntry);
  }

  /** (subject/record) → category for every record of the given subjects. */
  async #categories(subjects: Set<string>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const list = [...subjects];
    for (let i = 0; i < list.length; i += MAX_TOPIC_LIST) {
      const chunk = list.slice(i, i + MAX_TOPIC_LIST);
      for (const { event, time } of await this.#all("records", RECORD_EVENTS, [chunk])) {
        const row = rowOf(event, time, () => 0);
        out.set(`${hex(row.subject!)}/${hex(row.record_id!)}`, num(row.category!));
      }
    }
    return out;
  }

  /** The subject's consent rows with sequence and revocation, and its revocation rows. */
  async #consentRows(subject: string): Promise<{ consents: Row[]; revocations: Row[] }> {
    const events = await this.#all("consents", ["ConsentGranted", "ConsentRevoked"], [subject]);
    const consents: Row[] = [];
    const revocations: Row[] = [];
    for (const { event, time } of events) {
      const row = rowOf(event, time, () => 0);
      if (event.name === "ConsentGranted") {
        row.sequence = consents.length + 1;
        consents.push(row);
      } else revocations.push(row);
    }
    const byId = new Map(revocations.map((r) => [hex(r.consent_id!), r]));
    for (const c of consents) {
      const r = byId.get(hex(c.consent_id!));
      c.revoked_at = r === undefined ? null : r.revoked_at!;
      c.revoked_by = r === undefined ? null : r.revoked_by!;
    }
    return { consents, revocations };
  }

  async consentsInForce(q: ConsentsInForceQuery): Promise<Page<ConsentEntry>> {
    const subject = parseId("subject", q.subject);
    const at = q.at === undefined ? nowSeconds() : parseTime("at", q.at);
    const p = parsePage(q);
    const { consents } = await this.#consentRows(subject);
    const rows = ordered(consents, p).filter((r) => inForce(r, at) && afterCursor(num(r.pos!), p));
    return toPage(
      rows.slice(0, p.limit + 1).map((r) => toConsent(r, at)),
      p.limit,
      posOfEntry,
    );
  }

  async consentHistory(q: ConsentHistoryQuery): Promise<Page<ConsentHistoryEntry>> {
    const subject = parseId("subject", q.subject);
    const at = q.at === undefined ? nowSeconds() : parseTime("at", q.at);
    const p = parsePage(q);
    const { consents, revocations } = await this.#consentRows(subject);
    const byId = new Map(consents.map((c) => [hex(c.consent_id!), c]));
    const entries: ConsentHistoryEntry[] = [];
    for (const c of consents) {
      const consent = toConsent(c, at);
      entries.push({
        blockNumber: consent.blockNumber,
        logIndex: consent.logIndex,
        transactionHash: consent.transactionHash,
        timestamp: consent.timestamp,
        time: consent.time,
        event: "granted",
        consentId: consent.consentId,
        by: consent.grantedBy,
        bySignature: consent.bySignature,
        consent,
      });
    }
    for (const r of revocations) {
      const c = byId.get(hex(r.consent_id!));
      if (c === undefined) continue;
      const consent = toConsent(c, at);
      const step = toConsent({ ...c, pos: r.pos!, tx: r.tx!, time: r.time! }, at);
      entries.push({
        blockNumber: step.blockNumber,
        logIndex: step.logIndex,
        transactionHash: step.transactionHash,
        timestamp: step.timestamp,
        time: step.time,
        event: "revoked",
        consentId: consent.consentId,
        by: consent.revokedBy ?? "",
        bySignature: num(r.by_signature!) === 1,
        consent,
      });
    }
    const sign = p.order === "asc" ? 1 : -1;
    entries.sort((x, y) => sign * (posOfEntry(x) - posOfEntry(y)));
    return toPage(
      entries.filter((e) => afterCursor(posOfEntry(e), p)),
      p.limit,
      posOfEntry,
    );
  }

  /** Every record version of a subject as rows joined like the index's (batch, erasure, successor). */
  async #versionRows(subject: string): Promise<Row[]> {
    const records: Row[] = [];
    const batches = new Map<string, Row>();
    const erasures = new Map<string, Row>();
    for (const { event, time } of await this.#all(
      "records",
      [...RECORD_EVENTS, "BatchAnchored", "RecordErased"],
      [subject],
    )) {
      const row = rowOf(event, time, () => 0);
      if (event.name === "BatchAnchored") batches.set(hex(row.root!), row);
      else if (event.name === "RecordErased") erasures.set(hex(row.record_id!), row);
      else records.push(row);
    }
    const successor = new Map(records.map((r) => [hex(r.previous!), r.record_id!]));
    for (const r of records) {
      const batch = num(r.kind!) === 1 ? batches.get(hex(r.root!)) : undefined;
      r.batch_tag = batch?.tag ?? null;
      r.batch_pointer = batch?.pointer ?? null;
      r.batch_count = batch?.count ?? null;
      r.batch_custodian = batch?.custodian ?? null;
      const erased = erasures.get(hex(r.record_id!));
      r.erased_time = erased?.time ?? null;
      r.erased_by = erased?.erased_by ?? null;
      r.superseded_by = successor.get(hex(r.record_id!)) ?? null;
    }
    return records;
  }

  async recordHistory(q: RecordHistoryQuery): Promise<Page<RecordVersion>> {
    const subject = parseId("subject", q.subject);
    const record = parseId("record", q.record);
    const p = parsePage(q);
    const rows = await this.#versionRows(subject);
    const byId = new Map(rows.map((r) => [hex(r.record_id!), r]));
    const ids = new Set<string>([record]);
    for (let r = byId.get(record); r !== undefined;) {
      const previous = hex(r.previous!);
      r = byId.get(previous);
      if (r !== undefined) ids.add(previous);
    }
    for (let r = byId.get(record); r?.superseded_by !== null && r?.superseded_by !== undefined;) {
      const next = hex(r.superseded_by);
      ids.add(next);
      r = byId.get(next);
    }
    const chain = ordered(
      rows.filter((r) => ids.has(hex(r.record_id!))),
      p,
    ).filter((r) => afterCursor(num(r.pos!), p));
    return toPage(chain.slice(0, p.limit + 1).map(toRecordVersion), p.limit, posOfEntry);
  }

  async reviews(q: ReviewsQuery): Promise<Page<BreakGlassSession>> {
    const p = parsePage(q);
    const status = q.status ?? "pending";
    const organization = q.organization === undefined ? undefined : parseOrganization(q.organization);
    const subject = q.subject === undefined ? undefined : parseId("subject", q.subject);
    const sessions = (await this.#all("records", ["BreakGlassDeclared"], [null, subject ?? null])).map((e) =>
      rowOf(e.event, e.time, () => 0),
    );
    const reviews = new Map(
      (await this.#all("records", ["BreakGlassReviewed"])).map((e) => {
        const row = rowOf(e.event, e.time, () => 0);
        return [num(row.session_id!), row] as const;
      }),
    );
    const rows = ordered(sessions, p).filter((s) => {
      const review = reviews.get(num(s.session_id!));
      if (status === "pending" && review !== undefined) return false;
      if (status === "closed" && review === undefined) return false;
      if (organization !== undefined && num(s.org_id!) !== organization) return false;
      if (review !== undefined) {
        s.outcome = review.outcome!;
        s.reviewer = review.reviewer!;
        s.reviewer_org = review.reviewer_org!;
        s.reviewed_time = review.time!;
      }
      return afterCursor(num(s.pos!), p);
    });
    return toPage(rows.slice(0, p.limit + 1).map(toSession), p.limit, posOfEntry);
  }

  async whoSawMyData(q: WhoSawQuery): Promise<AccessorSummary[]> {
    const subject = parseId("subject", q.subject);
    const from = q.from === undefined ? undefined : parseTime("from", q.from);
    const to = q.to === undefined ? undefined : parseTime("to", q.to);
    const orgs = await this.#orgs();
    const rows: Row[] = [];
    await this.#scan("records", ["RecordAccessed"], [subject], "asc", (events) => {
      for (const { event, time } of events) {
        if (to !== undefined && time >= to) return false;
        if (from !== undefined && time < from) continue;
        rows.push(rowOf(event, time, (a) => orgs.get(a.toLowerCase()) ?? 0));
      }
      return true;
    });
    return summarizeAccessors(rows);
  }

  async subjectRecords(subject: string): Promise<RecordVersion[]> {
    const rows = await this.#versionRows(parseId("subject", subject));
    return rows.sort((x, y) => num(x.pos!) - num(y.pos!)).map(toRecordVersion);
  }
}

const RECORD_EVENTS = ["RecordAnchored", "RecordProven", "RecordImported"];

function rowOf(event: DecodedEvent, time: number, orgOf: (account: string) => number): Row {
  const projected = projectEvent(event, time, orgOf);
  const columns = columnsOf(projected.table);
  const row: Row = {};
  columns.forEach((c, i) => (row[c] = projected.values[i] ?? null));
  return row;
}

function ordered(rows: Row[], p: PageParams): Row[] {
  const sign = p.order === "asc" ? 1 : -1;
  return [...rows].sort((x, y) => sign * (num(x.pos!) - num(y.pos!)));
}
