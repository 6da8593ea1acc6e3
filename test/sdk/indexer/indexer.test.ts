/**
 * The indexer against a real node (anvil, automine) and a real store: SQLite always, PostgreSQL
 * when a server is available (see helpers/postgres.ts). A random scenario of a few thousand
 * operations; then the index must equal the chain for every query, and `check` must pass.
 */
import { expect } from "chai";

import {
  ChainReader,
  ChainSource,
  IndexSource,
  Indexer,
  LogDecoder,
  canonicalArgs,
  httpRpc,
  openSqliteStore,
  projectEvent,
} from "../../../sdk/indexer/index.js";
import type { SqlStore } from "../../../sdk/indexer/index.js";
import { deployLedger, startTestAnvil } from "../../../fixtures/anvil-ledger.js";
import type { TestNode } from "../../../fixtures/anvil-ledger.js";
import { runBattery } from "./helpers/battery.js";
import { buildWorld, runScenario } from "./helpers/scenario.js";
import type { ScenarioStats, World } from "./helpers/scenario.js";
import { postgresStores } from "./helpers/postgres.js";

const OPERATIONS = Number(process.env.MEDLEDGER_SCENARIO_OPS ?? 2500);

describe("indexer: a random scenario, indexed and queried from the index and from the chain", function () {
  this.timeout(1_800_000);
  let node: TestNode;
  let world: World;
  let stats: ScenarioStats;
  let times: number[];
  let head: number;
  let fromChain: Record<string, unknown>;

  before(async () => {
    node = await startTestAnvil();
    const ledger = await deployLedger(node);
    world = await buildWorld(node, ledger);
    const t0 = (await node.provider.getBlock("latest"))!.timestamp;
    let t = Date.now();
    stats = await runScenario(world, OPERATIONS, 20261128);
    const scenarioMs = Date.now() - t;

    head = await node.provider.getBlockNumber();
    const t2 = (await node.provider.getBlock(head))!.timestamp;
    times = [t0, Math.floor((t0 + t2) / 2), t2 + 1];
    const chain = new ChainSource({ rpc: node.url, deployment: ledger.deployment, toBlock: head });
    t = Date.now();
    fromChain = await runBattery(chain, world, { times });
    if (process.env.MEDLEDGER_DEBUG !== undefined) console.log({ scenarioMs, batteryMs: Date.now() - t, ...stats });
  });

  after(async () => {
    await node?.stop();
  });

  it("generated a scenario with every kind of operation", () => {
    for (const kind of [
      "permit",
      "deny",
      "revoke",
      "anchor",
      "version",
      "batch",
      "access",
      "accessBatch",
      "breakGlass",
      "review",
      "erase",
    ]) {
      expect(stats.byKind[kind] ?? 0, kind).to.be.greaterThan(0);
    }
    const accesses = Object.entries(fromChain)
      .filter(([k]) => k.startsWith("accesses subject") && k.endsWith("asc"))
      .reduce((n, [, v]) => n + (v as unknown[]).length, 0);
    expect(accesses).to.be.greaterThan(200);
  });

  it("the ABI-specialised decoder and ethers' decodeEventLog agree on every log", async () => {
    const { deployment } = world.ledger;
    const fast = new LogDecoder(deployment.addresses);
    const generic = new LogDecoder(deployment.addresses, { fast: false });
    const logs = await new ChainReader(httpRpc(node.url)).getLogs(
      { address: fast.addresses },
      deployment.startBlock,
      head,
    );
    const names = new Set<string>();
    for (const log of logs) {
      const a = fast.decode(log);
      const b = generic.decode(log);
      expect(a === undefined).to.equal(b === undefined);
      if (a === undefined || b === undefined) continue;
      names.add(a.name);
      expect(canonicalArgs(a), a.name).to.equal(canonicalArgs(b));
      expect(
        projectEvent(a, 1, () => 7),
        a.name,
      ).to.deep.equal(projectEvent(b, 1, () => 7));
    }
    for (const name of [
      "RecordAccessed",
      "ConsentGranted",
      "ConsentRevoked",
      "RecordProven",
      "BreakGlassDeclared",
      "PatientRegistered",
    ]) {
      expect(names.has(name), name).to.equal(true);
    }
  });

  const stores: [string, () => Promise<SqlStore | undefined>][] = [
    ["SQLite", () => openSqliteStore({ path: ":memory:" })],
    ...postgresStores("scenario"),
  ];
  for (const [name, open] of stores) {
    it(`${name}: the index answers every query exactly as the chain does, and check passes`, async function () {
      const store = await open();
      if (store === undefined) return this.skip();
      const indexer = await Indexer.create({ store, rpc: node.url, deployment: world.ledger.deployment });
      try {
        const result = await indexer.sync({ toBlock: head });
        expect(result.toBlock).to.equal(head);
        const fromIndex = await runBattery(new IndexSource(store), world, { times });
        for (const key of Object.keys(fromChain)) expect(fromIndex[key], key).to.deep.equal(fromChain[key]);
        const report = await indexer.check();
        expect(report.differences).to.deep.equal([]);
        expect(report.ok).to.equal(true);
      } finally {
        await indexer.close();
      }
    });
  }
});
