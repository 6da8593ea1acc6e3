/**
 * The indexer under faults, against anvil, on SQLite and PostgreSQL:
 * - a crash mid-sync (a child process killed with SIGKILL) and a resume: nothing twice, nothing missed;
 * - a reorg (evm_snapshot, new blocks, evm_revert, a different chain) detected and repaired;
 * - confirmations: the index stays behind the head;
 * - a node that refuses wide eth_getLogs ranges: the reader halves the range and still gets everything.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import {
  ChainSource,
  IndexSource,
  Indexer,
  IndexerError,
  openPostgresStore,
  openSqliteStore,
  watch,
} from "../../../sdk/indexer/index.js";
import type { AccessNotice } from "../../../sdk/indexer/index.js";
import type { SqlStore } from "../../../sdk/indexer/index.js";
import { runBattery } from "./helpers/battery.js";
import { deployLedger, mined, startTestAnvil } from "../../../fixtures/anvil-ledger.js";
import type { TestNode } from "../../../fixtures/anvil-ledger.js";
import { createDatabase, databaseUrl, dropDatabase, postgresStores } from "./helpers/postgres.js";
import { startRefusingProxy } from "./helpers/proxy.js";
import { buildWorld, runScenario } from "./helpers/scenario.js";
import type { World } from "./helpers/scenario.js";

const STORES: [string, () => Promise<SqlStore | undefined>][] = [
  ["SQLite", () => openSqliteStore({ path: ":memory:" })],
  ...postgresStores("resilience"),
];

async function times(node: TestNode, from: number): Promise<number[]> {
  const to = (await node.provider.getBlock("latest"))!.timestamp;
  return [from, Math.floor((from + to) / 2), to + 1];
}

describe("indexer resilience", function () {
  this.timeout(900_000);
  let node: TestNode;
  let world: World;
  let t0: number;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "medledger-resilience-"));
    node = await startTestAnvil();
    world = await buildWorld(node, await deployLedger(node), { patients: 4 });
    t0 = (await node.provider.getBlock("latest"))!.timestamp;
    await runScenario(world, 300, 1);
  });

  after(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Where a crashing child indexes: an SQLite file, or a fresh PostgreSQL database (undefined: skip). */
  const CRASH_TARGETS: [
    string,
    () => Promise<{ spec: string; open(): Promise<SqlStore>; drop(): Promise<void> } | undefined>,
  ][] = [
    [
      "SQLite",
      async () => {
        const path = join(dir, "crash.sqlite");
        return { spec: path, open: () => openSqliteStore({ path }), drop: async () => undefined };
      },
    ],
    [
      "PostgreSQL",
      async () => {
        const name = await createDatabase("crash");
        if (name === undefined) return undefined;
        const url = databaseUrl(name);
        return { spec: url, open: () => openPostgresStore({ url }), drop: () => dropDatabase(name) };
      },
    ],
  ];
  for (const [name, target] of CRASH_TARGETS) {
    it(`${name}: resumes after a crash mid-sync (SIGKILL): nothing indexed twice, nothing missed`, async function () {
      const t = await target();
      if (t === undefined) return this.skip();
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "test/sdk/indexer/helpers/sync-child.ts",
          node.url,
          JSON.stringify(world.ledger.deployment),
          t.spec,
        ],
        { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MEDLEDGER_SYNC_CHILD: "1" } },
      );
      let out = "";
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const killed = new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          // Kill it once several pages are committed, well before the end.
          if ((out.match(/cursor/g) ?? []).length >= 10 && child.exitCode === null) child.kill("SIGKILL");
        });
        child.on("exit", (code, signal) =>
          signal === "SIGKILL" ? resolve() : reject(new Error(`child exited ${code}: ${err}`)),
        );
      });
      await killed;
      expect(out).not.to.include("done");
      const store = await t.open();
      const indexer = await Indexer.create({ store, rpc: node.url, deployment: world.ledger.deployment });
      try {
        const cursor = await indexer.cursor();
        const head = await node.provider.getBlockNumber();
        expect(cursor).to.be.greaterThan(world.ledger.deployment.startBlock).and.lessThan(head);
        const result = await indexer.sync({ toBlock: head });
        expect(result.fromBlock).to.equal(cursor + 1);
        const report = await indexer.check();
        expect(report.differences).to.deep.equal([]);
        const chain = new ChainSource({ rpc: node.url, deployment: world.ledger.deployment, toBlock: head });
        const when = { times: await times(node, t0) };
        expect(await runBattery(new IndexSource(store), world, when)).to.deep.equal(
          await runBattery(chain, world, when),
        );
      } finally {
        await indexer.close();
        await t.drop();
      }
    });
  }

  for (const [name, open] of STORES) {
    it(`${name}: detects a reorg (snapshot, revert, a different chain) and re-indexes from the fork point`, async function () {
      const store = await open();
      if (store === undefined) return this.skip();
      const deployment = world.ledger.deployment;
      const indexer = await Indexer.create({ store, rpc: node.url, deployment });
      try {
        await indexer.sync();
        const snapshot = await node.rpc<string>("evm_snapshot");
        const fork = await node.provider.getBlockNumber();
        await runScenario(world, 60, 2);
        const indexed = (await indexer.sync()).toBlock;
        expect(indexed).to.be.greaterThan(fork);
        expect(await node.rpc<boolean>("evm_revert", [snapshot])).to.equal(true);
        // A different chain at the same heights (other operations, other hashes), and longer.
        await node.rpc("evm_increaseTime", [7]);
        await runScenario(world, 40, 3);
        while ((await node.provider.getBlockNumber()) <= indexed) await node.rpc("evm_mine");
        const result = await indexer.sync();
        expect(result.reorgs).to.have.length(1);
        expect(result.reorgs[0]!.forkBlock)
          .to.be.at.most(fork)
          .and.at.least(fork - 20);
        expect(result.reorgs[0]!.previousCursor).to.equal(indexed);
        const report = await indexer.check();
        expect(report.differences).to.deep.equal([]);
        const head = await node.provider.getBlockNumber();
        const chain = new ChainSource({ rpc: node.url, deployment, toBlock: head });
        const when = { times: await times(node, t0) };
        expect(await runBattery(new IndexSource(store), world, when)).to.deep.equal(
          await runBattery(chain, world, when),
        );
      } finally {
        await indexer.close();
      }
    });
  }

  it("the live feed announces an access a reorg removed before it was confirmed", async () => {
    const p = world.patients[0]!;
    const deployment = world.ledger.deployment;
    const live = (await new ChainSource({ rpc: node.url, deployment }).subjectRecords(p.subject)).find(
      (v) => v.erasedAt === null,
    )!;
    const controller = new AbortController();
    const feed = watch({
      rpc: node.url,
      deployment,
      subject: p.subject,
      confirmations: 5,
      pollIntervalMs: 20,
      signal: controller.signal,
    });
    const next = async (): Promise<AccessNotice> => (await feed.next()).value as AccessNotice;
    const first = next();
    await new Promise((r) => setTimeout(r, 100));
    const snapshot = await node.rpc<string>("evm_snapshot");
    await mined(
      node,
      world.ledger.records.connect(p.signer).access(p.subject, live.recordId, 7, `0x${"00".repeat(32)}`),
    );
    const minedNotice = await first;
    expect(minedNotice.status).to.equal("mined");
    expect(minedNotice.access).to.include({ recordId: live.recordId, basis: "SUBJECT", purpose: "PATRQT" });
    const second = next();
    await node.rpc("evm_revert", [snapshot]);
    await node.rpc("evm_mine");
    const removed = await second;
    controller.abort();
    await feed.return(undefined);
    expect(removed.status).to.equal("removed");
    expect(removed.access).to.deep.equal(minedNotice.access);
  });

  it("stays `confirmations` blocks behind the head", async () => {
    const store = await openSqliteStore({ path: ":memory:" });
    const indexer = await Indexer.create({
      store,
      rpc: node.url,
      deployment: world.ledger.deployment,
      confirmations: 3,
    });
    try {
      const head = await node.provider.getBlockNumber();
      expect((await indexer.sync()).toBlock).to.equal(head - 3);
    } finally {
      await indexer.close();
    }
  });

  it("pages around a node that refuses eth_getLogs ranges wider than 50 blocks", async () => {
    const proxy = await startRefusingProxy(node.url, 50);
    const store = await openSqliteStore({ path: ":memory:" });
    const head = await node.provider.getBlockNumber();
    const indexer = await Indexer.create({ store, rpc: proxy.url, deployment: world.ledger.deployment });
    try {
      await indexer.sync({ toBlock: head });
      expect(proxy.refused).to.be.greaterThan(0);
      const refusedWhileSyncing = proxy.refused;
      expect((await indexer.check()).ok).to.equal(true);
      // Once refused, the reader keeps under the limit.
      expect(proxy.refused - refusedWhileSyncing).to.be.at.most(1);
      const viaProxy = new ChainSource({ rpc: proxy.url, deployment: world.ledger.deployment, toBlock: head });
      const direct = new ChainSource({ rpc: node.url, deployment: world.ledger.deployment, toBlock: head });
      const when = { times: await times(node, t0) };
      const expected = await runBattery(direct, world, when);
      expect(await runBattery(viaProxy, world, when)).to.deep.equal(expected);
      expect(await runBattery(new IndexSource(store), world, when)).to.deep.equal(expected);
    } finally {
      await indexer.close();
      await proxy.close();
    }
  });

  it("a node that refuses even one block gives a typed RANGE_REFUSED error", async () => {
    const proxy = await startRefusingProxy(node.url, 0);
    const indexer = await Indexer.create({
      store: await openSqliteStore({ path: ":memory:" }),
      rpc: proxy.url,
      deployment: world.ledger.deployment,
    });
    try {
      const err = await indexer.sync().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(IndexerError);
      expect((err as IndexerError).reason).to.equal("RANGE_REFUSED");
      expect((err as IndexerError).hint).to.be.a("string");
    } finally {
      await indexer.close();
      await proxy.close();
    }
  });
});
