/**
 * The indexer: follows a MedLedger deployment from its start block into a SQL store (SQLite or
 * PostgreSQL), page by page.
 *
 * - **Resumable.** The rows of a page, the headers of its blocks and the cursor (the last indexed
 *   block and its hash) commit in one transaction, guarded by the cursor's previous value: after a
 *   crash nothing is indexed twice and nothing is missed, and two indexers on one database cannot
 *   both commit a page.
 * - **Confirmations.** Only blocks at least `confirmations` deep are indexed.
 * - **Reorgs.** Before every pass the cursor block's stored hash is compared with the chain's. On a
 *   mismatch the stored block hashes are walked back to the newest block the chain still has (the
 *   fork point), every row after it is deleted, and indexing resumes from there. A page whose logs
 *   name a block hash other than the header's (the chain moved while it was read) is read again.
 * - **Rebuildable.** Every row is a projection of one log ({@link projectEvent}); {@link Indexer.check}
 *   recomputes them from the chain and compares.
 *
 * @example
 * ```ts
 * import { Indexer, httpRpc, openStore, deploymentFromAddressBook } from "medledger/indexer";
 * import { readAddressBook } from "medledger";
 * const indexer = await Indexer.create({
 *   store: await openStore(".medledger/index.sqlite"),
 *   rpc: httpRpc("http://127.0.0.1:8545"),
 *   deployment: deploymentFromAddressBook(await readAddressBook("deployments/localhost.json")),
 *   confirmations: 2,
 * });
 * const result = await indexer.sync(); // catch up and return
 * await indexer.close();
 * ```
 */
import { IndexerError } from "./errors.js";
import { LogDecoder, bytesToHex, hexToBytes, projectEvent } from "./events.js";
import type { Deployment, ProjectedRow } from "./events.js";
import { ChainReader, httpRpc } from "./rpc.js";
import type { BlockHeader, ChainReaderOptions, JsonRpc, LogPage } from "./rpc.js";
import { SCHEMA_VERSION, TABLES, TABLE_NAMES, columnsOf, firstPosition, schemaDdl } from "./schema.js";
import type { TableName } from "./schema.js";
import type { SqlStore, SqlValue } from "./store/types.js";

export interface IndexerOptions {
  store: SqlStore;
  /** A JSON-RPC transport, or the node's HTTP URL. */
  rpc: JsonRpc | string;
  deployment: Deployment;
  /** How deep a block must be before it is indexed (default 0: index the head). */
  confirmations?: number;
  /** Paging limits (the node's eth_getLogs range limit, page size). */
  reader?: ChainReaderOptions;
}

/** Where a sync stands (for progress bars). */
export interface SyncProgress {
  /** The first block of this pass. */
  fromBlock: number;
  /** The block this pass catches up to. */
  targetBlock: number;
  /** The last block committed. */
  cursor: number;
  /** Events indexed in this pass so far. */
  events: number;
}

/** A reorg the indexer repaired. */
export interface ReorgRepair {
  /** The newest block still on the chain: rows after it were deleted. */
  forkBlock: number;
  /** The cursor before the repair. */
  previousCursor: number;
}

export interface SyncResult {
  fromBlock: number;
  /** The last indexed block after this pass. */
  toBlock: number;
  events: number;
  reorgs: ReorgRepair[];
}

/** One difference between the index and the chain. */
export interface CheckDifference {
  table: TableName | "blocks";
  /** The row's position (blockNumber * 2^20 + logIndex), or the block number for `blocks`. */
  pos: number;
  kind: "missing" | "unexpected" | "different";
  expected?: Record<string, unknown>;
  actual?: Record<string, unknown>;
}

export interface CheckReport {
  ok: boolean;
  fromBlock: number;
  toBlock: number;
  /** Rows compared, per table. */
  rows: Record<string, number>;
  /** Differences found (at most `maxDifferences`). */
  differences: CheckDifference[];
  /** Total differences (may exceed the list). */
  differenceCount: number;
}

interface Meta {
  cursor: number;
  cursorHash: string;
}

const PAGE_RETRIES = 5;

/**
 * Indexes one deployment into one store.
 *
 * @example
 * ```ts
 * const indexer = await Indexer.create({ store, rpc: "http://127.0.0.1:8545", deployment });
 * const controller = new AbortController();
 * await indexer.follow({ signal: controller.signal, onSync: (r) => console.log(r.toBlock) });
 * ```
 */
export class Indexer {
  readonly store: SqlStore;
  readonly deployment: Deployment;
  readonly reader: ChainReader;
  readonly decoder: LogDecoder;
  readonly confirmations: number;
  readonly #readerOptions: ChainReaderOptions;
  /** Practitioner account (lowercase) → organization: the projection's only state. */
  #orgs = new Map<string, number>();

  private constructor(opts: IndexerOptions) {
    this.store = opts.store;
    this.deployment = opts.deployment;
    this.#readerOptions = opts.reader ?? {};
    this.reader = new ChainReader(typeof opts.rpc === "string" ? httpRpc(opts.rpc) : opts.rpc, this.#readerOptions);
    this.decoder = new LogDecoder(opts.deployment.addresses);
    this.confirmations = Math.max(0, opts.confirmations ?? 0);
  }

  /**
   * Opens an index: creates the schema if needed, and checks that the store indexes this
   * deployment (refuses with WRONG_DEPLOYMENT otherwise).
   */
  static async create(opts: IndexerOptions): Promise<Indexer> {
    const indexer = new Indexer(opts);
    await indexer.#init();
    return indexer;
  }

  async #init(): Promise<void> {
    for (const statement of schemaDdl(this.store.dialect)) await this.store.exec(statement);
    const identity = JSON.stringify({
      schema: SCHEMA_VERSION,
      chainId: this.deployment.chainId,
      addresses: this.decoder.addresses,
      startBlock: this.deployment.startBlock,
    });
    const [row] = await this.store.all<{ value: string }>("SELECT value FROM meta WHERE key = 'identity'");
    if (row === undefined) {
      await this.store.transaction(async (tx) => {
        await tx.run("INSERT INTO meta (key, value) VALUES ('identity', ?)", [identity]);
        await tx.run("INSERT INTO meta (key, value) VALUES ('cursor', ?)", [String(this.deployment.startBlock - 1)]);
        await tx.run("INSERT INTO meta (key, value) VALUES ('cursor_hash', '')");
      });
    } else if (row.value !== identity) {
      throw new IndexerError(
        "WRONG_DEPLOYMENT",
        `The index at ${this.store.description} belongs to another deployment`,
        {
          details: `index: ${row.value}; given: ${identity}`,
          hint: "Point --index at this deployment's index, or use a new database (everything can be rebuilt from the chain).",
        },
      );
    }
    await this.#loadOrgs();
  }

  async #loadOrgs(): Promise<void> {
    this.#orgs = new Map();
    const rows = await this.store.all<{ account: Uint8Array; org_id: number }>(
      "SELECT account, org_id FROM practitioners",
    );
    for (const r of rows) this.#orgs.set(bytesToHex(r.account), r.org_id);
  }

  async #meta(): Promise<Meta> {
    const rows = await this.store.all<{ key: string; value: string }>(
      "SELECT key, value FROM meta WHERE key IN ('cursor', 'cursor_hash')",
    );
    const get = (k: string): string => rows.find((r) => r.key === k)?.value ?? "";
    return { cursor: Number(get("cursor")), cursorHash: get("cursor_hash") };
  }

  /** The last indexed block (startBlock - 1 before the first page). */
  async cursor(): Promise<number> {
    return (await this.#meta()).cursor;
  }

  /** The block the next pass would catch up to: head - confirmations. */
  async targetBlock(): Promise<number> {
    return (await this.reader.blockNumber()) - this.confirmations;
  }

  /**
   * Catches up to `head - confirmations` (or `toBlock`, if lower) and returns. Repairs a reorg
   * first if the chain no longer has the cursor block.
   */
  async sync(
    opts: { toBlock?: number; signal?: AbortSignal; onProgress?: (p: SyncProgress) => void } = {},
  ): Promise<SyncResult> {
    const reorgs: ReorgRepair[] = [];
    const first = (await this.#meta()).cursor + 1;
    let events = 0;
    for (let attempt = 0; ; attempt++) {
      const repaired = await this.#repairReorg();
      if (repaired !== undefined) reorgs.push(repaired);
      const target = Math.min(opts.toBlock ?? Number.POSITIVE_INFINITY, await this.targetBlock());
      const { cursor } = await this.#meta();
      let consistent = true;
      if (cursor < target) {
        const pages = this.reader.pages({ address: this.decoder.addresses, fromBlock: cursor + 1, toBlock: target });
        let expected = cursor;
        for await (const page of pages) {
          if (opts.signal?.aborted === true) break;
          if (!pageIsConsistent(page)) {
            consistent = false;
            break;
          }
          events += await this.#commit(page, expected);
          expected = page.toBlock;
          opts.onProgress?.({ fromBlock: first, targetBlock: target, cursor: expected, events });
        }
      }
      if (consistent || opts.signal?.aborted === true) break;
      if (attempt >= PAGE_RETRIES) {
        throw new IndexerError("RPC_UNAVAILABLE", "The chain kept changing while pages were read", {
          hint: "Raise --confirmations so that the indexer stays behind the node's reorgs.",
        });
      }
    }
    return { fromBlock: first, toBlock: (await this.#meta()).cursor, events, reorgs };
  }

  /** Projects a page and commits it with the new cursor; resolves to the number of events. */
  async #commit(page: LogPage, expectedCursor: number): Promise<number> {
    const rows = new Map<TableName, SqlValue[][]>();
    let count = 0;
    try {
      for (const log of page.logs) {
        if (log.removed === true) continue;
        const event = this.decoder.decode(log);
        if (event === undefined) continue;
        const time = page.headers.get(log.blockNumber)?.timestamp ?? 0;
        const row = projectEvent(event, time, (account) => this.#orgs.get(account.toLowerCase()) ?? 0);
        if (row.table === "practitioners")
          this.#orgs.set((event.args[0] as string).toLowerCase(), Number(event.args[1]));
        let list = rows.get(row.table);
        if (list === undefined) rows.set(row.table, (list = []));
        list.push(row.values);
        count++;
      }
      const tip = page.headers.get(page.toBlock);
      if (tip === undefined) {
        throw new IndexerError("RPC_UNAVAILABLE", `The node has no block ${page.toBlock} any more`, {
          hint: "The chain reorganised or the node was reset; run the indexer again.",
        });
      }
      const blocks = [...page.headers.values()].map((h) => [h.number, hexToBytes(h.hash), h.timestamp]);
      await this.store.transaction(async (tx) => {
        const moved = await tx.run("UPDATE meta SET value = ? WHERE key = 'cursor' AND value = ?", [
          String(page.toBlock),
          String(expectedCursor),
        ]);
        if (moved !== 1) {
          throw new IndexerError("INDEX_MISMATCH", "Another indexer advanced this index meanwhile", {
            hint: "Run one indexer per database.",
          });
        }
        await tx.run("UPDATE meta SET value = ? WHERE key = 'cursor_hash'", [tip.hash]);
        await tx.insertMany("blocks", ["number", "hash", "timestamp"], blocks);
        for (const [table, values] of rows) await tx.insertMany(table, columnsOf(table), values);
      });
    } catch (err) {
      await this.#loadOrgs();
      throw err;
    }
    return count;
  }

  /** Finds the fork point if the chain no longer has the cursor block; deletes what follows it. */
  async #repairReorg(): Promise<ReorgRepair | undefined> {
    const { cursor, cursorHash } = await this.#meta();
    if (cursor < this.deployment.startBlock) return undefined;
    const head = await this.reader.headers([cursor]);
    if (head.get(cursor)?.hash === cursorHash) return undefined;
    let fork = this.deployment.startBlock - 1;
    let below = cursor + 1;
    search: for (;;) {
      const stored = await this.store.all<{ number: number; hash: Uint8Array }>(
        "SELECT number, hash FROM blocks WHERE number < ? ORDER BY number DESC LIMIT 100",
        [below],
      );
      if (stored.length === 0) break;
      const chain = await this.reader.headers(stored.map((s) => s.number));
      for (const s of stored) {
        if (chain.get(s.number)?.hash === bytesToHex(s.hash)) {
          fork = s.number;
          break search;
        }
      }
      below = stored[stored.length - 1]!.number;
    }
    await this.rollback(fork);
    return { forkBlock: fork, previousCursor: cursor };
  }

  /** Deletes every row after `block` and moves the cursor back to it. */
  async rollback(block: number): Promise<void> {
    const from = firstPosition(block + 1);
    await this.store.transaction(async (tx) => {
      for (const table of TABLE_NAMES) await tx.run(`DELETE FROM ${table} WHERE pos >= ?`, [from]);
      await tx.run("DELETE FROM blocks WHERE number > ?", [block]);
      const [kept] = await tx.all<{ hash: Uint8Array }>("SELECT hash FROM blocks WHERE number = ?", [block]);
      await tx.run("UPDATE meta SET value = ? WHERE key = 'cursor'", [String(block)]);
      await tx.run("UPDATE meta SET value = ? WHERE key = 'cursor_hash'", [
        kept === undefined ? "" : bytesToHex(kept.hash),
      ]);
    });
    await this.#loadOrgs();
  }

  /**
   * Follows the chain: syncs, waits for a new block, syncs again, until `signal` aborts.
   */
  async follow(opts: {
    signal: AbortSignal;
    pollIntervalMs?: number;
    onSync?: (result: SyncResult) => void;
    onProgress?: (p: SyncProgress) => void;
  }): Promise<void> {
    const interval = opts.pollIntervalMs ?? 1000;
    while (!opts.signal.aborted) {
      const result = await this.sync({ signal: opts.signal, onProgress: opts.onProgress });
      opts.onSync?.(result);
      await sleep(interval, opts.signal);
    }
  }

  /**
   * Compares the index with the chain: recomputes every row (and every stored block hash) of
   * [startBlock, cursor] from `eth_getLogs` and reports each difference.
   */
  async check(opts: { maxDifferences?: number; onProgress?: (p: SyncProgress) => void } = {}): Promise<CheckReport> {
    const max = opts.maxDifferences ?? 100;
    const { cursor } = await this.#meta();
    const fromBlock = this.deployment.startBlock;
    const report: CheckReport = {
      ok: true,
      fromBlock,
      toBlock: cursor,
      rows: Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])),
      differences: [],
      differenceCount: 0,
    };
    const add = (d: CheckDifference): void => {
      report.ok = false;
      report.differenceCount++;
      if (report.differences.length < max) report.differences.push(d);
    };
    const reader = this.reader;
    const orgs = new Map<string, number>();
    let events = 0;
    if (cursor >= fromBlock) {
      for await (const page of reader.pages({ address: this.decoder.addresses, fromBlock, toBlock: cursor })) {
        const expected = new Map<TableName, ProjectedRow[]>(TABLE_NAMES.map((t) => [t, []]));
        for (const log of page.logs) {
          const event = this.decoder.decode(log);
          if (event === undefined) continue;
          const time = page.headers.get(log.blockNumber)?.timestamp ?? 0;
          const row = projectEvent(event, time, (a) => orgs.get(a.toLowerCase()) ?? 0);
          if (row.table === "practitioners") orgs.set((event.args[0] as string).toLowerCase(), Number(event.args[1]));
          expected.get(row.table)!.push(row);
          events++;
        }
        const lo = firstPosition(page.fromBlock);
        const hi = firstPosition(page.toBlock + 1);
        for (const table of TABLE_NAMES) {
          const columns = columnsOf(table);
          const actual = await this.store.all<Record<string, SqlValue>>(
            `SELECT ${columns.join(", ")} FROM ${table} WHERE pos >= ? AND pos < ? ORDER BY pos`,
            [lo, hi],
          );
          report.rows[table]! += actual.length;
          compareRows(table, columns, expected.get(table)!, actual, add);
        }
        await this.#checkBlocks(reader, page, add);
        opts.onProgress?.({ fromBlock, targetBlock: cursor, cursor: page.toBlock, events });
      }
    }
    return report;
  }

  async #checkBlocks(reader: ChainReader, page: LogPage, add: (d: CheckDifference) => void): Promise<void> {
    const stored = await this.store.all<{ number: number; hash: Uint8Array; timestamp: number }>(
      "SELECT number, hash, timestamp FROM blocks WHERE number >= ? AND number <= ? ORDER BY number",
      [page.fromBlock, page.toBlock],
    );
    const missing = stored.filter((s) => !page.headers.has(s.number)).map((s) => s.number);
    const extra = missing.length === 0 ? new Map<number, BlockHeader>() : await reader.headers(missing);
    for (const s of stored) {
      const chain = page.headers.get(s.number) ?? extra.get(s.number);
      const actual = { hash: bytesToHex(s.hash), timestamp: s.timestamp };
      if (chain === undefined) add({ table: "blocks", pos: s.number, kind: "unexpected", actual });
      else if (chain.hash !== actual.hash || chain.timestamp !== actual.timestamp) {
        add({
          table: "blocks",
          pos: s.number,
          kind: "different",
          expected: { hash: chain.hash, timestamp: chain.timestamp },
          actual,
        });
      }
    }
    const storedNumbers = new Set(stored.map((s) => s.number));
    for (const log of page.logs) {
      if (!storedNumbers.has(log.blockNumber)) {
        storedNumbers.add(log.blockNumber);
        add({ table: "blocks", pos: log.blockNumber, kind: "missing" });
      }
    }
  }

  /**
   * Refreshes the query planner's statistics (SQLite `ANALYZE`, PostgreSQL `ANALYZE`): worth it
   * after a large catch-up, so that filters pick the right index.
   */
  async optimize(): Promise<void> {
    await this.store.exec(this.store.dialect === "sqlite" ? "ANALYZE; PRAGMA optimize" : "ANALYZE");
  }

  /** Closes the store. */
  async close(): Promise<void> {
    await this.store.close();
  }
}

function pageIsConsistent(page: LogPage): boolean {
  for (const log of page.logs) {
    if (page.headers.get(log.blockNumber)?.hash !== log.blockHash.toLowerCase()) return false;
  }
  return true;
}

function sameValue(a: SqlValue, b: SqlValue): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return a === b;
}

function printable(columns: readonly string[], values: readonly SqlValue[]): Record<string, unknown> {
  return Object.fromEntries(
    columns.map((c, i) => [c, values[i] instanceof Uint8Array ? bytesToHex(values[i]) : values[i]]),
  );
}

function compareRows(
  table: TableName,
  columns: readonly string[],
  expected: readonly ProjectedRow[],
  actual: readonly Record<string, SqlValue>[],
  add: (d: CheckDifference) => void,
): void {
  let i = 0;
  let j = 0;
  while (i < expected.length || j < actual.length) {
    const e = expected[i];
    const a = actual[j];
    const ePos = e === undefined ? Number.POSITIVE_INFINITY : (e.values[0] as number);
    const aPos = a === undefined ? Number.POSITIVE_INFINITY : (a.pos as number);
    if (ePos < aPos) {
      add({ table, pos: ePos, kind: "missing", expected: printable(columns, e!.values) });
      i++;
    } else if (aPos < ePos) {
      add({
        table,
        pos: aPos,
        kind: "unexpected",
        actual: printable(
          columns,
          columns.map((c) => a![c] ?? null),
        ),
      });
      j++;
    } else {
      const actualValues = columns.map((c) => a![c] ?? null);
      if (!columns.every((_, k) => sameValue(e!.values[k] ?? null, actualValues[k] ?? null))) {
        add({
          table,
          pos: ePos,
          kind: "different",
          expected: printable(columns, e!.values),
          actual: printable(columns, actualValues),
        });
      }
      i++;
      j++;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Exposed for the chain-direct source and tests: the tables' definitions. */
export { TABLES };
