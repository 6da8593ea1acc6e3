/**
 * RecordRegistry 1.1: record anchors keyed by (subject, recordId) with label commitments, version
 * chains (category and custodian kept), Merkle batches keyed by (subject, root) with tags, erasure
 * tombstones, the access log, break-glass (honouring denies) and independent reviews. Every external
 * function, every guard, every custom error (with its arguments) and every event (with all of its
 * arguments). Imports are in migration.test.ts; the audit's exploits in findings.test.ts.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";
import { network } from "hardhat";

import type { ConsentTermsStruct } from "../../types/typechain/ConsentRegistry.js";
import {
  ALL_CATEGORIES,
  ALL_PURPOSES,
  Action,
  Basis,
  Category,
  Effect,
  GranteeKind,
  Outcome,
  Power,
  Purpose,
  Reason,
  Role,
  YEAR,
  admitRegulator,
  buildWorld,
  categoryMask,
  commitment,
  fakeKey,
  grantFromPatient,
  grantHospitalAppend,
  randomId,
  registerSubject,
  terms,
} from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";

const conn = await network.create();
const { networkHelpers } = conn;
const { time } = networkHelpers;

const ZERO = ethersLib.ZeroHash;
const HOURS_4 = 4 * 60 * 60;
const MAX_BATCH = 256;
const sessionKey = (id: number | bigint): string => ethersLib.toBeHex(id, 32);
const coder = ethersLib.AbiCoder.defaultAbiCoder();

// ───────────────────────────── records and batches ─────────────────────────────

/** A record version that is about to be (or was) anchored. */
interface Doc {
  id: string;
  digest: string;
  label: string;
  pointer: string;
}

function newDoc(id = randomId()): Doc {
  const digest = randomId();
  return { id, digest, label: commitment(), pointer: `sha256:${digest.slice(2)}` };
}

const commitmentOf = (d: Pick<Doc, "digest" | "label">): string =>
  ethersLib.keccak256(coder.encode(["bytes32", "bytes32"], [d.digest, d.label]));

const LEAF_TYPES = ["bytes32", "bytes32", "uint8", "bytes32", "bytes32"];
type Leaf = [string, string, number, string, string];

interface Batch {
  tag: string;
  leaves: Leaf[];
  tree: StandardMerkleTree<Leaf>;
  mask: number;
}

const BATCH_CATEGORIES = [Category.OBSERVATIONS, Category.MEDICATIONS, Category.IMAGING] as const;

function batchOf(subject: string, n: number, categories: readonly number[] = BATCH_CATEGORIES): Batch {
  const tag = ethersLib.hexlify(ethersLib.randomBytes(16));
  const leaves: Leaf[] = Array.from({ length: n }, (_, i) => [
    subject,
    tag + ethersLib.hexlify(ethersLib.randomBytes(16)).slice(2),
    categories[i % categories.length]!,
    randomId(),
    commitment(),
  ]);
  const mask = categories.reduce((m, c) => m | (1 << c), 0);
  return { tag, leaves, tree: StandardMerkleTree.of(leaves, LEAF_TYPES), mask };
}

function proveTx(w: World, b: Batch, i: number, by?: HardhatEthersSigner) {
  const [subject, id, category, digest, label] = b.leaves[i]!;
  return w.records
    .connect(by ?? w.relayer)
    .proveRecord(subject, b.tree.root, id, category, digest, label, b.tree.getProof(i));
}

// ───────────────────────────── fixture ─────────────────────────────

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
  note: Doc;
  /** A record of `subject2`. */
  other: Doc;
}

async function recordRegistryWorld(): Promise<Ctx> {
  const w = await buildWorld(conn);
  const patient2 = w.signers[13]!;
  const labOfficer = w.signers[14]!;
  const labResponder = w.signers[15]!;
  const subject2 = await registerSubject(w, patient2);
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
    await (
      await w.records.connect(by).anchorRecord(subject, d.id, category, d.digest, d.label, ZERO, d.pointer, ZERO)
    ).wait();
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
    note: await put(w.patient, w.subject, Category.NOTES),
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
      opts.subject ?? w.subject,
      d.id,
      category,
      d.digest,
      d.label,
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

async function recordOf(w: World, id: string, subject = w.subject) {
  const r = await w.records.getRecord(subject, id);
  return {
    commitment: r.commitment,
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
  subject: string;
  recordId: string;
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
      subject: String(parsed.args[0]),
      recordId: String(parsed.args[1]),
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

/** A deny against `account` (every purpose, READ and APPEND unless overridden). */
function denyAgainst(w: World, account: string, overrides: Partial<ConsentTermsStruct> = {}): Promise<string> {
  return grantFromPatient(
    w,
    terms({
      effect: Effect.DENY,
      granteeAccount: account,
      purposes: ALL_PURPOSES,
      categories: ALL_CATEGORIES,
      actions: Action.READ | Action.APPEND,
      ...overrides,
    }),
  );
}

async function expireCredential(w: World, account: string, roles: number): Promise<void> {
  await (await w.directory.connect(w.hospitalAdmin).updatePractitioner(account, roles, (await w.now()) + 100)).wait();
  await time.increase(200);
}

// ───────────────────────────── tests ─────────────────────────────

describe("RecordRegistry", () => {
  describe("views and constants", () => {
    it("version, constants and the wired directory and consent registry", async () => {
      const { w } = await load();
      expect(await w.records.version()).to.equal("1.1.0");
      expect(await w.records.MAX_ACCESS_BATCH()).to.equal(256n);
      expect(await w.records.EMERGENCY_SESSION_DURATION()).to.equal(BigInt(HOURS_4));
      expect(await w.records.directory()).to.equal(await w.directory.getAddress());
      expect(await w.records.consentRegistry()).to.equal(await w.consents.getAddress());
      expect(await w.records.migrationSealed()).to.equal(true);
    });

    it("getRecord of an unknown (subject, id) reverts RecordUnknown; ids are scoped to their subject", async () => {
      const { w, obs, subject2 } = await load();
      const id = randomId();
      await expect(w.records.getRecord(w.subject, id))
        .to.be.revertedWithCustomError(w.records, "RecordUnknown")
        .withArgs(w.subject, id);
      await expect(w.records.getRecord(subject2, obs.id))
        .to.be.revertedWithCustomError(w.records, "RecordUnknown")
        .withArgs(subject2, obs.id);
    });

    it("recordCommitment is keccak256(abi.encode(digest, labelCommitment)); batchLeaf is the StandardMerkleTree leaf", async () => {
      const { w } = await load();
      const d = newDoc();
      expect(await w.records.recordCommitment(d.digest, d.label)).to.equal(commitmentOf(d));
      const b = batchOf(w.subject, 2);
      const [s, id, c, digest, label] = b.leaves[0]!;
      expect(await w.records.batchLeaf(s, id, c, digest, label)).to.equal(b.tree.leafHash(b.leaves[0]!));
    });

    it("getBatch of an unknown root reverts RecordUnknownBatch; pendingReviews starts at 0; unknown sessions revert", async () => {
      const { w } = await load();
      const root = randomId();
      await expect(w.records.getBatch(w.subject, root))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownBatch")
        .withArgs(w.subject, root);
      expect(await w.records.pendingReviews(w.hospital)).to.equal(0n);
      for (const id of [0, 1, 99]) {
        await expect(w.records.getEmergencySession(id))
          .to.be.revertedWithCustomError(w.records, "ReviewUnknownSession")
          .withArgs(id);
      }
    });
  });

  // ───────────────────────────── anchorRecord ─────────────────────────────

  describe("anchorRecord", () => {
    it("a hospital clinician with an append consent anchors (hinted): two slots (commitment, metadata), event with digest and label", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      const d = newDoc();
      const tx = anchorTx(w, w.doctor, d, Category.IMAGING, { hint: appendId });
      await expect(tx)
        .to.emit(w.records, "RecordAnchored")
        .withArgs(
          w.subject,
          d.id,
          w.hospital,
          Category.IMAGING,
          d.digest,
          d.label,
          ZERO,
          d.pointer,
          w.doctor.address,
          appendId,
        );
      const at = await blockTime(await mined(tx));
      expect(await recordOf(w, d.id)).to.deep.equal({
        commitment: commitmentOf(d),
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
      await doctorPermit(w); // a READ-only consent of the doctor's own: the search must look past it
      const d = newDoc();
      await expect(anchorTx(w, w.doctor, d, Category.OBSERVATIONS))
        .to.emit(w.records, "RecordAnchored")
        .withArgs(
          w.subject,
          d.id,
          w.hospital,
          Category.OBSERVATIONS,
          d.digest,
          d.label,
          ZERO,
          d.pointer,
          w.doctor.address,
          appendId,
        );
    });

    it("custodian is the anchoring practitioner's organization (a lab clinician with the lab's consent)", async () => {
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
          w.subject,
          d.id,
          w.lab,
          Category.OBSERVATIONS,
          d.digest,
          d.label,
          ZERO,
          d.pointer,
          w.labTech.address,
          labAppend,
        );
    });

    it("the patient anchors without consent (custodian 0, consentId 0), any public category up to 15", async () => {
      const { w } = await load();
      for (const category of [Category.DEMOGRAPHICS, Category.DOCUMENTS, Category.REQUESTS, Category.OTHER]) {
        const d = newDoc();
        await expect(anchorTx(w, w.patient, d, category))
          .to.emit(w.records, "RecordAnchored")
          .withArgs(w.subject, d.id, 0, category, d.digest, d.label, ZERO, d.pointer, w.patient.address, ZERO);
      }
    });

    it("a guardian anchors only with the ACCESS power (custodian 0)", async () => {
      const { w } = await load();
      const d = newDoc();
      await expect(anchorTx(w, w.guardian, d, Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.guardian.address, Category.OBSERVATIONS, Reason.ACCESSOR_UNKNOWN, ZERO);
      await (await w.directory.connect(w.patient).setGuardian(w.subject, w.guardian.address, Power.ACCESS, 0)).wait();
      await expect(anchorTx(w, w.guardian, d, Category.OBSERVATIONS))
        .to.emit(w.records, "RecordAnchored")
        .withArgs(w.subject, d.id, 0, Category.OBSERVATIONS, d.digest, d.label, ZERO, d.pointer, w.guardian.address, ZERO);
    });

    it("refused without consent: NO_CONSENT for a practitioner, ACCESSOR_UNKNOWN for a stranger or another subject's controller", async () => {
      const { w, patient2 } = await load();
      await expect(anchorTx(w, w.payerAgent, newDoc(), Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.payerAgent.address, Category.OBSERVATIONS, Reason.NO_CONSENT, ZERO);
      for (const s of [w.stranger, patient2]) {
        await expect(anchorTx(w, s, newDoc(), Category.OBSERVATIONS))
          .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
          .withArgs(w.subject, s.address, Category.OBSERVATIONS, Reason.ACCESSOR_UNKNOWN, ZERO);
      }
    });

    it("refused with a READ-only consent (ACTION_NOT_ALLOWED) and outside its categories (CATEGORY_NOT_COVERED)", async () => {
      const { w } = await load();
      const read = await doctorPermit(w);
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: read }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.ACTION_NOT_ALLOWED, read);
      const append = await doctorPermit(w, { actions: Action.APPEND });
      await expect(anchorTx(w, w.doctor, newDoc(), Category.IMAGING, { hint: append }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.IMAGING, Reason.CATEGORY_NOT_COVERED, append);
    });

    it("refused for a suspended practitioner, a suspended organization and an expired credential", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      await (await w.directory.connect(w.hospitalAdmin).suspendPractitioner(w.doctor.address)).wait();
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendId }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.ACCESSOR_SUSPENDED, ZERO);
      await (await w.directory.connect(w.hospitalAdmin).reinstatePractitioner(w.doctor.address)).wait();
      await (await w.directory.suspendOrganization(w.hospital)).wait();
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendId }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.ORGANIZATION_SUSPENDED, ZERO);
      await (await w.directory.reinstateOrganization(w.hospital)).wait();
      await expireCredential(w, w.doctor.address, Role.CLINICIAN);
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendId }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.CREDENTIAL_EXPIRED, ZERO);
    });

    it("a deny covering APPEND beats the append permit, even when the permit is hinted", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      const denyId = await denyAgainst(w, w.doctor.address, { actions: Action.APPEND });
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { hint: appendId }))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.OBSERVATIONS, Reason.DENIED_BY_SUBJECT, denyId);
      // The deny does not bind the subject.
      await expect(anchorTx(w, w.patient, newDoc(), Category.OBSERVATIONS)).to.emit(w.records, "RecordAnchored");
    });

    it("an unknown subject reverts RecordUnknownSubject (found only on refusal: a consent implies the subject)", async () => {
      const { w } = await load();
      const ghost = randomId();
      await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { subject: ghost }))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownSubject")
        .withArgs(ghost);
    });

    it("zero record id, digest or label commitment → RecordZeroValue; a category above 15 → RecordInvalidCategory", async () => {
      const { w } = await load();
      const d = newDoc();
      for (const [field, doc] of [
        ["recordId", { ...d, id: ZERO }],
        ["digest", { ...d, digest: ZERO }],
        ["labelCommitment", { ...d, label: ZERO }],
      ] as const) {
        await expect(anchorTx(w, w.patient, doc, Category.OBSERVATIONS))
          .to.be.revertedWithCustomError(w.records, "RecordZeroValue")
          .withArgs(field);
      }
      for (const category of [16, 19, 31, 255]) {
        await expect(anchorTx(w, w.patient, newDoc(), category))
          .to.be.revertedWithCustomError(w.records, "RecordInvalidCategory")
          .withArgs(category);
      }
    });

    it("a record id is used once per subject (RecordExists); another subject may use the same id", async () => {
      const { w, obs, patient2, subject2 } = await load();
      await expect(anchorTx(w, w.patient, obs, Category.OBSERVATIONS))
        .to.be.revertedWithCustomError(w.records, "RecordExists")
        .withArgs(w.subject, obs.id);
      await expect(anchorTx(w, patient2, newDoc(obs.id), Category.OBSERVATIONS, { subject: subject2 })).to.emit(
        w.records,
        "RecordAnchored",
      );
    });

    describe("versions", () => {
      it("a new version supersedes its previous one, which stays readable as history", async () => {
        const { w, obs } = await load();
        const v2 = newDoc();
        await expect(anchorTx(w, w.patient, v2, Category.OBSERVATIONS, { previous: obs.id }))
          .to.emit(w.records, "RecordAnchored")
          .withArgs(w.subject, v2.id, 0, Category.OBSERVATIONS, v2.digest, v2.label, obs.id, v2.pointer, w.patient.address, ZERO);
        expect((await recordOf(w, obs.id)).superseded).to.equal(true);
        expect((await recordOf(w, v2.id)).superseded).to.equal(false);
        await expect(w.records.connect(w.patient).access(w.subject, obs.id, Purpose.PATRQT, ZERO)).to.emit(
          w.records,
          "RecordAccessed",
        );
      });

      it("the custodian's own clinicians supersede its record; chains never fork (RecordAlreadySuperseded)", async () => {
        const { w } = await load();
        const appendId = await grantHospitalAppend(w);
        const v1 = newDoc();
        await mined(anchorTx(w, w.doctor, v1, Category.NOTES, { hint: appendId }));
        await mined(anchorTx(w, w.doctor, newDoc(), Category.NOTES, { previous: v1.id, hint: appendId }));
        await expect(anchorTx(w, w.patient, newDoc(), Category.NOTES, { previous: v1.id }))
          .to.be.revertedWithCustomError(w.records, "RecordAlreadySuperseded")
          .withArgs(w.subject, v1.id);
      });

      it("a new version keeps the previous category (RecordCategoryMismatch), even when the subject anchors", async () => {
        const { w, obs } = await load();
        await expect(anchorTx(w, w.patient, newDoc(), Category.MEDICATIONS, { previous: obs.id }))
          .to.be.revertedWithCustomError(w.records, "RecordCategoryMismatch")
          .withArgs(w.subject, obs.id, Category.OBSERVATIONS, Category.MEDICATIONS);
      });

      it("a practitioner of another organization cannot take over a record (RecordCustodianMismatch); the subject can", async () => {
        const { w, obs } = await load();
        const appendId = await grantHospitalAppend(w);
        // obs is the subject's own (custodian 0): the hospital cannot supersede it either.
        await expect(anchorTx(w, w.doctor, newDoc(), Category.OBSERVATIONS, { previous: obs.id, hint: appendId }))
          .to.be.revertedWithCustomError(w.records, "RecordCustodianMismatch")
          .withArgs(w.subject, obs.id, 0, w.hospital);
        const hospitals = newDoc();
        await mined(anchorTx(w, w.doctor, hospitals, Category.OBSERVATIONS, { hint: appendId }));
        const v2 = newDoc();
        await mined(anchorTx(w, w.patient, v2, Category.OBSERVATIONS, { previous: hospitals.id }));
        expect((await recordOf(w, v2.id)).custodian).to.equal(0);
      });

      it("the previous version must exist for the same subject (RecordUnknown) and not be erased (RecordIsErased)", async () => {
        const { w, obs, other, patient2, subject2 } = await load();
        const unknown = randomId();
        await expect(anchorTx(w, w.patient, newDoc(), Category.OBSERVATIONS, { previous: unknown }))
          .to.be.revertedWithCustomError(w.records, "RecordUnknown")
          .withArgs(w.subject, unknown);
        // Another subject's record is unknown under this subject.
        await expect(anchorTx(w, w.patient, newDoc(), Category.OBSERVATIONS, { previous: other.id }))
          .to.be.revertedWithCustomError(w.records, "RecordUnknown")
          .withArgs(w.subject, other.id);
        await expect(anchorTx(w, patient2, newDoc(), Category.OBSERVATIONS, { subject: subject2, previous: obs.id }))
          .to.be.revertedWithCustomError(w.records, "RecordUnknown")
          .withArgs(subject2, obs.id);
        const r = await mined(w.records.connect(w.patient).eraseRecord(w.subject, obs.id));
        await expect(anchorTx(w, w.patient, newDoc(), Category.OBSERVATIONS, { previous: obs.id }))
          .to.be.revertedWithCustomError(w.records, "RecordIsErased")
          .withArgs(w.subject, obs.id, await blockTime(r));
      });
    });
  });

  // ───────────────────────────── batches ─────────────────────────────

  describe("Merkle batches", () => {
    it("anchors a 1,000-leaf root under (subject, root) with its tag: BatchAnchored and getBatch", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      const b = batchOf(w.subject, 1000);
      const tx = w.records.connect(w.doctor).anchorBatch(w.subject, b.tree.root, b.tag, 1000, b.mask, "ipfs://m", appendId);
      await expect(tx)
        .to.emit(w.records, "BatchAnchored")
        .withArgs(w.subject, b.tree.root, b.tag, w.hospital, 1000, b.mask, "ipfs://m", w.doctor.address);
      const at = await blockTime(await mined(tx));
      const batch = await w.records.getBatch(w.subject, b.tree.root);
      expect([batch.tag, batch.custodian, batch.count, batch.categories, batch.anchoredAt]).to.deep.equal([
        b.tag,
        BigInt(w.hospital),
        1000n,
        BigInt(b.mask),
        BigInt(at),
      ]);
      // A reader finds the batch of a member from the tag alone.
      const found = await w.records.queryFilter(w.records.filters.BatchAnchored(null, null, b.tag));
      expect(found.map((e) => e.args.root)).to.deep.equal([b.tree.root]);
    });

    it("the subject anchors a batch (custodian 0), unhinted; the same root under another subject is another batch", async () => {
      const { w, patient2, subject2 } = await load();
      const b = batchOf(w.subject, 3);
      await expect(w.records.connect(w.patient).anchorBatch(w.subject, b.tree.root, b.tag, 3, b.mask, "m", ZERO))
        .to.emit(w.records, "BatchAnchored")
        .withArgs(w.subject, b.tree.root, b.tag, 0, 3, b.mask, "m", w.patient.address);
      await expect(w.records.connect(patient2).anchorBatch(subject2, b.tree.root, b.tag, 3, b.mask, "m", ZERO)).to.emit(
        w.records,
        "BatchAnchored",
      );
      await expect(w.records.connect(w.patient).anchorBatch(w.subject, b.tree.root, b.tag, 3, b.mask, "m", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordBatchExists")
        .withArgs(w.subject, b.tree.root);
    });

    it("proves members (anyone may relay): RecordProven, state from the batch, then access", async () => {
      const { w } = await load();
      const appendId = await grantHospitalAppend(w);
      const b = batchOf(w.subject, 4);
      const anchored = await mined(
        w.records.connect(w.doctor).anchorBatch(w.subject, b.tree.root, b.tag, 4, b.mask, "m", appendId),
      );
      const [, id, category, digest, label] = b.leaves[1]!;
      await expect(proveTx(w, b, 1))
        .to.emit(w.records, "RecordProven")
        .withArgs(w.subject, id, b.tree.root, category, digest, label);
      expect(await recordOf(w, id)).to.deep.equal({
        commitment: commitmentOf({ digest, label }),
        custodian: w.hospital,
        category,
        anchoredAt: await blockTime(anchored),
        erasedAt: 0,
        superseded: false,
      });
      await expect(w.records.connect(w.patient).access(w.subject, id, Purpose.PATRQT, ZERO)).to.emit(
        w.records,
        "RecordAccessed",
      );
      // An unproven member is unknown.
      const [, unproven] = b.leaves[2]!;
      await expect(w.records.connect(w.patient).access(w.subject, unproven, Purpose.PATRQT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(w.subject, unproven, w.patient.address, Reason.RECORD_UNKNOWN, ZERO);
      // A proven member can be superseded (same custodian) and erased.
      await mined(anchorTx(w, w.doctor, newDoc(), category, { previous: id, hint: appendId }));
      await expect(w.records.connect(w.patient).eraseRecord(w.subject, id)).to.emit(w.records, "RecordErased");
    });

    it("anchorBatch: zero root or tag, count 0 and an empty mask are refused", async () => {
      const { w } = await load();
      const b = batchOf(w.subject, 2);
      const p = w.records.connect(w.patient);
      await expect(p.anchorBatch(w.subject, ZERO, b.tag, 2, b.mask, "m", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordZeroValue")
        .withArgs("root");
      await expect(p.anchorBatch(w.subject, b.tree.root, "0x" + "00".repeat(16), 2, b.mask, "m", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordZeroValue")
        .withArgs("tag");
      await expect(p.anchorBatch(w.subject, b.tree.root, b.tag, 0, b.mask, "m", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordInvalidBatch")
        .withArgs("count");
      await expect(p.anchorBatch(w.subject, b.tree.root, b.tag, 2, 0, "m", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordInvalidBatch")
        .withArgs("categories");
    });

    it("anchorBatch: every category of the mask needs the caller's APPEND (RecordAnchorDenied names the gap)", async () => {
      const { w } = await load();
      const append = await doctorPermit(w, { categories: categoryMask(["OBSERVATIONS"]), actions: Action.APPEND });
      const b = batchOf(w.subject, 2, [Category.OBSERVATIONS, Category.IMAGING]);
      await expect(w.records.connect(w.doctor).anchorBatch(w.subject, b.tree.root, b.tag, 2, b.mask, "m", append))
        .to.be.revertedWithCustomError(w.records, "RecordAnchorDenied")
        .withArgs(w.subject, w.doctor.address, Category.IMAGING, Reason.CATEGORY_NOT_COVERED, append);
      const ghost = randomId();
      await expect(w.records.connect(w.stranger).anchorBatch(ghost, b.tree.root, b.tag, 2, b.mask, "m", ZERO))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownSubject")
        .withArgs(ghost);
    });

    it("proveRecord: unknown batch, tag mismatch, category outside the mask, wrong proof, zero values, twice", async () => {
      const { w } = await load();
      const b = batchOf(w.subject, 4);
      const [, id, category, digest, label] = b.leaves[0]!;
      const proof = b.tree.getProof(0);
      const r = w.records.connect(w.relayer);
      await expect(r.proveRecord(w.subject, b.tree.root, id, category, digest, label, proof))
        .to.be.revertedWithCustomError(w.records, "RecordUnknownBatch")
        .withArgs(w.subject, b.tree.root);
      await mined(w.records.connect(w.patient).anchorBatch(w.subject, b.tree.root, b.tag, 4, b.mask, "m", ZERO));
      const foreign = randomId();
      await expect(r.proveRecord(w.subject, b.tree.root, foreign, category, digest, label, proof))
        .to.be.revertedWithCustomError(w.records, "RecordTagMismatch")
        .withArgs(w.subject, b.tree.root, foreign, b.tag);
      for (const c of [Category.NOTES, 16, 255]) {
        await expect(r.proveRecord(w.subject, b.tree.root, id, c, digest, label, proof))
          .to.be.revertedWithCustomError(w.records, "RecordCategoryOutsideBatch")
          .withArgs(w.subject, b.tree.root, c);
      }
      const otherCategory = b.leaves[1]![2];
      for (const [badDigest, badLabel, badCategory, badProof] of [
        [randomId(), label, category, proof],
        [digest, commitment(), category, proof],
        [digest, label, otherCategory, proof],
        [digest, label, category, b.tree.getProof(1)],
        [digest, label, category, []],
      ] as const) {
        await expect(r.proveRecord(w.subject, b.tree.root, id, badCategory, badDigest, badLabel, [...badProof]))
          .to.be.revertedWithCustomError(w.records, "RecordInvalidProof")
          .withArgs(w.subject, b.tree.root, id);
      }
      for (const [field, args] of [
        ["recordId", [ZERO, digest, label]],
        ["digest", [id, ZERO, label]],
        ["labelCommitment", [id, digest, ZERO]],
      ] as const) {
        await expect(r.proveRecord(w.subject, b.tree.root, args[0], category, args[1], args[2], proof))
          .to.be.revertedWithCustomError(w.records, "RecordZeroValue")
          .withArgs(field);
      }
      await mined(proveTx(w, b, 0));
      await expect(proveTx(w, b, 0)).to.be.revertedWithCustomError(w.records, "RecordExists").withArgs(w.subject, id);
    });

    it("verifyBatchMember: true for a member; false for another subject, root, tag, category, digest, label or proof", async () => {
      const { w, subject2 } = await load();
      const b = batchOf(w.subject, 4);
      await mined(w.records.connect(w.patient).anchorBatch(w.subject, b.tree.root, b.tag, 4, b.mask, "m", ZERO));
      const [, id, category, digest, label] = b.leaves[2]!;
      const proof = b.tree.getProof(2);
      const v = (s: string, root: string, rid: string, c: number, dg: string, lb: string, p: string[]) =>
        w.records.verifyBatchMember(s, root, rid, c, dg, lb, p);
      expect(await v(w.subject, b.tree.root, id, category, digest, label, proof)).to.equal(true);
      expect(await v(subject2, b.tree.root, id, category, digest, label, proof)).to.equal(false);
      expect(await v(w.subject, randomId(), id, category, digest, label, proof)).to.equal(false);
      expect(await v(w.subject, b.tree.root, randomId(), category, digest, label, proof)).to.equal(false);
      expect(await v(w.subject, b.tree.root, id, Category.NOTES, digest, label, proof)).to.equal(false);
      expect(await v(w.subject, b.tree.root, id, 200, digest, label, proof)).to.equal(false);
      expect(await v(w.subject, b.tree.root, id, category, randomId(), label, proof)).to.equal(false);
      expect(await v(w.subject, b.tree.root, id, category, digest, commitment(), proof)).to.equal(false);
      expect(await v(w.subject, b.tree.root, id, category, digest, label, b.tree.getProof(0))).to.equal(false);
    });
  });

  // ───────────────────────────── eraseRecord ─────────────────────────────

  describe("eraseRecord", () => {
    it("the controller tombstones a record: RecordErased; the commitment stays; access is refused", async () => {
      const { w, obs } = await load();
      const tx = w.records.connect(w.patient).eraseRecord(w.subject, obs.id);
      await expect(tx).to.emit(w.records, "RecordErased").withArgs(w.subject, obs.id, w.patient.address);
      const at = await blockTime(await mined(tx));
      const r = await recordOf(w, obs.id);
      expect([r.commitment, r.erasedAt]).to.deep.equal([commitmentOf(obs), at]);
      await expect(w.records.connect(w.patient).access(w.subject, obs.id, Purpose.PATRQT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(w.subject, obs.id, w.patient.address, Reason.RECORD_ERASED, ZERO);
      await expect(w.records.connect(w.patient).eraseRecord(w.subject, obs.id))
        .to.be.revertedWithCustomError(w.records, "RecordIsErased")
        .withArgs(w.subject, obs.id, at);
    });

    it("a guardian with ERASE erases; without it, or a stranger, custodian or other controller, cannot", async () => {
      const { w, obs, med, patient2 } = await load();
      for (const s of [w.guardian, w.stranger, w.doctor, patient2]) {
        await expect(w.records.connect(s).eraseRecord(w.subject, obs.id))
          .to.be.revertedWithCustomError(w.records, "RecordEraseUnauthorized")
          .withArgs(w.subject, s.address);
      }
      await (await w.directory.connect(w.patient).setGuardian(w.subject, w.guardian.address, Power.ERASE, 0)).wait();
      await expect(w.records.connect(w.guardian).eraseRecord(w.subject, med.id))
        .to.emit(w.records, "RecordErased")
        .withArgs(w.subject, med.id, w.guardian.address);
    });

    it("an unknown record is RecordUnknown", async () => {
      const { w, other } = await load();
      await expect(w.records.connect(w.patient).eraseRecord(w.subject, other.id))
        .to.be.revertedWithCustomError(w.records, "RecordUnknown")
        .withArgs(w.subject, other.id);
    });
  });

  // ───────────────────────────── access ─────────────────────────────

  describe("access", () => {
    it("allowed by a consent: basis CONSENT, basisId = the consent id (hinted and unhinted)", async () => {
      const { w, obs } = await load();
      const permit = await doctorPermit(w);
      for (const hint of [permit, ZERO]) {
        await expect(w.records.connect(w.doctor).access(w.subject, obs.id, Purpose.TREAT, hint))
          .to.emit(w.records, "RecordAccessed")
          .withArgs(w.subject, obs.id, w.doctor.address, Purpose.TREAT, Basis.CONSENT, permit);
      }
    });

    it("a hint that does not cover the read falls back to the caller's lists", async () => {
      const { w, img } = await load();
      const narrow = await doctorPermit(w);
      const wide = await doctorPermit(w, { categories: categoryMask(["IMAGING"]) });
      await expect(w.records.connect(w.doctor).access(w.subject, img.id, Purpose.TREAT, narrow))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(w.subject, img.id, w.doctor.address, Purpose.TREAT, Basis.CONSENT, wide);
    });

    it("the subject and an ACCESS guardian read without consent: basis SUBJECT, basisId 0", async () => {
      const { w, obs } = await load();
      await expect(w.records.connect(w.patient).access(w.subject, obs.id, Purpose.PATRQT, ZERO))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(w.subject, obs.id, w.patient.address, Purpose.PATRQT, Basis.SUBJECT, ZERO);
      await (await w.directory.connect(w.patient).setGuardian(w.subject, w.guardian.address, Power.ACCESS, 0)).wait();
      await expect(w.records.connect(w.guardian).access(w.subject, obs.id, Purpose.PATRQT, ZERO))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(w.subject, obs.id, w.guardian.address, Purpose.PATRQT, Basis.SUBJECT, ZERO);
    });

    it("refusals carry the reason and the consent that explains them", async () => {
      const { w, obs, img } = await load();
      const refuse = (who: HardhatEthersSigner, id: string, purpose: number, hint: string, reason: number, cid: string) =>
        expect(w.records.connect(who).access(w.subject, id, purpose, hint))
          .to.be.revertedWithCustomError(w.records, "AccessDenied")
          .withArgs(w.subject, id, who.address, reason, cid);
      await refuse(w.payerAgent, obs.id, Purpose.HPAYMT, ZERO, Reason.NO_CONSENT, ZERO);
      await refuse(w.stranger, obs.id, Purpose.TREAT, ZERO, Reason.ACCESSOR_UNKNOWN, ZERO);
      const permit = await doctorPermit(w);
      await refuse(w.doctor, img.id, Purpose.TREAT, permit, Reason.CATEGORY_NOT_COVERED, permit);
      await refuse(w.doctor, obs.id, Purpose.HPAYMT, permit, Reason.PURPOSE_NOT_ALLOWED, permit);
      await refuse(w.labTech, obs.id, Purpose.TREAT, permit, Reason.GRANTEE_MISMATCH, permit);
      await refuse(w.doctor, obs.id, 10, ZERO, Reason.INVALID_PURPOSE, ZERO);
      await refuse(w.patient, obs.id, 10, ZERO, Reason.INVALID_PURPOSE, ZERO);
      const denyId = await denyAgainst(w, w.doctor.address, { categories: categoryMask(["OBSERVATIONS"]) });
      await refuse(w.doctor, obs.id, Purpose.TREAT, permit, Reason.DENIED_BY_SUBJECT, denyId);
      await (await w.consents.connect(w.patient).revoke(w.subject, denyId)).wait();
      await (await w.consents.connect(w.patient).revoke(w.subject, permit)).wait();
      await refuse(w.doctor, obs.id, Purpose.TREAT, permit, Reason.CONSENT_REVOKED, permit);
      const unknown = randomId();
      await refuse(w.doctor, unknown, Purpose.TREAT, ZERO, Reason.RECORD_UNKNOWN, ZERO);
    });

    it("status refusals despite a valid consent: ACCESSOR_SUSPENDED, ORGANIZATION_SUSPENDED, CREDENTIAL_EXPIRED", async () => {
      const { w, obs } = await load();
      const permit = await doctorPermit(w);
      const refuse = (reason: number) =>
        expect(w.records.connect(w.doctor).access(w.subject, obs.id, Purpose.TREAT, permit))
          .to.be.revertedWithCustomError(w.records, "AccessDenied")
          .withArgs(w.subject, obs.id, w.doctor.address, reason, ZERO);
      await (await w.directory.connect(w.hospitalAdmin).suspendPractitioner(w.doctor.address)).wait();
      await refuse(Reason.ACCESSOR_SUSPENDED);
      await (await w.directory.connect(w.hospitalAdmin).reinstatePractitioner(w.doctor.address)).wait();
      await (await w.directory.suspendOrganization(w.hospital)).wait();
      await refuse(Reason.ORGANIZATION_SUSPENDED);
      await (await w.directory.reinstateOrganization(w.hospital)).wait();
      await expireCredential(w, w.doctor.address, Role.CLINICIAN);
      await refuse(Reason.CREDENTIAL_EXPIRED);
    });

    it("time: CONSENT_NOT_YET_VALID before validFrom, allowed in the window, CONSENT_EXPIRED after", async () => {
      const { w, obs } = await load();
      const now = await w.now();
      const permit = await doctorPermit(w, { validFrom: now + 100, validUntil: now + 1000 });
      const tx = () => w.records.connect(w.doctor).access(w.subject, obs.id, Purpose.TREAT, permit);
      await expect(tx())
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(w.subject, obs.id, w.doctor.address, Reason.CONSENT_NOT_YET_VALID, permit);
      await time.increaseTo(now + 100);
      await expect(tx()).to.emit(w.records, "RecordAccessed");
      await time.increaseTo(now + 1000);
      await expect(tx())
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(w.subject, obs.id, w.doctor.address, Reason.CONSENT_EXPIRED, permit);
    });
  });

  describe("accessBatch", () => {
    it("logs one event per record, in order; a chart spanning two consents works with one hint", async () => {
      const { w, obs, med, img } = await load();
      const narrow = await doctorPermit(w);
      const imaging = await doctorPermit(w, { categories: categoryMask(["IMAGING"]) });
      const receipt = await mined(
        w.records.connect(w.doctor).accessBatch(w.subject, [obs.id, img.id, med.id, obs.id], Purpose.TREAT, narrow),
      );
      expect(await accessedIn(w, receipt)).to.deep.equal(
        [
          [obs.id, narrow],
          [img.id, imaging],
          [med.id, narrow],
          [obs.id, narrow],
        ].map(([recordId, basisId]) => ({
          subject: w.subject,
          recordId,
          accessor: w.doctor.address,
          purpose: Purpose.TREAT,
          basis: Basis.CONSENT,
          basisId,
        })),
      );
    });

    it("all or nothing: one refused, unknown or erased record reverts the batch", async () => {
      const { w, obs, note, other } = await load();
      const permit = await doctorPermit(w);
      await expect(w.records.connect(w.doctor).accessBatch(w.subject, [obs.id, note.id], Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(w.subject, note.id, w.doctor.address, Reason.CATEGORY_NOT_COVERED, permit);
      // A record of another subject is unknown under this one.
      await expect(w.records.connect(w.doctor).accessBatch(w.subject, [obs.id, other.id], Purpose.TREAT, permit))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(w.subject, other.id, w.doctor.address, Reason.RECORD_UNKNOWN, ZERO);
      await mined(w.records.connect(w.patient).eraseRecord(w.subject, obs.id));
      await expect(w.records.connect(w.patient).accessBatch(w.subject, [obs.id], Purpose.PATRQT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(w.subject, obs.id, w.patient.address, Reason.RECORD_ERASED, ZERO);
    });

    it("batch size: empty and 257 are AccessInvalidBatchSize(n, 256); 256 is accepted", async () => {
      const { w, obs } = await load();
      await expect(w.records.connect(w.patient).accessBatch(w.subject, [], Purpose.PATRQT, ZERO))
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(0, MAX_BATCH);
      await expect(
        w.records.connect(w.patient).accessBatch(w.subject, Array(MAX_BATCH + 1).fill(obs.id), Purpose.PATRQT, ZERO),
      )
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(MAX_BATCH + 1, MAX_BATCH);
      const receipt = await mined(
        w.records.connect(w.patient).accessBatch(w.subject, Array(MAX_BATCH).fill(obs.id), Purpose.PATRQT, ZERO),
      );
      expect(await accessedIn(w, receipt)).to.have.length(MAX_BATCH);
    });
  });

  // ───────────────────────────── break-glass ─────────────────────────────

  describe("breakGlassAccess", () => {
    it("an active responder breaks the glass: BreakGlassDeclared (expires now + 4 h) and EMERGENCY accesses", async () => {
      const { w, obs, note } = await load();
      expect(
        await w.records.connect(w.responder).breakGlassAccess.staticCall(w.subject, [obs.id], Purpose.ETREAT, 7),
      ).to.equal(1n);
      const t = (await w.now()) + 60;
      await time.setNextBlockTimestamp(t);
      const tx = w.records.connect(w.responder).breakGlassAccess(w.subject, [obs.id, note.id], Purpose.ETREAT, 7);
      await expect(tx)
        .to.emit(w.records, "BreakGlassDeclared")
        .withArgs(1, w.subject, w.responder.address, w.hospital, Purpose.ETREAT, 7, t + HOURS_4);
      expect(await accessedIn(w, await mined(tx))).to.deep.equal(
        [obs.id, note.id].map((recordId) => ({
          subject: w.subject,
          recordId,
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

    it("within 4 h the session is reused; from expiry on, or once reviewed, a new session and review open", async () => {
      const { w, obs, med, labOfficer } = await load();
      const t = (await w.now()) + 60;
      await time.setNextBlockTimestamp(t);
      await mined(w.records.connect(w.responder).breakGlassAccess(w.subject, [obs.id], Purpose.ETREAT, 7));
      await time.setNextBlockTimestamp(t + HOURS_4 - 1);
      const again = w.records.connect(w.responder).breakGlassAccess(w.subject, [med.id], Purpose.BTG, 9);
      await expect(again).not.to.emit(w.records, "BreakGlassDeclared");
      await expect(again)
        .to.emit(w.records, "RecordAccessed")
        .withArgs(w.subject, med.id, w.responder.address, Purpose.BTG, Basis.EMERGENCY, sessionKey(1));
      await time.setNextBlockTimestamp(t + HOURS_4);
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [obs.id], Purpose.ETREAT, 8))
        .to.emit(w.records, "BreakGlassDeclared")
        .withArgs(2, w.subject, w.responder.address, w.hospital, Purpose.ETREAT, 8, t + 2 * HOURS_4);
      await mined(w.records.connect(labOfficer).closeReview(2, Outcome.JUSTIFIED));
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [obs.id], Purpose.ETREAT, 9)).to.emit(
        w.records,
        "BreakGlassDeclared",
      );
      expect(await w.records.pendingReviews(w.hospital)).to.equal(2n);
    });

    it("sessions are per responder and subject; pendingReviews counts per organization", async () => {
      const { w, obs, other, subject2, labResponder } = await load();
      await mined(w.records.connect(w.responder).breakGlassAccess(w.subject, [obs.id], Purpose.ETREAT, 1));
      await expect(w.records.connect(w.responder).breakGlassAccess(subject2, [other.id], Purpose.ETREAT, 2))
        .to.emit(w.records, "BreakGlassDeclared")
        .withArgs(2, subject2, w.responder.address, w.hospital, Purpose.ETREAT, 2, (await w.now()) + 1 + HOURS_4);
      await mined(w.records.connect(labResponder).breakGlassAccess(w.subject, [obs.id], Purpose.BTG, 3));
      expect(await w.records.pendingReviews(w.hospital)).to.equal(2n);
      expect(await w.records.pendingReviews(w.lab)).to.equal(1n);
    });

    it("refused: invalid purpose, not a responder, inactive, unknown, opted out (and allowed again after opting in)", async () => {
      const { w, obs } = await load();
      const refuse = (who: HardhatEthersSigner, purpose: number, reason: number) =>
        expect(w.records.connect(who).breakGlassAccess(w.subject, [obs.id], purpose, 1))
          .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
          .withArgs(w.subject, who.address, reason, ZERO);
      for (const purpose of [Purpose.TREAT, Purpose.HPAYMT, 10]) await refuse(w.responder, purpose, Reason.INVALID_PURPOSE);
      await refuse(w.doctor, Purpose.ETREAT, Reason.NOT_EMERGENCY_RESPONDER);
      await refuse(w.stranger, Purpose.ETREAT, Reason.ACCESSOR_UNKNOWN);
      await refuse(w.patient, Purpose.ETREAT, Reason.ACCESSOR_UNKNOWN);
      await (await w.directory.connect(w.hospitalAdmin).suspendPractitioner(w.responder.address)).wait();
      await refuse(w.responder, Purpose.ETREAT, Reason.ACCESSOR_SUSPENDED);
      await (await w.directory.connect(w.hospitalAdmin).reinstatePractitioner(w.responder.address)).wait();
      await (await w.directory.suspendOrganization(w.hospital)).wait();
      await refuse(w.responder, Purpose.ETREAT, Reason.ORGANIZATION_SUSPENDED);
      await (await w.directory.reinstateOrganization(w.hospital)).wait();
      await (await w.consents.connect(w.patient).setBreakGlassOptOut(w.subject, true)).wait();
      await refuse(w.responder, Purpose.ETREAT, Reason.BREAK_GLASS_OPTED_OUT);
      await (await w.consents.connect(w.patient).setBreakGlassOptOut(w.subject, false)).wait();
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [obs.id], Purpose.ETREAT, 1)).to.emit(
        w.records,
        "BreakGlassDeclared",
      );
      await expireCredential(w, w.responder.address, Role.EMERGENCY_RESPONDER);
      await refuse(w.responder, Purpose.ETREAT, Reason.CREDENTIAL_EXPIRED);
    });

    it("a deny binds only for the categories of the records read (a chart with one denied category is refused whole)", async () => {
      const { w, obs, note } = await load();
      const denyId = await denyAgainst(w, w.responder.address, { categories: categoryMask(["NOTES"]) });
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [obs.id, note.id], Purpose.ETREAT, 1))
        .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
        .withArgs(w.subject, w.responder.address, Reason.DENIED_BY_SUBJECT, denyId);
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [obs.id], Purpose.ETREAT, 1)).to.emit(
        w.records,
        "BreakGlassDeclared",
      );
    });

    it("an erased or unknown record is AccessDenied; batch sizes 0 and 257 are refused", async () => {
      const { w, obs, med, other } = await load();
      await mined(w.records.connect(w.patient).eraseRecord(w.subject, med.id));
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [obs.id, med.id], Purpose.ETREAT, 1))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(w.subject, med.id, w.responder.address, Reason.RECORD_ERASED, ZERO);
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [other.id], Purpose.ETREAT, 1))
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(w.subject, other.id, w.responder.address, Reason.RECORD_UNKNOWN, ZERO);
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [], Purpose.ETREAT, 1))
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(0, MAX_BATCH);
      await expect(
        w.records.connect(w.responder).breakGlassAccess(w.subject, Array(MAX_BATCH + 1).fill(obs.id), Purpose.ETREAT, 1),
      )
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(MAX_BATCH + 1, MAX_BATCH);
    });
  });

  // ───────────────────────────── reviews ─────────────────────────────

  describe("closeReview", () => {
    async function withSession(): Promise<Ctx & { expiresAt: number }> {
      const ctx = await load();
      const t = (await ctx.w.now()) + 60;
      await time.setNextBlockTimestamp(t);
      await mined(ctx.w.records.connect(ctx.w.responder).breakGlassAccess(ctx.w.subject, [ctx.obs.id], Purpose.ETREAT, 42));
      return { ...ctx, expiresAt: t + HOURS_4 };
    }

    for (const [name, outcome] of [
      ["JUSTIFIED", Outcome.JUSTIFIED],
      ["UNJUSTIFIED", Outcome.UNJUSTIFIED],
    ] as const) {
      it(`another organization's privacy officer closes the hospital responder's review as ${name}`, async () => {
        const { w, labOfficer, expiresAt } = await withSession();
        await expect(w.records.connect(labOfficer).closeReview(1, outcome))
          .to.emit(w.records, "BreakGlassReviewed")
          .withArgs(1, labOfficer.address, outcome, w.lab);
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

    it("a regulator's auditor closes it; an auditor of a non-regulator does not", async () => {
      const { w } = await withSession();
      const labAuditor = w.signers[16]!;
      await (
        await w.directory
          .connect(w.labAdmin)
          .enrollPractitioner(w.lab, labAuditor.address, Role.AUDITOR, (await w.now()) + YEAR, fakeKey("aud"))
      ).wait();
      await expect(w.records.connect(labAuditor).closeReview(1, Outcome.JUSTIFIED))
        .to.be.revertedWithCustomError(w.records, "ReviewNotReviewer")
        .withArgs(1, labAuditor.address);
      const { regulator, inspector } = await admitRegulator(w);
      await expect(w.records.connect(inspector).closeReview(1, Outcome.JUSTIFIED))
        .to.emit(w.records, "BreakGlassReviewed")
        .withArgs(1, inspector.address, Outcome.JUSTIFIED, regulator);
    });

    it("the responder's own organization (its officer, the responder) cannot close it: ReviewNotIndependent", async () => {
      const { w } = await withSession();
      await expect(w.records.connect(w.officer).closeReview(1, Outcome.JUSTIFIED))
        .to.be.revertedWithCustomError(w.records, "ReviewNotIndependent")
        .withArgs(1, w.officer.address, w.hospital);
      // A responder who is also a privacy officer of its own organization is not independent either.
      await (
        await w.directory
          .connect(w.hospitalAdmin)
          .updatePractitioner(w.responder.address, Role.EMERGENCY_RESPONDER | Role.PRIVACY_OFFICER, (await w.now()) + YEAR)
      ).wait();
      await expect(w.records.connect(w.responder).closeReview(1, Outcome.JUSTIFIED))
        .to.be.revertedWithCustomError(w.records, "ReviewNotIndependent")
        .withArgs(1, w.responder.address, w.hospital);
    });

    it("an inactive officer, a non-officer or a stranger cannot: ReviewNotReviewer", async () => {
      const { w, labOfficer } = await withSession();
      for (const s of [w.stranger, w.labTech, w.payerAgent, w.patient]) {
        await expect(w.records.connect(s).closeReview(1, Outcome.JUSTIFIED))
          .to.be.revertedWithCustomError(w.records, "ReviewNotReviewer")
          .withArgs(1, s.address);
      }
      await (await w.directory.connect(w.labAdmin).suspendPractitioner(labOfficer.address)).wait();
      await expect(w.records.connect(labOfficer).closeReview(1, Outcome.JUSTIFIED))
        .to.be.revertedWithCustomError(w.records, "ReviewNotReviewer")
        .withArgs(1, labOfficer.address);
    });

    it("a review cannot close as PENDING, closes once, and unknown sessions revert", async () => {
      const { w, labOfficer } = await withSession();
      await expect(w.records.connect(labOfficer).closeReview(1, Outcome.PENDING))
        .to.be.revertedWithCustomError(w.records, "ReviewInvalidOutcome")
        .withArgs(Outcome.PENDING);
      await mined(w.records.connect(labOfficer).closeReview(1, Outcome.UNJUSTIFIED));
      await expect(w.records.connect(labOfficer).closeReview(1, Outcome.JUSTIFIED))
        .to.be.revertedWithCustomError(w.records, "ReviewAlreadyClosed")
        .withArgs(1, Outcome.UNJUSTIFIED);
      await expect(w.records.connect(labOfficer).closeReview(7, Outcome.JUSTIFIED))
        .to.be.revertedWithCustomError(w.records, "ReviewUnknownSession")
        .withArgs(7);
      await expect(w.records.connect(labOfficer).closeReview(1, 3)).to.be.revertedWithoutReason(conn.ethers);
    });
  });
});
