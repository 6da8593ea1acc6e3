/**
 * The first read of a batch member by a reader without the writer's journal finds the member's
 * batch with ONE log query on the batch's tag (the member id's first 16 bytes, an indexed topic
 * of BatchAnchored) and fetches ONE manifest, however many batches the subject has. On main the
 * reader downloaded and parsed batch manifests one after the other until it found the member.
 * (Latency at 1 and 100 batches: `npm run bench`, firstReadMs1Batch / firstReadMs100Batches.)
 */
import { expect } from "chai";
import { network } from "hardhat";

import { IntegrityError, MedLedger, memoryJournal } from "../../../sdk/index.js";
import type { BlobStore, RecordId } from "../../../sdk/index.js";
import { setUpConsortium } from "../../../fixtures/consortium.js";
import type { Consortium } from "../../../fixtures/consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;
const BATCHES = 12;

async function world(): Promise<{ c: Consortium; batches: RecordId[][] }> {
  const [funder] = await conn.ethers.getSigners();
  const c = await setUpConsortium({ provider: conn.ethers.provider, funder: funder! });
  await c.patient.ml.consent.grant(c.subject, {
    grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
    categories: ["OBSERVATIONS"],
    purposes: ["TREAT"],
    actions: ["APPEND"],
  });
  const batches: RecordId[][] = [];
  for (let b = 0; b < BATCHES; b++)
    batches.push(
      await c.doctor.ml.records.putBatch(
        c.subject,
        [0, 1, 2].map((i) => ({
          content: `batch ${b} member ${i}`,
          category: "OBSERVATIONS",
          mediaType: "text/plain",
        })),
      ),
    );
  return { c, batches };
}

/** The patient as a fresh reader (no journal) whose storage counts reads. */
async function countingReader(c: Consortium, tamper?: (bytes: Uint8Array) => Uint8Array) {
  const reads: string[] = [];
  const s = c.storage;
  const storage: BlobStore = {
    kind: s.kind,
    put: (input) => s.put(input),
    get: (address) => s.get(address),
    has: (address) => s.has(address),
    delete: (address) => s.delete(address),
    close: () => s.close(),
    getBytes: async (address) => {
      reads.push(address);
      const bytes = await s.getBytes(address);
      return tamper === undefined ? bytes : tamper(bytes);
    },
  };
  const ml = await MedLedger.create({ ...c.patient.ml.options, storage, journal: memoryJournal() });
  return { ml, reads };
}

describe("sdk/records: first read of a batch member without the writer's journal", () => {
  it(`reads one manifest whichever of ${BATCHES} batches holds the member`, async () => {
    const { c, batches } = await networkHelpers.loadFixture(world);
    for (const [b, i] of [
      [BATCHES - 1, 2],
      [0, 0],
      [Math.floor(BATCHES / 2), 1],
    ] as const) {
      const { ml, reads } = await countingReader(c);
      const read = await ml.records.get(c.subject, batches[b]![i]!, { purpose: "PATRQT" });
      expect(new TextDecoder().decode(read.content)).to.equal(`batch ${b} member ${i}`);
      // The manifest, then the envelope: nothing else.
      expect(reads, `batch ${b}`).to.have.length(2);
    }
  });

  it("a manifest whose entry does not verify against the anchored root is not trusted", async () => {
    const { c, batches } = await networkHelpers.loadFixture(world);
    // Storage serves manifests with the member's digest changed: its leaf no longer verifies.
    const { ml } = await countingReader(c, (bytes) => {
      const text = new TextDecoder().decode(bytes);
      if (!text.includes('"medledger-batch/2"')) return bytes;
      const m = JSON.parse(text) as { records: { digest: string }[] };
      for (const r of m.records) r.digest = `0x${"00".repeat(31)}01`;
      return new TextEncoder().encode(JSON.stringify(m));
    });
    const err = await ml.records.get(c.subject, batches[3]![1]!, { purpose: "PATRQT" }).catch((e: unknown) => e);
    expect(err).to.not.equal(undefined);
    expect(err).to.not.be.instanceOf(IntegrityError); // not found at all: no member verified
    expect((err as Error).name).to.equal("NotFoundError");
  });
});
