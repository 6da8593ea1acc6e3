import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import { setUpConsortium } from "../../../fixtures/consortium.js";
import type { Consortium } from "../../../fixtures/consortium.js";
import { startBlock } from "../../../sdk/chain/addressBook.js";
import { AccessDeniedError } from "../../../sdk/chain/errors.js";
import { KeyReleaseRefusedError } from "../../../sdk/keyholder/client.js";
import { Category, Label, labelMask } from "../../../sdk/codes.js";
import type { CategoryName, LabelName } from "../../../sdk/codes.js";
import {
  FHIR_MEDIA_TYPE,
  FhirValidationError,
  classifyBundle,
  createClassifier,
  parseClassifierOverrides,
  putFhir,
} from "../../../sdk/fhir/index.js";
import type { FhirPutResult } from "../../../sdk/fhir/index.js";
import { ErrorCodes, StorageError } from "../../../sdk/errors.js";
import type { MedLedger } from "../../../sdk/ledger.js";
import { filesystemJournal } from "../../../sdk/records/journal.js";
import { memory } from "../../../sdk/storage/index.js";
import type { BlobStore } from "../../../sdk/storage/index.js";
import { labelCommitment } from "../../../sdk/sealed/commitments.js";
import type { RecordId, SubjectId } from "../../../sdk/types.js";
import {
  CONTRACEPTION_BUNDLE,
  RXNORM,
  SMALL_BUNDLE,
  cc,
  clone,
  loadSynthea,
  syntheaAbortionBundle,
} from "./helpers.js";
import type { Bundle, FhirResource, MedicationRequest, Observation, Patient } from "fhir/r4.js";

const conn = await network.create();
const { networkHelpers } = conn;

/** A memory store that counts writes (to prove that a refused input stored nothing) and can fail. */
function countingStore(): BlobStore & { puts: () => number; failAfter: (n: number | undefined) => void } {
  const inner = memory();
  let puts = 0;
  let remaining: number | undefined;
  return {
    kind: inner.kind,
    put: (data) => {
      if (remaining !== undefined && remaining-- <= 0) return Promise.reject(new StorageError("disk full (test)"));
      puts++;
      return inner.put(data);
    },
    get: (address) => inner.get(address),
    getBytes: (address) => inner.getBytes(address),
    has: (address) => inner.has(address),
    delete: (address) => inner.delete(address),
    close: () => inner.close(),
    puts: () => puts,
    failAfter: (n) => {
      remaining = n;
    },
  };
}

type Fixture = { c: Consortium; store: ReturnType<typeof countingStore> };

async function consortium(): Promise<Fixture> {
  const [funder] = await conn.ethers.getSigners();
  const store = countingStore();
  const c = await setUpConsortium({ provider: conn.ethers.provider, funder: funder!, storage: store });
  // Admission: the hospital's clinicians may append (not read) every category.
  await c.patient.ml.consent.grant(c.subject, {
    grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
    categories: Object.keys(Category) as CategoryName[],
    purposes: ["TREAT"],
    actions: ["APPEND"],
  });
  return { c, store };
}

/**
 * The fixture, with what it cannot snapshot made fresh: loadFixture reverts the chain, not the
 * JavaScript objects, so every test writes through a new MedLedger (a new, empty journal) for the
 * enrolled doctor, and the store stops failing.
 */
async function fresh(): Promise<Fixture & { doctor: MedLedger }> {
  const f = await networkHelpers.loadFixture(consortium);
  f.store.failAfter(undefined);
  const doctor = (await f.c.participant(f.c.doctor.identity)).ml;
  return { ...f, doctor };
}

/** RecordAnchored and BatchAnchored events since the deployment. */
async function anchors(ml: MedLedger): Promise<{ records: number; batches: number; batchSizes: number[] }> {
  const r = ml.chain.records;
  const from = startBlock(ml.opts.addressBook);
  const records = await r.queryFilter(r.filters.RecordAnchored(), from);
  const batches = await r.queryFilter(r.filters.BatchAnchored(), from);
  return { records: records.length, batches: batches.length, batchSizes: batches.map((b) => Number(b.args.count)) };
}

async function readAsPatient(
  c: Consortium,
  id: RecordId,
): Promise<{ resource: unknown; category: string; mediaType: string }> {
  const read = await c.patient.ml.records.get(c.subject, id, { purpose: "PATRQT" });
  return {
    resource: JSON.parse(new TextDecoder().decode(read.content)) as unknown,
    category: read.category,
    mediaType: read.mediaType,
  };
}

/**
 * The record is anchored with a label commitment whose opening (in the writer's journal) holds
 * exactly `labels`; the chain holds the commitment only (checked with the registry's own views).
 */
async function expectSealed(writer: MedLedger, subject: SubjectId, id: RecordId, labels: LabelName[]): Promise<void> {
  const entry = (await writer.journal.byRecord(id))!;
  expect(entry.labels.labels, "the opening's label mask").to.equal(labelMask(labels));
  expect(labelCommitment(entry.labels)).to.equal(entry.labelCommitment);
  const r = writer.chain.records;
  if (entry.batch === undefined) {
    const anchored = await r.getRecord(subject, id);
    expect(anchored.commitment).to.equal(await r.recordCommitment(entry.digest, entry.labelCommitment));
  } else {
    const { root, proof } = entry.batch;
    expect(await r.verifyBatchMember(subject, root, id, entry.category, entry.digest, entry.labelCommitment, proof)).to
      .be.true;
  }
}

function observation(id: string | undefined, value: number, versionId?: string): Observation {
  const o: Observation = {
    resourceType: "Observation",
    status: "final",
    code: cc("http://loinc.org", "8867-4", "Heart rate"),
    valueQuantity: { value, unit: "/min" },
  };
  if (id !== undefined) o.id = id;
  if (versionId !== undefined) o.meta = { versionId };
  return o;
}

describe("sdk/fhir putFhir: Synthea bundle end to end (in-process chain)", function () {
  this.timeout(60_000);

  it("a bundle with ONE invalid entry is refused whole: nothing stored, nothing anchored", async () => {
    const { c, store, doctor } = await fresh();
    const bundle = loadSynthea(SMALL_BUNDLE);
    const k = 60;
    (bundle.entry![k]!.resource as unknown as Record<string, unknown>).status = "done";
    const putsBefore = store.puts();
    const blockBefore = await conn.ethers.provider.getBlockNumber();
    const anchorsBefore = await anchors(doctor);

    const err = await putFhir(doctor, c.subject, bundle).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(FhirValidationError);
    const problems = (err as FhirValidationError).problems;
    expect(problems.length).to.be.greaterThan(0);
    expect(problems.every((p) => p.resourceIndex === k)).to.equal(true);

    expect(store.puts()).to.equal(putsBefore);
    expect(await conn.ethers.provider.getBlockNumber()).to.equal(blockBefore);
    expect(await anchors(doctor)).to.deep.equal(anchorsBefore);
  });

  it("a writer without APPEND consent for a category is refused before anything is stored", async () => {
    const { c, store } = await fresh();
    const putsBefore = store.puts();
    const blockBefore = await conn.ethers.provider.getBlockNumber();
    const err = await putFhir(c.payerAgent.ml, c.subject, loadSynthea(SMALL_BUNDLE)).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AccessDeniedError);
    expect((err as AccessDeniedError).errorName).to.equal("RecordAnchorDenied");
    expect((err as AccessDeniedError).reason).to.equal("NO_CONSENT");
    expect(store.puts()).to.equal(putsBefore);
    expect(await conn.ethers.provider.getBlockNumber()).to.equal(blockBefore);
  });

  it("ingests a Synthea bundle as one Merkle batch; the patient reads it back; re-ingesting anchors nothing", async () => {
    const { c, store, doctor } = await fresh();
    const bundle = loadSynthea(SMALL_BUNDLE);
    const entries = bundle.entry!;
    expect(entries).to.have.length(104);
    const classified = classifyBundle(bundle);
    const before = await anchors(doctor);

    const first = await putFhir(doctor, c.subject, bundle);
    // Two Organizations and two Practitioners are directory data: reported, not stored.
    expect(first.skipped.map((s) => [s.entryIndex, s.resourceType, s.reason])).to.deep.equal([
      [1, "Organization", "directory"],
      [2, "Practitioner", "directory"],
      [54, "Organization", "directory"],
      [55, "Practitioner", "directory"],
    ]);
    expect(first.resources).to.have.length(100);
    expect(first.batched).to.equal(true);
    expect([first.created, first.newVersions, first.unchanged, first.erased]).to.deep.equal([100, 0, 0, 0]);
    for (const r of first.resources) {
      const resource = entries[r.entryIndex!]!.resource!;
      const c = classified.find((e) => e.entryIndex === r.entryIndex)!.classification;
      expect(r.resourceType).to.equal(resource.resourceType);
      expect(r.id).to.equal(resource.id);
      expect(r.status).to.equal("created");
      expect([r.category, r.labels, r.rules]).to.deep.equal([c.category, c.labels, c.rules]);
      expect(r).not.to.have.property("previous");
    }
    expect(new Set(first.resources.map((r) => r.recordId)).size).to.equal(100);
    const byType = (t: string) => first.resources.filter((r) => r.resourceType === t);
    expect(byType("Patient").map((r) => r.category)).to.deep.equal(["DEMOGRAPHICS"]);
    expect(new Set(byType("Observation").map((r) => r.category))).to.deep.equal(new Set(["OBSERVATIONS"]));
    expect(new Set(byType("Claim").map((r) => r.category))).to.deep.equal(new Set(["FINANCIAL"]));
    expect(byType("Organization")).to.deep.equal([]);

    // ONE batch anchor for all 100, no single anchors.
    const after = await anchors(doctor);
    expect(after.records - before.records).to.equal(0);
    expect(after.batches - before.batches).to.equal(1);
    expect(after.batchSizes.at(-1)).to.equal(100);

    // Spot checks: the patient reads with their own key slot; the content is the same resource.
    for (const i of [0, 1, 17, 50, 99]) {
      const r = first.resources[i]!;
      const read = await readAsPatient(c, r.recordId);
      expect(read.resource).to.deep.equal(entries[r.entryIndex!]!.resource);
      expect(read.category).to.equal(r.category); // anchored under its public category
      expect(read.mediaType).to.equal(FHIR_MEDIA_TYPE);
    }

    // Again: every resource unchanged, same records, nothing stored or anchored, no transaction.
    const putsBefore = store.puts();
    const blockBefore = await conn.ethers.provider.getBlockNumber();
    const again = await putFhir(doctor, c.subject, loadSynthea(SMALL_BUNDLE));
    expect(again.resources.map((r) => r.status)).to.deep.equal(Array<string>(100).fill("unchanged"));
    expect(again.resources.map((r) => r.recordId)).to.deep.equal(first.resources.map((r) => r.recordId));
    expect([again.created, again.newVersions, again.unchanged]).to.deep.equal([0, 0, 100]);
    expect(store.puts()).to.equal(putsBefore);
    expect(await conn.ethers.provider.getBlockNumber()).to.equal(blockBefore);
    expect(await anchors(doctor)).to.deep.equal(after);

    // A modified copy of one resource (meta.versionId changed) → a new version linked to the old.
    const k = first.resources.findIndex((r, i) => r.resourceType === "Encounter" && ![0, 1, 17, 50, 99].includes(i));
    const original = entries[first.resources[k]!.entryIndex!]!.resource!;
    const v2 = { ...clone(original), meta: { versionId: "2" } } as FhirResource;
    const updated = await putFhir(doctor, c.subject, v2);
    expect(updated.resources).to.have.length(1);
    const u = updated.resources[0]!;
    expect(u.status).to.equal("new-version");
    expect(u.versionId).to.equal("2");
    expect(u.previous).to.equal(first.resources[k]!.recordId);
    expect(u.category).to.equal("ENCOUNTERS");
    const history = await c.patient.ml.records.history(c.subject, u.recordId);
    expect(history.map((h) => h.recordId)).to.deep.equal([first.resources[k]!.recordId, u.recordId]);
    expect(history.map((h) => h.superseded)).to.deep.equal([true, false]);
    expect((await readAsPatient(c, u.recordId)).resource).to.deep.equal(v2);

    // The same version again: unchanged, nothing anchored.
    expect((await putFhir(doctor, c.subject, v2)).resources[0]).to.include({
      status: "unchanged",
      recordId: u.recordId,
    });
    expect((await anchors(doctor)).records).to.equal(after.records + 1);
  });

  it("a mixed bundle: unchanged, new versions and new resources in one call", async () => {
    const { c, doctor } = await fresh();
    const bundle: Bundle<FhirResource> = {
      resourceType: "Bundle",
      type: "collection",
      entry: [1, 2, 3].map((n) => ({
        fullUrl: `urn:uuid:00000000-0000-4000-8000-00000000000${n}`,
        resource: observation(`hr-${n}`, 60 + n),
      })),
    };
    const first = await putFhir(doctor, c.subject, bundle);
    expect(first.resources.map((r) => r.status)).to.deep.equal(["created", "created", "created"]);
    const base = await anchors(doctor);

    const next = clone(bundle);
    next.entry![1]!.resource = observation("hr-2", 99); // changed content, no versionId
    next.entry!.push({ fullUrl: "urn:uuid:00000000-0000-4000-8000-000000000004", resource: observation("hr-4", 64) });
    next.entry!.push({ fullUrl: "urn:uuid:00000000-0000-4000-8000-000000000005", resource: observation("hr-5", 65) });
    const result: FhirPutResult = await putFhir(doctor, c.subject, next);
    expect(result.resources.map((r) => r.status)).to.deep.equal([
      "unchanged",
      "new-version",
      "unchanged",
      "created",
      "created",
    ]);
    expect(result.resources[1]!.previous).to.equal(first.resources[1]!.recordId);
    expect(result.resources[0]!.recordId).to.equal(first.resources[0]!.recordId);
    expect(result.batched).to.equal(true);
    const now = await anchors(doctor);
    expect([now.records - base.records, now.batches - base.batches]).to.deep.equal([1, 1]);
    expect(now.batchSizes.at(-1)).to.equal(2);
    const history = await c.patient.ml.records.history(c.subject, result.resources[1]!.recordId);
    expect(history).to.have.length(2);
  });

  it("identity without an id: the entry's fullUrl; without either: the content", async () => {
    const { c, doctor } = await fresh();
    const url = "urn:uuid:5d0c0f8e-8a3e-4c1e-9d64-1a2b3c4d5e99";
    const bundle: Bundle<FhirResource> = {
      resourceType: "Bundle",
      type: "transaction",
      entry: [{ fullUrl: url, resource: observation(undefined, 70), request: { method: "POST", url: "Observation" } }],
    };
    const first = await putFhir(doctor, c.subject, bundle);
    expect(first.resources[0]).to.include({ id: url, status: "created" });
    expect(first.batched).to.equal(false); // one resource: a single anchor
    expect((await putFhir(doctor, c.subject, bundle)).resources[0]).to.include({ status: "unchanged" });
    const changed = clone(bundle);
    changed.entry![0]!.resource = observation(undefined, 71);
    const second = await putFhir(doctor, c.subject, changed);
    expect(second.resources[0]).to.include({ id: url, status: "new-version", previous: first.resources[0]!.recordId });

    // No id, no fullUrl: identical content is the same record; other content is another record.
    const loose = observation(undefined, 80);
    const a = await putFhir(doctor, c.subject, loose);
    expect(a.resources[0]).to.include({ id: null, status: "created" });
    expect((await putFhir(doctor, c.subject, clone(loose))).resources[0]).to.include({
      status: "unchanged",
      recordId: a.resources[0]!.recordId,
    });
    expect((await putFhir(doctor, c.subject, observation(undefined, 81))).resources[0]).to.include({
      status: "created",
    });
  });

  it("versions inside one bundle chain in order; batch: false anchors one by one; sensitive codes are sealed on chain", async () => {
    const { c, doctor } = await fresh();
    const contraceptive: MedicationRequest = {
      resourceType: "MedicationRequest",
      id: "mr-1",
      status: "active",
      intent: "order",
      medicationCodeableConcept: cc(RXNORM, "807283", "Mirena 52 MG Intrauterine System"),
      subject: { reference: "Patient/p" },
    };
    const bundle: Bundle<FhirResource> = {
      resourceType: "Bundle",
      type: "history",
      entry: [
        { resource: observation("hr", 60, "1") },
        { resource: contraceptive },
        { resource: observation("hr", 61, "2") },
        { resource: observation("hr", 60, "1") },
      ],
    };
    const before = await anchors(doctor);
    const result = await putFhir(doctor, c.subject, bundle, { batch: false });
    expect(result.resources.map((r) => r.status)).to.deep.equal(["created", "created", "new-version", "unchanged"]);
    expect(result.batched).to.equal(false);
    const [v1, mr, v2, again] = result.resources;
    expect(v2!.previous).to.equal(v1!.recordId);
    expect(again!.recordId).to.equal(v1!.recordId); // a version seen before: its own record
    const after = await anchors(doctor);
    expect([after.records - before.records, after.batches - before.batches]).to.deep.equal([3, 0]);

    expect([mr!.category, mr!.labels]).to.deep.equal(["MEDICATIONS", ["SEXUAL_REPRODUCTIVE"]]);
    expect(mr!.rules.find((r) => "label" in r)).to.deep.include({ label: "SEXUAL_REPRODUCTIVE", source: "code" });
    // On chain: the public category, and a salted commitment whose opening the writer keeps.
    await expectSealed(doctor, c.subject, mr!.recordId, ["SEXUAL_REPRODUCTIVE"]);
    await expectSealed(doctor, c.subject, v1!.recordId, []);
    const read = await readAsPatient(c, mr!.recordId);
    expect(read.category).to.equal("MEDICATIONS");
    expect(read.resource).to.deep.equal(contraceptive);
    expect((await c.patient.ml.records.history(c.subject, v2!.recordId)).map((h) => h.recordId)).to.deep.equal([
      v1!.recordId,
      v2!.recordId,
    ]);

    // A hospital override decides the category.
    const classifier = createClassifier({
      overrides: parseClassifierOverrides({
        medledgerClassifierOverrides: 1,
        resourceTypes: [{ resourceType: "Observation", category: "NOTES", source: "test policy" }],
      }),
      log: () => undefined,
    });
    const custom = await putFhir(doctor, c.subject, observation("other", 1), { classifier });
    expect(custom.resources[0]!.category).to.equal("NOTES");
    expect(custom.resources[0]!.rules[0]).to.deep.include({ category: "NOTES", source: "override" });
    expect((await readAsPatient(c, custom.resources[0]!.recordId)).category).to.equal("NOTES");
  });

  it("a write failing half-way is retried to completion: same records, one batch", async () => {
    const { c, store, doctor } = await fresh();
    const bundle = loadSynthea(SMALL_BUNDLE);
    const before = await anchors(doctor);
    store.failAfter(40); // the 41st envelope cannot be stored
    const failed = await putFhir(doctor, c.subject, bundle).catch((e: unknown) => e);
    expect(failed).to.be.instanceOf(StorageError);
    expect(await anchors(doctor)).to.deep.equal(before);
    store.failAfter(undefined);
    const putsBefore = store.puts();
    const retried = await putFhir(doctor, c.subject, bundle);
    expect(retried.created).to.equal(100);
    // The 40 envelopes of the first attempt were reused: only the rest (and the manifest) stored now.
    expect(store.puts() - putsBefore).to.equal(100 - 40 + 1);
    const after = await anchors(doctor);
    expect([after.records - before.records, after.batches - before.batches]).to.deep.equal([0, 1]);
    expect((await putFhir(doctor, c.subject, bundle)).unchanged).to.equal(100);
  });

  it("the writer's journal holds keyed hashes only: no resource ids, names or codes in its files", async () => {
    const { c } = await fresh();
    const dir = await mkdtemp(join(tmpdir(), "medledger-fhir-journal-"));
    try {
      const writer = await c.participant(c.doctor.identity, { journal: await filesystemJournal({ dir }) });
      const bundle = loadSynthea(SMALL_BUNDLE);
      bundle.entry = bundle.entry!.slice(0, 30); // fsynced files: keep it quick
      await putFhir(writer.ml, c.subject, bundle);
      const patient = bundle.entry[0]!.resource as Patient;
      const needles = [
        patient.id!,
        patient.name![0]!.family!,
        bundle.entry[10]!.resource!.id!,
        bundle.entry[10]!.fullUrl!,
        "Encounter",
        "Observation",
        "http://loinc.org",
      ];
      const files: string[] = [];
      for (const sub of ["entries", "records", "index"]) {
        for (const f of await readdir(join(dir, sub))) files.push(join(dir, sub, f));
      }
      expect(files.length).to.equal(3 * 28); // per stored resource (2 of the 30 are directory data): entry, record link, index
      for (const file of files) {
        const text = await readFile(file, "utf8");
        for (const needle of needles) expect(text.includes(needle), `${needle} in ${file}`).to.equal(false);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a nested Bundle is one record; entries without a resource are skipped", async () => {
    const { c, doctor } = await fresh();
    const inner: Bundle<FhirResource> = {
      resourceType: "Bundle",
      id: "inner",
      type: "collection",
      entry: [{ resource: observation("in", 1) }],
    };
    const outer: Bundle<FhirResource> = {
      resourceType: "Bundle",
      type: "transaction",
      entry: [
        { request: { method: "DELETE", url: "Observation/gone" } },
        { resource: inner, request: { method: "POST", url: "Bundle" } },
        { resource: observation("out", 2), request: { method: "POST", url: "Observation" } },
      ],
    };
    const result = await putFhir(doctor, c.subject, outer);
    expect(result.resources.map((r) => [r.entryIndex, r.resourceType, r.id, r.category])).to.deep.equal([
      [1, "Bundle", "inner", "OTHER"],
      [2, "Observation", "out", "OBSERVATIONS"],
    ]);
    expect((await readAsPatient(c, result.resources[0]!.recordId)).resource).to.deep.equal(inner);
  });
  it("the report: public category, labels, the rule behind each; a record with two labels commits to both", async () => {
    const { c, doctor } = await fresh();
    const result = await putFhir(doctor, c.subject, syntheaAbortionBundle());
    const byId = new Map(result.resources.map((r) => [r.id!.slice(-2), r]));
    const exam = byId.get("13")!; // 5880005, labelled by its reason
    expect([exam.category, exam.labels]).to.deep.equal(["PROCEDURES", ["SEXUAL_REPRODUCTIVE"]]);
    expect(exam.rules.map((r) => r.source)).to.deep.equal(["resource-type", "reference"]);
    const screening = byId.get("14")!; // depression screening for the pregnancy: both labels
    expect(screening.labels).to.deep.equal(["MENTAL_HEALTH", "SEXUAL_REPRODUCTIVE"]);
    await expectSealed(doctor, c.subject, screening.recordId, ["MENTAL_HEALTH", "SEXUAL_REPRODUCTIVE"]);
    const claim = byId.get("20")!;
    expect([claim.category, claim.labels]).to.deep.equal(["FINANCIAL", ["SEXUAL_REPRODUCTIVE"]]);
    await expectSealed(doctor, c.subject, claim.recordId, ["SEXUAL_REPRODUCTIVE"]);
    expect((await readAsPatient(c, claim.recordId)).category).to.equal("FINANCIAL");
    expect(byId.get("40")!.labels).to.deep.equal([]);
    expect((await readAsPatient(c, byId.get("40")!.recordId)).category).to.equal("OBSERVATIONS");
  });

  it("re-import: when the labels change, a new version under the new labels, never silently re-filed", async () => {
    const { c, store, doctor } = await fresh();
    const bundle = syntheaAbortionBundle();
    // The physical exam alone: its reason (the pregnancy) is not in the input, so no label.
    const exam = clone(bundle.entry!.find((e) => e.resource!.id!.endsWith("13"))!);
    const alone: Bundle<FhirResource> = { resourceType: "Bundle", type: "collection", entry: [exam] };
    const first = await putFhir(doctor, c.subject, alone);
    expect([first.resources[0]!.status, first.resources[0]!.labels]).to.deep.equal(["created", []]);

    // The whole bundle: the same content, now labelled by reference → a new version, refiled.
    const full = await putFhir(doctor, c.subject, bundle);
    const again = full.resources.find((r) => r.id === exam.fullUrl!.slice("urn:uuid:".length))!;
    expect(again).to.deep.include({ status: "new-version", refiled: true, previous: first.resources[0]!.recordId });
    expect(again.labels).to.deep.equal(["SEXUAL_REPRODUCTIVE"]);
    expect((await readAsPatient(c, again.recordId)).category).to.equal("PROCEDURES");
    // The same public category on chain (a version keeps it); only the sealed labels moved on.
    await expectSealed(doctor, c.subject, first.resources[0]!.recordId, []);
    await expectSealed(doctor, c.subject, again.recordId, ["SEXUAL_REPRODUCTIVE"]);
    const history = await c.patient.ml.records.history(c.subject, again.recordId);
    expect(history.map((h) => [h.recordId, h.category, h.superseded])).to.deep.equal([
      [first.resources[0]!.recordId, Category.PROCEDURES, true],
      [again.recordId, Category.PROCEDURES, false],
    ]);
    expect(history[0]!.labelCommitment).to.not.equal(history[1]!.labelCommitment);

    // The same bundle again: nothing changes, nothing is stored.
    const putsBefore = store.puts();
    const third = await putFhir(doctor, c.subject, syntheaAbortionBundle());
    expect(third.unchanged).to.equal(third.resources.length);
    expect(store.puts()).to.equal(putsBefore);

    // A hospital override that labels a code: the next import re-files that resource only.
    const classifier = createClassifier({
      overrides: parseClassifierOverrides({
        medledgerClassifierOverrides: 1,
        codes: [{ system: "http://loinc.org", code: "8480-6", labels: ["GENETICS"], source: "test policy" }],
      }),
      log: () => undefined,
    });
    const fourth = await putFhir(doctor, c.subject, syntheaAbortionBundle(), { classifier });
    expect(
      fourth.resources.filter((r) => r.status !== "unchanged").map((r) => [r.id!.slice(-2), r.status, r.labels]),
    ).to.deep.equal([
      ["04", "new-version", ["MENTAL_HEALTH", "SEXUAL_REPRODUCTIVE", "GENETICS"]], // the encounter it was taken at
      ["40", "new-version", ["GENETICS"]],
    ]);
  });

  it("re-import of an erased record reports `erased`, not `unchanged`, and stores nothing", async () => {
    const { c, store, doctor } = await fresh();
    const hr = observation("hr-erased", 72);
    const first = await putFhir(doctor, c.subject, hr);
    const id = first.resources[0]!.recordId;
    await c.patient.ml.records.erase(c.subject, id);

    const putsBefore = store.puts();
    const blockBefore = await conn.ethers.provider.getBlockNumber();
    const again = await putFhir(doctor, c.subject, clone(hr));
    expect(again.resources[0]).to.deep.include({ status: "erased", recordId: id });
    expect([again.created, again.newVersions, again.unchanged, again.erased]).to.deep.equal([0, 0, 0, 1]);
    // Changed content for the erased identity: still not stored (an erasure is not undone).
    const changed = await putFhir(doctor, c.subject, observation("hr-erased", 73));
    expect(changed.resources[0]).to.deep.include({ status: "erased", recordId: id });
    expect(store.puts()).to.equal(putsBefore);
    expect(await conn.ethers.provider.getBlockNumber()).to.equal(blockBefore);
    // Another resource in the same call is stored as usual.
    const mixed = await putFhir(doctor, c.subject, {
      resourceType: "Bundle",
      type: "collection",
      entry: [{ resource: clone(hr) }, { resource: observation("hr-new", 60) }],
    });
    expect(mixed.resources.map((r) => r.status)).to.deep.equal(["erased", "created"]);
  });
});

/**
 * Issue 13's end-to-end test, enforced as issue 14 designed it: the sensitive labels are sealed (the
 * chain cannot refuse the read), so the record's custodian keyholder applies the patient's sealed
 * deny. Every participant's custody is the keyholder network (three in-process keyholders, one per
 * organization, k = 2, registered in KeyholderRegistry); each test sets up its own consortium,
 * since the keyholders' stores are not reverted with the chain.
 */
describe("sdk/fhir putFhir: a sealed deny on SEXUAL_REPRODUCTIVE at the keyholder network (in-process chain)", function () {
  this.timeout(120_000);
  const provider = conn.ethers.provider;

  /**
   * A consortium whose custody is the keyholder network; the Synthea contraception bundle imported
   * by the doctor (as one Merkle batch, or one by one); the patient's broad payer permit: FINANCIAL
   * for payment, and (sealed) sexual and reproductive health too.
   */
  async function payerWorld(batch: boolean) {
    const [funder] = await conn.ethers.getSigners();
    const c = await setUpConsortium({ provider, funder: funder!, storage: memory(), keyholderNetwork: { k: 2 } });
    try {
      expect(c.doctor.ml.context.custody.kind).to.equal("network");
      await c.admit(Object.keys(Category) as CategoryName[]);
      const result = await putFhir(c.doctor.ml, c.subject, loadSynthea(CONTRACEPTION_BUNDLE), { batch });
      const claims = result.resources.filter((r) => r.resourceType === "Claim");
      const iud = claims.find(
        (r) => r.labels.includes("SEXUAL_REPRODUCTIVE") && r.rules.some((x) => x.detail.includes("65200003")),
      )!;
      const plain = claims.find((r) => r.labels.length === 0)!;
      expect(iud, "the claim for the IUD insertion").to.not.equal(undefined);
      expect(plain, "a claim with no sensitive label").to.not.equal(undefined);
      expect(iud.category).to.equal("FINANCIAL");
      expect(plain.category).to.equal("FINANCIAL");
      await c.patient.ml.consent.grant(c.subject, {
        grantee: { organization: c.payer, roles: ["PAYER"] },
        categories: ["FINANCIAL"],
        purposes: ["HPAYMT"],
        sealed: { allowLabels: ["SEXUAL_REPRODUCTIVE"] },
      });
      return { c, iud, plain };
    } catch (err) {
      c.stop();
      throw err;
    }
  }

  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const accessesOf = async (c: Consortium, id: RecordId) => {
    const r = c.patient.ml.chain.records;
    return (await r.queryFilter(r.filters.RecordAccessed(c.subject, id), startBlock(c.addressBook))).length;
  };

  /**
   * The patient's sealed-only deny on SEXUAL_REPRODUCTIVE for the payer; the payer still reads the
   * plain claim; its read of the IUD claim is refused by the custodian keyholder (SEALED_DENIED),
   * with no RecordAccessed; revoking the deny releases it. Returns the block numbers around the
   * refused read.
   */
  async function denyWins(c: Consortium, iud: FhirPutResult["resources"][number], plainId: RecordId) {
    // A sealed-only deny: zero public category mask, so nothing about it is visible on chain.
    const { value: denyId, opening } = await c.patient.ml.consent.grant(c.subject, {
      grantee: { organization: c.payer, roles: ["PAYER"] },
      effect: "deny",
      sealed: { denyLabels: ["SEXUAL_REPRODUCTIVE"] },
    });
    expect((await c.patient.ml.chain.consents.getConsent(c.subject, denyId)).categories).to.equal(0n);
    expect(opening.denyLabels).to.equal(Label.SEXUAL_REPRODUCTIVE);

    // The deny's labels do not meet the plain claim: the payer reads it.
    const ok = await c.payerAgent.ml.records.get(c.subject, plainId, { purpose: "HPAYMT" });
    expect(ok.category).to.equal("FINANCIAL");
    expect(ok.labels).to.deep.equal([]);
    expect(JSON.parse(text(ok.content))).to.have.property("resourceType", "Claim");

    // The IUD claim: refused by the custodian keyholder (the hospital's: registered first).
    const custodian = c.localKeyholders!.cores[0]!.keyholderId;
    const before = await provider.getBlockNumber();
    const err = await c.payerAgent.ml.records.get(c.subject, iud.recordId, { purpose: "HPAYMT" }).then(
      () => expect.fail("the payer's read of the IUD claim was released"),
      (e: unknown) => e,
    );
    const after = await provider.getBlockNumber();
    expect(err).to.be.instanceOf(KeyReleaseRefusedError);
    const refused = err as KeyReleaseRefusedError;
    expect(refused.code).to.equal(ErrorCodes.KEY_UNAVAILABLE);
    // The custodian keyholder refuses under the sealed rule. The reader learns SEALED_DENIED only
    // (one code and message for every sealed refusal); which sealed term refused (DENY_LABELS, see
    // sdk/keyholder/policy.ts) goes to the keyholder's keyed log.
    expect(refused.codes()[custodian], refused.message).to.equal("SEALED_DENIED");
    expect(refused.failures.map((f) => f.keyholderId)).to.deep.equal([custodian]);
    expect(await accessesOf(c, iud.recordId), "no RecordAccessed for the refused read").to.equal(0);

    // The deny is what refused it: revoked, the same read is released (and logged).
    await c.patient.ml.consent.revoke(c.subject, denyId);
    const read = await c.payerAgent.ml.records.get(c.subject, iud.recordId, { purpose: "HPAYMT" });
    expect(read.labels).to.deep.equal(["SEXUAL_REPRODUCTIVE"]);
    expect(text(read.content)).to.include("65200003");
    expect(await accessesOf(c, iud.recordId)).to.equal(1);
    return { before, after };
  }

  it("end to end: the deny wins: a sealed-only deny on SEXUAL_REPRODUCTIVE refuses the payer's read of the IUD claim at the custodian keyholder's preflight; nothing is sent on chain (bundle anchored one by one)", async () => {
    const { c, iud, plain } = await payerWorld(false);
    try {
      const { before, after } = await denyWins(c, iud, plain.recordId);
      expect(after, "no transaction for the refused read").to.equal(before);
    } finally {
      c.stop();
    }
  });

  it("end to end: the deny wins for a Merkle batch member too (the default import): refused, no RecordAccessed", async () => {
    const { c, iud, plain } = await payerWorld(true);
    try {
      // Not asserted here: that no block is mined. records.get proves a batch member on chain
      // (proveRecord, by the reader) before it asks the custodian keyholder's preflight, which
      // needs the record's own anchor state; a refused first read of a batch member therefore
      // leaves a RecordProven by the reader (see the report of this change).
      await denyWins(c, iud, plain.recordId);
    } finally {
      c.stop();
    }
  });

  it("end to end: control: without the deny, the payer's broad permit (FINANCIAL + sealed SEXUAL_REPRODUCTIVE) releases the IUD claim", async () => {
    const { c, iud, plain } = await payerWorld(true);
    try {
      const read = await c.payerAgent.ml.records.get(c.subject, iud.recordId, { purpose: "HPAYMT" });
      expect(read.category).to.equal("FINANCIAL");
      expect(read.labels).to.deep.equal(["SEXUAL_REPRODUCTIVE"]);
      const claim = text(read.content);
      expect(JSON.parse(claim)).to.have.property("resourceType", "Claim");
      expect(claim, "the claim for the IUD insertion").to.include("65200003");
      expect(await accessesOf(c, iud.recordId), "the read is logged").to.equal(1);
      const ok = await c.payerAgent.ml.records.get(c.subject, plain.recordId, { purpose: "HPAYMT" });
      expect(ok.labels).to.deep.equal([]);
    } finally {
      c.stop();
    }
  });
});
