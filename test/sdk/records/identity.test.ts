/**
 * Records on contracts 1.1 as the SDK writes them: every record anchors a salted commitment to
 * its sensitive labels (the writer's journal keeps the opening), and an id the writer chose is
 * adopted only when the chain holds the writer's own record under it (issue 8 findings 1 and 2).
 * Another writer of the same subject that anchors the record id (or the batch root) first, with
 * other content, is a ConflictError: `put` never reports success for a record that is not there.
 */
import { expect } from "chai";
import { ZeroHash } from "ethers";
import { network } from "hardhat";

import {
  ConflictError,
  IntegrityError,
  MedLedger,
  createIdentity,
  labelCommitment,
  memory,
  memoryJournal,
  randomBytes32,
} from "../../../sdk/index.js";
import type { BlobStore, Journal, JournalEntry, RecordId, SubjectId } from "../../../sdk/index.js";
import { setUpConsortium } from "../../../fixtures/consortium.js";
import type { Consortium, Participant } from "../../../fixtures/consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;

interface World {
  c: Consortium;
  /** A second clinician of the hospital: may append for the subject like the doctor. */
  nurse: Participant;
}

async function world(): Promise<World> {
  const [funder] = await conn.ethers.getSigners();
  const c = await setUpConsortium({ provider: conn.ethers.provider, funder: funder! });
  await c.patient.ml.consent.grant(c.subject, {
    grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
    categories: ["NOTES", "OBSERVATIONS"],
    purposes: ["TREAT"],
    actions: ["APPEND", "READ"],
  });
  const nurse = await c.participant(createIdentity());
  const licence = (await conn.ethers.provider.getBlock("latest"))!.timestamp + 365 * 24 * 3600;
  await c.hospitalAdmin.ml.directory.enrollPractitioner({
    orgId: c.hospital,
    account: nurse.wallet.address,
    roles: ["CLINICIAN"],
    credentialValidUntil: licence,
    encryptionKey: nurse.identity.x25519.publicKey,
  });
  return { c, nurse };
}

/** A journal that runs `hook` after each entry is written (a crash or a rival in between). */
function hooked(hook: (entry: JournalEntry) => Promise<void>): Journal {
  const inner = memoryJournal();
  return {
    ...inner,
    put: async (key, entry) => {
      await inner.put(key, entry);
      await hook(entry);
    },
  };
}

async function writer(p: Participant, extra: { journal?: Journal; storage?: BlobStore } = {}): Promise<MedLedger> {
  return MedLedger.create({ ...p.ml.options, journal: extra.journal ?? memoryJournal(), ...extra });
}

/** Anchors `id` of `subject` directly through `p`'s chain client (a rival, or our own earlier attempt). */
async function anchorAs(
  p: MedLedger,
  subject: SubjectId,
  id: RecordId,
  v: { digest: string; labelCommitment: string; category?: number },
): Promise<void> {
  const r = p.chain.records;
  await p.chain.send(
    r.anchorRecord.populateTransaction(
      subject,
      id,
      v.category ?? 8,
      v.digest,
      v.labelCommitment,
      ZeroHash,
      "sha256:rival",
      ZeroHash,
    ),
  );
}

async function anchorEvents(ml: MedLedger, subject: SubjectId, id?: RecordId): Promise<number> {
  const r = ml.chain.records;
  return (await r.queryFilter(r.filters.RecordAnchored(subject, id), 0)).length;
}

const note = { category: "NOTES" as const, mediaType: "text/plain" };

describe("sdk/records on 1.1: label commitments and identity binding", () => {
  it("every record anchors a salted label commitment; the journal keeps its opening; the anchor matches", async () => {
    const { c } = await networkHelpers.loadFixture(world);
    const doctor = c.doctor.ml;
    const labelled = await doctor.records.put(c.subject, "sensitive note", {
      ...note,
      labels: ["SUBSTANCE_USE", "GENETICS"],
    });
    const plain = await doctor.records.put(c.subject, "plain note", note);
    const twin = await doctor.records.put(c.subject, "another plain note", note);
    const r = doctor.chain.records;
    for (const [id, mask] of [
      [labelled, 4 | 8],
      [plain, 0],
      [twin, 0],
    ] as const) {
      const entry = (await doctor.journal.byRecord(id))!;
      expect(entry.labels).to.deep.include({ subject: c.subject, recordId: id, labels: mask });
      expect(entry.labelCommitment).to.equal(labelCommitment(entry.labels));
      const [event] = await r.queryFilter(r.filters.RecordAnchored(c.subject, id), 0);
      expect(event!.args.labelCommitment).to.equal(entry.labelCommitment);
      expect(event!.args.digest).to.equal(entry.digest);
      const anchored = await r.getRecord(c.subject, id);
      expect(anchored.commitment).to.equal(await r.recordCommitment(entry.digest, entry.labelCommitment));
    }
    // Salted: two unlabelled records commit differently; nothing on chain is zero.
    const commitments = await Promise.all(
      [labelled, plain, twin].map(async (id) => (await doctor.journal.byRecord(id))!.labelCommitment),
    );
    expect(new Set(commitments).size).to.equal(3);
    expect(commitments).to.not.include(ZeroHash);
    // A reader without the writer's journal checks the commitment and reads.
    const read = await c.patient.ml.records.get(c.subject, labelled, { purpose: "PATRQT" });
    expect(new TextDecoder().decode(read.content)).to.equal("sensitive note");
  });

  it("a journal whose label commitment is not the anchored one is an IntegrityError, never read as intact", async () => {
    const { c } = await networkHelpers.loadFixture(world);
    const journal = memoryJournal();
    const doctor = await writer(c.doctor, { journal });
    const id = await doctor.records.put(c.subject, "checked note", note);
    const entry = (await journal.byRecord(id))!;
    await journal.put("tampered", { ...entry, labelCommitment: randomBytes32() });
    expect(await doctor.records.verify(c.subject, id).catch((e: unknown) => e)).to.be.instanceOf(IntegrityError);
  });

  it("a rival writer of the same subject anchors our record id first with other content: ConflictError, not success", async () => {
    const { c, nurse } = await networkHelpers.loadFixture(world);
    let rival = true;
    const doctor = await writer(c.doctor, {
      journal: hooked(async (entry) => {
        if (!rival || entry.stage !== "stored") return;
        rival = false;
        // The rival copies the pending record id and anchors something else under it.
        await anchorAs(nurse.ml, entry.subject, entry.recordId, {
          digest: randomBytes32(),
          labelCommitment: entry.labelCommitment,
        });
      }),
    });
    const err = await doctor.records.put(c.subject, "squatted note", note).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConflictError);
    expect((err as ConflictError).kind).to.equal("record");
    const id = (err as ConflictError).id as RecordId;
    expect((await doctor.journal.byRecord(id))!.stage).to.equal("stored");
    // A retry resumes the entry and fails the same way: the record is never adopted.
    expect(await doctor.records.put(c.subject, "squatted note", note).catch((e: unknown) => e)).to.be.instanceOf(
      ConflictError,
    );
    expect(await anchorEvents(doctor, c.subject, id)).to.equal(1);
  });

  it("our own earlier attempt mined meanwhile (RecordExists, same commitment): adopted, anchored once", async () => {
    const { c } = await networkHelpers.loadFixture(world);
    let early: MedLedger | undefined;
    let raced = false;
    const doctor = await writer(c.doctor, {
      journal: hooked(async (entry) => {
        if (raced || entry.stage !== "stored") return;
        raced = true;
        // The same anchor from an earlier attempt (same account, same values) lands first.
        await anchorAs(early!, entry.subject, entry.recordId, {
          digest: entry.digest,
          labelCommitment: entry.labelCommitment,
          category: entry.category,
        });
      }),
    });
    early = doctor;
    const id = await doctor.records.put(c.subject, "raced note", note);
    expect((await doctor.journal.byRecord(id))!.stage).to.equal("anchored");
    expect(await anchorEvents(doctor, c.subject, id)).to.equal(1);
  });

  it("a crash after the anchor, before the journal says so: the retry adopts the anchor (same commitment)", async () => {
    const { c } = await networkHelpers.loadFixture(world);
    let crash = true;
    const doctor = await writer(c.doctor, {
      journal: hooked(async (entry) => {
        if (crash && entry.stage === "anchored") {
          crash = false;
          throw new Error("crash (test)");
        }
      }),
    });
    await doctor.records.put(c.subject, "crashed note", note).catch(() => undefined);
    const id = await doctor.records.put(c.subject, "crashed note", note);
    expect(await anchorEvents(doctor, c.subject, id)).to.equal(1);
    expect((await doctor.journal.byRecord(id))!.stage).to.equal("anchored");
  });

  it("a batch: every member id starts with the batch's salted tag, which the anchor indexes", async () => {
    const { c } = await networkHelpers.loadFixture(world);
    const items = [0, 1, 2].map((i) => ({ content: `batch note ${i}`, ...note }));
    const ids = await c.doctor.ml.records.putBatch(c.subject, items);
    const again = await c.doctor.ml.records.putBatch(
      c.subject,
      [0, 1].map((i) => ({ content: `other ${i}`, ...note })),
    );
    const tag = ids[0]!.slice(0, 34);
    expect(ids.every((id) => id.startsWith(tag))).to.equal(true);
    expect(again[0]!.slice(0, 34)).to.not.equal(tag);
    const r = c.doctor.ml.chain.records;
    const [batch] = await r.queryFilter(r.filters.BatchAnchored(c.subject, undefined, tag), 0);
    expect([batch!.args.tag, Number(batch!.args.count)]).to.deep.equal([tag, 3]);
  });

  it("a batch retried after its anchor was mined: the subject's batch with that root, tag and size is ours", async () => {
    const { c } = await networkHelpers.loadFixture(world);
    let crash = true;
    const doctor = await writer(c.doctor, {
      journal: hooked(async (entry) => {
        if (crash && entry.stage === "anchored") {
          crash = false;
          throw new Error("crash (test)");
        }
      }),
    });
    const items = [0, 1, 2].map((i) => ({ content: `retried batch ${i}`, ...note }));
    expect(await doctor.records.putBatch(c.subject, items).catch((e: unknown) => e)).to.be.an("error");
    const ids = await doctor.records.putBatch(c.subject, items);
    const r = doctor.chain.records;
    expect(await r.queryFilter(r.filters.BatchAnchored(c.subject), 0)).to.have.length(1);
    const read = await c.patient.ml.records.get(c.subject, ids[2]!, { purpose: "PATRQT" });
    expect(new TextDecoder().decode(read.content)).to.equal("retried batch 2");
  });

  it("a rival anchors our batch root first under another tag: ConflictError, the batch is not adopted", async () => {
    const { c, nurse } = await networkHelpers.loadFixture(world);
    const store = memory();
    const rivalStore: BlobStore = {
      kind: store.kind,
      get: (address) => store.get(address),
      getBytes: (address) => store.getBytes(address),
      has: (address) => store.has(address),
      delete: (address) => store.delete(address),
      close: () => store.close(),
      put: async (input) => {
        const address = await store.put(input);
        const text = input instanceof Uint8Array ? new TextDecoder().decode(input) : "";
        if (text.includes('"medledger-batch/2"')) {
          const m = JSON.parse(text) as { root: string; records: unknown[] };
          const r = nurse.ml.chain.records;
          await nurse.ml.chain.send(
            r.anchorBatch.populateTransaction(
              c.subject,
              m.root,
              `0x${"ab".repeat(16)}`,
              m.records.length,
              1 << 8,
              address,
              ZeroHash,
            ),
          );
        }
        return address;
      },
    };
    const doctor = await writer(c.doctor, { storage: rivalStore });
    const items = [0, 1].map((i) => ({ content: `front-run batch ${i}`, ...note }));
    const err = await doctor.records.putBatch(c.subject, items).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConflictError);
    expect((err as ConflictError).kind).to.equal("batch");
    const r = doctor.chain.records;
    const batches = await r.queryFilter(r.filters.BatchAnchored(c.subject), 0);
    expect(batches.map((b) => b.args.anchoredBy)).to.deep.equal([nurse.wallet.address]);
  });
});
