import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import { setUpConsortium } from "../../../fixtures/consortium.js";
import type { Consortium } from "../../../fixtures/consortium.js";
import { startBlock } from "../../../sdk/chain/addressBook.js";
import { AccessDeniedError } from "../../../sdk/chain/errors.js";
import { Category } from "../../../sdk/codes.js";
import type { CategoryName } from "../../../sdk/codes.js";
import { FHIR_MEDIA_TYPE, FhirValidationError, categoryOf, putFhir } from "../../../sdk/fhir/index.js";
import type { FhirPutResult } from "../../../sdk/fhir/index.js";
import { StorageError } from "../../../sdk/errors.js";
import type { MedLedger } from "../../../sdk/ledger.js";
import { filesystemJournal } from "../../../sdk/records/journal.js";
import { memory } from "../../../sdk/storage/index.js";
import type { BlobStore } from "../../../sdk/storage/index.js";
import type { RecordId } from "../../../sdk/types.js";
import { RXNORM, SMALL_BUNDLE, cc, clone, loadSynthea } from "./helpers.js";
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
  const read = await c.patient.ml.records.get(id, { purpose: "PATRQT" });
  return {
    resource: JSON.parse(new TextDecoder().decode(read.content)) as unknown,
    category: read.category,
    mediaType: read.mediaType,
  };
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
    const before = await anchors(doctor);

    const first = await putFhir(doctor, c.subject, bundle);
    expect(first.resources).to.have.length(entries.length);
    expect(first.batched).to.equal(true);
    expect([first.created, first.newVersions, first.unchanged]).to.deep.equal([104, 0, 0]);
    first.resources.forEach((r, i) => {
      const resource = entries[i]!.resource!;
      expect(r.entryIndex).to.equal(i);
      expect(r.resourceType).to.equal(resource.resourceType);
      expect(r.id).to.equal(resource.id);
      expect(r.status).to.equal("created");
      expect(r.category).to.equal(categoryOf(resource));
      expect(r).not.to.have.property("previous");
    });
    expect(new Set(first.resources.map((r) => r.recordId)).size).to.equal(104);
    const byType = (t: string) => first.resources.filter((r) => r.resourceType === t);
    expect(byType("Patient").map((r) => r.category)).to.deep.equal(["DEMOGRAPHICS"]);
    expect(new Set(byType("Observation").map((r) => r.category))).to.deep.equal(new Set(["OBSERVATIONS"]));
    expect(new Set(byType("Claim").map((r) => r.category))).to.deep.equal(new Set(["FINANCIAL"]));
    expect(new Set(byType("Organization").map((r) => r.category))).to.deep.equal(new Set(["OTHER"]));

    // ONE batch anchor for all 104, no single anchors.
    const after = await anchors(doctor);
    expect(after.records - before.records).to.equal(0);
    expect(after.batches - before.batches).to.equal(1);
    expect(after.batchSizes.at(-1)).to.equal(104);

    // Spot checks: the patient reads with their own key slot; the content is the same resource.
    for (const i of [0, 1, 17, 50, 103]) {
      const r = first.resources[i]!;
      const read = await readAsPatient(c, r.recordId);
      expect(read.resource).to.deep.equal(entries[i]!.resource);
      expect(read.category).to.equal(r.category);
      expect(read.mediaType).to.equal(FHIR_MEDIA_TYPE);
    }

    // Again: every resource unchanged, same records, nothing stored or anchored, no transaction.
    const putsBefore = store.puts();
    const blockBefore = await conn.ethers.provider.getBlockNumber();
    const again = await putFhir(doctor, c.subject, loadSynthea(SMALL_BUNDLE));
    expect(again.resources.map((r) => r.status)).to.deep.equal(Array<string>(104).fill("unchanged"));
    expect(again.resources.map((r) => r.recordId)).to.deep.equal(first.resources.map((r) => r.recordId));
    expect([again.created, again.newVersions, again.unchanged]).to.deep.equal([0, 0, 104]);
    expect(store.puts()).to.equal(putsBefore);
    expect(await conn.ethers.provider.getBlockNumber()).to.equal(blockBefore);
    expect(await anchors(doctor)).to.deep.equal(after);

    // A modified copy of one resource (meta.versionId changed) → a new version linked to the old.
    const k = entries.findIndex((e, i) => e.resource!.resourceType === "Encounter" && ![0, 1, 17, 50, 103].includes(i));
    const original = entries[k]!.resource!;
    const v2 = { ...clone(original), meta: { versionId: "2" } } as FhirResource;
    const updated = await putFhir(doctor, c.subject, v2);
    expect(updated.resources).to.have.length(1);
    const u = updated.resources[0]!;
    expect(u.status).to.equal("new-version");
    expect(u.versionId).to.equal("2");
    expect(u.previous).to.equal(first.resources[k]!.recordId);
    expect(u.category).to.equal("ENCOUNTERS");
    const history = await c.patient.ml.records.history(u.recordId);
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
    const history = await c.patient.ml.records.history(result.resources[1]!.recordId);
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

  it("versions inside one bundle chain in order; batch: false anchors one by one; sensitive codes reach the chain", async () => {
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

    expect(mr!.category).to.equal("SEXUAL_REPRODUCTIVE");
    const read = await readAsPatient(c, mr!.recordId);
    expect(read.category).to.equal("SEXUAL_REPRODUCTIVE");
    expect(read.resource).to.deep.equal(contraceptive);
    expect((await c.patient.ml.records.history(v2!.recordId)).map((h) => h.recordId)).to.deep.equal([
      v1!.recordId,
      v2!.recordId,
    ]);

    // A custom policy decides the category.
    const custom = await putFhir(doctor, c.subject, observation("other", 1), { categorize: () => "NOTES" });
    expect(custom.resources[0]!.category).to.equal("NOTES");
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
    expect(retried.created).to.equal(104);
    // The 40 envelopes of the first attempt were reused: only the rest (and the manifest) stored now.
    expect(store.puts() - putsBefore).to.equal(104 - 40 + 1);
    const after = await anchors(doctor);
    expect([after.records - before.records, after.batches - before.batches]).to.deep.equal([0, 1]);
    expect((await putFhir(doctor, c.subject, bundle)).unchanged).to.equal(104);
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
      expect(files.length).to.equal(3 * 30); // one entry, one record link and one index entry per resource
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
});
