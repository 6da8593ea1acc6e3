/**
 * The production store: a PostgreSQL database through `pg`, for one consortium-wide index that
 * several readers (CLI, web view) query.
 *
 * `?` placeholders are rewritten to `$1…$n`; BIGINT columns come back as JS numbers (every integer
 * the index stores fits 2^53) and BYTEA as Buffers. Bulk inserts send multi-row `VALUES` lists.
 *
 * @example
 * ```ts
 * import { openPostgresStore } from "medledger/indexer";
 * const store = await openPostgresStore({ url: "postgres://medledger@127.0.0.1:55432/medledger" });
 * ```
 */
import { loadOptionalDependencies } from "../../peers.js";
import { IndexerError } from "../errors.js";
import type { SqlRow, SqlStore, SqlValue } from "./types.js";

export interface PostgresStoreOptions {
  /** A connection URL: `postgres://user:password@host:port/database`. */
  url: string;
  /** Connections in the pool (default 4). */
  poolSize?: number;
}

/** The parts of pg this module uses (pg ships CommonJS; it is loaded lazily, Node only). */
interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
interface PgClient extends PgQueryable {
  release(): void;
}
interface PgPool extends PgQueryable {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
/** PostgreSQL accepts at most 65,535 parameters per statement. */
const MAX_PARAMS = 60_000;

/** Rewrites `?` placeholders (outside string literals) to `$1…$n`. */
export function toPostgresPlaceholders(sql: string): string {
  let n = 0;
  let out = "";
  let quoted = false;
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === "?" && !quoted ? `$${++n}` : ch;
  }
  return out;
}

/**
 * Connects to a PostgreSQL database (which must exist).
 *
 * @example
 * ```ts
 * import { openPostgresStore } from "medledger/indexer";
 * const store = await openPostgresStore({ url: process.env.MEDLEDGER_INDEX_URL! });
 * ```
 */
export async function openPostgresStore(opts: PostgresStoreOptions): Promise<SqlStore> {
  // pg is an optional peer dependency (only the PostgreSQL store needs it).
  const pg = (await loadOptionalDependencies({ pg: () => import("pg") }, ["pg"], "The PostgreSQL index store")).pg
    .default;
  const parseInteger = (value: string): number => Number(value);
  const types = {
    getTypeParser: (oid: number, format?: "text" | "binary") =>
      oid === INT8_OID || oid === NUMERIC_OID
        ? parseInteger
        : (pg.types.getTypeParser(oid, format ?? "text") as (value: string) => unknown),
  };
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 4, types }) as unknown as PgPool;
  (pool as unknown as { on(event: string, fn: () => void): void }).on("error", () => {
    // An idle client lost its connection: the next query reports it.
  });
  const description = redact(opts.url);
  try {
    await pool.query("SELECT 1");
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new IndexerError("STORE_UNAVAILABLE", `Cannot connect to PostgreSQL at ${description}`, {
      cause,
      hint: "Check the URL, that the server runs and that the database exists (scripts/ci/postgres.sh starts one).",
    });
  }
  return new PostgresStore(pool, pool, description, async () => pool.end());
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "postgres";
  }
}

function toParams(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : p));
}

class PostgresStore implements SqlStore {
  readonly dialect = "postgres" as const;
  readonly description: string;
  readonly #pool: PgPool;
  readonly #conn: PgQueryable;
  readonly #end: () => Promise<void>;
  readonly #sql = new Map<string, string>();

  constructor(pool: PgPool, conn: PgQueryable, description: string, end: () => Promise<void>) {
    this.#pool = pool;
    this.#conn = conn;
    this.description = description;
    this.#end = end;
  }

  #text(sql: string): string {
    let text = this.#sql.get(sql);
    if (text === undefined) {
      text = toPostgresPlaceholders(sql);
      this.#sql.set(sql, text);
    }
    return text;
  }

  async #query(sql: string, params: readonly SqlValue[]): Promise<{ rows: unknown[]; rowCount: number | null }> {
    try {
      return await this.#conn.query(this.#text(sql), toParams(params));
    } catch (cause) {
      if (isConnectionError(cause)) {
        throw new IndexerError("STORE_UNAVAILABLE", `Lost the PostgreSQL connection to ${this.description}`, {
          cause,
          hint: "Check that the server still runs; the indexer resumes from its last committed page.",
        });
      }
      throw cause;
    }
  }

  async exec(sql: string): Promise<void> {
    await this.#conn.query(sql);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.#query(sql, params)).rowCount ?? 0;
  }

  async all<T extends object = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.#query(sql, params)).rows as T[];
  }

  async insertMany(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void> {
    const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement);
      const values: unknown[] = [];
      const tuples = chunk.map((row) => {
        const first = values.length;
        for (const v of row) values.push(v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v) : v);
        return `(${row.map((_, i) => `$${first + i + 1}`).join(",")})`;
      });
      await this.#conn.query(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(",")}`, values);
    }
  }

  async transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const tx = new PostgresStore(this.#pool, client, this.description, async () => undefined);
    try {
      await client.query("BEGIN");
      const result = await fn(tx);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async sizeBytes(): Promise<number> {
    const [row] = await this.all<{ n: number }>("SELECT pg_database_size(current_database()) AS n");
    return row?.n ?? 0;
  }

  async close(): Promise<void> {
    await this.#end();
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    typeof code === "string" &&
    (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "57P01" || code.startsWith("08"))
  );
}
