/**
 * The audit of contracts 1.0 (issue 8): every finding as the exploit it describes, run against 1.1.
 * Each test's name states the attack; its comment says how the same exploit succeeds on 1.0 (each
 * was reproduced against the contracts on `main`). Finding 8 (signer not bound in EIP-712) needs two
 * ERC-1271 wallets and lives in test/solidity/Signatures.t.sol
 * (`test_oneSignatureIsNotAcceptedForTwoWalletsOfOneOwner`).
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import { network } from "hardhat";

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
  anchor,
  buildWorld,
  commitment,
  fakeKey,
  grantFromPatient,
  grantHospitalAppend,
  randomId,
  registerSubject,
  terms,
} from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";
import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";

const conn = await network.create();
const { networkHelpers, ethers } = conn;
const ZERO = ethersLib.ZeroHash;

const LEAF_TYPES = ["bytes32", "bytes32", "uint8", "bytes32", "bytes32"];
type Leaf = [string, string, number, string, string];

/** A batch of `n` members of `subject` whose ids start with a fresh 16-byte tag. */
function batchOf(subject: string, n: number, category = Category.OBSERVATIONS) {
  const tag = ethersLib.hexlify(ethersLib.randomBytes(16));
  const leaves: Leaf[] = Array.from({ length: n }, () => [
    subject,
    tag + ethersLib.hexlify(ethersLib.randomBytes(16)).slice(2),
    category,
    randomId(),
    commitment(),
  ]);
  return { tag, leaves, tree: StandardMerkleTree.of(leaves, LEAF_TYPES) };
}

async function gasOfCheck(w: World, subject: string, hint = ZERO): Promise<bigint> {
  return w.consents.checkWithHint.estimateGas(
    w.doctor.address,
    subject,
    Category.OBSERVATIONS,
    Purpose.TREAT,
    Action.READ,
    hint,
  );
}

/** Enrolls `n` clinicians at the lab (grantees "others" can name). */
async function enrollLabClinicians(w: World, n: number): Promise<string[]> {
  const licence = (await w.now()) + YEAR;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const account = ethersLib.Wallet.createRandom().address;
    await (
      await w.directory
        .connect(w.labAdmin)
        .enrollPractitioner(w.lab, account, Role.CLINICIAN, licence, fakeKey(`lab-clinician-${i}`))
    ).wait();
    out.push(account);
  }
  return out;
}

describe("audit findings of contracts 1.0, as exploits against 1.1", () => {
  const world = () => buildWorld(conn);

  describe("1 (High) batch-root hijack", () => {
    it("an attacker who lands a hospital's pending batch root first, under its own subject, neither blocks the hospital's batch nor can prove the patient's records", async () => {
      // On 1.0 batches were keyed by root alone: the attacker's anchorBatch(ownSubject, root) made the
      // hospital's anchorBatch revert RecordBatchExists(root), and every member was then provable
      // (and erasable) only under the attacker's subject.
      const w = await networkHelpers.loadFixture(world);
      const appendId = await grantHospitalAppend(w);
      const { tag, leaves, tree } = batchOf(w.subject, 4);
      const attacker = w.stranger;
      const attackerSubject = await registerSubject(w, attacker);
      // Front-run: the attacker copies root and tag from the pending transaction.
      await expect(
        w.records.connect(attacker).anchorBatch(attackerSubject, tree.root, tag, 4, 1 << Category.OBSERVATIONS, "x", ZERO),
      ).to.emit(w.records, "BatchAnchored");
      // The hospital's transaction still lands.
      await expect(
        w.records
          .connect(w.doctor)
          .anchorBatch(w.subject, tree.root, tag, 4, 1 << Category.OBSERVATIONS, "manifest", appendId),
      )
        .to.emit(w.records, "BatchAnchored")
        .withArgs(w.subject, tree.root, tag, w.hospital, 4, 1 << Category.OBSERVATIONS, "manifest", w.doctor.address);
      const [, id, category, digest, label] = leaves[0]!;
      // The leaves bind the patient's subject: they do not verify under the attacker's batch.
      await expect(
        w.records.proveRecord(attackerSubject, tree.root, id, category, digest, label, tree.getProof(0)),
      )
        .to.be.revertedWithCustomError(w.records, "RecordInvalidProof")
        .withArgs(attackerSubject, tree.root, id);
      // Nor does re-labelling the leaf with the attacker's subject (the root would differ).
      expect(
        await w.records.verifyBatchMember(attackerSubject, tree.root, id, category, digest, label, tree.getProof(0)),
      ).to.equal(false);
      // Under the patient's subject they prove, the patient reads and erases, the attacker cannot erase.
      await (await w.records.proveRecord(w.subject, tree.root, id, category, digest, label, tree.getProof(0))).wait();
      await expect(w.records.connect(w.patient).access(w.subject, id, Purpose.PATRQT, ZERO))
        .to.emit(w.records, "RecordAccessed")
        .withArgs(w.subject, id, w.patient.address, Purpose.PATRQT, Basis.SUBJECT, ZERO);
      await expect(w.records.connect(attacker).eraseRecord(w.subject, id))
        .to.be.revertedWithCustomError(w.records, "RecordEraseUnauthorized")
        .withArgs(w.subject, attacker.address);
      await expect(w.records.connect(w.patient).eraseRecord(w.subject, id)).to.emit(w.records, "RecordErased");
    });
  });

  describe("2 (Medium) record-id squatting", () => {
    it("an attacker who anchors a pending record id under its own subject first does not take it from the patient", async () => {
      // On 1.0 record ids were one global namespace: the squatter's anchorRecord made the hospital's
      // revert RecordExists(recordId), and the SDK swallowed it, so put() reported success for a
      // record anchored under someone else's subject.
      const w = await networkHelpers.loadFixture(world);
      const appendId = await grantHospitalAppend(w);
      const attackerSubject = await registerSubject(w, w.stranger);
      const id = randomId();
      await anchor(w, { by: w.stranger, subject: attackerSubject, id, hint: ZERO });
      const digest = randomId();
      const label = commitment();
      await expect(
        w.records
          .connect(w.doctor)
          .anchorRecord(w.subject, id, Category.OBSERVATIONS, digest, label, ZERO, "p", appendId),
      )
        .to.emit(w.records, "RecordAnchored")
        .withArgs(w.subject, id, w.hospital, Category.OBSERVATIONS, digest, label, ZERO, "p", w.doctor.address, appendId);
      const [stored] = await w.records.getRecord(w.subject, id);
      expect(stored).to.equal(await w.records.recordCommitment(digest, label));
    });

    it("an attacker who anchors a listed but unproven batch member's id under its own subject first does not stop the member from being proven", async () => {
      // On 1.0 the squatted id made proveRecord revert RecordExists: the member was lost for good.
      const w = await networkHelpers.loadFixture(world);
      const appendId = await grantHospitalAppend(w);
      const { tag, leaves, tree } = batchOf(w.subject, 3);
      await (
        await w.records
          .connect(w.doctor)
          .anchorBatch(w.subject, tree.root, tag, 3, 1 << Category.OBSERVATIONS, "manifest", appendId)
      ).wait();
      const attackerSubject = await registerSubject(w, w.stranger);
      const [, id, category, digest, label] = leaves[1]!;
      await anchor(w, { by: w.stranger, subject: attackerSubject, id, hint: ZERO });
      await expect(w.records.proveRecord(w.subject, tree.root, id, category, digest, label, tree.getProof(1)))
        .to.emit(w.records, "RecordProven")
        .withArgs(w.subject, id, tree.root, category, digest, label);
    });
  });

  describe("3 (Medium) version-chain hijack", () => {
    it("a lab holding APPEND on demographics cannot supersede the hospital's note: a new version keeps the category", async () => {
      // On 1.0 anchorRecord checked APPEND only for the new version's category: the lab's
      // demographics version superseded the note, and the hospital got RecordAlreadySuperseded.
      const w = await networkHelpers.loadFixture(world);
      const appendId = await grantHospitalAppend(w);
      const note = await anchor(w, { category: Category.NOTES, hint: appendId });
      const labAppend = await grantFromPatient(
        w,
        terms({
          granteeKind: GranteeKind.ORG_ROLE,
          granteeOrg: w.lab,
          granteeRoles: Role.CLINICIAN,
          categories: 1 << Category.DEMOGRAPHICS,
          actions: Action.APPEND,
        }),
      );
      await expect(
        w.records
          .connect(w.labTech)
          .anchorRecord(w.subject, randomId(), Category.DEMOGRAPHICS, randomId(), commitment(), note, "p", labAppend),
      )
        .to.be.revertedWithCustomError(w.records, "RecordCategoryMismatch")
        .withArgs(w.subject, note, Category.NOTES, Category.DEMOGRAPHICS);
      // The hospital keeps its chain.
      await anchor(w, { category: Category.NOTES, previous: note, hint: appendId });
    });

    it("a lab holding APPEND on notes cannot supersede the hospital's note: only the subject moves a record to another custodian", async () => {
      const w = await networkHelpers.loadFixture(world);
      const appendId = await grantHospitalAppend(w);
      const note = await anchor(w, { category: Category.NOTES, hint: appendId });
      const labAppend = await grantFromPatient(
        w,
        terms({
          granteeKind: GranteeKind.ORG_ROLE,
          granteeOrg: w.lab,
          granteeRoles: Role.CLINICIAN,
          categories: 1 << Category.NOTES,
          actions: Action.APPEND,
        }),
      );
      await expect(
        w.records
          .connect(w.labTech)
          .anchorRecord(w.subject, randomId(), Category.NOTES, randomId(), commitment(), note, "p", labAppend),
      )
        .to.be.revertedWithCustomError(w.records, "RecordCustodianMismatch")
        .withArgs(w.subject, note, w.hospital, w.lab);
      // The subject itself may supersede it (custodian 0).
      const v2 = randomId();
      await expect(
        w.records
          .connect(w.patient)
          .anchorRecord(w.subject, v2, Category.NOTES, randomId(), commitment(), note, "p", ZERO),
      ).to.emit(w.records, "RecordAnchored");
      expect((await w.records.getRecord(w.subject, v2)).custodian).to.equal(0n);
    });
  });

  describe("4 (Medium) break-glass ignores denies", () => {
    it("a responder the patient denied for every purpose cannot read by breaking the glass", async () => {
      // On 1.0 access refused (DENIED_BY_SUBJECT) but breakGlassAccess logged the same responder's
      // emergency read: the only defence was the all-or-nothing opt-out.
      const w = await networkHelpers.loadFixture(world);
      const id = await anchor(w, { by: w.patient });
      const denyId = await grantFromPatient(
        w,
        terms({ effect: Effect.DENY, granteeAccount: w.responder.address, purposes: ALL_PURPOSES, categories: ALL_CATEGORIES }),
      );
      for (const purpose of [Purpose.ETREAT, Purpose.BTG]) {
        await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [id], purpose, 1))
          .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
          .withArgs(w.subject, w.responder.address, Reason.DENIED_BY_SUBJECT, denyId);
      }
    });

    it("a deny naming the responder's organization, or its role at any organization, binds the emergency read too; one that excludes emergency purposes does not", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await anchor(w, { by: w.patient });
      const orgDeny = await grantFromPatient(
        w,
        terms({
          effect: Effect.DENY,
          granteeKind: GranteeKind.ORG_ROLE,
          granteeOrg: w.hospital,
          granteeRoles: Role.EMERGENCY_RESPONDER,
          purposes: 1 << Purpose.ETREAT,
          categories: 1 << Category.OBSERVATIONS,
        }),
      );
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [id], Purpose.ETREAT, 1))
        .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
        .withArgs(w.subject, w.responder.address, Reason.DENIED_BY_SUBJECT, orgDeny);
      // BTG is not covered by that deny.
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [id], Purpose.BTG, 1)).to.emit(
        w.records,
        "BreakGlassDeclared",
      );
      await (await w.consents.connect(w.patient).revoke(w.subject, orgDeny)).wait();
      const roleDeny = await grantFromPatient(
        w,
        terms({
          effect: Effect.DENY,
          granteeKind: GranteeKind.ORG_ROLE,
          granteeOrg: 0,
          granteeRoles: Role.EMERGENCY_RESPONDER,
          purposes: ALL_PURPOSES,
          categories: ALL_CATEGORIES,
        }),
      );
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [id], Purpose.ETREAT, 2))
        .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
        .withArgs(w.subject, w.responder.address, Reason.DENIED_BY_SUBJECT, roleDeny);
      await (await w.consents.connect(w.patient).revoke(w.subject, roleDeny)).wait();
      // A deny for payment purposes only does not bind an emergency read.
      await grantFromPatient(
        w,
        terms({ effect: Effect.DENY, granteeAccount: w.responder.address, purposes: 1 << Purpose.HPAYMT }),
      );
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [id], Purpose.ETREAT, 3)).to.emit(
        w.records,
        "RecordAccessed",
      );
    });
  });

  describe("5 (Medium) unbounded consent search and a crowdable deny list", () => {
    it("a guardian's flood of denies naming others does not make the doctor's access dearer", async () => {
      // On 1.0 every active deny of the subject was evaluated on every check (+4.8–7.4k each), and
      // the unhinted search walked every consent ever granted (+3,156 gas each): a REVOKE guardian
      // could price the patient's records out of a block.
      const w = await networkHelpers.loadFixture(world);
      const appendId = await grantHospitalAppend(w);
      const permit = await grantFromPatient(w, terms({ granteeAccount: w.doctor.address }));
      const id = await anchor(w, { hint: appendId });
      const others = await enrollLabClinicians(w, 12);
      const flood = (account: string) =>
        terms({ effect: Effect.DENY, granteeAccount: account, purposes: ALL_PURPOSES, validUntil: 0 });
      // One deny naming someone else puts the subject's deny lists in play: that is the baseline.
      await (await w.consents.connect(w.guardian).grant(w.subject, flood(others[0]!))).wait();
      const accessGas = async () =>
        (await (await w.records.connect(w.doctor).access(w.subject, id, Purpose.TREAT, permit)).wait())!.gasUsed;
      const baselineHinted = await accessGas();
      const baselineUnhinted = await gasOfCheck(w, w.subject);
      for (const account of others.slice(1)) {
        for (let k = 0; k < 4; k++) await (await w.consents.connect(w.guardian).grant(w.subject, flood(account))).wait();
      }
      expect(await accessGas()).to.equal(baselineHinted);
      expect(await gasOfCheck(w, w.subject)).to.equal(baselineUnhinted);
    });

    it("a subject's history of revoked and expired consents to others does not make the unhinted check dearer", async () => {
      const w = await networkHelpers.loadFixture(world);
      await grantFromPatient(w, terms({ granteeAccount: w.doctor.address }));
      const others = await enrollLabClinicians(w, 4);
      const before = await gasOfCheck(w, w.subject);
      for (let i = 0; i < 200; i++) {
        const expiring = i % 2 === 0;
        const t = terms({ granteeAccount: others[i % 4]!, validUntil: expiring ? (await w.now()) + 30 : 0 });
        const id = await grantFromPatient(w, t);
        if (!expiring) await (await w.consents.connect(w.patient).revoke(w.subject, id)).wait();
        if (i % 10 === 9) await networkHelpers.time.increase(60);
      }
      expect(await w.consents.consentCount(w.subject)).to.equal(201n);
      expect(await gasOfCheck(w, w.subject)).to.equal(before);
    });

    it("a REVOKE guardian cannot fill the places the patient needs for its own deny", async () => {
      // On 1.0 the 16 deny places were shared: a guardian filled them (with one-second denies, or
      // narrow ones) and the patient's own deny reverted ConsentTooManyDenies.
      const w = await networkHelpers.loadFixture(world);
      const narrow = () =>
        terms({ effect: Effect.DENY, granteeAccount: w.doctor.address, categories: 1 << Category.IMAGING, purposes: 1 });
      const quota = Number(await w.consents.GUARDIAN_PLACES());
      for (let i = 0; i < quota; i++) await (await w.consents.connect(w.guardian).grant(w.subject, narrow())).wait();
      await expect(w.consents.connect(w.guardian).grant(w.subject, narrow()))
        .to.be.revertedWithCustomError(w.consents, "ConsentGuardianQuotaExceeded")
        .withArgs(w.subject, w.guardian.address, quota);
      // The patient's own deny still fits, up to the list's capacity.
      const capacity = Number(await w.consents.BUCKET_CAPACITY());
      for (let i = quota; i < capacity; i++) {
        await expect(
          w.consents
            .connect(w.patient)
            .grant(w.subject, terms({ effect: Effect.DENY, granteeAccount: w.doctor.address, purposes: ALL_PURPOSES })),
        ).to.emit(w.consents, "ConsentGranted");
      }
    });
  });

  describe("6 (Low) stale recovery approvals", () => {
    it("an approval given before the guardian was removed does not count once the guardian is re-appointed", async () => {
      // On 1.0 setGuardian never moved the epoch: the approval counted again after re-appointment.
      const w = await networkHelpers.loadFixture(world);
      const other = w.signers[13]!;
      const newController = w.signers[14]!;
      const d = w.directory.connect(w.patient);
      await (await d.setGuardian(w.subject, other.address, Power.RECOVER, 0)).wait();
      await (await d.setRecoveryThreshold(w.subject, 2)).wait();
      await (await w.directory.connect(w.guardian).approveRecovery(w.subject, newController.address)).wait();
      await (await w.directory.connect(other).approveRecovery(w.subject, newController.address)).wait();
      // The patient removes the guardian, later re-appoints it (or renews its appointment).
      await (await d.setGuardian(w.subject, other.address, 0, 0)).wait();
      await (await d.setGuardian(w.subject, other.address, Power.RECOVER, 0)).wait();
      const approvers = [w.guardian.address, other.address].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      await expect(w.directory.executeRecovery(w.subject, newController.address, approvers))
        .to.be.revertedWithCustomError(w.directory, "DirectoryRecoveryNotApproved")
        .withArgs(w.subject, other.address, newController.address);
      expect(await w.directory.recoveryApproved(w.subject, other.address, newController.address)).to.equal(false);
      expect(await w.directory.recoveryApproved(w.subject, w.guardian.address, newController.address)).to.equal(true);
    });
  });

  describe("7 (Low) subject-id squatting", () => {
    it("an attacker who front-runs a hospital's registration with the same salt gets another subject id; the hospital's registration succeeds", async () => {
      // On 1.0 the subject id was chosen by the caller: the front-runner became controller of the
      // hospital's subject id, with its own encryption key, and the hospital got SubjectExists.
      const w = await networkHelpers.loadFixture(world);
      const salt = randomId();
      const controller = w.signers[13]!;
      await (await w.directory.connect(w.stranger).registerPatient(salt, w.stranger.address, fakeKey("attacker"))).wait();
      const attackers = await w.directory.subjectIdFor(w.stranger.address, salt);
      const expected = await w.directory.subjectIdFor(w.hospitalAdmin.address, salt);
      expect(attackers).to.not.equal(expected);
      await expect(w.directory.connect(w.hospitalAdmin).registerPatient(salt, controller.address, fakeKey("p")))
        .to.emit(w.directory, "PatientRegistered")
        .withArgs(expected, controller.address, w.hospitalAdmin.address, salt, fakeKey("p"), 1);
      expect(await w.directory.controllerOf(expected)).to.equal(controller.address);
      expect(expected).to.equal(
        ethersLib.keccak256(
          ethersLib.AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [w.hospitalAdmin.address, salt]),
        ),
      );
    });
  });

  describe("9 (Low) governance defaults", () => {
    // See test/contracts/deployment.test.ts: "a default deployment leaves the deployer no role anywhere".
  });

  describe("10 (Low) self-policed break-glass", () => {
    it("a rogue hospital's puppet privacy officer cannot close its own responder's review as JUSTIFIED", async () => {
      // On 1.0 a privacy officer of the responder's own organization closed the review: a rogue admin
      // enrolled a puppet responder and a puppet officer, read any patient and cleared itself.
      const w = await networkHelpers.loadFixture(world);
      const id = await anchor(w, { by: w.patient });
      const puppetResponder = w.signers[13]!;
      const puppetOfficer = w.signers[14]!;
      const licence = (await w.now()) + YEAR;
      const h = w.directory.connect(w.hospitalAdmin);
      await (await h.enrollPractitioner(w.hospital, puppetResponder.address, Role.EMERGENCY_RESPONDER, licence, fakeKey("pr"))).wait();
      await (await h.enrollPractitioner(w.hospital, puppetOfficer.address, Role.PRIVACY_OFFICER, licence, fakeKey("po"))).wait();
      await (await w.records.connect(puppetResponder).breakGlassAccess(w.subject, [id], Purpose.BTG, 9)).wait();
      const sessionId = 1n;
      for (const officer of [puppetOfficer, w.officer]) {
        await expect(w.records.connect(officer).closeReview(sessionId, Outcome.JUSTIFIED))
          .to.be.revertedWithCustomError(w.records, "ReviewNotIndependent")
          .withArgs(sessionId, officer.address, w.hospital);
      }
      expect(await w.records.pendingReviews(w.hospital)).to.equal(1n);
      // A regulator's auditor (or another organization's privacy officer) closes it.
      const { inspector } = await admitRegulator(w);
      await expect(w.records.connect(inspector).closeReview(sessionId, Outcome.UNJUSTIFIED))
        .to.emit(w.records, "BreakGlassReviewed")
        .withArgs(sessionId, inspector.address, Outcome.UNJUSTIFIED, 4);
      expect(await w.records.pendingReviews(w.hospital)).to.equal(0n);
    });

    it("the security council suspends the rogue organization and bars its puppet at once; only governance lifts either", async () => {
      // On 1.0 only governance could suspend, after the timelock delay, while the puppet kept reading.
      const w = await networkHelpers.loadFixture(world);
      const council = w.signers[15]!;
      await (await w.directory.grantRole(await w.directory.SECURITY_COUNCIL_ROLE(), council.address)).wait();
      const id = await anchor(w, { by: w.patient });
      await expect(w.directory.connect(council).barPractitioner(w.responder.address))
        .to.emit(w.directory, "PractitionerBarred")
        .withArgs(w.responder.address, w.hospital, true, council.address);
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [id], Purpose.BTG, 1))
        .to.be.revertedWithCustomError(w.records, "BreakGlassDenied")
        .withArgs(w.subject, w.responder.address, Reason.ACCESSOR_SUSPENDED, ZERO);
      // The rogue admin cannot undo a bar (its reinstatement only lifts its own suspension).
      await expect(w.directory.connect(w.hospitalAdmin).reinstatePractitioner(w.responder.address))
        .to.be.revertedWithCustomError(w.directory, "DirectoryPractitionerStatusUnchanged")
        .withArgs(w.responder.address, false);
      await expect(w.directory.connect(council).suspendOrganization(w.hospital))
        .to.emit(w.directory, "OrganizationStatusChanged")
        .withArgs(w.hospital, true, council.address);
      const governanceRole = await w.directory.GOVERNANCE_ROLE();
      await expect(w.directory.connect(council).reinstateOrganization(w.hospital))
        .to.be.revertedWithCustomError(w.directory, "AccessControlUnauthorizedAccount")
        .withArgs(council.address, governanceRole);
      await expect(w.directory.connect(council).liftPractitionerBar(w.responder.address))
        .to.be.revertedWithCustomError(w.directory, "AccessControlUnauthorizedAccount")
        .withArgs(council.address, governanceRole);
      // The council's power is narrow: it cannot admit organizations nor change admins.
      await expect(w.directory.connect(council).admitOrganization(1, council.address, fakeKey("x")))
        .to.be.revertedWithCustomError(w.directory, "AccessControlUnauthorizedAccount")
        .withArgs(council.address, governanceRole);
      await expect(w.directory.connect(council).setOrganizationAdmin(w.hospital, council.address))
        .to.be.revertedWithCustomError(w.directory, "DirectoryNotOrganizationAdmin")
        .withArgs(w.hospital, council.address);
      await (await w.directory.reinstateOrganization(w.hospital)).wait();
      await (await w.directory.liftPractitionerBar(w.responder.address)).wait();
      await expect(w.records.connect(w.responder).breakGlassAccess(w.subject, [id], Purpose.BTG, 1)).to.emit(
        w.records,
        "BreakGlassDeclared",
      );
    });
  });

  describe("11 (Info)", () => {
    it("a consent naming an organization that is not admitted yet is refused (it would apply to whoever is admitted under that id)", async () => {
      // On 1.0 the consent was accepted and later applied to the organization admitted as id 4.
      const w = await networkHelpers.loadFixture(world);
      const t = terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: 4, granteeRoles: Role.CLINICIAN });
      await expect(w.consents.connect(w.patient).grant(w.subject, t))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnknownOrganization")
        .withArgs(4);
      const practitionerTerms = terms({ granteeAccount: w.stranger.address });
      await expect(w.consents.connect(w.patient).grant(w.subject, practitionerTerms))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnknownPractitioner")
        .withArgs(w.stranger.address);
    });

    it("constructors refuse zero addresses and a record registry wired to another directory's consent registry", async () => {
      // On 1.0 every constructor but the directory's accepted address(0), and RecordRegistry accepted
      // a consent registry that consults another directory.
      const w = await networkHelpers.loadFixture(world);
      const [deployer] = await ethers.getSigners();
      const Z = ethersLib.ZeroAddress;
      const directoryF = new ParticipantDirectory__factory(deployer);
      await expect(directoryF.deploy(Z, deployer!.address))
        .to.be.revertedWithCustomError(directoryF, "DirectoryZeroAddress")
        .withArgs("governance");
      await expect(directoryF.deploy(deployer!.address, Z)).to.be.revertedWithCustomError(directoryF, "MigrationZeroMigrator");
      const consentsF = new ConsentRegistry__factory(deployer);
      await expect(consentsF.deploy(Z, deployer!.address))
        .to.be.revertedWithCustomError(consentsF, "ConsentInvalidAddress")
        .withArgs("directory");
      await expect(consentsF.deploy(deployer!.address, deployer!.address))
        .to.be.revertedWithCustomError(consentsF, "ConsentInvalidAddress")
        .withArgs("directory");
      const recordsF = new RecordRegistry__factory(deployer);
      const directory = await w.directory.getAddress();
      const consents = await w.consents.getAddress();
      await expect(recordsF.deploy(Z, consents, deployer!.address))
        .to.be.revertedWithCustomError(recordsF, "RecordInvalidAddress")
        .withArgs("directory");
      await expect(recordsF.deploy(directory, Z, deployer!.address))
        .to.be.revertedWithCustomError(recordsF, "RecordInvalidAddress")
        .withArgs("consents");
      const otherDirectory = await (await directoryF.deploy(deployer!.address, deployer!.address)).getAddress();
      await expect(recordsF.deploy(otherDirectory, consents, deployer!.address))
        .to.be.revertedWithCustomError(recordsF, "RecordWiringMismatch")
        .withArgs(otherDirectory, directory);
      const keyholdersF = new KeyholderRegistry__factory(deployer);
      await expect(keyholdersF.deploy(Z, directory))
        .to.be.revertedWithCustomError(keyholdersF, "KeyholderZeroValue")
        .withArgs("governance");
      await expect(keyholdersF.deploy(deployer!.address, Z))
        .to.be.revertedWithCustomError(keyholdersF, "KeyholderZeroValue")
        .withArgs("directory");
    });

    it("an auditor rebuilding a deny from ConsentGranted gets exactly the stored purposes (no emitted 0 against a stored full mask)", async () => {
      // On 1.0 a deny granted with purposes 0 was emitted as 0 and stored as 1023.
      const w = await networkHelpers.loadFixture(world);
      await expect(
        w.consents.connect(w.patient).grant(w.subject, terms({ effect: Effect.DENY, granteeAccount: w.doctor.address, purposes: 0 })),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidTerms")
        .withArgs("purposes");
      const t = terms({ effect: Effect.DENY, granteeAccount: w.doctor.address, purposes: ALL_PURPOSES });
      const id = await grantFromPatient(w, t);
      const events = await w.consents.queryFilter(w.consents.filters.ConsentGranted(w.subject, id));
      const emitted = events[0]!.args.terms;
      const stored = await w.consents.getConsent(w.subject, id);
      expect(emitted.purposes).to.equal(stored.purposes);
      expect(emitted.categories).to.equal(stored.categories);
      expect(emitted.sealedTerms).to.equal(t.sealedTerms);
    });

    it("every contract reports version 1.1.0", async () => {
      const w = await networkHelpers.loadFixture(world);
      for (const c of [w.directory, w.consents, w.records, w.keyholders]) expect(await c.version()).to.equal("1.1.0");
    });

    it("an unregistered subject can neither receive anchors nor consents", async () => {
      const w = await networkHelpers.loadFixture(world);
      const ghost = randomId();
      await expect(
        w.records
          .connect(w.stranger)
          .anchorRecord(ghost, randomId(), Category.OBSERVATIONS, randomId(), commitment(), ZERO, "p", ZERO),
      )
        .to.be.revertedWithCustomError(w.records, "RecordUnknownSubject")
        .withArgs(ghost);
      await expect(w.consents.connect(w.stranger).grant(ghost, terms({ granteeAccount: w.doctor.address })))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(ghost, w.stranger.address, Power.GRANT);
    });
  });
});
