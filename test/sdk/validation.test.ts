/**
 * The SDK as a plain-JavaScript caller sees it: no TypeScript literal types, so names get
 * misspelled, `constructor` or `__proto__` slip in from an object, a number arrives where a
 * string was meant, an ENS name where an address was meant, milliseconds where seconds were.
 * Every one is an InvalidInputError naming the bad value (and, for names, the allowed ones),
 * raised before anything is signed, stored or sent.
 *
 * On main before this change: an unknown category became DEMOGRAPHICS and an unknown purpose
 * TREAT (`1 << undefined === 1`), `constructor`/`toString`/`__proto__` passed and left orphaned
 * envelopes, slots and journal entries, `consent.check` with an unknown purpose threw a raw
 * TypeError, "doctor.eth" reached the node ("network does not support ENS"), and a validUntil in
 * milliseconds was accepted.
 */
import { expect } from "chai";
import { network } from "hardhat";

import {
  AccessDeniedError,
  InvalidInputError,
  MedLedger,
  categoryMask,
  labelMask,
  memoryJournal,
  purposeMask,
  records,
} from "../../sdk/index.js";
import type { BlobStore, Journal, Keyholder } from "../../sdk/index.js";
import { setUpConsortium } from "../../fixtures/consortium.js";
import type { Consortium } from "../../fixtures/consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment -- a plain JavaScript caller */

/** Counts what reaches storage, journals, keyholders and signers: it must stay at zero. */
interface Effects {
  stored: number;
  journaled: number;
  slots: number;
  signed: number;
}

interface World {
  c: Consortium;
  effects: Effects;
  /** The doctor's and the patient's MedLedger as a JavaScript caller holds them. */
  doctor: any;
  patient: any;
  admin: any;
  governance: any;
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
  return {
    c,
    effects: { stored: 0, journaled: 0, slots: 0, signed: 0 },
    doctor: null,
    patient: null,
    admin: null,
    governance: null,
  };
}

/** Fresh participants whose storage, journal, keyholders and signer count every side effect. */
async function spied(): Promise<World> {
  const w = await networkHelpers.loadFixture(world);
  const effects: Effects = { stored: 0, journaled: 0, slots: 0, signed: 0 };
  const store: BlobStore = w.c.storage;
  const storage: BlobStore = {
    kind: store.kind,
    put: (input) => (effects.stored++, store.put(input)),
    get: (address) => store.get(address),
    getBytes: (address) => store.getBytes(address),
    has: (address) => store.has(address),
    delete: (address) => store.delete(address),
    close: () => store.close(),
  };
  const keyholders = new Map<number, Keyholder>();
  for (const [id, k] of w.c.keyholders)
    keyholders.set(id, { ...k, storeSlots: (r, s) => (effects.slots++, k.storeSlots(r, s)) });
  const journaled = (): Journal => {
    const j = memoryJournal();
    return { ...j, put: (key, entry) => (effects.journaled++, j.put(key, entry)) };
  };
  const make = async (p: Consortium["doctor"]): Promise<any> => {
    const signer = p.wallet;
    const counting = new Proxy(signer, {
      get(target, prop) {
        // The wallet's own getters run on the wallet (private fields), not on the proxy.
        const v = Reflect.get(target, prop, target) as unknown;
        if (
          prop === "signTypedData" ||
          prop === "signMessage" ||
          prop === "signTransaction" ||
          prop === "sendTransaction"
        )
          return (...args: unknown[]) => (effects.signed++, (v as (...a: unknown[]) => unknown).apply(target, args));
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return MedLedger.create({ ...p.ml.options, signer: counting, storage, keyholders, journal: journaled() });
  };
  return {
    ...w,
    effects,
    doctor: await make(w.c.doctor),
    patient: await make(w.c.patient),
    admin: await make(w.c.hospitalAdmin),
    governance: w.c.governance as any,
  };
}

/** Expects an InvalidInputError whose message names `bad`; returns it. */
async function refused(p: Promise<unknown> | (() => unknown), bad: string): Promise<InvalidInputError> {
  let err: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected an InvalidInputError about ${bad}`).to.be.instanceOf(InvalidInputError);
  expect((err as Error).message).to.contain(bad);
  return err as InvalidInputError;
}

async function nothingHappened(w: World, block: number): Promise<void> {
  expect(w.effects).to.deep.equal({ stored: 0, journaled: 0, slots: 0, signed: 0 });
  expect(await conn.ethers.provider.getBlockNumber(), "no transaction was mined").to.equal(block);
}

const NOT_NAMES = ["SUBSTANCE_ABUSE", "constructor", "toString", "__proto__", "hasOwnProperty", "observations"];

describe("validation: bad input is refused before anything happens (plain JavaScript callers)", () => {
  it("records.put / putBatch: unknown categories and labels, wrong-typed subject and content, bad media type", async () => {
    const w = await spied();
    const block = await conn.ethers.provider.getBlockNumber();
    const subject = w.c.subject;
    for (const bad of NOT_NAMES) {
      const err = await refused(w.doctor.records.put(subject, "x", { category: bad, mediaType: "text/plain" }), bad);
      expect(err.allowed).to.include("NOTES");
      await refused(
        w.doctor.records.putBatch(subject, [{ content: "x", category: bad, mediaType: "text/plain" }]),
        bad,
      );
      const label = await refused(
        w.doctor.records.put(subject, "x", { category: "NOTES", labels: [bad], mediaType: "text/plain" }),
        bad,
      );
      expect(label.allowed).to.deep.equal(["MENTAL_HEALTH", "SEXUAL_REPRODUCTIVE", "SUBSTANCE_USE", "GENETICS"]);
      await refused(
        w.doctor.records.putBatch(subject, [
          { content: "x", category: "NOTES", labels: [bad], mediaType: "text/plain" },
        ]),
        bad,
      );
    }
    // A sensitive class is a label, never a category (it would be public on chain).
    const sensitive = await refused(
      w.doctor.records.put(subject, "x", { category: "SUBSTANCE_USE", mediaType: "text/plain" }),
      "SUBSTANCE_USE",
    );
    expect(sensitive.allowed).to.not.include("SUBSTANCE_USE");
    await refused(
      w.doctor.records.put(subject, "x", { category: "NOTES", labels: "GENETICS", mediaType: "text/plain" }),
      "labels",
    );
    await refused(
      w.doctor.records.putBatch(subject, [
        { content: "x", category: "NOTES", mediaType: "text/plain", previous: `0x${"11".repeat(32)}` },
      ]),
      "previous",
    );
    await refused(w.doctor.records.put(subject, 42, { category: "NOTES", mediaType: "text/plain" }), "content");
    await refused(
      w.doctor.records.put(subject, { text: "x" }, { category: "NOTES", mediaType: "text/plain" }),
      "content",
    );
    await refused(w.doctor.records.put(12345, "x", { category: "NOTES", mediaType: "text/plain" }), "12345");
    await refused(w.doctor.records.put("patient-7", "x", { category: "NOTES", mediaType: "text/plain" }), "patient-7");
    await refused(w.doctor.records.put(subject, "x", { category: "NOTES" }), "mediaType");
    await refused(
      w.doctor.records.put(subject, "x", { category: "NOTES", mediaType: "text/plain", previous: 7 }),
      "previous",
    );
    await refused(w.doctor.records.putBatch(subject, "not a list"), "items");
    await refused(records.put(w.doctor.context, null as any), "params");
    await nothingHappened(w, block);
  });

  it("records.get: unknown purposes, wrong-typed record id and reason code", async () => {
    const w = await spied();
    const block = await conn.ethers.provider.getBlockNumber();
    const id = await w.c.doctor.ml.records.put(w.c.subject, "a note to read", {
      category: "NOTES",
      mediaType: "text/plain",
    });
    const after = await conn.ethers.provider.getBlockNumber();
    expect(after).to.equal(block + 1);
    const s = w.c.subject;
    for (const bad of ["TREATMENT", "constructor", "__proto__", "toString"])
      await refused(w.doctor.records.get(s, id, { purpose: bad }), bad);
    await refused(w.doctor.records.get(s, undefined, { purpose: "TREAT" }), "recordId");
    await refused(w.doctor.records.get(s, { id }, { purpose: "TREAT" }), "recordId");
    await refused(w.doctor.records.get(id, undefined, { purpose: "TREAT" }), "recordId");
    await refused(w.doctor.records.get("patient-7", id, { purpose: "TREAT" }), "patient-7");
    await refused(w.doctor.records.get(s, id, { purpose: "ETREAT", emergency: { reasonCode: "urgent" } }), "urgent");
    await refused(w.doctor.records.history(s, 42), "recordId");
    await refused(w.doctor.records.history(42, id), "42");
    await refused(w.doctor.records.erase(s, "0x1234"), "0x1234");
    await refused(w.doctor.records.verify(undefined, id), "subject");
    await nothingHappened(w, after);
  });

  it("consent.grant / signGrant: unknown categories, purposes, actions, roles and effects; ENS names; milliseconds", async () => {
    const w = await spied();
    const block = await conn.ethers.provider.getBlockNumber();
    const s = w.c.subject;
    const doctor = w.c.doctor.wallet.address;
    const base = { grantee: { practitioner: doctor }, categories: ["NOTES"], purposes: ["TREAT"] };
    const cases: [object, string][] = [
      ...NOT_NAMES.map((bad): [object, string] => [{ ...base, categories: [bad] }, bad]),
      [{ ...base, effect: "deny", categories: ["SUBSTANCE_ABUSE"] }, "SUBSTANCE_ABUSE"],
      [{ ...base, purposes: ["TREATMENT"] }, "TREATMENT"],
      [{ ...base, purposes: ["__proto__"] }, "__proto__"],
      [{ ...base, actions: ["WRITE"] }, "WRITE"],
      [{ ...base, effect: "allow" }, "allow"],
      [{ ...base, categories: "NOTES" }, "categories"],
      [{ ...base, categories: [] }, "categories"],
      [{ ...base, grantee: { organization: 1, roles: ["DOCTOR"] } }, "DOCTOR"],
      [{ ...base, grantee: { organization: 1, roles: ["constructor"] } }, "constructor"],
      [{ ...base, grantee: { organization: -1, roles: ["CLINICIAN"] } }, "organization"],
      [{ ...base, grantee: { practitioner: "doctor.eth" } }, "doctor.eth"],
      [{ ...base, grantee: { practitioner: doctor.toLowerCase().replace(/^0x/, "0X") } }, "practitioner"],
      [{ ...base, grantee: {} }, "grantee"],
      [{ ...base, validUntil: Date.now() + 3_600_000 }, "milliseconds"],
      [{ ...base, validFrom: Date.now() }, "milliseconds"],
      [{ ...base, validUntil: 1.5 }, "validUntil"],
      [{ ...base, validFrom: 2_000_000_000, validUntil: 1_900_000_000 }, "validUntil"],
      // Sealed terms: label names, which effect may name what, a refinement within the permit.
      [{ ...base, sealed: { allowLabels: ["SUBSTANCE_ABUSE"] } }, "SUBSTANCE_ABUSE"],
      [{ ...base, sealed: { allowLabels: ["constructor"] } }, "constructor"],
      [{ ...base, sealed: { denyLabels: ["GENETICS"] } }, "denyLabels"],
      [{ ...base, effect: "deny", sealed: { allowLabels: ["GENETICS"] } }, "allowLabels"],
      [{ ...base, effect: "deny", categories: [], sealed: {} }, "categories"],
      [{ ...base, effect: "deny", categories: [] }, "categories"],
      [{ ...base, sealed: { allowLabels: ["GENETICS"], refinement: ["IMAGING"] } }, "refinement"],
      [{ ...base, sealed: { allowLabels: "GENETICS" } }, "allowLabels"],
      [{ ...base, sealed: { labels: ["GENETICS"] } }, "labels"],
      [{ ...base, sealed: "GENETICS" }, "sealed"],
      [{ ...base, categories: ["MENTAL_HEALTH"] }, "MENTAL_HEALTH"],
    ];
    for (const [input, bad] of cases) {
      await refused(w.patient.consent.grant(s, input), bad);
      await refused(w.patient.consent.signGrant(s, input), bad);
    }
    await refused(w.patient.consent.signGrant(s, base, { deadline: Date.now() + 60_000 }), "milliseconds");
    await refused(w.patient.consent.revoke(s, { consentId: 1 }), "consentId");
    await refused(w.patient.consent.relay({ kind: "grant!" }), "grant!");
    await refused(w.patient.consent.setBreakGlassOptOut(s, "yes"), "yes");
    await nothingHappened(w, block);
  });

  it("consent.check: an unknown purpose, category or action is an InvalidInputError, not a TypeError", async () => {
    const w = await spied();
    const q = { accessor: w.c.doctor.wallet.address, subject: w.c.subject, category: "NOTES", purpose: "TREAT" };
    await refused(w.doctor.consent.check({ ...q, purpose: "TREATMENT" }), "TREATMENT");
    await refused(w.doctor.consent.check({ ...q, purpose: "constructor" }), "constructor");
    await refused(w.doctor.consent.check({ ...q, category: "toString" }), "toString");
    await refused(w.doctor.consent.check({ ...q, action: "DELETE" }), "DELETE");
    await refused(w.doctor.consent.check({ ...q, accessor: "doctor.eth" }), "doctor.eth");
    expect((await w.doctor.consent.check(q)).allowed).to.equal(true);
  });

  it("directory and emergency: organization kinds, roles, powers, outcomes, addresses, milliseconds", async () => {
    const w = await spied();
    const block = await conn.ethers.provider.getBlockNumber();
    const key = new Uint8Array(32).fill(7);
    const someone = w.c.relayer.wallet.address;
    for (const bad of ["HOSPTIAL", "NONE", "constructor", "__proto__"])
      await refused(w.governance.directory.admitOrganization(bad, someone, key), bad);
    await refused(w.governance.directory.admitOrganization("LAB", "lab.eth", key), "lab.eth");
    await refused(w.governance.directory.admitOrganization("LAB", someone, new Uint8Array(31)), "encryptionKey");
    const enroll = {
      orgId: w.c.hospital,
      account: someone,
      roles: ["CLINICIAN"],
      credentialValidUntil: 2_000_000_000,
      encryptionKey: key,
    };
    await refused(w.admin.directory.enrollPractitioner({ ...enroll, roles: ["NURSE"] }), "NURSE");
    await refused(w.admin.directory.enrollPractitioner({ ...enroll, roles: ["valueOf"] }), "valueOf");
    await refused(w.admin.directory.enrollPractitioner({ ...enroll, account: "nurse.eth" }), "nurse.eth");
    await refused(
      w.admin.directory.enrollPractitioner({ ...enroll, credentialValidUntil: Date.now() + 1e9 }),
      "milliseconds",
    );
    await refused(w.patient.directory.setGuardian(w.c.subject, someone, ["READ_ALL"]), "READ_ALL");
    await refused(w.patient.directory.setGuardian(w.c.subject, someone, ["__proto__"]), "__proto__");
    await refused(w.patient.directory.registerPatient({ controller: "me.eth", encryptionKey: key }), "me.eth");
    await refused(
      w.patient.directory.registerPatient({ controller: w.c.patient.wallet.address, encryptionKey: key, salt: "0x12" }),
      "salt",
    );
    await refused(w.patient.directory.registerAccountKey("key"), "encryptionKey");
    await refused(w.doctor.emergency.closeReview(1n, "JUSTIFED"), "JUSTIFED");
    await refused(w.doctor.emergency.closeReview(1n, "PENDING"), "PENDING");
    await refused(w.doctor.emergency.closeReview("one", "JUSTIFIED"), "one");
    await nothingHappened(w, block);
  });

  it("the mask helpers look names up as own properties only", () => {
    for (const bad of ["constructor", "toString", "__proto__"]) {
      expect(() => categoryMask([bad] as never)).to.throw(InvalidInputError, bad);
      expect(() => purposeMask([bad] as never)).to.throw(InvalidInputError, bad);
      expect(() => labelMask([bad] as never)).to.throw(InvalidInputError, bad);
    }
    expect(categoryMask(["NOTES", "OTHER"])).to.equal((1 << 8) | (1 << 15));
    expect(() => categoryMask(["GENETICS"] as never)).to.throw(InvalidInputError, "GENETICS");
    expect(labelMask(["GENETICS", "MENTAL_HEALTH"])).to.equal(9);
  });

  it("a refusal decided by the contract says so; one decided client-side says nothing was sent", async () => {
    const w = await networkHelpers.loadFixture(world);
    // (A unique content: the fixture's in-memory journal outlives the chain snapshot it reverts to.)
    const id = await w.c.doctor.ml.records.put(w.c.subject, "refused note", {
      category: "NOTES",
      mediaType: "text/plain",
    });
    const denied = await w.c.payerAgent.ml.records.get(w.c.subject, id, { purpose: "HPAYMT" }).catch((e: unknown) => e);
    expect(denied).to.be.instanceOf(AccessDeniedError);
    expect((denied as AccessDeniedError).decidedBy).to.equal("contract");
    expect((denied as AccessDeniedError).shortMessage).to.match(/^Contract refused/);
    // A client-side refusal (a pre-check of ConsentRegistry.check, as putFhir does) carries no revert data.
    const client = new AccessDeniedError("RecordAnchorDenied", { reason: 1n }, undefined, undefined);
    expect(client.decidedBy).to.equal("client");
    expect(client.shortMessage).to.contain("no transaction");
    expect(client.shortMessage).to.not.match(/reverted/);
  });
});
