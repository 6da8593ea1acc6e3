/**
 * The SQL store behind the index: one tiny interface that an embedded SQLite database (node:sqlite)
 * and a PostgreSQL server (pg) both implement, so one schema and one query layer serve both.
 *
 * The dialect adapter is deliberately small. Every statement the indexer and the query layer run
 * is written once, in the SQL both engines share (`?` placeholders, `ON CONFLICT`, row values,
 * `LIMIT`); the adapter only rewrites placeholders for PostgreSQL, maps column types in DDL, and
 * chooses how to bulk-insert.
 *
 * Values: integers are JS numbers (every integer the index stores fits 2^53), byte strings are
 * `Uint8Array` (BLOB / BYTEA), text is `string`, absent is `null`.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "medledger/indexer";
 * const store = await openSqliteStore({ path: "index.sqlite" });
 * const rows = await store.all<{ n: number }>("SELECT count(*) AS n FROM accesses WHERE purpose = ?", [0]);
 * await store.close();
 * ```
 */

export type SqlValue = number | string | Uint8Array | null;
export type SqlRow = Record<string, SqlValue>;

/** Which engine: decides DDL types, placeholders and bulk inserts. */
export type Dialect = "sqlite" | "postgres";

export interface SqlStore {
  readonly dialect: Dialect;
  /** A short description for messages (the file path, or the database name). */
  readonly description: string;
  /** Runs one or more statements without parameters (DDL). */
  exec(sql: string): Promise<void>;
  /** Runs one statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs a query; resolves to its rows as objects keyed by column name. */
  all<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Inserts rows (each in `columns` order). Fails on a duplicate key: nothing is indexed twice. */
  insertMany(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void>;
  /**
   * Runs `fn` in one transaction: everything or nothing. Statements issued through `tx` are part
   * of it; the store must not be used by anything else meanwhile (the indexer is the only writer).
   */
  transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T>;
  /** The size of the database on disk, in bytes. */
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}
