/**
 * The `audit.*` facade (sdk/audit/queries.ts) that the `medledger audit` commands answer through:
 * against anvil after a random scenario, the chain-only facade, the index-backed facade and the
 * two sources used directly give the same answers to every query the issue names (accesses by
 * subject, accessor, organization, record, purpose, basis, emergency and time; consents in force
 * and history; record versions; pending reviews; who saw my data); an empty index falls back to
 * the chain (and says so), `prefer: "index"` refuses instead, and other failures are not hidden.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { checkIndex, createAuditQueries } from "../../sdk/audit/queries.js";
import { ChainSource, IndexSource, Indexer, IndexerError, openStore } from "../../sdk/indexer/index.js";
import type { AuditSource, SqlStore } from "../../sdk/indexer/index.js";
import { deployLedger, startTestAnvil } from "../../fixtures/anvil-ledger.js";
import type { TestNode } from "../../fixtures/anvil-ledger.js";
import { buildWorld, runScenario } from "../sdk/indexer/helpers/scenario.js";
import type { World } from "../sdk/indexer/helpers/scenario.js";

describe("audit.* facade: the index when synced, the chain otherwise, the same answers", function () {
  this.timeout(600_000);
  let node: TestNode;
  let world: World;
  let dir: string;
  let store: SqlStore;
  let empty: SqlStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "medledger-audit-queries-"));
    node = await startTestAnvil();
    world = await buildWorld(node, await deployLedger(node), { patients: 3 });
    await runScenario(world, 300, 11);
    store = await openStore(join(dir, "index.sqlite"));
    const indexer = await Indexer.create({ store, rpc: node.url, deployment: world.ledger.deployment });
    await indexer.sync();
    empty = await openStore(join(dir, "empty.sqlite"));
  });

  after(async () => {
    await store?.close();
    await empty?.close();
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Every query kind the issue names, for one patient. */
  async function battery(q: AuditSource): Promise<unknown[]> {
    const subject = world.patients[0]!.subject;
    const all = await q.accesses({ limit: 10_000 });
    const first = all.items[0]!;
    const middle = all.items[Math.floor(all.items.length / 2)]!;
    return [
      await q.accesses({ subject, order: "desc", limit: 20 }),
      await q.accesses({ accessor: first.accessor, limit: 50 }),
      await q.accesses({ organization: first.organization, limit: 50 }),
      await q.accesses({ subject: first.subject, record: first.recordId }),
      await q.accesses({ purpose: "TREAT", limit: 50 }),
      await q.accesses({ basis: "CONSENT", limit: 50 }),
      await q.accesses({ emergencyOnly: true, limit: 50 }),
      await q.accesses({ from: first.timestamp, to: middle.timestamp + 1, limit: 50 }),
      await q.consentsInForce({ subject, at: middle.timestamp }),
      await q.consentHistory({ subject, order: "asc" }),
      await q.recordHistory({ subject: first.subject, record: first.recordId }),
      await q.reviews({ status: "pending" }),
      await q.whoSawMyData({ subject }),
    ];
  }

  it("chain-only, index-backed and the two sources directly: equal answers; answeredBy says which", async () => {
    const deployment = world.ledger.deployment;
    const viaIndex = createAuditQueries({ chain: { rpc: node.url, deployment }, index: new IndexSource(store) });
    const viaChain = createAuditQueries({ chain: { rpc: node.url, deployment } });
    expect(viaIndex.answeredBy).to.equal(null);
    const fromIndex = await battery(viaIndex);
    expect(viaIndex.answeredBy).to.equal("index");
    const fromChain = await battery(viaChain);
    expect(viaChain.answeredBy).to.equal("chain");
    expect(fromIndex).to.deep.equal(fromChain);
    expect(fromIndex).to.deep.equal(await battery(new IndexSource(store)));
    expect(fromChain).to.deep.equal(await battery(new ChainSource({ rpc: node.url, deployment })));
    const who = fromIndex.at(-1) as { accessor: string; accesses: number }[];
    expect(who.length).to.be.greaterThan(0);
  });

  it("an empty index: auto falls back to the chain and says why; prefer index refuses with NOT_SYNCED", async () => {
    const deployment = world.ledger.deployment;
    let opened = 0;
    const reasons: string[] = [];
    const index = async () => {
      opened++;
      await checkIndex(empty, deployment);
      return new IndexSource(empty);
    };
    const auto = createAuditQueries({
      chain: { rpc: node.url, deployment },
      index,
      onFallback: (err) => reasons.push((err as IndexerError).reason),
    });
    const subject = world.patients[1]!.subject;
    const who = await auto.whoSawMyData({ subject });
    expect(auto.answeredBy).to.equal("chain");
    expect(reasons).to.deep.equal(["NOT_SYNCED"]);
    expect(who).to.deep.equal(await new IndexSource(store).whoSawMyData({ subject }));
    await auto.accesses({ subject });
    expect(opened, "the index is opened once").to.equal(1);

    const strict = createAuditQueries({ chain: { rpc: node.url, deployment }, index, prefer: "index" });
    const err = await strict.whoSawMyData({ subject }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(IndexerError);
    expect((err as IndexerError).reason).to.equal("NOT_SYNCED");
  });

  it("checkIndex names the deployment mismatch; a bad query is refused, not answered by the chain", async () => {
    const deployment = world.ledger.deployment;
    const other = { ...deployment, chainId: deployment.chainId + 1 };
    const err = await checkIndex(store, other).catch((e: unknown) => e);
    expect((err as IndexerError).reason).to.equal("WRONG_DEPLOYMENT");
    expect(await checkIndex(store, deployment)).to.be.at.least(deployment.startBlock);

    const q = createAuditQueries({ chain: { rpc: node.url, deployment }, index: new IndexSource(store) });
    const bad = await q.accesses({ subject: "0x1234" }).catch((e: unknown) => e);
    expect((bad as Error).name).to.equal("InvalidInputError");
    expect(q.answeredBy).to.equal(null);
  });
});
