/**
 * Opening an index store from one string: a PostgreSQL URL (`postgres://…`, `postgresql://…`), or
 * an SQLite file path (optionally prefixed `sqlite:`), or `:memory:`.
 *
 * @example
 * ```ts
 * import { openStore } from "medledger/indexer";
 * const store = await openStore(process.env.MEDLEDGER_INDEX ?? ".medledger/index.sqlite");
 * ```
 */
import { openPostgresStore } from "./postgres.js";
import { openSqliteStore } from "./sqlite.js";
import type { SqlStore } from "./types.js";

export type { Dialect, SqlRow, SqlStore, SqlValue } from "./types.js";
export { openSqliteStore } from "./sqlite.js";
export type { SqliteStoreOptions } from "./sqlite.js";
export { openPostgresStore, toPostgresPlaceholders } from "./postgres.js";
export type { PostgresStoreOptions } from "./postgres.js";

/** Whether a store string names a PostgreSQL database. */
export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/**
 * Opens the store a string names.
 *
 * @example
 * ```ts
 * import { openStore } from "medledger/indexer";
 * const sqlite = await openStore("sqlite:.medledger/index.sqlite");
 * const pg = await openStore("postgres://medledger@127.0.0.1:55432/medledger");
 * ```
 */
export async function openStore(spec: string, opts: { readOnly?: boolean } = {}): Promise<SqlStore> {
  if (isPostgresUrl(spec)) return openPostgresStore({ url: spec });
  const path = spec.startsWith("sqlite:") ? spec.slice("sqlite:".length) : spec;
  return openSqliteStore({ path, readOnly: opts.readOnly === true });
}
