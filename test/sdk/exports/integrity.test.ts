/**
 * The integrity report against anvil: single anchors, batch members (Merkle proofs from the
 * manifest), tombstones, the registry's stored commitments; a tampered envelope and a tampered
 * manifest each fail the report.
 */
import { expect } from "chai";
import { toUtf8Bytes } from "ethers";

import { buildIntegrityReport } from "../../../sdk/exports/index.js";
import { ChainSource, IndexSource, Indexer, openSqliteStore } from "../../../sdk/indexer/index.js";
import { memory } from "../../../sdk/storage/memory.js";
import type { BlobStore } from "../../../sdk/storage/types.js";
import { deployLedger, startTestAnvil } from "../../../fixtures/anvil-ledger.js";
import type { TestNode } from "../../../fixtures/anvil-ledger.js";
import { buildWorld, runScenario } from "../indexer/helpers/scenario.js";
import type { World } from "../indexer/helpers/scenario.js";

/** A store that answers `replace(bytes)` for one address (simulating tampering behind the store). */
function tampered(store: BlobStore, address: string, replace: (bytes: Uint8Array) => Uint8Array): BlobStore {
  return {
    ...store,
    kind: store.kind,
    getBytes: async (a) => (a === address ? replace(await store.getBytes(a)) : store.getBytes(a)),
  };
}

describe("integrity report", function () {
  this.timeout(600_000);
  let node: TestNode;
  let world: World;
  let blobs: BlobStore;
  let source: IndexSource;

  before(async () => {
    node = await startTestAnvil();
    world = await buildWorld(node, await deployLedger(node), { patients: 1 });
    blobs = memory();
    world.blobs = blobs;
    await runScenario(world, 250, 11);
    const store = await openSqliteStore({ path: ":memory:" });
    const indexer = await Indexer.create({ store, rpc: node.url, deployment: world.ledger.deployment });
    await indexer.sync();
    source = new IndexSource(store);
  });

  after(async () => {
    await source?.store.close();
    await node?.stop();
  });

  it("verifies every version: anchors, batch proofs, envelopes, stored commitments; tombstones listed", async () => {
    const subject = world.patients[0]!.subject;
    const report = await buildIntegrityReport({ source, subject, blobs, registry: world.ledger.records });
    expect(report.versions.filter((v) => !v.ok)).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.summary.batchMembers).to.be.greaterThan(0);
    expect(report.summary.erased).to.be.greaterThan(0);
    expect(report.versions.every((v) => v.anchorState.status === "pass")).to.equal(true);
    expect(report.versions.filter((v) => v.erasedAt === null).every((v) => v.envelope.status === "pass")).to.equal(
      true,
    );
    // The chain-direct source gives the same report.
    const chain = new ChainSource({ rpc: node.url, deployment: world.ledger.deployment });
    const direct = await buildIntegrityReport({ source: chain, subject, blobs, registry: world.ledger.records });
    expect({ ...direct, generatedAt: "" }).to.deep.equal({ ...report, generatedAt: "" });
  });

  it("fails on an envelope that does not hash to its anchored digest", async () => {
    const subject = world.patients[0]!.subject;
    const versions = await source.subjectRecords(subject);
    const victim = versions.find((v) => v.anchor === "single" && v.erasedAt === null)!;
    const store = tampered(blobs, victim.pointer, () => toUtf8Bytes("not the envelope"));
    const report = await buildIntegrityReport({ source, subject, blobs: store });
    expect(report.ok).to.equal(false);
    const bad = report.versions.filter((v) => !v.ok);
    expect(bad.map((v) => v.recordId)).to.deep.equal([victim.recordId]);
    expect(bad[0]!.envelope.problem).to.match(/hashes to/);
  });

  it("fails the members of a batch whose manifest proofs were altered", async () => {
    const subject = world.patients[0]!.subject;
    const member = (await source.subjectRecords(subject)).find((v) => v.batch !== null)!;
    const store = tampered(blobs, member.batch!.pointer, (bytes) => {
      const manifest = JSON.parse(new TextDecoder().decode(bytes)) as { records: { proof: string[] }[] };
      for (const r of manifest.records) r.proof = r.proof.map(() => `0x${"11".repeat(32)}`);
      if (manifest.records.every((r) => r.proof.length === 0))
        for (const r of manifest.records) r.proof = [`0x${"11".repeat(32)}`];
      return toUtf8Bytes(JSON.stringify(manifest));
    });
    const report = await buildIntegrityReport({ source, subject, blobs: store });
    expect(report.ok).to.equal(false);
    const failed = report.versions.find((v) => v.recordId === member.recordId)!;
    expect(failed.batch?.proof).to.equal("fail");
    expect(failed.batch?.problem).to.match(/proof does not verify/);
  });
});
