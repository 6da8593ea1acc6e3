/**
 * RecordRegistry: record anchors (single versions and Merkle batches), erasure tombstones, the access
 * log, break-glass sessions and their reviews. Every external function, every guard and role, every
 * custom error (with its arguments) and every event (with all of its arguments).
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";
import { network } from "hardhat";

import { DenyReason as SdkDenyReason, ReviewOutcome, categoryMask } from "../../sdk/codes.js";
import type { DenyReasonName } from "../../sdk/codes.js";
import type { ConsentTermsStruct } from "../../types/typechain/ConsentRegistry.js";
import {
  Action,
  Category,
  Effect,
  GranteeKind,
  Power,
  Purpose,
  Role,
  YEAR,
  buildWorld,
  fakeKey,
  grantFromPatient,
  grantHospitalAppend,
  randomId,
  terms,
} from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";

const conn = await network.create();
const { networkHelpers } = conn;

const ZERO = ethersLib.ZeroHash;
const HOURS_4 = 4 * 60 * 60;
const MAX_BATCH = 256;

/** enum DenyReason by value, from the SDK's one list (checked against the compiled AST in test/sdk/codes.test.ts). */
const Reason = Object.fromEntries(SdkDenyReason.map((name, i) => [name, i])) as Record<DenyReasonName, number>;
/** enum AccessBasis. */
const Basis = { NONE: 0, CONSENT: 1, EMERGENCY: 2, SUBJECT: 3 } as const;
/** enum ReviewOutcome. */
const Outcome = ReviewOutcome;

const label = (s: string): string => ethersLib.keccak256(ethersLib.toUtf8Bytes(`record-registry-test:${s}`));
/** bytes32(sessionId), as RecordAccessed.basisId carries it. */
const sessionKey = (id: number | bigint): string => ethersLib.toBeHex(id, 32);

// ───────────────────────── the Merkle batch (built once) ─────────────────────────

const BATCH_CATEGORIES = [Category.OBSERVATIONS, Category.MEDICATIONS, Category.IMAGING] as const;
const BATCH_MASK = categoryMask(["OBSERVATIONS", "MEDICATIONS", "IMAGING"]);
const BATCH_SIZE = 1000;
const BATCH_POINTER = "ipfs://bafybatchmanifest";
type Leaf = [string, number, string];
const LEAVES: Leaf[] = Array.from({ length: BATCH_SIZE }, (_, i): Leaf => [
  label(`leaf-id-${i}`),
  BATCH_CATEGORIES[i % BATCH_CATEGORIES.length]!,
  label(`leaf-digest-${i}`),
]);
const TREE = StandardMerkleTree.of(LEAVES, ["bytes32", "uint8", "bytes32"]);
/** A tree that is never anchored. */
const STRAY_TREE = StandardMerkleTree.of(
  [[label("stray-id"), Category.OBSERVATIONS, label("stray-digest")] as Leaf, LEAVES[0]!],
  ["bytes32", "uint8", "bytes32"],
);
const leaf = (i: number): Leaf => LEAVES[i]!;
const proof = (i: number): string[] => TREE.getProof(i);

// ───────────────────────────── fixture ─────────────────────────────

/** A record version that is about to be (or was) anchored. */
interface Doc {
  id: string;
  digest: string;
  pointer: string;
}

function newDoc(): Doc {
  const digest = randomId();
  return { id: randomId(), digest, pointer: `sha256:${digest.slice(2)}` };
}

interface Ctx {
  w: World;
  /** Controller of `subject2`, a second registered patient. */
  patient2: HardhatEthersSigner;
  subject2: string;
  /** An active PRIVACY_OFFICER of the lab. */
  labOfficer: HardhatEthersSigner;
  /** An active EMERGENCY_RESPONDER of the lab. */
  labResponder: HardhatEthersSigner;
  /** Records of `w.subject` anchored by the patient (custodian 0); no consent exists yet. */
  obs: Doc;
  med: Doc;
  img: Doc;
  mh: Doc;
  /** A record of `subject2`. */
  other: Doc;
}

async function recordRegistryWorld(): Promise<Ctx> {
  const w = await buildWorld(conn);
  const at = (i: number): HardhatEthersSigner => {
    const s = w.signers[i];
    if (s === undefined) throw new Error(`need at least ${i + 1} accounts`);
    return s;
  };
  const patient2 = at(13);
  const labOfficer = at(14);
  const labResponder = at(15);
  const subject2 = label("subject-2");
  await (await w.directory.connect(patient2).registerPatient(subject2, patient2.address, fakeKey("patient2"))).wait();
  const licence = (await w.now()) + 5 * YEAR;
  const lab = w.directory.connect(w.labAdmin);
  await (
    await lab.enrollPractitioner(w.lab, labOfficer.address, Role.PRIVACY_OFFICER, licence, fakeKey("labOfficer"))
  ).wait();
  await (
    await lab.enrollPractitioner(w.lab, labResponder.address, Role.EMERGENCY_RESPONDER, licence, fakeKey("labResp"))
  ).wait();
  const put = async (by: HardhatEthersSigner, subject: string, category: number): Promise<Doc> => {
    const d = newDoc();
    await (await w.records.connect(by).anchorRecord(d.id, subject, category, d.digest, ZERO, d.pointer, ZERO)).wait();
    return d;
  };
  return {
    w,
    patient2,
    subject2,
    labOfficer,
    labResponder,
    obs: await put(w.patient, w.subject, Category.OBSERVATIONS),
    med: await put(w.patient, w.subject, Category.MEDICATIONS),
    img: await put(w.patient, w.subject, Category.IMAGING),
    mh: await put(w.patient, w.subject, Category.MENTAL_HEALTH),
    other: await put(patient2, subject2, Category.OBSERVATIONS),
  };
}

const load = (): Promise<Ctx> => networkHelpers.loadFixture(recordRegistryWorld);

// ───────────────────────────── helpers ─────────────────────────────

function anchorTx(
  w: World,
  by: HardhatEthersSigner,
  d: Doc,
  category: number,
  opts: { subject?: string; previous?: string; hint?: string } = {},
): Promise<ContractTransactionResponse> {
  return w.records
    .connect(by)
    .anchorRecord(
      d.id,
      opts.subject ?? w.subject,
      category,
      d.digest,
      opts.previous ?? ZERO,
      d.pointer,
      opts.hint ?? ZERO,
    );
}

async function mined(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("no receipt");
  return receipt;
}

async function blockTime(receipt: ContractTransactionReceipt): Promise<number> {
  const block = await conn.ethers.provider.getBlock(receipt.blockNumber);
  if (block === null) throw new Error("no block");
  return block.timestamp;
}

async function recordOf(w: World, id: string) {
  const r = await w.records.getRecord(id);
  return {
    subject: r.subject,
    digest: r.digest,
    custodian: Number(r.custodian),
    category: Number(r.category),
    anchoredAt: Number(r.anchoredAt),
    erasedAt: Number(r.erasedAt),
    superseded: r.superseded,
  };
}

async function sessionOf(w: World, id: number) {
  const s = await w.records.getEmergencySession(id);
  return {
    subject: s.subject,
    responder: s.responder,
    orgId: Number(s.orgId),
    purpose: Number(s.purpose),
    reasonCode: Number(s.reasonCode),
    expiresAt: Number(s.expiresAt),
    outcome: Number(s.outcome),
  };
}

interface Accessed {
  recordId: string;
  subject: string;
  accessor: string;
  purpose: number;
  basis: number;
  basisId: string;
}

/** The RecordAccessed events of a receipt, in log order. */
async function accessedIn(w: World, receipt: ContractTransactionReceipt): Promise<Accessed[]> {
  const address = (await w.records.getAddress()).toLowerCase();
  const out: Accessed[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = w.records.interface.parseLog(log);
    if (parsed?.name !== "RecordAccessed") continue;
    out.push({
      recordId: String(parsed.args[0]),
      subject: String(parsed.args[1]),
      accessor: String(parsed.args[2]),
      purpose: Number(parsed.args[3]),
      basis: Number(parsed.args[4]),
      basisId: String(parsed.args[5]),
    });
  }
  return out;
}

/** A permit for the doctor (defaults of terms(): OBSERVATIONS + MEDICATIONS, TREAT, READ). */
function doctorPermit(w: World, overrides: Partial<ConsentTermsStruct> = {}): Promise<string> {
  return grantFromPatient(w, terms({ granteeAccount: w.doctor.address, ...overrides }));
}

/** A deny against `account` (all purposes, READ and APPEND unless overridden). */
function denyAgainst(w: World, account: string, overrides: Partial<ConsentTermsStruct> = {}): Promise<string> {
  return grantFromPatient(
    w,
    terms({
      effect: Effect.DENY,
      granteeAccount: account,
      purposes: 0,
      actions: Action.READ | Action.APPEND,
      ...overrides,
    }),
  );
}

async function expireCredential(w: World, account: string, roles: number): Promise<void> {
  await (await w.directory.connect(w.hospitalAdmin).updatePractitioner(account, roles, (await w.now()) + 100)).wait();
  await networkHelpers.time.increase(200);
}

async function suspendPractitioner(w: World, account: string): Promise<void> {
  await (await w.directory.connect(w.hospitalAdmin).suspendPractitioner(account)).wait();
}

async function suspendHospital(w: World): Promise<void> {
  await (await w.directory.connect(w.governance).suspendOrganization(w.hospital)).wait();
}

// ───────────────────────────── tests ─────────────────────────────

describe("RecordRegistry", () => {
  describe("views and constants", () => {
    it("version, constants and the wired directory and consent registry", async () => {
      const { w } = await load();
      expect(await w.records.version()).to.equal("1.0.0");
      expect(await w.records.MAX_ACCESS_BATCH()).to.equal(256n);
      expect(await w.records.EMERGENCY_SESSION_DURATION()).to.equal(BigInt(HOURS_4));
      expect(await w.records.directory()).to.equal(await w.directory.getAddress());
      expect(await w.records.consentRegistry()).to.equal(await w.consents.getAddress());
      expect(await w.consents.directory()).to.equal(await w.directory.getAddress());
    });

    it("getRecord of an unknown id reverts RecordUnknown", async () => {
      const { w } = await load();
      const id = randomId();
      await expect(w.records.getRecord(id)).to.be.revertedWithCustomError(w.records, "RecordUnknown").withArgs(id);
      await expect(w.records.getRecord(ZERO)).to.be.revertedWithCustomError(w.records, "RecordUnknown").withArgs(ZERO);
    });

    it("getBatch of an unknown root reverts RecordUnknownBatch; pendingReviews of any org starts at 0", async () => {
      const { w } = await load();
      await expect(w.records.getBatch(TREE.root))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownBatch")
        .withArgs(TREE.root);
      expect(await w.records.pendingReviews(w.hospital)).to.equal(0n);
      expect(await w.records.pendingReviews(999)).to.equal(0n);
    });

    it("getEmergencySession of an unknown session reverts ReviewUnknownSession", async () => {
      const { w } = await load();
      for (const id of [0, 1, 99]) {
        await expect(w.records.getEmergencySession(id))
          .to.be.revertedWithCustomError(w.records, "ReviewUnknownSession")
          .withArgs(id);
      }
    });
  });

  // ───────────────────────────── anchorRecord ─────────────────────────────

  describe("anchorRecord", () => {
    it("a hospital clinician with an append consent anchors (hinted): custodian = hospital, consent id in the event", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      const d = newDoc();
      const tx = anchorTx(w, w.doctor, d, Category.IMAGING, { hint: appendId });
      await expect(tx)
        .to.emit(w.records, "RecordAnchored")
        .withArgs(d.id, w.subject, w.hospital, Category.IMAGING, d.digest, ZERO, d.pointer, w.doctor.address, appendId);
      const at = await blockTime(await mined(tx));
      expect(await recordOf(w, d.id)).to.deep.equal({
        subject: w.subject,
        digest: d.digest,
        custodian: w.hospital,
        category: Category.IMAGING,
        anchoredAt: at,
        erasedAt: 0,
        superseded: false,
      });
    });

    it("unhinted: the registry searches and names the append consent it found", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      await doctorPermit(w); // a newer READ-only consent: the search must look past it
      const d = newDoc();
      await expect(anchorTx(w, w.doctor, d, Category.OBSERVATIONS))
        .to.emit(w.records, "RecordAnchored")
        .withArgs(
          d.id,
          w.subject,
          w.hospital,
          Category.OBSERVATIONS,
          d.digest,
          ZERO,
          d.pointer,
          w.doctor.address,
          appendId,
        );
    });

    it("custodian is the anchoring practitioner's organization (a lab clinician anchors with the lab's consent)", async () => {
      const { w } = await load();
      const labAppend = await grantFromPatient(
        w,
        terms({
          granteeKind: GranteeKind.ORG_ROLE,
          granteeOrg: w.lab,
          granteeRoles: Role.CLINICIAN,
          categories: categoryMask(["OBSERVATIONS"]),
          actions: Action.APPEND,
        }),
      );
      const d = newDoc();
      await expect(anchorTx(w, w.labTech, d, Category.OBSERVATIONS, { hint: labAppend }))
        .to.emit(w.records, "RecordAnchored")
        .withArgs(
          d.id,
          w.subject,
          w.lab,
          Category.OBSERVATIONS,
          d.digest,
          ZERO,
          d.pointer,
          w.labTech.address,
          labAppend,
        );
      expect((await recordOf(w, d.id)).custodian).to.equal(w.lab);
    });

    it("the patient (controller) anchors without consent: custodian 0, consentId 0 (any category, up to 31)", async () => {
      const { w } = await load();
      const d = newDoc();
      await expect(anchorTx(w, w.patient, d, Category.GENETICS))
        .to.emit(w.records, "RecordAnchored")
        .withArgs(d.id, w.subject, 0, Category.GENETICS, d.digest, ZERO, d.pointer, w.patient.address, ZERO);
      expect((await recordOf(w, d.id)).custodian).to.equal(0);
      const d31 = newDoc();
      await expect(anchorTx(w, w.patient, d31, 31))
        .to.emit(w.records, "RecordAnchored")
        .withArgs(d31.id, w.subject, 0, 31, d31.digest, ZERO, d31.pointer, w.patient.address, ZERO);
    });

    it("a guardian anchors only with the ACCESS power", async () => {
      const { w } = await load();
      const d = newDoc();
      await expect(anchorTx(w, w.guardian, d, Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.guardian.address, Category.OBSERVATIONS, Reason.ACCESSOR_UNKNOWN, ZERO);
      await (
        await w.directory
          .connect(w.patient)
          .setGuardian(w.subject, w.guardian.address, Power.GRANT | Power.REVOKE | Power.ACCESS, 0)
      ).wait();
      await expect(anchorTx(w, w.guardian, d, Category.OBSERVATIONS))
        .to.emit(w.records, "RecordAnchored")
        .withArgs(d.id, w.subject, 0, Category.OBSERVATIONS, d.digest, ZERO, d.pointer, w.guardian.address, ZERO);
    });

    it("refused without any consent (payer, stranger, another subject's controller): NO_CONSENT / ACCESSOR_UNKNOWN", async () => {
      const { w, patient2 } = await load();
      const appendId = await grantHospitalAppend(w);
      await expect(anchorTx(w, w.payerAgent, newDoc(), Category.FINANCIAL))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.payerAgent.address, Category.FINANCIAL, Reason.NO_CONSENT, ZERO);
      // the hospital's consent is for its clinicians, not the lab's
      await expect(anchorTx(w, w.labTech, newDoc(), Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.labTech.address, Category.OBSERVATIONS, Reason.NO_CONSENT, ZERO);
      await expect(anchorTx(w, w.labTech, newDoc(), Category.OBSERVATIONS, { hint: appendId }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.labTech.address, Category.OBSERVATIONS, Reason.GRANTEE_MISMATCH, appendId);
      // nor for the hospital's emergency responder
      await expect(anchorTx(w, w.responder, newDoc(), Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.responder.address, Category.OBSERVATIONS, Reason.NO_CONSENT, ZERO);
      await expect(anchorTx(w, w.stranger, newDoc(), Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.stranger.address, Category.OBSERVATIONS, Reason.ACCESSOR_UNKNOWN, ZERO);
      await expect(anchorTx(w, patient2, newDoc(), Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, patient2.address, Category.OBSERVATIONS, Reason.ACCESSOR_UNKNOWN, ZERO);
    });

    it("refused with a READ-only consent: ACTION_NOT_ALLOWED naming it (hinted and unhinted)", async () => {
      const { w } = await load();
      const readOnly = await doctorPermit(w);
      for (const hint of [readOnly, ZERO]) {
        await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint }))
          .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
          .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.ACTION_NOT_ALLOWED, readOnly);
      }
    });

    it("refused for a category the append consent does not cover: CATEGORY_NOT_COVERED", async () => {
      const { w } = await load();
      const appendObs = await doctorPermit(w, { categories: categoryMask(["OBSERVATIONS"]), actions: Action.APPEND });
      await (await anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendObs })).wait();
      await expect(anchorTx(w, w.doctor, newDoc(), Category.MENTAL_HEALTH, { hint: appendObs }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.MENTAL_HEALTH, Reason.CATEGORY_NOT_COVERED, appendObs);
    });

    it("refused for a suspended practitioner, a suspended organization and an expired credential", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      const id = await networkHelpers.takeSnapshot();

      await suspendPractitioner(w, w.doctor.address);
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendId }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.ACCESSOR_SUSPENDED, ZERO);
      await id.restore();

      await suspendHospital(w);
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendId }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.ORGANIZATION_SUSPENDED, ZERO);
      await id.restore();

      await expireCredential(w, w.doctor.address, Role.CLINICIAN);
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendId }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.CREDENTIAL_EXPIRED, ZERO);
      await id.restore();

      // and the same consent works once nothing is wrong
      await (await anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendId })).wait();
    });

    it("a deny covering APPEND beats the append permit, even when the permit is hinted", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      // a READ-only deny does not stop anchoring
      const readDeny = await denyAgainst(w, w.doctor.address, { actions: Action.READ });
      await (await anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendId })).wait();
      const appendDeny = await denyAgainst(w, w.doctor.address, {
        categories: categoryMask(["OBSERVATIONS"]),
        actions: Action.APPEND,
      });
      expect(appendDeny).to.not.equal(readDeny);
      for (const hint of [appendId, ZERO]) {
        await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint }))
          .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
          .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.DENIED_BY_SUBJECT, appendDeny);
      }
      // the deny is scoped: other categories still anchor
      await (await anchorTx(w, w.doctor, newDoc(), Category.MEDICATIONS, { hint: appendId })).wait();
    });

    it("an unknown subject reverts RecordUnknownSubject", async () => {
      const { w } = await load();
      await grantHospitalAppend(w);
      const ghost = randomId();
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { subject: ghost }))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownSubject")
        .withArgs(ghost);
      await expect(anchorTx(w, w.patient, newDoc(), Category.OBSERVATIONS, { subject: ZERO }))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownSubject")
        .withArgs(ZERO);
    });

    it("a zero record id or digest reverts RecordZeroValue", async () => {
      const { w } = await load();
      const d = newDoc();
      await expect(anchorTx(w, w.patient, { ...d, id: ZERO }, Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordZeroValue")
        .withArgs("recordId");
      await expect(anchorTx(w, w.patient, { ...d, digest: ZERO }, Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordZeroValue")
        .withArgs("digest");
    });

    it("a category above 31 reverts RecordInvalidCategory (even for the subject)", async () => {
      const { w } = await load();
      await grantHospitalAppend(w); // covers every bit, 0..31
      for (const category of [32, 255]) {
        await expect(anchorTx(w, w.patient, newDoc(), category))
          .to.be.revertedWithCustomError(w.records, "RecordInvalidCategory")
          .withArgs(category);
        await expect(anchorTx(w, w.doctor, newDoc(), category))
          .to.be.revertedWithCustomError(w.records, "RecordInvalidCategory")
          .withArgs(category);
      }
      await (await anchorTx(w, w.doctor, newDoc(), 31)).wait();
    });

    it("a record id is never reused: RecordExists (also across anchoring parties)", async () => {
      const { w, obs } = await load();
      const appendId = await grantHospitalAppend(w);
      await expect(anchorTx(w, w.patient, { ...newDoc(), id: obs.id }, Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordExists")
        .withArgs(obs.id);
      await expect(anchorTx(w, w.doctor, { ...newDoc(), id: obs.id }, Category.MEDICATIONS, { hint: appendId }))
        .to.be.revertedWithCustomError(w.records, "RecordExists")
        .withArgs(obs.id);
      expect((await recordOf(w, obs.id)).digest).to.equal(obs.digest);
    });

    describe("versions", () => {
      it("a new version supersedes its previous one, which stays readable and accessible as history", async () => {
        const { w } = await load();
        const appendId = await grantHospitalAppend(w);
        const v1 = newDoc();
        const r1 = await mined(anchorTx(w, w.doctor, v1, Category.OBSERVATIONS, { hint: appendId }));
        const v2 = newDoc();
        await expect(anchorTx(w, w.doctor, v2, Category.OBSERVATIONS, { previous: v1.id, hint: appendId }))
          .to.emit(w.records, "RecordAnchored")
          .withArgs(
            v2.id,
            w.subject,
            w.hospital,
            Category.OBSERVATIONS,
            v2.digest,
            v1.id,
            v2.pointer,
            w.doctor.address,
            appendId,
          );
        expect(await recordOf(w, v1.id)).to.deep.equal({
          subject: w.subject,
          digest: v1.digest,
          custodian: w.hospital,
          category: Category.OBSERVATIONS,
          anchoredAt: await blockTime(r1),
          erasedAt: 0,
          superseded: true,
        });
        expect((await recordOf(w, v2.id)).superseded).to.equal(false);
        // history stays accessible
        await expect(w.records.connect(w.doctor).access(v1.id, Purpose.TREAT, appendId))
          .to.emit(w.records, "RecordAccessed")
          .withArgs(v1.id, w.subject, w.doctor.address, Purpose.TREAT, Basis.CONSENT, appendId);
        // the patient may continue the chain too
        const v3 = newDoc();
        await expect(anchorTx(w, w.patient, v3, Category.OBSERVATIONS, { previous: v2.id }))
          .to.emit(w.records, "RecordAnchored")
          .withArgs(v3.id, w.subject, 0, Category.OBSERVATIONS, v3.digest, v2.id, v3.pointer, w.patient.address, ZERO);
        expect((await recordOf(w, v2.id)).superseded).to.equal(true);
      });

      it("chains never fork: a superseded version cannot get a second successor (RecordAlreadySuperseded)", async () => {
        const { w, obs } = await load();
        await (await anchorTx(w, w.patient, newDoc(), Category.OBSERVATIONS, { previous: obs.id })).wait();
        const fork = newDoc();
        await expect(anchorTx(w, w.patient, fork, Category.OBSERVATIONS, { previous: obs.id }))
          .to.be.revertedWithCustomError(w.records, "RecordAlreadySuperseded")
          .withArgs(obs.id);
        await expect(w.records.getRecord(fork.id)).to.be.revertedWithCustomError(w.records, "RecordUnknown");
      });

      it("the previous version must exist (RecordUnknown)", async () => {
        const { w } = await load();
        const ghost = randomId();
        const d = newDoc();
        await expect(anchorTx(w, w.patient, d, Category.OBSERVATIONS, { previous: ghost }))
          .to.be.revertedWithCustomError(w.records, "RecordUnknown")
          .withArgs(ghost);
        await expect(w.records.getRecord(d.id)).to.be.revertedWithCustomError(w.records, "RecordUnknown");
      });

      it("the previous version must belong to the same subject (RecordSubjectMismatch)", async () => {
        const { w, other, subject2 } = await load();
        await grantHospitalAppend(w);
        // `other` belongs to subject2; the new version is for w.subject. As documented for
        // BreakGlassMixedSubjects, `actual` is the subject the named record belongs to and `expected`
        // the one the call is about.
        await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { previous: other.id }))
          .to.be.revertedWithCustomError(w.records, "RecordSubjectMismatch")
          .withArgs(other.id, w.subject, subject2);
        expect((await recordOf(w, other.id)).superseded).to.equal(false);
      });

      it("an erased version cannot be superseded (RecordIsErased)", async () => {
        const { w, obs } = await load();
        const erased = await mined(w.records.connect(w.patient).eraseRecord(obs.id));
        await expect(anchorTx(w, w.patient, newDoc(), Category.OBSERVATIONS, { previous: obs.id }))
          .to.be.revertedWithCustomError(w.records, "RecordIsErased")
          .withArgs(obs.id, await blockTime(erased));
      });
    });
  });

  // ───────────────────────── anchorBatch / proveRecord / verifyBatchMember ─────────────────────────

  describe("Merkle batches", () => {
    async function anchoredBatch(): Promise<Ctx & { appendId: string; anchoredAt: number }> {
      const ctx = await load();
      const appendId = await grantHospitalAppend(ctx.w);
      const receipt = await mined(
        ctx.w.records
          .connect(ctx.w.doctor)
          .anchorBatch(ctx.w.subject, TREE.root, BATCH_SIZE, BATCH_MASK, BATCH_POINTER, appendId),
      );
      return { ...ctx, appendId, anchoredAt: await blockTime(receipt) };
    }

    it("anchors a 1,000-leaf root: BatchAnchored and getBatch", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      const tx = w.records
        .connect(w.doctor)
        .anchorBatch(w.subject, TREE.root, BATCH_SIZE, BATCH_MASK, BATCH_POINTER, appendId);
      await expect(tx)
        .to.emit(w.records, "BatchAnchored")
        .withArgs(TREE.root, w.subject, w.hospital, BATCH_SIZE, BATCH_MASK, BATCH_POINTER, w.doctor.address);
      const at = await blockTime(await mined(tx));
      const b = await w.records.getBatch(TREE.root);
      expect([
        b.subject,
        Number(b.custodian),
        Number(b.count),
        Number(b.categories),
        Number(b.anchoredAt),
      ]).to.deep.equal([w.subject, w.hospital, BATCH_SIZE, BATCH_MASK, at]);
    });

    it("the subject may anchor a batch (custodian 0), unhinted", async () => {
      const { w } = await load();
      await expect(w.records.connect(w.patient).anchorBatch(w.subject, TREE.root, BATCH_SIZE, BATCH_MASK, "p", ZERO))
        .to.emit(w.records, "BatchAnchored")
        .withArgs(TREE.root, w.subject, 0, BATCH_SIZE, BATCH_MASK, "p", w.patient.address);
      expect(Number((await w.records.getBatch(TREE.root)).custodian)).to.equal(0);
    });

    it("proves members (anyone may relay): RecordProven, anchor state from the batch, then access", async () => {
      const { w, appendId, anchoredAt } = await anchoredBatch();
      const picks = [0, 1, 2, 500, 999];
      for (const i of picks) {
        const [id, category, digest] = leaf(i);
        expect(await w.records.verifyBatchMember(TREE.root, id, category, digest, proof(i))).to.equal(true);
        await expect(w.records.connect(w.relayer).proveRecord(TREE.root, id, category, digest, proof(i)))
          .to.emit(w.records, "RecordProven")
          .withArgs(id, TREE.root, w.subject, category, digest);
        expect(await recordOf(w, id)).to.deep.equal({
          subject: w.subject,
          digest,
          custodian: w.hospital,
          category,
          anchoredAt,
          erasedAt: 0,
          superseded: false,
        });
      }
      const ids = picks.map((i) => leaf(i)[0]);
      const receipt = await mined(w.records.connect(w.doctor).accessBatch(ids, Purpose.TREAT, appendId));
      expect(await accessedIn(w, receipt)).to.deep.equal(
        ids.map((recordId) => ({
          recordId,
          subject: w.subject,
          accessor: w.doctor.address,
          purpose: Purpose.TREAT,
          basis: Basis.CONSENT,
          basisId: appendId,
        })),
      );
    });

    it("a member that is not yet proven is unknown: getRecord RecordUnknown, access RECORD_UNKNOWN", async () => {
      const { w, appendId } = await anchoredBatch();
      const [id] = leaf(7);
      await expect(w.records.getRecord(id)).to.be.revertedWithCustomError(w.records, "RecordUnknown").withArgs(id);
      await expect(w.records.connect(w.doctor).access(id, Purpose.TREAT, appendId))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(id, w.doctor.address, Reason.RECORD_UNKNOWN, ZERO);
    });

    it("a proven member has its own state: it can be superseded and erased", async () => {
      const { w, appendId } = await anchoredBatch();
      const [id, category, digest] = leaf(3);
      await (await w.records.proveRecord(TREE.root, id, category, digest, proof(3))).wait();
      const v2 = newDoc();
      await expect(anchorTx(w, w.doctor, v2, category, { previous: id, hint: appendId }))
        .to.emit(w.records, "RecordAnchored")
        .withArgs(v2.id, w.subject, w.hospital, category, v2.digest, id, v2.pointer, w.doctor.address, appendId);
      expect((await recordOf(w, id)).superseded).to.equal(true);
      await expect(w.records.connect(w.patient).eraseRecord(id))
        .to.emit(w.records, "RecordErased")
        .withArgs(id, w.subject, w.patient.address);
    });

    it("anchorBatch: zero root, count 0 and an empty category mask are refused", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      const batch = w.records.connect(w.doctor);
      await expect(batch.anchorBatch(w.subject, ZERO, BATCH_SIZE, BATCH_MASK, "p", appendId))
        .to.be.revertedWithCustomError(w.records, "RecordZeroValue")
        .withArgs("root");
      await expect(batch.anchorBatch(w.subject, TREE.root, 0, BATCH_MASK, "p", appendId))
        .to.be.revertedWithCustomError(w.records, "RecordInvalidBatch")
        .withArgs("count");
      await expect(batch.anchorBatch(w.subject, TREE.root, BATCH_SIZE, 0, "p", appendId))
        .to.be.revertedWithCustomError(w.records, "RecordInvalidBatch")
        .withArgs("categories");
      // count 1 is enough
      await (await batch.anchorBatch(w.subject, TREE.root, 1, BATCH_MASK, "p", appendId)).wait();
    });

    it("anchorBatch: a root is anchored once (RecordBatchExists), whoever tries again", async () => {
      const { w } = await anchoredBatch();
      await expect(w.records.connect(w.patient).anchorBatch(w.subject, TREE.root, 1, BATCH_MASK, "again", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordBatchExists")
        .withArgs(TREE.root);
    });

    it("anchorBatch: every category of the mask needs the caller's APPEND (RecordAnchorDenied names the first gap)", async () => {
      const { w } = await load();
      const obsMed = await doctorPermit(w, {
        categories: categoryMask(["OBSERVATIONS", "MEDICATIONS"]),
        actions: Action.APPEND,
      });
      await expect(w.records.connect(w.doctor).anchorBatch(w.subject, TREE.root, BATCH_SIZE, BATCH_MASK, "p", obsMed))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.IMAGING, Reason.CATEGORY_NOT_COVERED, obsMed);
      // a category above the covered ones, too
      const mask = categoryMask(["OBSERVATIONS", "GENETICS"]);
      await expect(w.records.connect(w.doctor).anchorBatch(w.subject, TREE.root, BATCH_SIZE, mask, "p", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.GENETICS, Reason.CATEGORY_NOT_COVERED, obsMed);
      // the covered subset works
      const covered = categoryMask(["OBSERVATIONS", "MEDICATIONS"]);
      await expect(w.records.connect(w.doctor).anchorBatch(w.subject, TREE.root, BATCH_SIZE, covered, "p", obsMed))
        .to.emit(w.records, "BatchAnchored")
        .withArgs(TREE.root, w.subject, w.hospital, BATCH_SIZE, covered, "p", w.doctor.address);
    });

    it("anchorBatch: refused without consent (payer, stranger), for an unknown subject, and for a suspended practitioner", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      await expect(w.records.connect(w.payerAgent).anchorBatch(w.subject, TREE.root, 1, BATCH_MASK, "p", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.payerAgent.address, Category.OBSERVATIONS, Reason.NO_CONSENT, ZERO);
      await expect(w.records.connect(w.stranger).anchorBatch(w.subject, TREE.root, 1, BATCH_MASK, "p", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.stranger.address, Category.OBSERVATIONS, Reason.ACCESSOR_UNKNOWN, ZERO);
      const ghost = randomId();
      await expect(w.records.connect(w.doctor).anchorBatch(ghost, TREE.root, 1, BATCH_MASK, "p", appendId))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownSubject")
        .withArgs(ghost);
      await suspendPractitioner(w, w.doctor.address);
      await expect(w.records.connect(w.doctor).anchorBatch(w.subject, TREE.root, 1, BATCH_MASK, "p", appendId))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.ACCESSOR_SUSPENDED, ZERO);
    });

    it("proveRecord: unknown batch (RecordUnknownBatch)", async () => {
      const { w } = await load();
      const [id, category, digest] = leaf(0);
      await expect(w.records.proveRecord(TREE.root, id, category, digest, proof(0)))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownBatch")
        .withArgs(TREE.root);
      await expect(w.records.proveRecord(STRAY_TREE.root, id, category, digest, STRAY_TREE.getProof(1)))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownBatch")
        .withArgs(STRAY_TREE.root);
    });

    it("proveRecord: a wrong proof, a tampered digest, a swapped id or a wrong in-batch category is RecordInvalidProof", async () => {
      const { w } = await anchoredBatch();
      const [id, category, digest] = leaf(0); // OBSERVATIONS
      await expect(w.records.proveRecord(TREE.root, id, category, digest, proof(1)))
        .to.be.revertedWithCustomError(w.records, "RecordInvalidProof")
        .withArgs(TREE.root, id);
      await expect(w.records.proveRecord(TREE.root, id, category, digest, []))
        .to.be.revertedWithCustomError(w.records, "RecordInvalidProof")
        .withArgs(TREE.root, id);
      const tampered = ethersLib.toBeHex(BigInt(digest) ^ 1n, 32);
      await expect(w.records.proveRecord(TREE.root, id, category, tampered, proof(0)))
        .to.be.revertedWithCustomError(w.records, "RecordInvalidProof")
        .withArgs(TREE.root, id);
      const [id1] = leaf(1);
      await expect(w.records.proveRecord(TREE.root, id1, category, digest, proof(0)))
        .to.be.revertedWithCustomError(w.records, "RecordInvalidProof")
        .withArgs(TREE.root, id1);
      await expect(w.records.proveRecord(TREE.root, id, Category.MEDICATIONS, digest, proof(0)))
        .to.be.revertedWithCustomError(w.records, "RecordInvalidProof")
        .withArgs(TREE.root, id);
      await expect(w.records.getRecord(id)).to.be.revertedWithCustomError(w.records, "RecordUnknown");
    });

    it("proveRecord: a category outside the batch's mask is RecordCategoryOutsideBatch (also > 31)", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      // a tree whose leaf claims MENTAL_HEALTH, anchored for OBSERVATIONS only
      const sneaky: Leaf[] = [
        [label("sneaky-0"), Category.OBSERVATIONS, label("sneaky-d0")],
        [label("sneaky-1"), Category.MENTAL_HEALTH, label("sneaky-d1")],
      ];
      const t = StandardMerkleTree.of(sneaky, ["bytes32", "uint8", "bytes32"]);
      await (
        await w.records
          .connect(w.doctor)
          .anchorBatch(w.subject, t.root, 2, categoryMask(["OBSERVATIONS"]), "p", appendId)
      ).wait();
      const [id1, cat1, digest1] = sneaky[1]!;
      await expect(w.records.proveRecord(t.root, id1, cat1, digest1, t.getProof(1)))
        .to.be.revertedWithCustomError(w.records, "RecordCategoryOutsideBatch")
        .withArgs(t.root, Category.MENTAL_HEALTH);
      for (const category of [32, 255]) {
        await expect(w.records.proveRecord(t.root, id1, category, digest1, t.getProof(1)))
          .to.be.revertedWithCustomError(w.records, "RecordCategoryOutsideBatch")
          .withArgs(t.root, category);
      }
      const [id0, cat0, digest0] = sneaky[0]!;
      await expect(w.records.proveRecord(t.root, id0, cat0, digest0, t.getProof(0)))
        .to.emit(w.records, "RecordProven")
        .withArgs(id0, t.root, w.subject, cat0, digest0);
    });

    it("proveRecord: the same member twice, or a member whose id is already anchored, is RecordExists", async () => {
      const { w, appendId } = await anchoredBatch();
      const [id, category, digest] = leaf(10);
      await (await w.records.proveRecord(TREE.root, id, category, digest, proof(10))).wait();
      await expect(w.records.connect(w.stranger).proveRecord(TREE.root, id, category, digest, proof(10)))
        .to.be.revertedWithCustomError(w.records, "RecordExists")
        .withArgs(id);
      // an id anchored individually first cannot be "proven" over it
      const [id11, category11, digest11] = leaf(11);
      await (
        await anchorTx(w, w.doctor, { id: id11, digest: randomId(), pointer: "x" }, category11, { hint: appendId })
      ).wait();
      await expect(w.records.proveRecord(TREE.root, id11, category11, digest11, proof(11)))
        .to.be.revertedWithCustomError(w.records, "RecordExists")
        .withArgs(id11);
    });

    it("proveRecord: a zero id or digest is RecordZeroValue", async () => {
      const { w } = await anchoredBatch();
      const [id, category, digest] = leaf(0);
      await expect(w.records.proveRecord(TREE.root, ZERO, category, digest, proof(0)))
        .to.be.revertedWithCustomError(w.records, "RecordZeroValue")
        .withArgs("recordId");
      await expect(w.records.proveRecord(TREE.root, id, category, ZERO, proof(0)))
        .to.be.revertedWithCustomError(w.records, "RecordZeroValue")
        .withArgs("digest");
    });

    it("verifyBatchMember: true for a member, false for a wrong proof/digest/category/id or an unanchored root", async () => {
      const { w } = await anchoredBatch();
      const [id, category, digest] = leaf(998);
      const v = (r: string, i: string, c: number, d: string, p: string[]) => w.records.verifyBatchMember(r, i, c, d, p);
      expect(await v(TREE.root, id, category, digest, proof(998))).to.equal(true);
      expect(await v(TREE.root, id, category, digest, proof(997))).to.equal(false);
      expect(await v(TREE.root, id, category, label("other"), proof(998))).to.equal(false);
      expect(await v(TREE.root, id, (category + 1) % 32, digest, proof(998))).to.equal(false);
      expect(await v(TREE.root, label("other"), category, digest, proof(998))).to.equal(false);
      // a valid proof against a root that was never anchored
      const [sid, scat, sdig] = [label("stray-id"), Category.OBSERVATIONS, label("stray-digest")];
      expect(STRAY_TREE.verify(0, STRAY_TREE.getProof(0))).to.equal(true);
      expect(await v(STRAY_TREE.root, sid, scat, sdig, STRAY_TREE.getProof(0))).to.equal(false);
      // proving does not change membership
      await (await w.records.proveRecord(TREE.root, id, category, digest, proof(998))).wait();
      expect(await v(TREE.root, id, category, digest, proof(998))).to.equal(true);
    });
  });

  // ───────────────────────────── eraseRecord ─────────────────────────────

  describe("eraseRecord", () => {
    it("the controller tombstones a record: RecordErased; getRecord keeps the digest; access is refused", async () => {
      const { w, obs, med } = await load();
      const permit = await doctorPermit(w);
      const before = await recordOf(w, obs.id);
      const tx = w.records.connect(w.patient).eraseRecord(obs.id);
      await expect(tx).to.emit(w.records, "RecordErased").withArgs(obs.id, w.subject, w.patient.address);
      const erasedAt = await blockTime(await mined(tx));
      expect(await recordOf(w, obs.id)).to.deep.equal({ ...before, digest: obs.digest, erasedAt });
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.doctor.address, Reason.RECORD_ERASED, ZERO);
      await expect(w.records.connect(w.patient).access(obs.id, Purpose.PATRQT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.patient.address, Reason.RECORD_ERASED, ZERO);
      // other records of the subject are untouched
      await expect(w.records.connect(w.doctor).access(med.id, Purpose.TREAT, permit))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(med.id, w.subject, w.doctor.address, Purpose.TREAT, Basis.CONSENT, permit);
    });

    it("erasing twice is RecordIsErased with the first erasure time", async () => {
      const { w, obs } = await load();
      const erasedAt = await blockTime(await mined(w.records.connect(w.patient).eraseRecord(obs.id)));
      await expect(w.records.connect(w.patient).eraseRecord(obs.id))
        .to.be.revertedWithCustomError(w.records, "RecordIsErased")
        .withArgs(obs.id, erasedAt);
    });

    it("a guardian without ERASE is refused; appointed with ERASE it erases", async () => {
      const { w, obs, med } = await load();
      await expect(w.records.connect(w.guardian).eraseRecord(obs.id))
        .to.be.revertedWithCustomError(w.records, "RecordEraseUnauthorized")
        .withArgs(w.subject, w.guardian.address);
      await (
        await w.directory
          .connect(w.patient)
          .setGuardian(w.subject, w.guardian.address, Power.GRANT | Power.REVOKE | Power.RECOVER | Power.ERASE, 0)
      ).wait();
      await expect(w.records.connect(w.guardian).eraseRecord(obs.id))
        .to.emit(w.records, "RecordErased")
        .withArgs(obs.id, w.subject, w.guardian.address);
      // an expired ERASE guardianship no longer counts
      await (
        await w.directory
          .connect(w.patient)
          .setGuardian(w.subject, w.guardian.address, Power.ERASE, (await w.now()) + 100)
      ).wait();
      await networkHelpers.time.increase(200);
      await expect(w.records.connect(w.guardian).eraseRecord(med.id))
        .to.be.revertedWithCustomError(w.records, "RecordEraseUnauthorized")
        .withArgs(w.subject, w.guardian.address);
    });

    it("a stranger, the custodian clinician and another subject's controller cannot erase", async () => {
      const { w, obs, patient2, other } = await load();
      const appendId = await grantHospitalAppend(w);
      const mine = newDoc();
      await (await anchorTx(w, w.doctor, mine, Category.OBSERVATIONS, { hint: appendId })).wait();
      for (const [who, id] of [
        [w.stranger, obs.id],
        [w.doctor, mine.id],
        [w.hospitalAdmin, mine.id],
        [patient2, obs.id],
      ] as [HardhatEthersSigner, string][]) {
        await expect(w.records.connect(who).eraseRecord(id))
          .to.be.revertedWithCustomError(w.records, "RecordEraseUnauthorized")
          .withArgs(w.subject, who.address);
      }
      // patient2 erases their own
      await expect(w.records.connect(patient2).eraseRecord(other.id)).to.emit(w.records, "RecordErased");
    });

    it("an unknown record is RecordUnknown", async () => {
      const { w } = await load();
      const ghost = randomId();
      await expect(w.records.connect(w.patient).eraseRecord(ghost))
        .to.be.revertedWithCustomError(w.records, "RecordUnknown")
        .withArgs(ghost);
    });
  });

  // ───────────────────────────── access ─────────────────────────────

  describe("access", () => {
    it("allowed by a consent: basis CONSENT, basisId = the consent id (hinted and unhinted)", async () => {
      const { w, obs, med } = await load();
      const permit = await doctorPermit(w);
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, permit))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(obs.id, w.subject, w.doctor.address, Purpose.TREAT, Basis.CONSENT, permit);
      await expect(w.records.connect(w.doctor).access(med.id, Purpose.TREAT, ZERO))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(med.id, w.subject, w.doctor.address, Purpose.TREAT, Basis.CONSENT, permit);
    });

    it("an organization-role consent covers its clinicians; a wrong hint falls back to the consent that covers", async () => {
      const { w, img } = await load();
      const labPermit = await grantFromPatient(w, terms({ granteeAccount: w.labTech.address }));
      const hospital = await grantHospitalAppend(w);
      await expect(w.records.connect(w.doctor).access(img.id, Purpose.TREAT, labPermit))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(img.id, w.subject, w.doctor.address, Purpose.TREAT, Basis.CONSENT, hospital);
    });

    it("the subject (and a guardian with ACCESS) reads without consent: basis SUBJECT, basisId 0", async () => {
      const { w, mh } = await load();
      await expect(w.records.connect(w.patient).access(mh.id, Purpose.PATRQT, ZERO))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(mh.id, w.subject, w.patient.address, Purpose.PATRQT, Basis.SUBJECT, ZERO);
      await expect(w.records.connect(w.guardian).access(mh.id, Purpose.PATRQT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(mh.id, w.guardian.address, Reason.ACCESSOR_UNKNOWN, ZERO);
      await (await w.directory.connect(w.patient).setGuardian(w.subject, w.guardian.address, Power.ACCESS, 0)).wait();
      await expect(w.records.connect(w.guardian).access(mh.id, Purpose.TREAT, ZERO))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(mh.id, w.subject, w.guardian.address, Purpose.TREAT, Basis.SUBJECT, ZERO);
    });

    it("NO_CONSENT: a payer with no consent", async () => {
      const { w, obs } = await load();
      await doctorPermit(w); // someone else's consent does not help
      await expect(w.records.connect(w.payerAgent).access(obs.id, Purpose.HPAYMT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.payerAgent.address, Reason.NO_CONSENT, ZERO);
    });

    it("CONSENT_REVOKED, and revocation is immediate (next transaction)", async () => {
      const { w, obs } = await load();
      const permit = await doctorPermit(w);
      await (await w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, permit)).wait();
      await (await w.consents.connect(w.patient).revoke(w.subject, permit)).wait();
      for (const hint of [permit, ZERO]) {
        await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, hint))
          .to.be.revertedWithCustomError(w.records, "AccessDenied")
          .withArgs(obs.id, w.doctor.address, Reason.CONSENT_REVOKED, permit);
      }
    });

    it("CONSENT_EXPIRED after its validUntil (time travel)", async () => {
      const { w, obs } = await load();
      const until = (await w.now()) + 1000;
      const permit = await doctorPermit(w, { validUntil: until });
      await (await w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, permit)).wait();
      await networkHelpers.time.setNextBlockTimestamp(until);
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.doctor.address, Reason.CONSENT_EXPIRED, permit);
    });

    it("CONSENT_NOT_YET_VALID before its validFrom, allowed from then on", async () => {
      const { w, obs } = await load();
      const from = (await w.now()) + 1000;
      const permit = await doctorPermit(w, { validFrom: from });
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.doctor.address, Reason.CONSENT_NOT_YET_VALID, permit);
      await networkHelpers.time.setNextBlockTimestamp(from);
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, permit))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(obs.id, w.subject, w.doctor.address, Purpose.TREAT, Basis.CONSENT, permit);
    });

    it("CATEGORY_NOT_COVERED: a record outside the consent's categories", async () => {
      const { w, mh } = await load();
      const permit = await doctorPermit(w);
      for (const hint of [permit, ZERO]) {
        await expect(w.records.connect(w.doctor).access(mh.id, Purpose.TREAT, hint))
          .to.be.revertedWithCustomError(w.records, "AccessDenied")
          .withArgs(mh.id, w.doctor.address, Reason.CATEGORY_NOT_COVERED, permit);
      }
    });

    it("PURPOSE_NOT_ALLOWED and ACTION_NOT_ALLOWED (an append-only consent does not let one read)", async () => {
      const { w, obs, img } = await load();
      const permit = await doctorPermit(w);
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.HPAYMT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.doctor.address, Reason.PURPOSE_NOT_ALLOWED, permit);
      const appendOnly = await doctorPermit(w, { categories: categoryMask(["IMAGING"]), actions: Action.APPEND });
      await expect(w.records.connect(w.doctor).access(img.id, Purpose.TREAT, appendOnly))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(img.id, w.doctor.address, Reason.ACTION_NOT_ALLOWED, appendOnly);
    });

    it("GRANTEE_MISMATCH: hinting another grantee's consent with no consent of one's own", async () => {
      const { w, obs } = await load();
      const labPermit = await grantFromPatient(w, terms({ granteeAccount: w.labTech.address }));
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, labPermit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.doctor.address, Reason.GRANTEE_MISMATCH, labPermit);
      // the grantee itself reads with it
      await expect(w.records.connect(w.labTech).access(obs.id, Purpose.TREAT, labPermit))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(obs.id, w.subject, w.labTech.address, Purpose.TREAT, Basis.CONSENT, labPermit);
    });

    it("DENIED_BY_SUBJECT: a deny beats a permit, also a hinted one; the deny is scoped to its categories", async () => {
      const { w, obs, med } = await load();
      const permit = await doctorPermit(w);
      const deny = await denyAgainst(w, w.doctor.address, { categories: categoryMask(["OBSERVATIONS"]) });
      for (const hint of [permit, ZERO]) {
        await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, hint))
          .to.be.revertedWithCustomError(w.records, "AccessDenied")
          .withArgs(obs.id, w.doctor.address, Reason.DENIED_BY_SUBJECT, deny);
      }
      await expect(w.records.connect(w.doctor).access(med.id, Purpose.TREAT, permit))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(med.id, w.subject, w.doctor.address, Purpose.TREAT, Basis.CONSENT, permit);
      // lifting the deny restores access
      await (await w.consents.connect(w.patient).revoke(w.subject, deny)).wait();
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, permit))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(obs.id, w.subject, w.doctor.address, Purpose.TREAT, Basis.CONSENT, permit);
    });

    it("ACCESSOR_UNKNOWN: a stranger (and another subject's controller)", async () => {
      const { w, obs, patient2 } = await load();
      await expect(w.records.connect(w.stranger).access(obs.id, Purpose.TREAT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.stranger.address, Reason.ACCESSOR_UNKNOWN, ZERO);
      await expect(w.records.connect(patient2).access(obs.id, Purpose.PATRQT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, patient2.address, Reason.ACCESSOR_UNKNOWN, ZERO);
    });

    it("ACCESSOR_SUSPENDED, ORGANIZATION_SUSPENDED and CREDENTIAL_EXPIRED despite a valid consent", async () => {
      const { w, obs } = await load();
      const permit = await doctorPermit(w);
      const snap = await networkHelpers.takeSnapshot();
      const cases: [() => Promise<void>, number][] = [
        [() => suspendPractitioner(w, w.doctor.address), Reason.ACCESSOR_SUSPENDED],
        [() => suspendHospital(w), Reason.ORGANIZATION_SUSPENDED],
        [() => expireCredential(w, w.doctor.address, Role.CLINICIAN), Reason.CREDENTIAL_EXPIRED],
      ];
      for (const [setup, reason] of cases) {
        await setup();
        for (const hint of [permit, ZERO]) {
          await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, hint))
            .to.be.revertedWithCustomError(w.records, "AccessDenied")
            .withArgs(obs.id, w.doctor.address, reason, ZERO);
        }
        await snap.restore();
      }
      await (await w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, permit)).wait();
    });

    it("RECORD_UNKNOWN and RECORD_ERASED", async () => {
      const { w, obs } = await load();
      const permit = await doctorPermit(w);
      const ghost = randomId();
      await expect(w.records.connect(w.doctor).access(ghost, Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(ghost, w.doctor.address, Reason.RECORD_UNKNOWN, ZERO);
      await (await w.records.connect(w.patient).eraseRecord(obs.id)).wait();
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.doctor.address, Reason.RECORD_ERASED, ZERO);
    });

    it("INVALID_PURPOSE: a purpose code above 9, even for the subject", async () => {
      const { w, obs } = await load();
      const permit = await doctorPermit(w, { purposes: 0x3ff });
      for (const purpose of [10, 31, 255]) {
        await expect(w.records.connect(w.doctor).access(obs.id, purpose, permit))
          .to.be.revertedWithCustomError(w.records, "AccessDenied")
          .withArgs(obs.id, w.doctor.address, Reason.INVALID_PURPOSE, ZERO);
      }
      await expect(w.records.connect(w.patient).access(obs.id, 10, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.patient.address, Reason.INVALID_PURPOSE, ZERO);
      await expect(w.records.connect(w.doctor).access(obs.id, Purpose.BTG, permit))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(obs.id, w.subject, w.doctor.address, Purpose.BTG, Basis.CONSENT, permit);
    });
  });

  // ───────────────────────────── accessBatch ─────────────────────────────

  describe("accessBatch", () => {
    it("logs one event per record, in order", async () => {
      const { w, obs, med } = await load();
      const permit = await doctorPermit(w);
      const ids = [med.id, obs.id, med.id, obs.id, obs.id];
      const receipt = await mined(w.records.connect(w.doctor).accessBatch(ids, Purpose.TREAT, permit));
      expect(await accessedIn(w, receipt)).to.deep.equal(
        ids.map((recordId) => ({
          recordId,
          subject: w.subject,
          accessor: w.doctor.address,
          purpose: Purpose.TREAT,
          basis: Basis.CONSENT,
          basisId: permit,
        })),
      );
    });

    it("a chart spanning categories covered by two consents works with one hint (fallback search)", async () => {
      const { w, obs, img, med } = await load();
      const a = await doctorPermit(w, { categories: categoryMask(["OBSERVATIONS", "MEDICATIONS"]) });
      const b = await doctorPermit(w, { categories: categoryMask(["IMAGING"]) });
      const ids = [obs.id, img.id, med.id, img.id];
      const receipt = await mined(w.records.connect(w.doctor).accessBatch(ids, Purpose.TREAT, a));
      expect((await accessedIn(w, receipt)).map((e) => [e.recordId, e.basis, e.basisId])).to.deep.equal([
        [obs.id, Basis.CONSENT, a],
        [img.id, Basis.CONSENT, b],
        [med.id, Basis.CONSENT, a],
        [img.id, Basis.CONSENT, b],
      ]);
    });

    it("the subject reads a whole chart with basis SUBJECT", async () => {
      const { w, obs, img, mh } = await load();
      const ids = [obs.id, img.id, mh.id];
      const receipt = await mined(w.records.connect(w.patient).accessBatch(ids, Purpose.PATRQT, ZERO));
      expect((await accessedIn(w, receipt)).map((e) => [e.recordId, e.accessor, e.basis, e.basisId])).to.deep.equal(
        ids.map((id) => [id, w.patient.address, Basis.SUBJECT, ZERO]),
      );
    });

    it("all or nothing: one refused record reverts the whole batch and logs nothing", async () => {
      const { w, obs, med, mh } = await load();
      const permit = await doctorPermit(w);
      const fromBlock = await conn.ethers.provider.getBlockNumber();
      await expect(w.records.connect(w.doctor).accessBatch([obs.id, med.id, mh.id, obs.id], Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(mh.id, w.doctor.address, Reason.CATEGORY_NOT_COVERED, permit);
      const ghost = randomId();
      await expect(w.records.connect(w.doctor).accessBatch([obs.id, ghost], Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(ghost, w.doctor.address, Reason.RECORD_UNKNOWN, ZERO);
      expect(await w.records.queryFilter(w.records.filters.RecordAccessed, fromBlock)).to.have.length(0);
    });

    it("decisions are per subject: a record of another subject in the batch is judged on its own", async () => {
      const { w, obs, other } = await load();
      await doctorPermit(w);
      await expect(w.records.connect(w.doctor).accessBatch([obs.id, other.id], Purpose.TREAT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(other.id, w.doctor.address, Reason.NO_CONSENT, ZERO);
    });

    it("a deny or a status problem refuses the batch like a single access", async () => {
      const { w, obs, med } = await load();
      const permit = await doctorPermit(w);
      const deny = await denyAgainst(w, w.doctor.address, { categories: categoryMask(["MEDICATIONS"]) });
      await expect(w.records.connect(w.doctor).accessBatch([obs.id, med.id], Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(med.id, w.doctor.address, Reason.DENIED_BY_SUBJECT, deny);
      await suspendPractitioner(w, w.doctor.address);
      await expect(w.records.connect(w.doctor).accessBatch([obs.id], Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.doctor.address, Reason.ACCESSOR_SUSPENDED, ZERO);
    });

    it("an erased record or an invalid purpose refuses the batch", async () => {
      const { w, obs, med } = await load();
      const permit = await doctorPermit(w);
      await expect(w.records.connect(w.doctor).accessBatch([obs.id, med.id], 10, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(obs.id, w.doctor.address, Reason.INVALID_PURPOSE, ZERO);
      await (await w.records.connect(w.patient).eraseRecord(med.id)).wait();
      await expect(w.records.connect(w.doctor).accessBatch([obs.id, med.id], Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(med.id, w.doctor.address, Reason.RECORD_ERASED, ZERO);
    });

    it("batch size: empty and 257 are AccessInvalidBatchSize(n, 256); 256 is accepted", async () => {
      const { w, obs } = await load();
      const permit = await doctorPermit(w);
      await expect(w.records.connect(w.doctor).accessBatch([], Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(0, MAX_BATCH);
      await expect(
        w.records.connect(w.doctor).accessBatch(Array<string>(MAX_BATCH + 1).fill(obs.id), Purpose.TREAT, permit),
      )
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(MAX_BATCH + 1, MAX_BATCH);
      const receipt = await mined(
        w.records.connect(w.doctor).accessBatch(Array<string>(MAX_BATCH).fill(obs.id), Purpose.TREAT, permit),
      );
      expect(await accessedIn(w, receipt)).to.have.length(MAX_BATCH);
    });
  });

  // ───────────────────────────── breakGlassAccess ─────────────────────────────

  describe("breakGlassAccess", () => {
    it("an active responder breaks the glass: BreakGlassDeclared (expires now + 4 h) and EMERGENCY access", async () => {
      const { w, obs, mh } = await load();
      expect(await w.records.connect(w.responder).breakGlassAccess.staticCall([obs.id], Purpose.ETREAT, 7)).to.equal(
        1n,
      );
      const t = (await w.now()) + 60;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const tx = w.records.connect(w.responder).breakGlassAccess([obs.id, mh.id], Purpose.ETREAT, 7);
      await expect(tx)
        .to.emit(w.records, "BreakGlassDeclared")
        .withArgs(1, w.subject, w.responder.address, w.hospital, Purpose.ETREAT, 7, t + HOURS_4);
      const receipt = await mined(tx);
      expect(await accessedIn(w, receipt)).to.deep.equal(
        [obs.id, mh.id].map((recordId) => ({
          recordId,
          subject: w.subject,
          accessor: w.responder.address,
          purpose: Purpose.ETREAT,
          basis: Basis.EMERGENCY,
          basisId: sessionKey(1),
        })),
      );
      expect(await sessionOf(w, 1)).to.deep.equal({
        subject: w.subject,
        responder: w.responder.address,
        orgId: w.hospital,
        purpose: Purpose.ETREAT,
        reasonCode: 7,
        expiresAt: t + HOURS_4,
        outcome: Outcome.PENDING,
      });
      expect(await w.records.pendingReviews(w.hospital)).to.equal(1n);
    });

    it("BTG is accepted as well", async () => {
      const { w, img } = await load();
      const t = (await w.now()) + 10;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const tx = w.records.connect(w.responder).breakGlassAccess([img.id], Purpose.BTG, 65535);
      await expect(tx)
        .to.emit(w.records, "BreakGlassDeclared")
        .withArgs(1, w.subject, w.responder.address, w.hospital, Purpose.BTG, 65535, t + HOURS_4);
      await expect(tx)
        .to.emit(w.records, "RecordAccessed")
        .withArgs(img.id, w.subject, w.responder.address, Purpose.BTG, Basis.EMERGENCY, sessionKey(1));
    });

    it("within 4 h the session is reused (no new declaration); from expiry on a new session and review", async () => {
      const { w, obs, med } = await load();
      const t = (await w.now()) + 60;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await mined(w.records.connect(w.responder).breakGlassAccess([obs.id], Purpose.ETREAT, 7));

      await networkHelpers.time.setNextBlockTimestamp(t + HOURS_4 - 1);
      const again = w.records.connect(w.responder).breakGlassAccess([med.id], Purpose.BTG, 9);
      await expect(again).not.to.emit(w.records, "BreakGlassDeclared");
      await expect(again)
        .to.emit(w.records, "RecordAccessed")
        .withArgs(med.id, w.subject, w.responder.address, Purpose.BTG, Basis.EMERGENCY, sessionKey(1));
      expect(await w.records.pendingReviews(w.hospital)).to.equal(1n);
      expect(await sessionOf(w, 1)).to.include({ purpose: Purpose.ETREAT, reasonCode: 7, expiresAt: t + HOURS_4 });
      await expect(w.records.getEmergencySession(2))
        .to.be.revertedWithCustomError(w.records, "ReviewUnknownSession")
        .withArgs(2);

      await networkHelpers.time.setNextBlockTimestamp(t + HOURS_4);
      const fresh = w.records.connect(w.responder).breakGlassAccess([obs.id], Purpose.ETREAT, 8);
      await expect(fresh)
        .to.emit(w.records, "BreakGlassDeclared")
        .withArgs(2, w.subject, w.responder.address, w.hospital, Purpose.ETREAT, 8, t + 2 * HOURS_4);
      await expect(fresh)
        .to.emit(w.records, "RecordAccessed")
        .withArgs(obs.id, w.subject, w.responder.address, Purpose.ETREAT, Basis.EMERGENCY, sessionKey(2));
      expect(await w.records.pendingReviews(w.hospital)).to.equal(2n);
    });

    it("sessions are per responder and subject; pendingReviews counts per organization", async () => {
      const { w, obs, other, subject2, labResponder } = await load();
      const t = (await w.now()) + 100;
      await mined(w.records.connect(w.responder).breakGlassAccess([obs.id], Purpose.ETREAT, 1));
      // the responder's session on subject is still open: another subject gets its own
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(w.records.connect(w.responder).breakGlassAccess([other.id], Purpose.ETREAT, 2))
        .to.emit(w.records, "BreakGlassDeclared")
        .withArgs(2, subject2, w.responder.address, w.hospital, Purpose.ETREAT, 2, t + HOURS_4);
      // and another responder on the same subject too, reviewed by its own organization
      await networkHelpers.time.setNextBlockTimestamp(t + 1);
      await expect(w.records.connect(labResponder).breakGlassAccess([obs.id], Purpose.BTG, 3))
        .to.emit(w.records, "BreakGlassDeclared")
        .withArgs(3, w.subject, labResponder.address, w.lab, Purpose.BTG, 3, t + 1 + HOURS_4);
      // the first responder still reuses session 1
      await expect(w.records.connect(w.responder).breakGlassAccess([obs.id], Purpose.ETREAT, 4))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(obs.id, w.subject, w.responder.address, Purpose.ETREAT, Basis.EMERGENCY, sessionKey(1));
      expect(await w.records.pendingReviews(w.hospital)).to.equal(2n);
      expect(await w.records.pendingReviews(w.lab)).to.equal(1n);
      expect(await w.records.pendingReviews(w.payer)).to.equal(0n);
    });

    it("refused for a purpose other than ETREAT/BTG: INVALID_PURPOSE", async () => {
      const { w, obs } = await load();
      for (const purpose of [Purpose.TREAT, Purpose.HPAYMT, Purpose.PATRQT, 10]) {
        await expect(w.records.connect(w.responder).breakGlassAccess([obs.id], purpose, 1))
          .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
          .withArgs(w.subject, w.responder.address, Reason.INVALID_PURPOSE);
      }
    });

    it("refused for practitioners without the EMERGENCY_RESPONDER role: NOT_EMERGENCY_RESPONDER", async () => {
      const { w, obs } = await load();
      await grantHospitalAppend(w); // even with a consent
      for (const who of [w.doctor, w.officer, w.payerAgent]) {
        await expect(w.records.connect(who).breakGlassAccess([obs.id], Purpose.ETREAT, 1))
          .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
          .withArgs(w.subject, who.address, Reason.NOT_EMERGENCY_RESPONDER);
      }
    });

    it("refused for a suspended responder, a suspended organization, an expired credential, a stranger and the patient", async () => {
      const { w, obs } = await load();
      const snap = await networkHelpers.takeSnapshot();
      const cases: [() => Promise<void>, number][] = [
        [() => suspendPractitioner(w, w.responder.address), Reason.ACCESSOR_SUSPENDED],
        [() => suspendHospital(w), Reason.ORGANIZATION_SUSPENDED],
        [() => expireCredential(w, w.responder.address, Role.EMERGENCY_RESPONDER), Reason.CREDENTIAL_EXPIRED],
      ];
      for (const [setup, reason] of cases) {
        await setup();
        await expect(w.records.connect(w.responder).breakGlassAccess([obs.id], Purpose.ETREAT, 1))
          .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
          .withArgs(w.subject, w.responder.address, reason);
        await snap.restore();
      }
      for (const who of [w.stranger, w.patient]) {
        await expect(w.records.connect(who).breakGlassAccess([obs.id], Purpose.ETREAT, 1))
          .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
          .withArgs(w.subject, who.address, Reason.ACCESSOR_UNKNOWN);
      }
      expect(await w.records.pendingReviews(w.hospital)).to.equal(0n);
    });

    it("refused when the patient opted out (BREAK_GLASS_OPTED_OUT); allowed again after opting back in", async () => {
      const { w, obs } = await load();
      await (await w.consents.connect(w.patient).setBreakGlassOptOut(w.subject, true)).wait();
      await expect(w.records.connect(w.responder).breakGlassAccess([obs.id], Purpose.ETREAT, 1))
        .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
        .withArgs(w.subject, w.responder.address, Reason.BREAK_GLASS_OPTED_OUT);
      expect(await w.records.pendingReviews(w.hospital)).to.equal(0n);
      await (await w.consents.connect(w.patient).setBreakGlassOptOut(w.subject, false)).wait();
      await expect(w.records.connect(w.responder).breakGlassAccess([obs.id], Purpose.ETREAT, 1)).to.emit(
        w.records,
        "BreakGlassDeclared",
      );
    });

    it("all records must belong to one subject: BreakGlassMixedSubjects, nothing declared", async () => {
      const { w, obs, other, subject2 } = await load();
      await expect(w.records.connect(w.responder).breakGlassAccess([obs.id, other.id], Purpose.ETREAT, 1))
        .to.be.revertedWithCustomError(w.records, "BreakGlassMixedSubjects")
        .withArgs(other.id, w.subject, subject2);
      await expect(w.records.connect(w.responder).breakGlassAccess([other.id, obs.id], Purpose.ETREAT, 1))
        .to.be.revertedWithCustomError(w.records, "BreakGlassMixedSubjects")
        .withArgs(obs.id, subject2, w.subject);
      expect(await w.records.pendingReviews(w.hospital)).to.equal(0n);
    });

    it("an erased or unknown record is AccessDenied, wherever it sits in the batch", async () => {
      const { w, obs, med } = await load();
      await (await w.records.connect(w.patient).eraseRecord(obs.id)).wait();
      for (const ids of [[obs.id], [med.id, obs.id]]) {
        await expect(w.records.connect(w.responder).breakGlassAccess(ids, Purpose.ETREAT, 1))
          .to.be.revertedWithCustomError(w.records, "AccessDenied")
          .withArgs(obs.id, w.responder.address, Reason.RECORD_ERASED, ZERO);
      }
      const ghost = randomId();
      for (const ids of [[ghost], [med.id, ghost]]) {
        await expect(w.records.connect(w.responder).breakGlassAccess(ids, Purpose.ETREAT, 1))
          .to.be.revertedWithCustomError(w.records, "AccessDenied")
          .withArgs(ghost, w.responder.address, Reason.RECORD_UNKNOWN, ZERO);
      }
      expect(await w.records.pendingReviews(w.hospital)).to.equal(0n);
    });

    it("batch size: empty and 257 are AccessInvalidBatchSize(n, 256); 256 is accepted", async () => {
      const { w, obs } = await load();
      await expect(w.records.connect(w.responder).breakGlassAccess([], Purpose.ETREAT, 1))
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(0, MAX_BATCH);
      await expect(
        w.records.connect(w.responder).breakGlassAccess(Array<string>(MAX_BATCH + 1).fill(obs.id), Purpose.ETREAT, 1),
      )
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(MAX_BATCH + 1, MAX_BATCH);
      const receipt = await mined(
        w.records.connect(w.responder).breakGlassAccess(Array<string>(MAX_BATCH).fill(obs.id), Purpose.ETREAT, 1),
      );
      expect(await accessedIn(w, receipt)).to.have.length(MAX_BATCH);
    });
  });

  // ───────────────────────────── closeReview ─────────────────────────────

  describe("closeReview", () => {
    async function withSession(): Promise<Ctx & { expiresAt: number }> {
      const ctx = await load();
      const t = (await ctx.w.now()) + 60;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await mined(ctx.w.records.connect(ctx.w.responder).breakGlassAccess([ctx.obs.id], Purpose.ETREAT, 42));
      return { ...ctx, expiresAt: t + HOURS_4 };
    }

    for (const [name, outcome] of [
      ["JUSTIFIED", Outcome.JUSTIFIED],
      ["UNJUSTIFIED", Outcome.UNJUSTIFIED],
    ] as const) {
      it(`the responder's organization's privacy officer closes it as ${name}`, async () => {
        const { w, expiresAt } = await withSession();
        expect(await w.records.pendingReviews(w.hospital)).to.equal(1n);
        await expect(w.records.connect(w.officer).closeReview(1, outcome))
          .to.emit(w.records, "BreakGlassReviewed")
          .withArgs(1, w.officer.address, outcome);
        expect(await w.records.pendingReviews(w.hospital)).to.equal(0n);
        expect(await sessionOf(w, 1)).to.deep.equal({
          subject: w.subject,
          responder: w.responder.address,
          orgId: w.hospital,
          purpose: Purpose.ETREAT,
          reasonCode: 42,
          expiresAt,
          outcome,
        });
      });
    }

    it("closing one review of several decrements the count by one", async () => {
      const { w, other } = await withSession();
      await mined(w.records.connect(w.responder).breakGlassAccess([other.id], Purpose.ETREAT, 1));
      expect(await w.records.pendingReviews(w.hospital)).to.equal(2n);
      await (await w.records.connect(w.officer).closeReview(2, Outcome.UNJUSTIFIED)).wait();
      expect(await w.records.pendingReviews(w.hospital)).to.equal(1n);
      expect((await sessionOf(w, 1)).outcome).to.equal(Outcome.PENDING);
      expect((await sessionOf(w, 2)).outcome).to.equal(Outcome.UNJUSTIFIED);
    });

    it("a review cannot close as PENDING (ReviewInvalidOutcome)", async () => {
      const { w } = await withSession();
      await expect(w.records.connect(w.officer).closeReview(1, Outcome.PENDING))
        .to.be.revertedWithCustomError(w.records, "ReviewInvalidOutcome")
        .withArgs(Outcome.PENDING);
      expect(await w.records.pendingReviews(w.hospital)).to.equal(1n);
    });

    it("an out-of-range outcome is rejected by ABI decoding", async () => {
      const { w } = await withSession();
      await expect(w.records.connect(w.officer).closeReview(1, 3)).to.be.revertedWithoutReason(conn.ethers);
    });

    it("a review closes once (ReviewAlreadyClosed with the recorded outcome)", async () => {
      const { w } = await withSession();
      await (await w.records.connect(w.officer).closeReview(1, Outcome.JUSTIFIED)).wait();
      for (const outcome of [Outcome.JUSTIFIED, Outcome.UNJUSTIFIED]) {
        await expect(w.records.connect(w.officer).closeReview(1, outcome))
          .to.be.revertedWithCustomError(w.records, "ReviewAlreadyClosed")
          .withArgs(1, Outcome.JUSTIFIED);
      }
      expect(await w.records.pendingReviews(w.hospital)).to.equal(0n);
    });

    it("only an active privacy officer of the responder's organization: ReviewNotPrivacyOfficer", async () => {
      const { w, labOfficer } = await withSession();
      for (const who of [labOfficer, w.doctor, w.hospitalAdmin, w.patient, w.stranger]) {
        await expect(w.records.connect(who).closeReview(1, Outcome.JUSTIFIED))
          .to.be.revertedWithCustomError(w.records, "ReviewNotPrivacyOfficer")
          .withArgs(1, who.address, w.hospital);
      }
      // The responder cannot review their own session, even holding the privacy-officer role.
      await expect(w.records.connect(w.responder).closeReview(1, Outcome.JUSTIFIED))
        .to.be.revertedWithCustomError(w.records, "ReviewOwnSession")
        .withArgs(1, w.responder.address);
      await (
        await w.directory
          .connect(w.hospitalAdmin)
          .updatePractitioner(
            w.responder.address,
            Role.EMERGENCY_RESPONDER | Role.PRIVACY_OFFICER,
            (await w.now()) + YEAR,
          )
      ).wait();
      await expect(w.records.connect(w.responder).closeReview(1, Outcome.JUSTIFIED))
        .to.be.revertedWithCustomError(w.records, "ReviewOwnSession")
        .withArgs(1, w.responder.address);
      const snap = await networkHelpers.takeSnapshot();
      for (const setup of [
        () => suspendPractitioner(w, w.officer.address),
        () => suspendHospital(w),
        () => expireCredential(w, w.officer.address, Role.PRIVACY_OFFICER),
      ]) {
        await setup();
        await expect(w.records.connect(w.officer).closeReview(1, Outcome.UNJUSTIFIED))
          .to.be.revertedWithCustomError(w.records, "ReviewNotPrivacyOfficer")
          .withArgs(1, w.officer.address, w.hospital);
        await snap.restore();
      }
      expect(await w.records.pendingReviews(w.hospital)).to.equal(1n);
      await (await w.records.connect(w.officer).closeReview(1, Outcome.UNJUSTIFIED)).wait();
    });

    it("a lab session is reviewed by the lab's officer, not the hospital's", async () => {
      const { w, obs, labOfficer, labResponder } = await load();
      await mined(w.records.connect(labResponder).breakGlassAccess([obs.id], Purpose.BTG, 5));
      await expect(w.records.connect(w.officer).closeReview(1, Outcome.JUSTIFIED))
        .to.be.revertedWithCustomError(w.records, "ReviewNotPrivacyOfficer")
        .withArgs(1, w.officer.address, w.lab);
      await expect(w.records.connect(labOfficer).closeReview(1, Outcome.JUSTIFIED))
        .to.emit(w.records, "BreakGlassReviewed")
        .withArgs(1, labOfficer.address, Outcome.JUSTIFIED);
      expect(await w.records.pendingReviews(w.lab)).to.equal(0n);
    });

    it("an unknown session is ReviewUnknownSession", async () => {
      const { w } = await withSession();
      for (const id of [0, 2, 99]) {
        await expect(w.records.connect(w.officer).closeReview(id, Outcome.JUSTIFIED))
          .to.be.revertedWithCustomError(w.records, "ReviewUnknownSession")
          .withArgs(id);
      }
    });
  });

  describe("review and batch edge cases", () => {
    it("a reviewed session is not reused: the next emergency access opens a new session and review", async () => {
      const { w, obs } = await load();
      await (await w.records.connect(w.responder).breakGlassAccess([obs.id], Purpose.ETREAT, 1)).wait();
      await (await w.records.connect(w.officer).closeReview(1, ReviewOutcome.UNJUSTIFIED)).wait();
      await expect(w.records.connect(w.responder).breakGlassAccess([obs.id], Purpose.ETREAT, 2))
        .to.emit(w.records, "BreakGlassDeclared")
        .withArgs(2, w.subject, w.responder.address, w.hospital, Purpose.ETREAT, 2, (await w.now()) + 1 + 4 * 3600);
      expect(await w.records.pendingReviews(w.hospital)).to.equal(1n);
    });

    it("verifyBatchMember agrees with proveRecord on categories outside the batch", async () => {
      const { w } = await load();
      await grantHospitalAppend(w);
      const leaves: [string, number, string][] = [
        [randomId(), Category.OBSERVATIONS, randomId()],
        [randomId(), Category.IMAGING, randomId()],
      ];
      const tree = StandardMerkleTree.of(leaves, ["bytes32", "uint8", "bytes32"]);
      // The batch claims only OBSERVATIONS, yet the tree holds an IMAGING leaf.
      await (
        await w.records.connect(w.doctor).anchorBatch(w.subject, tree.root, 2, 1 << Category.OBSERVATIONS, "m", ZERO)
      ).wait();
      const [id, category, digest] = leaves[1]!;
      expect(await w.records.verifyBatchMember(tree.root, id, category, digest, tree.getProof(1))).to.equal(false);
      await expect(w.records.proveRecord(tree.root, id, category, digest, tree.getProof(1)))
        .to.be.revertedWithCustomError(w.records, "RecordCategoryOutsideBatch")
        .withArgs(tree.root, category);
      const [id0, category0, digest0] = leaves[0]!;
      expect(await w.records.verifyBatchMember(tree.root, id0, category0, digest0, tree.getProof(0))).to.equal(true);
    });
  });
});
