/**
 * `npm run bench:audit`: the audit indexer at scale. Writes reports/audit-bench.json.
 *
 * 1. Starts anvil (automine) and deploys the 1.1 contracts; admits organizations, enrolls
 *    practitioners, registers patients, anchors their records and grants consents.
 * 2. Generates ≥ 1,000,000 access events with `accessBatch` (256 records per transaction),
 *    signed locally and sent as raw transactions in JSON-RPC batches.
 * 3. Indexes them over JSON-RPC into SQLite (a file), timing the catch-up: `indexEventsPerSec`,
 *    with the process's peak resident memory (pages are streamed into the store).
 * 4. Times the two audit queries a patient and an auditor run (a patient's access timeline, an
 *    accessor's history; newest 50, and the next page) on SQLite and on PostgreSQL, and the same
 *    patient query answered by paged eth_getLogs without an index.
 *
 * Environment: MEDLEDGER_BENCH_ACCESSES (default 1,000,000), MEDLEDGER_BENCH_PG_URL (a PostgreSQL
 * server where the bench may create a database; default the one scripts/ci/postgres.sh starts;
 * skipped with a note if unreachable), MEDLEDGER_BENCH_DIR (where the SQLite index goes).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { HDNodeWallet, Mnemonic, keccak256, toUtf8Bytes } from "ethers";
import pg from "pg";

import { ChainSource, IndexSource, Indexer, openPostgresStore, openSqliteStore } from "../sdk/indexer/index.js";
import type { AuditSource, Deployment, SqlStore } from "../sdk/indexer/index.js";
import { deployLedger, startTestAnvil } from "../fixtures/anvil-ledger.js";

const TARGET = Number(process.env.MEDLEDGER_BENCH_ACCESSES ?? 1_000_000);
const PG_URL = process.env.MEDLEDGER_BENCH_PG_URL ?? "postgres://medledger_test@127.0.0.1:55432/postgres";
const BATCH = 256;
const ORGS = 5;
const DOCTORS_PER_ORG = 8;
const PATIENTS = 100;
const RECORDS_PER_PATIENT = 16;
const CONSENTS_PER_PATIENT = 4;
const MNEMONIC = "test test test test test test test test test test test junk";
const CATEGORY = 2;
const TREAT = 0;
/** The V8 heap limit of the indexing process. */
const CHILD_HEAP_MIB = 256;
const ZERO = `0x${"00".repeat(32)}`;

const log = (s: string): void => void process.stderr.write(`[bench:audit] ${s}\n`);
const key = (label: string): string => keccak256(toUtf8Bytes(label));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Peak resident memory of this process (Linux VmHWM), MiB. */
async function peakRssMiB(): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const m = /VmHWM:\s+(\d+) kB/.exec(await readFile("/proc/self/status", "utf8").catch(() => ""));
  return m === null ? process.memoryUsage().rss / 2 ** 20 : Number(m[1]) / 1024;
}

interface ChildJob {
  rpc: string;
  deployment: Deployment;
  path: string;
  toBlock: number;
}

/** Child mode: index into SQLite in a fresh process, so its peak memory is the indexer's alone. */
async function indexInChild(job: ChildJob): Promise<{ events: number; seconds: number; peakRssMiB: number }> {
  const { spawn } = await import("node:child_process");
  // A capped heap shows that memory stays bounded (pages are streamed into the store): without the
  // cap V8 lets garbage pile up to whatever the machine allows before collecting it.
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${CHILD_HEAP_MIB}`, "--import", "tsx", "bench/audit.ts"],
    {
      env: { ...process.env, MEDLEDGER_BENCH_CHILD: JSON.stringify(job) },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`the indexing process failed (${code})`);
  return JSON.parse(out) as { events: number; seconds: number; peakRssMiB: number };
}

async function childMain(job: ChildJob): Promise<void> {
  const store = await openSqliteStore({ path: job.path });
  const indexer = await Indexer.create({ store, rpc: job.rpc, deployment: job.deployment });
  const t = Date.now();
  const result = await indexer.sync({ toBlock: job.toBlock });
  const seconds = (Date.now() - t) / 1000;
  const peak = await peakRssMiB();
  await indexer.optimize();
  await store.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  await indexer.close();
  process.stdout.write(JSON.stringify({ events: result.events, seconds, peakRssMiB: peak }));
}

async function main(): Promise<void> {
  const dir = process.env.MEDLEDGER_BENCH_DIR ?? (await mkdtemp(join(tmpdir(), "medledger-bench-audit-")));
  const node = await startTestAnvil();
  try {
    const ledger = await deployLedger(node);
    const { directory, consents, records } = ledger;
    const mnemonic = Mnemonic.fromPhrase(MNEMONIC);
    const wallet = (i: number): HDNodeWallet => HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
    const nonces = new Map<string, number>();
    const rawBatch: string[] = [];
    const flush = async (): Promise<void> => {
      if (rawBatch.length === 0) return;
      const body = rawBatch
        .splice(0)
        .map((raw, i) => ({ jsonrpc: "2.0", id: i, method: "eth_sendRawTransaction", params: [raw] }));
      const res = (await (
        await fetch(node.url, {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "content-type": "application/json" },
        })
      ).json()) as { error?: { message: string } }[];
      const failed = res.find((r) => r.error !== undefined);
      if (failed !== undefined) throw new Error(`a transaction was refused: ${failed.error!.message}`);
    };
    /** Signs a call locally (TypeChain-encoded data) and queues it; sent in batches of 50. */
    const call = async (from: HDNodeWallet, to: string, data: string): Promise<void> => {
      const nonce = nonces.get(from.address) ?? (await node.provider.getTransactionCount(from.address));
      nonces.set(from.address, nonce + 1);
      rawBatch.push(
        await from.signTransaction({
          to,
          data,
          nonce,
          gasLimit: 15_000_000,
          gasPrice: 0,
          chainId: node.chainId,
          type: 0,
        }),
      );
      if (rawBatch.length >= 50) await flush();
    };
    const addresses = ledger.deployment.addresses;
    /** Automine mines raw transactions asynchronously: wait until every sender's nonce is mined. */
    const settle = async (): Promise<void> => {
      await flush();
      for (const [address, next] of nonces) {
        while ((await node.provider.getTransactionCount(address, "latest")) < next)
          await new Promise((r) => setTimeout(r, 20));
      }
    };

    log("setting up organizations, practitioners, patients, records and consents");
    const governance = wallet(0);
    const admins = Array.from({ length: ORGS }, (_, i) => wallet(1 + i));
    for (const [i, admin] of admins.entries()) {
      await call(
        governance,
        addresses.directory,
        directory.interface.encodeFunctionData("admitOrganization", [1, admin.address, key(`org${i}`)]),
      );
    }
    await settle();
    const now = (await node.provider.getBlock("latest"))!.timestamp;
    const doctors: HDNodeWallet[] = [];
    for (let o = 0; o < ORGS; o++) {
      for (let d = 0; d < DOCTORS_PER_ORG; d++) {
        const doctor = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/1'/${o}/${d}`);
        doctors.push(doctor);
        await call(
          admins[o]!,
          addresses.directory,
          directory.interface.encodeFunctionData("enrollPractitioner", [
            o + 1,
            doctor.address,
            1,
            now + 10 * 365 * 86400,
            key(`d${o}/${d}`),
          ]),
        );
      }
    }
    await settle();
    // Practitioners send with zero gas price: no funding needed.
    const patients: { wallet: HDNodeWallet; subject: string; records: string[]; doctors: number[] }[] = [];
    for (let p = 0; p < PATIENTS; p++) {
      const w = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/2'/0/${p}`);
      const salt = key(`salt${p}`);
      await call(
        w,
        addresses.directory,
        directory.interface.encodeFunctionData("registerPatient", [salt, w.address, key(`p${p}`)]),
      );
      const subject = await directory.subjectIdFor(w.address, salt);
      patients.push({ wallet: w, subject, records: [], doctors: [] });
    }
    await settle();
    for (const [p, patient] of patients.entries()) {
      for (let r = 0; r < RECORDS_PER_PATIENT; r++) {
        const id = key(`record${p}/${r}`);
        patient.records.push(id);
        await call(
          patient.wallet,
          addresses.records,
          records.interface.encodeFunctionData("anchorRecord", [
            patient.subject,
            id,
            CATEGORY,
            key(`digest${p}/${r}`),
            key(`label${p}/${r}`),
            ZERO,
            `sha256:${p}-${r}`,
            ZERO,
          ]),
        );
      }
      for (let c = 0; c < CONSENTS_PER_PATIENT; c++) {
        const d = (p * 7 + c * 11) % doctors.length;
        patient.doctors.push(d);
        const terms = {
          effect: 0,
          granteeKind: 0,
          granteeAccount: doctors[d]!.address,
          granteeOrg: 0,
          granteeRoles: 0,
          categories: 1 << CATEGORY,
          purposes: 1 << TREAT,
          actions: 1,
          validFrom: 0,
          validUntil: 0,
          sealedTerms: key(`sealed${p}/${c}`),
        };
        await call(
          patient.wallet,
          addresses.consents,
          consents.interface.encodeFunctionData("grant", [patient.subject, terms]),
        );
      }
    }
    await settle();
    const consentIds = new Map<string, string>();
    for (const [p, patient] of patients.entries()) {
      for (let c = 0; c < CONSENTS_PER_PATIENT; c++)
        consentIds.set(`${p}/${c}`, await consents.consentIdAt(patient.subject, c + 1));
    }
    const startBlock = ledger.deployment.startBlock;

    log(`generating ${TARGET.toLocaleString("en")} access events (accessBatch of ${BATCH})`);
    const txs = Math.ceil(TARGET / BATCH);
    let t = Date.now();
    for (let i = 0; i < txs; i++) {
      const p = (i * 37) % PATIENTS;
      const patient = patients[p]!;
      const c = i % CONSENTS_PER_PATIENT;
      const doctor = doctors[patient.doctors[c]!]!;
      const ids = Array.from({ length: BATCH }, (_, k) => patient.records[k % RECORDS_PER_PATIENT]!);
      await call(
        doctor,
        addresses.records,
        records.interface.encodeFunctionData("accessBatch", [
          patient.subject,
          ids,
          TREAT,
          consentIds.get(`${p}/${c}`)!,
        ]),
      );
      if (i % 500 === 0) log(`  ${i}/${txs} transactions`);
    }
    await settle();
    const head = await node.provider.getBlockNumber();
    log(`generated in ${((Date.now() - t) / 1000).toFixed(0)} s; chain head ${head}`);

    // ── index over JSON-RPC into SQLite ──
    await mkdir(dir, { recursive: true });
    const sqlitePath = join(dir, "index.sqlite");
    await rm(sqlitePath, { force: true });
    await rm(`${sqlitePath}-wal`, { force: true });
    log("indexing into SQLite (in a separate process)");
    const result = await indexInChild({
      rpc: node.url,
      deployment: ledger.deployment,
      path: sqlitePath,
      toBlock: head,
    });
    const indexSeconds = result.seconds;
    const peakRssDuringIndexMiB = result.peakRssMiB;
    const sqlite = await openSqliteStore({ path: sqlitePath });
    const [{ n: accessEvents } = { n: 0 }] = await sqlite.all<{ n: number }>("SELECT count(*) AS n FROM accesses");
    log(
      `indexed ${result.events.toLocaleString("en")} events in ${indexSeconds.toFixed(1)} s (${Math.round(result.events / indexSeconds).toLocaleString("en")}/s)`,
    );

    const subjects = patients.map((p) => p.subject);
    const accessors = doctors.map((d) => d.address);
    const timeQueries = async (source: AuditSource, rounds: number): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const q =
          i % 2 === 0 ? { subject: subjects[i % subjects.length]! } : { accessor: accessors[i % accessors.length]! };
        let start = performance.now();
        const first = await source.accesses({ ...q, order: "desc", limit: 50 });
        times.push(performance.now() - start);
        if (first.nextCursor !== null && i % 4 < 2) {
          start = performance.now();
          await source.accesses({ ...q, order: "desc", limit: 50, cursor: first.nextCursor });
          times.push(performance.now() - start);
        }
      }
      return times.sort((a, b) => a - b);
    };
    await timeQueries(new IndexSource(sqlite), 50); // warm-up
    const sqliteTimes = await timeQueries(new IndexSource(sqlite), 1000);
    log(
      `SQLite queries: p50 ${percentile(sqliteTimes, 50).toFixed(2)} ms, p95 ${percentile(sqliteTimes, 95).toFixed(2)} ms`,
    );
    const indexSizeMiB = (await sqlite.sizeBytes()) / 2 ** 20;

    // ── the same patient query by paged eth_getLogs (no index) ──
    const chain = new ChainSource({ rpc: node.url, deployment: ledger.deployment, toBlock: head });
    const rawTimes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await chain.accesses({ subject: subjects[(i * 13) % subjects.length]!, order: "desc", limit: 50 });
      rawTimes.push(performance.now() - start);
    }
    rawTimes.sort((a, b) => a - b);
    log(`eth_getLogs (no index) patient query: p95 ${percentile(rawTimes, 95).toFixed(1)} ms`);
    await sqlite.close();

    // ── PostgreSQL ──
    let postgres: { eventsPerSec: number; p50: number; p95: number; sizeMiB: number } | { skipped: string };
    const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    const database = `medledger_bench_${Date.now()}`;
    let pgStore: SqlStore | undefined;
    try {
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      const url = new URL(PG_URL);
      url.pathname = `/${database}`;
      pgStore = await openPostgresStore({ url: url.toString() });
      const pgIndexer = await Indexer.create({ store: pgStore, rpc: node.url, deployment: ledger.deployment });
      log("indexing into PostgreSQL (in this process)");
      t = Date.now();
      const pgResult = await pgIndexer.sync({ toBlock: head });
      const pgSeconds = (Date.now() - t) / 1000;
      await pgIndexer.optimize();
      await timeQueries(new IndexSource(pgStore), 50);
      const pgTimes = await timeQueries(new IndexSource(pgStore), 1000);
      postgres = {
        eventsPerSec: Math.round(pgResult.events / pgSeconds),
        p50: percentile(pgTimes, 50),
        p95: percentile(pgTimes, 95),
        sizeMiB: (await pgStore.sizeBytes()) / 2 ** 20,
      };
      log(`PostgreSQL: ${postgres.eventsPerSec}/s ingest, queries p95 ${postgres.p95.toFixed(2)} ms`);
      await pgIndexer.close();
      pgStore = undefined;
    } catch (err) {
      postgres = {
        skipped: `PostgreSQL unavailable at ${PG_URL} (${(err as Error).message}); start one with bash scripts/ci/postgres.sh`,
      };
      log(postgres.skipped);
    } finally {
      await pgStore?.close();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    }

    const report = {
      generatedAt: new Date().toISOString(),
      node: "anvil (automine) over JSON-RPC on 127.0.0.1",
      machine: {
        cpus: (await import("node:os")).cpus().length,
        note: "shared machine; other work may run concurrently",
      },
      indexedEvents: result.events,
      accessEvents,
      blocks: head - startBlock + 1,
      indexSeconds: Number(indexSeconds.toFixed(2)),
      indexEventsPerSec: Math.round(result.events / indexSeconds),
      peakRssDuringIndexMiB: Number(peakRssDuringIndexMiB.toFixed(0)),
      peakRssNote: `VmHWM of the process that indexed into SQLite (nothing else ran in it), V8 heap capped at ${CHILD_HEAP_MIB} MiB`,
      auditQueryP50Ms: Number(percentile(sqliteTimes, 50).toFixed(3)),
      auditQueryP95Ms: Number(percentile(sqliteTimes, 95).toFixed(3)),
      auditQueries:
        "a patient's access timeline and an accessor's history, newest 50 and the next page, random subjects and accessors",
      auditQueryP95MsPostgres: "skipped" in postgres ? null : Number(postgres.p95.toFixed(3)),
      auditQueryP50MsPostgres: "skipped" in postgres ? null : Number(postgres.p50.toFixed(3)),
      indexEventsPerSecPostgres: "skipped" in postgres ? null : postgres.eventsPerSec,
      indexSizeMiBPostgres: "skipped" in postgres ? null : Number(postgres.sizeMiB.toFixed(1)),
      ...("skipped" in postgres ? { postgresNote: postgres.skipped } : {}),
      rawGetLogsP95Ms: Number(percentile(rawTimes, 95).toFixed(1)),
      rawGetLogsP50Ms: Number(percentile(rawTimes, 50).toFixed(1)),
      indexSizeMiB: Number(indexSizeMiB.toFixed(1)),
    };
    await mkdir("reports", { recursive: true });
    await writeFile("reports/audit-bench.json", `${JSON.stringify(report, null, 2)}\n`);
    log("wrote reports/audit-bench.json");
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await node.stop();
    if (process.env.MEDLEDGER_BENCH_DIR === undefined) await rm(dir, { recursive: true, force: true });
  }
}

const childJob = process.env.MEDLEDGER_BENCH_CHILD;
if (childJob === undefined) await main();
else await childMain(JSON.parse(childJob) as ChildJob);
