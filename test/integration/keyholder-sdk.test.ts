/**
 * The keyholder network as the SDK's key custody, end to end through the `MedLedger` facade:
 * anvil, contracts 1.1, three keyholder services as real processes on loopback (k = 2), every
 * participant a `MedLedger` whose custody is the network (fixtures/keyholders.ts). Each test
 * registers its own patient, so the tests do not depend on each other's consents and records.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";

import { expect } from "chai";
import { getBytes, hexlify, randomBytes } from "ethers";
import type { TransactionReceipt } from "ethers";

import { AccessDeniedError } from "../../sdk/chain/errors.js";
import { generateX25519KeyPair } from "../../sdk/crypto/keyslot.js";
import { openBytes } from "../../sdk/crypto/index.js";
import { KeyholderNetwork, KeyReleaseRefusedError } from "../../sdk/keyholder/client.js";
import type { KeyholderApi } from "../../sdk/keyholder/core.js";
import { custodianKeyholderId } from "../../sdk/keyholder/policy.js";
import type { KeyReleaseRequest } from "../../sdk/keyholder/protocol.js";
import { sealShare } from "../../sdk/keyholder/shares.js";
import { httpKeyholder } from "../../sdk/keyholder/transport.js";
import { MedLedger } from "../../sdk/ledger.js";
import { networkCustody } from "../../sdk/records/custody.js";
import type { RecordCustody } from "../../sdk/records/custody.js";
import type { CategoryName } from "../../sdk/codes.js";
import type { Hex, RecordId, SubjectId } from "../../sdk/types.js";
import { startKeyholderWorld, stolenStoreAttempt } from "../../fixtures/keyholders.js";
import type { KeyholderProcess, KeyholderWorld, Person } from "../../fixtures/keyholders.js";

const CATEGORIES: CategoryName[] = ["OBSERVATIONS", "NOTES", "CONDITIONS"];
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail("expected a rejection"),
    (e: unknown) => e,
  );
}

/** The number of shares of a record in a keyholder's database (read as a file). */
function sharesHeld(kh: KeyholderProcess, recordId: string): number {
  const db = new DatabaseSync(join(kh.dataDir, "keyholder.db"), { readOnly: true });
  try {
    const row = db.prepare("SELECT count(*) AS n FROM shares WHERE record_id = ?").get(recordId.toLowerCase()) as {
      n: number;
    };
    return Number(row.n);
  } finally {
    db.close();
  }
}

describe("keyholder network as the SDK's custody: MedLedger over three keyholder processes (k = 2)", function () {
  this.timeout(600_000);
  let w: KeyholderWorld;
  let doctor: MedLedger;
  /** The keyholder the custodian rule names for hospital a's records (the doctor's). */
  let custodianA: KeyholderProcess;
  let others: KeyholderProcess[];

  /** A fresh patient whose consent lets hospital a's clinicians read and append (sealed: `allowLabels`). */
  async function patientOf(allowLabels: ("MENTAL_HEALTH" | "SUBSTANCE_USE")[] = []) {
    const { subject, patient } = await w.newPatient();
    const ml = await w.ledger(patient);
    const { value: permit } = await ml.consent.grant(subject as SubjectId, {
      grantee: { organization: w.orgs.a, roles: ["CLINICIAN"] },
      categories: CATEGORIES,
      purposes: ["TREAT"],
      actions: ["READ", "APPEND"],
      sealed: { allowLabels },
    });
    return { subject: subject as SubjectId, patient, ml, permit };
  }

  const accessesOf = async (subject: string, recordId: string) =>
    (await w.records.queryFilter(w.records.filters.RecordAccessed(subject, recordId), 0)).length;

  before(async () => {
    w = await startKeyholderWorld({ n: 3, k: 2 });
    doctor = await w.ledger(w.doctor);
    const set = await w.chain.keyholderSet();
    const id = custodianKeyholderId(set.members, w.orgs.a);
    custodianA = w.keyholders.find((k) => k.id === id)!;
    others = w.keyholders.filter((k) => k !== custodianA);
  });
  after(async () => {
    await w?.stop();
  });

  it("full flow: put deposits shares at every keyholder before the anchor; get preflights, logs the access under the permit, combines k shares", async () => {
    const { subject, permit } = await patientOf();
    expect(doctor.context.custody.kind).to.equal("network");
    const id = await doctor.records.put(subject, "blood pressure 120/80", {
      category: "OBSERVATIONS",
      mediaType: "text/plain",
    });
    for (const kh of w.keyholders) expect(sharesHeld(kh, id), `keyholder ${kh.id}`).to.equal(1);
    const read = await doctor.records.get(subject, id, { purpose: "TREAT" });
    expect(text(read.content)).to.equal("blood pressure 120/80");
    expect(read.labels).to.deep.equal([]);
    const [event] = await w.records.queryFilter(w.records.filters.RecordAccessed(subject, id), 0);
    expect(event!.args.basisId.toLowerCase()).to.equal(permit);
    // The anchor names hospital a as the custodian: its keyholder holds the label opening.
    expect((await doctor.records.history(subject, id))[0]!.custodian).to.equal(w.orgs.a);
  });

  it('keyholders: "network" reads the keyholder set from KeyholderRegistry and reaches them at their registered endpoints', async () => {
    const { subject } = await patientOf();
    const keyVersion = 1;
    const ml = await MedLedger.create({
      signer: w.doctor.wallet,
      encryptionKey: { privateKey: w.doctor.keys.get(keyVersion)!, keyVersion },
      addressBook: w.book,
      storage: w.storage,
      keyholders: "network",
    });
    expect(ml.context.custody.kind).to.equal("network");
    const id = await ml.records.put(subject, "over the registry", { category: "NOTES", mediaType: "text/plain" });
    for (const kh of w.keyholders) expect(sharesHeld(kh, id), `keyholder ${kh.id}`).to.equal(1);
    expect(text((await ml.records.get(subject, id, { purpose: "TREAT" })).content)).to.equal("over the registry");
  });

  it("a relayed grant releases nothing until the patient's app delivers its sealed terms (fail closed), then reads", async () => {
    const { subject, ml } = await patientOf();
    const id = await doctor.records.put(subject, "labelled", {
      category: "NOTES",
      labels: ["SUBSTANCE_USE"],
      mediaType: "text/plain",
    });
    const { signed, opening } = await ml.consent.signGrant(subject, {
      grantee: { practitioner: w.doctorB.wallet.address },
      categories: ["NOTES"],
      purposes: ["TREAT"],
      sealed: { allowLabels: ["SUBSTANCE_USE"] },
    });
    const { value: consentId } = await doctor.consent.relay(signed);
    const b = await w.ledger(w.doctorB);
    const logged = await accessesOf(subject, id);
    const err = await rejection(b.records.get(subject, id, { purpose: "TREAT" }));
    expect(err).to.be.instanceOf(KeyReleaseRefusedError);
    expect((err as KeyReleaseRefusedError).codes()[custodianA.id]).to.equal("SEALED_DENIED");
    expect(await accessesOf(subject, id)).to.equal(logged);
    await ml.consent.deliverOpening(subject, consentId, opening);
    const read = await b.records.get(subject, id, { purpose: "TREAT" });
    expect(text(read.content)).to.equal("labelled");
    expect(read.labels).to.deep.equal(["SUBSTANCE_USE"]);
  });

  it("a reader who is not the writer (a fresh context, no journal) reads through the network", async () => {
    const { subject } = await patientOf();
    const id = await doctor.records.put(subject, "seen by the nurse", { category: "NOTES", mediaType: "text/plain" });
    const nurse = await w.ledger(w.nurse);
    expect(await nurse.journal.byRecord(id)).to.equal(undefined);
    expect(text((await nurse.records.get(subject, id, { purpose: "TREAT" })).content)).to.equal("seen by the nurse");
  });

  it("one keyholder down: the read still works; two down: a typed error naming them, and nothing is logged", async () => {
    const { subject } = await patientOf();
    const id = await doctor.records.put(subject, "resilient", { category: "NOTES", mediaType: "text/plain" });
    const [first, second] = others;
    await first!.stop();
    try {
      expect(text((await doctor.records.get(subject, id, { purpose: "TREAT" })).content)).to.equal("resilient");
      await second!.stop();
      const before = await accessesOf(subject, id);
      const err = await rejection(doctor.records.get(subject, id, { purpose: "TREAT" }));
      expect(err).to.be.instanceOf(KeyReleaseRefusedError);
      const codes = (err as KeyReleaseRefusedError).codes();
      expect(codes).to.deep.equal({ [first!.id]: "UNREACHABLE", [second!.id]: "UNREACHABLE" });
      expect((err as KeyReleaseRefusedError).message).to.include(`keyholder ${first!.id}`);
      expect(await accessesOf(subject, id)).to.equal(before);
    } finally {
      await Promise.all([first!.start(), second!.start()]);
    }
  });

  it("a lying keyholder (a validly sealed wrong share) is detected by its commitment and skipped; the read succeeds", async () => {
    const { subject } = await patientOf();
    const id = await doctor.records.put(subject, "truth", { category: "NOTES", mediaType: "text/plain" });
    const [liar, down] = others;
    const lying = (honest: KeyholderApi): KeyholderApi => ({
      ...honest,
      async release(body) {
        const r = await honest.release(body);
        const request = (body as { request: KeyReleaseRequest }).request;
        const wrong = new Uint8Array(33);
        wrong.set(randomBytes(32));
        wrong[32] = r.x;
        const slot = sealShare({
          share: wrong,
          recipientPublicKey: getBytes(w.doctor.publicKey),
          recipientKeyVersion: r.readerKeyVersion,
          context: {
            chainId: w.chain.chainId,
            keyholderRegistry: w.chain.keyholderRegistry,
            recordRegistry: w.chain.recordRegistry,
            subject: subject.toLowerCase() as Hex,
            recordId: id.toLowerCase() as Hex,
            keyholderId: liar!.id,
            epoch: BigInt(r.epoch),
            x: r.x,
          },
          release: { reader: w.doctor.wallet.address, nonce: request.nonce },
        });
        return { ...r, slot: hexlify(slot) as Hex };
      },
    });
    const withLiar = (downToo: boolean) =>
      KeyholderNetwork.create({
        chain: w.chain,
        transport: (m) =>
          m.id === liar!.id
            ? lying(httpKeyholder(m.endpoint))
            : downToo && m.id === down!.id
              ? { ...httpKeyholder(m.endpoint), release: () => httpKeyholder("http://127.0.0.1:9").release({}) }
              : httpKeyholder(m.endpoint),
      });
    const reader = await w.ledger(w.doctor, { custody: await withLiar(false) });
    expect(text((await reader.records.get(subject, id, { purpose: "TREAT" })).content)).to.equal("truth");
    // With the only other honest non-custodian keyholder unreachable at release, the lie is all
    // that is left: it is named, and no wrong key is ever used.
    const cornered = await w.ledger(w.doctor, { custody: await withLiar(true) });
    const err = await rejection(cornered.records.get(subject, id, { purpose: "TREAT" }));
    expect(err).to.be.instanceOf(KeyReleaseRefusedError);
    expect((err as KeyReleaseRefusedError).codes()[liar!.id]).to.equal("INVALID_SHARE");
  });

  it("one keyholder's stolen database and key decrypt nothing; two keyholders' (k) decrypt everything (the harness's control)", async () => {
    const { subject } = await patientOf(["MENTAL_HEALTH"]);
    const ids: RecordId[] = [];
    for (const [i, labels] of [[], ["MENTAL_HEALTH"], []].entries())
      ids.push(
        await doctor.records.put(subject, `secret ${i}`, {
          category: "NOTES",
          labels: labels as ["MENTAL_HEALTH"],
          mediaType: "text/plain",
        }),
      );
    const envelopes = await Promise.all(
      ids.map(async (recordId) => {
        const [v] = await doctor.records.history(subject, recordId);
        return { subject, recordId, envelope: await w.storage.getBytes(v!.pointer) };
      }),
    );
    for (const kh of w.keyholders) {
      const one = await stolenStoreAttempt({ keyholders: [kh], chain: w.chain, envelopes });
      expect(one.shares, `keyholder ${kh.id}`).to.be.greaterThan(ids.length - 1);
      expect(one.attempts).to.be.greaterThan(ids.length * 10);
      expect(one.opened, `keyholder ${kh.id}'s store opened an envelope`).to.equal(0);
    }
    const two = await stolenStoreAttempt({ keyholders: w.keyholders.slice(0, 2), chain: w.chain, envelopes });
    expect(two.opened).to.equal(ids.length);
  });

  it("an ACCESS guardian reads its ward's record with its own registered key", async () => {
    const gml = await w.ledger(w.guardian);
    const id = await doctor.records.put(w.subject as SubjectId, "for the guardian", {
      category: "OBSERVATIONS",
      mediaType: "text/plain",
    });
    const read = await gml.records.get(w.subject as SubjectId, id, { purpose: "PATRQT" });
    expect(text(read.content)).to.equal("for the guardian");
  });

  it("after the patient rotates its key, earlier records open with the new key (the keyholders wrap to it)", async () => {
    const { subject, patient, ml } = await patientOf();
    const own = await ml.records.put(subject, "my own note", { category: "NOTES", mediaType: "text/plain" });
    const byDoctor = await doctor.records.put(subject, "the doctor's note", {
      category: "NOTES",
      mediaType: "text/plain",
    });
    const next = generateX25519KeyPair();
    await ml.directory.rotatePatientKey(subject, next.publicKey);
    const rotated: Person = { ...patient, keys: new Map([[2, next.privateKey]]) };
    const after = await w.ledger(rotated);
    expect(text((await after.records.get(subject, own, { purpose: "PATRQT" })).content)).to.equal("my own note");
    expect(text((await after.records.get(subject, byDoctor, { purpose: "PATRQT" })).content)).to.equal(
      "the doctor's note",
    );
  });

  it("revoke with rekey: every record the grantee read is re-sealed as a linked version with the same labels; its old key opens nothing new and its old shares are gone", async () => {
    const { subject, ml } = await patientOf(["MENTAL_HEALTH"]);
    const { value: consent } = await ml.consent.grant(subject, {
      grantee: { practitioner: w.doctorB.wallet.address },
      categories: ["NOTES"],
      purposes: ["TREAT"],
      sealed: { allowLabels: ["MENTAL_HEALTH"] },
    });
    const id = await doctor.records.put(subject, "therapy session notes", {
      category: "NOTES",
      labels: ["MENTAL_HEALTH"],
      mediaType: "text/plain",
    });
    const unread = await doctor.records.put(subject, "not read by B", { category: "NOTES", mediaType: "text/plain" });
    // doctorB's custody keeps a copy of every key it is released (what a reader can always do).
    const kept: Uint8Array[] = [];
    const inner = networkCustody(w.network);
    const keeping: RecordCustody = {
      ...inner,
      async release(p) {
        const key = await inner.release(p);
        kept.push(key.slice());
        return key;
      },
    };
    const b = await w.ledger(w.doctorB, { custody: keeping });
    const first = await b.records.get(subject, id, { purpose: "TREAT" });
    expect(first.labels).to.deep.equal(["MENTAL_HEALTH"]);

    const { rekeyed } = await ml.consent.revoke(subject, consent, { rekey: true });
    expect(rekeyed.map((r) => r.previous)).to.deep.equal([id]);
    const successor = rekeyed[0]!.value;
    const versions = await ml.records.history(subject, id);
    expect(versions.map((v) => v.recordId)).to.deep.equal([id, successor]);
    expect(versions[0]!.superseded).to.equal(true);
    expect(versions[1]!.labelCommitment).to.not.equal(versions[0]!.labelCommitment);
    expect((await ml.records.history(subject, unread))[0]!.superseded).to.equal(false);
    // Same content and labels, under a new key the old one does not open.
    const again = await ml.records.get(subject, successor, { purpose: "PATRQT" });
    expect(text(again.content)).to.equal("therapy session notes");
    expect(again.labels).to.deep.equal(["MENTAL_HEALTH"]);
    const envelope = await w.storage.getBytes(versions[1]!.pointer);
    const context = {
      recordId: getBytes(successor),
      subjectId: getBytes(subject),
      chainId: w.chain.chainId,
      registry: w.chain.recordRegistry,
    };
    expect(kept).to.have.length(1);
    expect(
      await openBytes(envelope, { key: kept[0]!, context }).then(
        () => "opened",
        () => "refused",
      ),
    ).to.equal("refused");
    for (const kh of w.keyholders) expect(sharesHeld(kh, id), `keyholder ${kh.id}: old shares`).to.equal(0);
    // And doctorB cannot get the new key: refused before anything is logged.
    const logged = await accessesOf(subject, successor);
    const err = await rejection(b.records.get(subject, successor, { purpose: "TREAT" }));
    expect(err).to.satisfy((e: unknown) => e instanceof KeyReleaseRefusedError || e instanceof AccessDeniedError);
    expect(await accessesOf(subject, successor)).to.equal(logged);
  });

  it("erasure: the tombstone, then every keyholder deletes the record's shares and storage the envelope", async () => {
    const { subject, ml } = await patientOf();
    const id = await doctor.records.put(subject, "to be forgotten", { category: "NOTES", mediaType: "text/plain" });
    const [v] = await ml.records.history(subject, id);
    for (const kh of w.keyholders) expect(sharesHeld(kh, id)).to.equal(1);
    await ml.records.erase(subject, id);
    for (const kh of w.keyholders) expect(sharesHeld(kh, id), `keyholder ${kh.id}`).to.equal(0);
    expect(
      await w.storage.getBytes(v!.pointer).then(
        () => "kept",
        () => "deleted",
      ),
    ).to.equal("deleted");
    const err = await rejection(doctor.records.get(subject, id, { purpose: "TREAT" }));
    expect(err).to.satisfy((e: unknown) => e instanceof KeyReleaseRefusedError || e instanceof AccessDeniedError);
  });

  it("a sealed deny (MENTAL_HEALTH) beats a public permit that allows it: refused at preflight, nothing logged; unlabelled records still read", async () => {
    const { subject, ml } = await patientOf(["MENTAL_HEALTH"]);
    const labelled = await doctor.records.put(subject, "mental health", {
      category: "CONDITIONS",
      labels: ["MENTAL_HEALTH"],
      mediaType: "text/plain",
    });
    const plain = await doctor.records.put(subject, "sprained ankle", {
      category: "CONDITIONS",
      mediaType: "text/plain",
    });
    // The control: the permit lets the labelled record through while there is no deny.
    expect(text((await doctor.records.get(subject, labelled, { purpose: "TREAT" })).content)).to.equal("mental health");
    await ml.consent.grant(subject, {
      effect: "deny",
      grantee: { organization: w.orgs.a, roles: ["CLINICIAN"] },
      categories: [],
      sealed: { denyLabels: ["MENTAL_HEALTH"] },
    });
    const block = Number(await w.provider.send("eth_blockNumber", []));
    const logged = await accessesOf(subject, labelled);
    const err = await rejection(doctor.records.get(subject, labelled, { purpose: "TREAT" }));
    expect(err).to.be.instanceOf(KeyReleaseRefusedError);
    expect((err as KeyReleaseRefusedError).codes()[custodianA.id]).to.equal("SEALED_DENIED");
    expect(await accessesOf(subject, labelled)).to.equal(logged);
    expect(Number(await w.provider.send("eth_blockNumber", []))).to.equal(block);
    expect(text((await doctor.records.get(subject, plain, { purpose: "TREAT" })).content)).to.equal("sprained ankle");
  });

  it("a chain observer sees the same shapes whether a record is labelled or not (and the harness does see a public difference)", async () => {
    const { subject } = await patientOf(["SUBSTANCE_USE"]);
    /** One record's on-chain footprint (anchor and access), with that record's random values blanked. */
    const height = async () => Number(await w.provider.send("eth_blockNumber", []));
    let n = 0;
    const footprint = async (labels: "SUBSTANCE_USE"[], category: CategoryName = "NOTES") => {
      const from = (await height()) + 1;
      // Same length, other content (the same content would be the same write: idempotent).
      const content = String(n++).padStart(64, "x");
      const id = await doctor.records.put(subject, content, { category, labels, mediaType: "text/plain" });
      await doctor.records.get(subject, id, { purpose: "TREAT" });
      const to = await height();
      const [v] = await doctor.records.history(subject, id);
      const blank = (hex: string) =>
        [id, v!.digest, v!.labelCommitment, hexlify(new TextEncoder().encode(v!.pointer)).slice(2)].reduce(
          (s, value) => s.split(value.replace(/^0x/, "").toLowerCase()).join("<>"),
          hex.toLowerCase(),
        );
      const out: unknown[] = [];
      for (let n = from; n <= to; n++) {
        const block = await w.provider.getBlock(n, true);
        for (const tx of block!.prefetchedTransactions) {
          const receipt = (await w.provider.getTransactionReceipt(tx.hash)) as TransactionReceipt;
          const data = getBytes(tx.data);
          const calldataGas = data.reduce((g, b) => g + (b === 0 ? 4 : 16), 0);
          out.push({
            from: tx.from,
            to: tx.to,
            data: blank(tx.data),
            status: receipt.status,
            executionGas: Number(receipt.gasUsed) - 21_000 - calldataGas,
            logs: receipt.logs.map((l) => ({ address: l.address, topics: l.topics.map(blank), data: blank(l.data) })),
          });
        }
      }
      return out;
    };
    // A first write and read warm this writer's consent hints (the anchor then names the permit).
    await footprint([]);
    const labelled = await footprint(["SUBSTANCE_USE"]);
    const unlabelled = await footprint([]);
    expect(labelled).to.have.length(2);
    expect(JSON.stringify(labelled)).to.include("<>");
    expect(labelled).to.deep.equal(unlabelled);
    // The harness is not blind: a public difference (another category) shows.
    expect(await footprint([], "OBSERVATIONS")).to.not.deep.equal(unlabelled);
  });
});
