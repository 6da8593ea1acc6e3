/**
 * The embedded store: SQLite through Node's built-in `node:sqlite` (no native dependency).
 *
 * WAL journal, `synchronous=NORMAL` (a committed page survives a process crash; a power cut may
 * lose the last pages, which the indexer then fetches again), a 64 MiB page cache. Inserts go
 * through one cached prepared statement per table and column list.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "medledger/indexer";
 * const store = await openSqliteStore({ path: ".medledger/index.sqlite" });
 * ```
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { StatementSync } from "node:sqlite";

import { IndexerError } from "../errors.js";
import type { SqlRow, SqlStore, SqlValue } from "./types.js";

export interface SqliteStoreOptions {
  /** A file path, or `:memory:` for a throwaway index. */
  path: string;
  /** Open read-only (queries only). */
  readOnly?: boolean;
}

/**
 * Opens (creating if needed) an SQLite index database.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "medledger/indexer";
 * const store = await openSqliteStore({ path: ":memory:" });
 * ```
 */
export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SqlStore> {
  let db: DatabaseSync;
  try {
    if (opts.path !== ":memory:" && opts.readOnly !== true) mkdirSync(dirname(opts.path), { recursive: true });
    db = new DatabaseSync(opts.path, { readOnly: opts.readOnly === true });
    db.exec("PRAGMA busy_timeout = 10000");
    if (opts.readOnly !== true) {
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
    }
    db.exec("PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY");
  } catch (cause) {
    throw new IndexerError("STORE_UNAVAILABLE", `Cannot open the SQLite index at ${opts.path}`, {
      cause,
      hint: "Check that the directory exists and is writable, and that no other program locks the file.",
    });
  }
  return new SqliteStore(db, opts.path);
}

const ROWS_PER_STATEMENT = 64;
/** SQLite's default limit on bound parameters per statement. */
const MAX_PARAMS = 32_766;

class SqliteStore implements SqlStore {
  readonly dialect = "sqlite" as const;
  readonly description: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #closed = false;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.description = path;
  }

  #prepare(sql: string): StatementSync {
    if (this.#closed) throw new IndexerError("STORE_UNAVAILABLE", "The SQLite index is closed");
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  async exec(sql: string): Promise<void> {
    this.#db.exec(sql);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return Number(this.#prepare(sql).run(...params).changes);
  }

  async all<T extends object = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#prepare(sql).all(...params) as T[];
  }

  async insertMany(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void> {
    // Multi-row VALUES statements: one native call per ROWS_PER_STATEMENT rows, not per row.
    const tuple = `(${columns.map(() => "?").join(", ")})`;
    const insert = (n: number): StatementSync =>
      this.#prepare(
        `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${Array.from({ length: n }, () => tuple).join(", ")}`,
      );
    const perStatement = Math.max(1, Math.min(ROWS_PER_STATEMENT, Math.floor(MAX_PARAMS / columns.length)));
    let i = 0;
    if (rows.length >= perStatement) {
      const statement = insert(perStatement);
      for (; i + perStatement <= rows.length; i += perStatement)
        statement.run(...rows.slice(i, i + perStatement).flat());
    }
    if (i < rows.length) {
      const statement = insert(1);
      for (; i < rows.length; i++) statement.run(...rows[i]!);
    }
  }

  async transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T> {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = await fn(this);
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  async sizeBytes(): Promise<number> {
    if (this.description === ":memory:") {
      const [row] = await this.all<{ n: number }>(
        "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()",
      );
      return row?.n ?? 0;
    }
    let total = 0;
    for (const suffix of ["", "-wal"]) {
      try {
        total += statSync(this.description + suffix).size;
      } catch {
        // no WAL file
      }
    }
    return total;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }
}
