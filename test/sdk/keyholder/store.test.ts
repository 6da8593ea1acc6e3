import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { hexlify, randomBytes } from "ethers";

import { auditReleaseLog, canonicalJson, genesisHead, ReleaseLog } from "../../../sdk/keyholder/log.js";
import { openKeyholderStore } from "../../../sdk/keyholder/store/sqlite.js";
import { deriveAuditKeys, openLogEntry, sealLogEntry } from "../../../sdk/keyholder/vault.js";
import type { Hex } from "../../../sdk/types.js";

const hex32 = () => hexlify(randomBytes(32)) as Hex;

describe("keyholder store and release log", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "kh-store-"))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("keeps shares, manifests, nonces and the log across a reopen; group commits concurrent writes", async () => {
    const path = join(dir, "kh.db");
    const store = openKeyholderStore(path);
    const auditKey = randomBytes(32);
    const keys = deriveAuditKeys(auditKey);
    const registry = "0x" + "11".repeat(20);
    const genesis = genesisHead(keys.macKey, 1337n, registry, 1);
    expect(genesisHead(deriveAuditKeys(randomBytes(32)).macKey, 1337n, registry, 1), "keyed").to.not.equal(genesis);
    const log = new ReleaseLog(store, keys, genesis);
    const subject = hex32();
    const recordId = hex32();
    store.putShare({
      subject,
      recordId,
      epoch: "3",
      x: 9,
      keyVersion: 1,
      slot: randomBytes(86),
      commitment: hex32(),
      state: "pending",
      createdAt: 1,
    });
    store.putManifest(subject, recordId, "3", "0xabc", "{}");
    const reader = "0x" + "22".repeat(20);
    const nonces = Array.from({ length: 200 }, hex32);
    await Promise.all(
      nonces.map((n) =>
        store.commit([(w) => w.insertNonce(reader, n, 10), log.prepare({ kind: "release", reader, nonce: n })]),
      ),
    );
    // A duplicate nonce fails alone; the rest of its batch commits.
    const results = await Promise.allSettled([
      store.commit([(w) => w.insertNonce(reader, nonces[0]!, 10)]),
      store.commit([(w) => w.insertNonce(reader, hex32(), 10)]),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(["rejected", "fulfilled"]);
    const head = log.head;
    store.close();

    const again = openKeyholderStore(path);
    expect(again.latestShare(subject, recordId)?.x).to.equal(9);
    expect(again.nonceUsed(reader.toUpperCase().replace("0X", "0x"), nonces[5]!)).to.equal(true);
    expect(new ReleaseLog(again, keys, genesis).head).to.equal(head);
    expect(again.pendingOlderThan(2, 10)).to.have.length(1);
    again.activate(subject, recordId, "3");
    expect(again.sharesBelowEpoch("4", 10)).to.have.length(1);
    expect(again.deleteRecord(subject, recordId)).to.equal(1);
    expect(again.latestShare(subject, recordId)).to.equal(undefined);
    expect(again.pruneNonces(11)).to.equal(201);
    const rows = again.logRange(0, 1000);
    // Entries are sealed at rest: no reader address, no kind in the clear.
    expect(JSON.stringify(rows)).to.not.include("22".repeat(20));
    expect(JSON.stringify(rows)).to.not.include("release");
    const base = { auditKey, chainId: 1337n, keyholderRegistry: registry, keyholderId: 1 };
    const report = await auditReleaseLog({ ...base, rows, anchors: [{ seq: 200, head }], hasAccess: async () => true });
    expect(report.ok).to.equal(true);
    expect(report.releases).to.equal(200);
    // A holder of the audit key who rewrites an entry (re-sealed) breaks the keyed chain.
    const altered = rows.map((r) =>
      r.seq === 7
        ? {
            ...r,
            entry: sealLogEntry(
              keys.entryKey,
              7,
              openLogEntry(keys.entryKey, 7, r.entry).replace("release", "refusal"),
            ),
          }
        : r,
    );
    expect(
      (await auditReleaseLog({ ...base, rows: altered, anchors: [{ seq: 200, head }], hasAccess: async () => true }))
        .ok,
    ).to.equal(false);
    // Without the audit key nothing verifies.
    const wrongKey = await auditReleaseLog({
      ...base,
      auditKey: randomBytes(32),
      rows,
      anchors: [{ seq: 200, head }],
      hasAccess: async () => true,
    });
    expect(wrongKey.ok).to.equal(false);
    expect(wrongKey.brokenAt).to.have.length(200);
    const lying = await auditReleaseLog({ ...base, rows, anchors: [], hasAccess: async (e) => e.seq !== 4 });
    expect(lying.releasesWithoutAccess).to.deep.equal([4]);
    again.close();
  });

  it("canonical JSON sorts keys and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: "x", c: undefined })).to.equal('{"a":"x","b":1}');
  });
});
