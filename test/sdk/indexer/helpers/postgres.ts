/**
 * PostgreSQL for the indexer suites: a real server (scripts/ci/postgres.sh starts one on
 * 127.0.0.1:55432), in which each test creates its own database and drops it when the store closes.
 *
 * No server: in CI (`CI=true`) the PostgreSQL tests FAIL; locally they are skipped with a message
 * saying how to start one.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";

import pg from "pg";

import { openPostgresStore } from "../../../../sdk/indexer/index.js";
import type { SqlStore } from "../../../../sdk/indexer/index.js";

export const ADMIN_URL = process.env.MEDLEDGER_TEST_PG_URL ?? "postgres://medledger_test@127.0.0.1:55432/postgres";
const HOW =
  "start one with `bash scripts/ci/postgres.sh` (installs Debian's postgresql if needed) or set MEDLEDGER_TEST_PG_URL";

let available: Promise<boolean> | undefined;
let warned = false;

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Is the server up? When it is not and no MEDLEDGER_TEST_PG_URL names another, `npm test` sets up
 * its own: scripts/ci/postgres.sh (installs Debian's postgresql when missing, then starts it on
 * 127.0.0.1:55432). It stays up for later runs; `bash scripts/ci/postgres.sh stop` removes it.
 */
async function serverAvailable(): Promise<boolean> {
  available ??= (async () => {
    if (await reachable()) return true;
    if (process.env.MEDLEDGER_TEST_PG_URL !== undefined) return false;
    const script = fileURLToPath(new URL("../../../../scripts/ci/postgres.sh", import.meta.url));
    const started = spawnSync("bash", [script], { encoding: "utf8", timeout: 300_000 });
    if (started.status !== 0) {
      console.warn(`      (scripts/ci/postgres.sh failed: ${(started.stderr || started.stdout).trim().slice(-400)})`);
      return false;
    }
    return reachable();
  })();
  return available;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database URL with `database` in place of the admin URL's. */
export function databaseUrl(database: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Creates a fresh database; resolves to its name, or undefined (skip) when there is no server locally. */
export async function createDatabase(label: string): Promise<string | undefined> {
  if (!(await serverAvailable())) {
    if (process.env.CI === "true") {
      throw new Error(
        `PostgreSQL is not reachable at ${ADMIN_URL}: the PostgreSQL indexer suite must run in CI; ${HOW}`,
      );
    }
    if (!warned) {
      warned = true;
      console.warn(`      (PostgreSQL suites skipped: no server at ${ADMIN_URL}; ${HOW})`);
    }
    return undefined;
  }
  const name = `medledger_${label}_${randomBytes(4).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return name;
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** A PostgreSQL store in a fresh database that is dropped when the store closes (undefined: skip). */
export async function freshPostgresStore(label: string): Promise<SqlStore | undefined> {
  const name = await createDatabase(label);
  if (name === undefined) return undefined;
  const store = await openPostgresStore({ url: databaseUrl(name) });
  const close = store.close.bind(store);
  return Object.assign(store, {
    close: async () => {
      await close();
      await dropDatabase(name);
    },
  });
}

/** The `[name, open]` entry for suites that run against every store. */
export function postgresStores(label: string): [string, () => Promise<SqlStore | undefined>][] {
  return [["PostgreSQL", () => freshPostgresStore(label)]];
}
