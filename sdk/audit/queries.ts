/**
 * The audit queries (`audit.*`) as ONE facade over the two sources the indexer provides: the
 * index ({@link IndexSource}: SQL, fast) when there is one and it is synced, else the chain itself
 * ({@link ChainSource}: paged `eth_getLogs`, no index). Both sources answer every query with the
 * same results (sdk/indexer/queries.ts defines the parameters, the results and their conversion;
 * this module adds no list and no conversion of its own).
 *
 * The queries issue "auditors and patients" names:
 * - accesses by subject, accessor, organization, record, purpose, basis, emergency only and time
 *   range: {@link AuditQueries.accesses} (filters combine);
 * - consents in force at a time T, and a subject's consent history: `consentsInForce`,
 *   `consentHistory`;
 * - record version history: `recordHistory`; pending break-glass reviews: `reviews`;
 * - "who saw my data" (one line per accessor): `whoSawMyData`;
 * - the live feed of new accesses: `watch` (as mined and as confirmed).
 *
 * Results are paged (`nextCursor`) and sorted by time. A cursor is a chain position, so a page
 * from one source continues with the other.
 *
 * @example
 * ```ts
 * import { audit } from "medledger";
 * const q = audit.auditQueries(ctx);                       // chain only (no index)
 * const { items } = await q.whoSawMyData({ subject });
 * // With the index (Node: medledger/indexer), falling back to the chain when it is not synced:
 * const q2 = audit.auditQueries(ctx, { index: () => openedIndexSource });
 * ```
 */
import type { LedgerContext } from "../context.js";
import type { MedLedgerError } from "../errors.js";
import { ChainSource } from "../indexer/chain-source.js";
import type { ChainSourceOptions } from "../indexer/chain-source.js";
import { IndexerError } from "../indexer/errors.js";
import { deploymentFromAddressBook } from "../indexer/events.js";
import type { Deployment } from "../indexer/events.js";
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
  RecordHistoryQuery,
  RecordVersion,
  ReviewsQuery,
  WhoSawQuery,
} from "../indexer/queries.js";
import { providerRpc } from "../indexer/rpc.js";
import { SCHEMA_VERSION } from "../indexer/schema.js";
import type { SqlStore } from "../indexer/store/types.js";
import type { JsonRpc } from "../indexer/rpc.js";
import { watch } from "../indexer/watch.js";
import type { AccessNotice, WatchOptions } from "../indexer/watch.js";

export type {
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
  RecordHistoryQuery,
  RecordVersion,
  ReviewsQuery,
  WhoSawQuery,
} from "../indexer/queries.js";

/** Which source answers: the index when it can (default), only the index, or only the chain. */
export type SourcePreference = "auto" | "index" | "chain";

export interface AuditQueriesOptions {
  /** The chain: a JSON-RPC endpoint (URL or {@link JsonRpc}) and the deployment. */
  chain: Pick<ChainSourceOptions, "rpc" | "deployment" | "reader">;
  /**
   * The index, if one is kept: an {@link IndexSource} (medledger/indexer), or a function opening
   * one (called once, on the first query). When it throws "not synced", "unavailable" or "wrong
   * deployment", the chain answers instead (with `prefer: "auto"`).
   */
  index?: AuditSource | (() => Promise<AuditSource>);
  /** Default "auto". */
  prefer?: SourcePreference;
  /** Told once why the index was not used (to warn). */
  onFallback?: (reason: MedLedgerError) => void;
}

/** The audit queries, answered by the index or the chain. */
export interface AuditQueries extends AuditSource {
  /** Which source answered (null before the first query). */
  readonly answeredBy: "index" | "chain" | null;
  /** The deployment queried. */
  readonly deployment: Deployment;
  /** New accesses as they are mined and again when confirmed (JSON lines in `audit follow`). */
  watch(opts?: Omit<WatchOptions, "rpc" | "deployment">): AsyncIterable<AccessNotice>;
}

/**
 * Checks that `store` holds a synced index of `deployment`; returns its cursor (the last indexed
 * block). Throws IndexerError NOT_SYNCED (empty) or WRONG_DEPLOYMENT (another chain or schema):
 * the failures after which {@link createAuditQueries} answers from the chain instead.
 *
 * @example
 * ```ts
 * const store = await openStore(".medledger/index.sqlite");
 * const q = createAuditQueries({ chain, index: async () => (await checkIndex(store, deployment), new IndexSource(store)) });
 * ```
 */
export async function checkIndex(store: SqlStore, deployment: Deployment): Promise<number> {
  const rows = await store.all<{ key: string; value: string }>("SELECT key, value FROM meta").catch(() => []);
  const meta = new Map(rows.map((r) => [r.key, r.value]));
  const identity = meta.get("identity");
  const cursor = Number(meta.get("cursor") ?? -1);
  if (identity === undefined || cursor < deployment.startBlock)
    throw new IndexerError("NOT_SYNCED", `The index at ${store.description} is empty`, {
      hint: "Run `medledger index sync` first, or query the chain directly with --source chain.",
    });
  const parsed = JSON.parse(identity) as { schema: number; chainId: number };
  if (parsed.schema !== SCHEMA_VERSION || parsed.chainId !== deployment.chainId)
    throw new IndexerError(
      "WRONG_DEPLOYMENT",
      `The index at ${store.description} is for another deployment or version`,
      {
        hint: "Point --index at this deployment's index, or rebuild it with `medledger index sync` into a new file.",
      },
    );
  return cursor;
}

/** Index failures after which the chain answers instead (anything else is a real error). */
const FALLBACK_REASONS = new Set(["NOT_SYNCED", "STORE_UNAVAILABLE", "WRONG_DEPLOYMENT"]);

const canFallBack = (err: unknown): err is IndexerError =>
  err instanceof IndexerError && FALLBACK_REASONS.has(err.reason);

/**
 * The audit queries over a context's chain (and an index, if given).
 *
 * @example
 * ```ts
 * const q = auditQueries(ctx);
 * const page = await q.accesses({ subject, emergencyOnly: true, order: "desc", limit: 20 });
 * ```
 */
export function auditQueries(
  ctx: LedgerContext,
  opts: Omit<AuditQueriesOptions, "chain"> & { reader?: ChainSourceOptions["reader"] } = {},
): AuditQueries {
  const { reader, ...rest } = opts;
  return createAuditQueries({
    ...rest,
    chain: {
      rpc: providerRpc(ctx.chain.rpc.provider as unknown as { send(m: string, p: unknown[]): Promise<unknown> }),
      deployment: deploymentFromAddressBook(ctx.chain.addressBook),
      ...(reader === undefined ? {} : { reader }),
    },
  });
}

/**
 * The audit queries from explicit sources (the CLI and the web view use this).
 *
 * @example
 * ```ts
 * import { createAuditQueries } from "medledger/indexer";
 * const q = createAuditQueries({ chain: { rpc: "http://127.0.0.1:8545", deployment }, index: new IndexSource(store) });
 * ```
 */
export function createAuditQueries(opts: AuditQueriesOptions): AuditQueries {
  const prefer = opts.prefer ?? "auto";
  const { deployment } = opts.chain;
  const rpc: JsonRpc | string = opts.chain.rpc;
  let chainSource: ChainSource | undefined;
  const chain = (): ChainSource =>
    (chainSource ??= new ChainSource({
      rpc,
      deployment,
      ...(opts.chain.reader === undefined ? {} : { reader: opts.chain.reader }),
    }));
  let index: Promise<AuditSource | null> | undefined;
  const openIndex = (): Promise<AuditSource | null> =>
    (index ??= (async () => {
      if (prefer === "chain" || opts.index === undefined) return null;
      try {
        return typeof opts.index === "function" ? await opts.index() : opts.index;
      } catch (err) {
        if (prefer === "auto" && canFallBack(err)) {
          opts.onFallback?.(err);
          return null;
        }
        throw err;
      }
    })());
  let answeredBy: "index" | "chain" | null = null;
  const run = async <T>(query: (source: AuditSource) => Promise<T>): Promise<T> => {
    const source = await openIndex();
    if (source !== null) {
      try {
        const out = await query(source);
        answeredBy = "index";
        return out;
      } catch (err) {
        if (!(prefer === "auto" && canFallBack(err))) throw err;
        opts.onFallback?.(err);
      }
    }
    const out = await query(chain());
    answeredBy = "chain";
    return out;
  };
  return {
    get answeredBy() {
      return answeredBy;
    },
    deployment,
    accesses: (q: AccessQuery): Promise<Page<AccessEntry>> => run((s) => s.accesses(q)),
    consentsInForce: (q: ConsentsInForceQuery): Promise<Page<ConsentEntry>> => run((s) => s.consentsInForce(q)),
    consentHistory: (q: ConsentHistoryQuery): Promise<Page<ConsentHistoryEntry>> => run((s) => s.consentHistory(q)),
    recordHistory: (q: RecordHistoryQuery): Promise<Page<RecordVersion>> => run((s) => s.recordHistory(q)),
    reviews: (q: ReviewsQuery): Promise<Page<BreakGlassSession>> => run((s) => s.reviews(q)),
    whoSawMyData: (q: WhoSawQuery): Promise<AccessorSummary[]> => run((s) => s.whoSawMyData(q)),
    subjectRecords: (subject: string): Promise<RecordVersion[]> => run((s) => s.subjectRecords(subject)),
    watch: (w = {}) => watch({ ...w, rpc, deployment }),
  };
}
