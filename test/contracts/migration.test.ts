/**
 * Migration 1.0 → 1.1, contract side: the migrator (the deployer) imports an earlier deployment's
 * state through each contract's `import…` functions — organizations with their ids, practitioners,
 * patients under their existing subject ids, guardians, thresholds and epochs, consents with their
 * sequence numbers (so their ids are unchanged), record anchors, tombstones and version links,
 * break-glass opt-outs — and then seals the migration, irreversibly. The TypeScript tool that reads
 * 1.0's events comes separately; here the 1.0 state is given as data.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { ZeroAddress, ZeroHash, ethers as ethersLib } from "ethers";
import { network } from "hardhat";

import { fetchLedgerEvents, recordKey, replay } from "../../sdk/audit/replay.js";
import { deployMedLedger } from "../../sdk/deploy.js";
import {
  ALL_CATEGORIES,
  ALL_PURPOSES,
  Action,
  Basis,
  Category,
  DAY,
  Effect,
  GranteeKind,
  OrgKind,
  Power,
  Purpose,
  Role,
  YEAR,
  commitment,
  fakeKey,
  randomId,
  terms,
} from "../../fixtures/world.js";
import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";
import type { ConsentRegistry, ParticipantDirectory, RecordRegistry } from "../../types/typechain/index.js";

const conn = await network.create();
const { networkHelpers, ethers } = conn;
const { time } = networkHelpers;

interface Fresh {
  migrator: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  signers: HardhatEthersSigner[];
  directory: ParticipantDirectory;
  consents: ConsentRegistry;
  records: RecordRegistry;
}

/** A fresh, unsealed 1.1 deployment (the deployer is governance and migrator). */
async function freshDeployment(): Promise<Fresh> {
  const signers = await ethers.getSigners();
  const migrator = signers[0]!;
  const directory = await new ParticipantDirectory__factory(migrator).deploy(migrator.address, migrator.address);
  const consents = await new ConsentRegistry__factory(migrator).deploy(await directory.getAddress(), migrator.address);
  const records = await new RecordRegistry__factory(migrator).deploy(
    await directory.getAddress(),
    await consents.getAddress(),
    migrator.address,
  );
  return { migrator, stranger: signers[11]!, signers, directory, consents, records };
}

const consentId = (subject: string, sequence: number): string =>
  ethersLib.keccak256(ethersLib.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint32"], [subject, sequence]));

/** A small 1.0 state: what the migration tool would have read from 1.0's events. */
interface OldState {
  hospitalAdmin: HardhatEthersSigner;
  labAdmin: HardhatEthersSigner;
  doctor: HardhatEthersSigner;
  labTech: HardhatEthersSigner;
  patient: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  /** A random 1.0 subject id (not derived from any registrant). */
  subject: string;
  records: { id: string; category: number; digest: string; label: string; custodian: number; previous: string }[];
}

async function importOldState(f: Fresh): Promise<OldState> {
  const s = f.signers;
  const old: OldState = {
    hospitalAdmin: s[1]!,
    labAdmin: s[7]!,
    doctor: s[2]!,
    labTech: s[8]!,
    patient: s[9]!,
    guardian: s[10]!,
    subject: randomId(),
    records: [],
  };
  const now = Number((await ethers.provider.getBlock("latest"))!.timestamp);
  const d = f.directory;
  await (await d.importOrganization(1, OrgKind.HOSPITAL, old.hospitalAdmin.address, fakeKey("h-v3"), 3, false)).wait();
  await (await d.importOrganization(2, OrgKind.LAB, old.labAdmin.address, fakeKey("lab"), 1, true)).wait();
  await (
    await d.importPractitioner(old.doctor.address, 1, Role.CLINICIAN, now + YEAR, false, fakeKey("doctor-v2"), 2)
  ).wait();
  // An expired credential is carried as it is.
  await (await d.importPractitioner(old.labTech.address, 2, Role.CLINICIAN, now - DAY, true, fakeKey("t"), 1)).wait();
  await (await d.importPatient(old.subject, old.patient.address, fakeKey("p-v4"), 4, 2, 7)).wait();
  await (
    await d.importGuardian(old.subject, old.guardian.address, Power.GRANT | Power.REVOKE | Power.RECOVER, 0)
  ).wait();
  const c = f.consents;
  // 1: hospital append (active); 2: doctor permit, revoked; 3: a deny by the guardian; 4: an expired
  // permit; 5: a permit naming an account never enrolled (kept for the record).
  await (
    await c.importConsent(
      old.subject,
      1,
      terms({
        granteeKind: GranteeKind.ORG_ROLE,
        granteeOrg: 1,
        granteeRoles: Role.CLINICIAN,
        categories: ALL_CATEGORIES,
        actions: Action.APPEND | Action.READ,
      }),
      0,
      old.patient.address,
    )
  ).wait();
  await (
    await c.importConsent(old.subject, 2, terms({ granteeAccount: old.doctor.address }), now - DAY, old.patient.address)
  ).wait();
  await (
    await c.importConsent(
      old.subject,
      3,
      terms({ effect: Effect.DENY, granteeAccount: old.labTech.address, purposes: ALL_PURPOSES }),
      0,
      old.guardian.address,
    )
  ).wait();
  await (
    await c.importConsent(
      old.subject,
      4,
      terms({ granteeAccount: old.doctor.address, validFrom: now - 10 * DAY, validUntil: now - DAY }),
      0,
      old.patient.address,
    )
  ).wait();
  await (
    await c.importConsent(old.subject, 5, terms({ granteeAccount: f.stranger.address }), 0, old.patient.address)
  ).wait();
  await (await c.importBreakGlassOptOut(old.subject)).wait();
  // Records: v1 -> v2 (hospital, conditions), v1 erased after being superseded; one by the subject.
  const r = f.records;
  const v1 = {
    id: randomId(),
    category: Category.CONDITIONS,
    digest: randomId(),
    label: commitment(),
    custodian: 1,
    previous: ZeroHash,
  };
  const v2 = {
    id: randomId(),
    category: Category.CONDITIONS,
    digest: randomId(),
    label: commitment(),
    custodian: 1,
    previous: v1.id,
  };
  const own = {
    id: randomId(),
    category: Category.OBSERVATIONS,
    digest: randomId(),
    label: commitment(),
    custodian: 0,
    previous: ZeroHash,
  };
  await (
    await r.importRecord(old.subject, v1.id, v1.category, v1.digest, v1.label, 1, now - 30 * DAY, now - DAY, ZeroHash)
  ).wait();
  await (
    await r.importRecord(old.subject, v2.id, v2.category, v2.digest, v2.label, 1, now - 20 * DAY, 0, v1.id)
  ).wait();
  await (
    await r.importRecord(old.subject, own.id, own.category, own.digest, own.label, 0, now - 10 * DAY, 0, ZeroHash)
  ).wait();
  old.records.push(v1, v2, own);
  return old;
}

async function migrated(): Promise<Fresh & { old: OldState }> {
  const f = await freshDeployment();
  const old = await importOldState(f);
  for (const m of [f.directory, f.consents, f.records]) await (await m.sealMigration()).wait();
  return { ...f, old };
}

describe("migration 1.0 → 1.1 (contract side)", () => {
  it("carries organizations with their ids, practitioners, patients under their 1.0 subject ids, guardians, thresholds and epochs", async () => {
    const { directory, old } = await networkHelpers.loadFixture(migrated);
    expect(await directory.organizationCount()).to.equal(2n);
    expect(await directory.getOrganization(1)).to.deep.equal([
      BigInt(OrgKind.HOSPITAL),
      old.hospitalAdmin.address,
      false,
      fakeKey("h-v3"),
      3n,
    ]);
    expect((await directory.getOrganization(2)).suspended).to.equal(true);
    const doctor = await directory.getPractitioner(old.doctor.address);
    expect([doctor.practitionerId, doctor.orgId, doctor.keyVersion, doctor.encryptionKey]).to.deep.equal([
      1n,
      1n,
      2n,
      fakeKey("doctor-v2"),
    ]);
    const tech = await directory.getPractitioner(old.labTech.address);
    expect([tech.suspended, tech.credentialValidUntil < BigInt(Math.floor(Date.now() / 1000) + YEAR)]).to.deep.equal([
      true,
      true,
    ]);
    expect(await directory.getPatient(old.subject)).to.deep.equal([old.patient.address, fakeKey("p-v4"), 4n, 2, 7n]);
    expect((await directory.getGuardian(old.subject, old.guardian.address)).powers).to.equal(
      BigInt(Power.GRANT | Power.REVOKE | Power.RECOVER),
    );
    // The carried subject id is not derived from any 1.1 registrant, and keeps working.
    expect(await directory.actsFor(old.subject, old.patient.address, Power.ACCESS)).to.equal(true);
  });

  it("carries consents with their sequence numbers (ids unchanged), revocations, expiry and byGuardian; the index holds the active ones", async () => {
    const { consents, directory, old } = await networkHelpers.loadFixture(migrated);
    expect(await consents.consentCount(old.subject)).to.equal(5n);
    for (let n = 1; n <= 5; n++) expect(await consents.consentIdAt(old.subject, n)).to.equal(consentId(old.subject, n));
    const revoked = await consents.getConsent(old.subject, consentId(old.subject, 2));
    expect(revoked.revokedAt).to.not.equal(0n);
    expect((await consents.getConsent(old.subject, consentId(old.subject, 3))).byGuardian).to.equal(true);
    // The unenrolled grantee is kept for the record.
    expect((await consents.getConsent(old.subject, consentId(old.subject, 5))).granteeAccount).to.equal(
      (await ethers.getSigners())[11]!.address,
    );
    const doctorId = await directory.practitionerIdOf(old.doctor.address);
    expect(await consents.listedConsents(old.subject, Effect.PERMIT, GranteeKind.PRACTITIONER, doctorId)).to.deep.equal(
      [],
    );
    expect(await consents.listedConsents(old.subject, Effect.PERMIT, GranteeKind.ORG_ROLE, 1)).to.deep.equal([
      consentId(old.subject, 1),
    ]);
    expect(await consents.breakGlassOptedOut(old.subject)).to.equal(true);
  });

  it("carries record anchors, tombstones and version links; the carried consents and records work as before", async () => {
    const { records, old } = await networkHelpers.loadFixture(migrated);
    const [v1, v2, own] = old.records;
    const r1 = await records.getRecord(old.subject, v1!.id);
    expect([r1.superseded, r1.erasedAt !== 0n, r1.custodian]).to.deep.equal([true, true, 1n]);
    expect(r1.commitment).to.equal(await records.recordCommitment(v1!.digest, v1!.label));
    expect((await records.getRecord(old.subject, v2!.id)).superseded).to.equal(false);
    // The hospital's append consent (sequence 1) still lets the doctor read and extend the chain.
    await expect(records.connect(old.doctor).access(old.subject, v2!.id, Purpose.TREAT, consentId(old.subject, 1)))
      .to.emit(records, "RecordAccessed")
      .withArgs(old.subject, v2!.id, old.doctor.address, Purpose.TREAT, Basis.CONSENT, consentId(old.subject, 1));
    await expect(
      records
        .connect(old.doctor)
        .anchorRecord(
          old.subject,
          randomId(),
          Category.CONDITIONS,
          randomId(),
          commitment(),
          v2!.id,
          "p",
          consentId(old.subject, 1),
        ),
    ).to.emit(records, "RecordAnchored");
    await expect(records.connect(old.patient).access(old.subject, own!.id, Purpose.PATRQT, ZeroHash)).to.emit(
      records,
      "RecordAccessed",
    );
  });

  it("sealMigration is irreversible and emitted: after it every import and a second seal revert MigrationClosed", async () => {
    const f = await networkHelpers.loadFixture(freshDeployment);
    for (const m of [f.directory, f.consents, f.records]) {
      expect(await m.migrator()).to.equal(f.migrator.address);
      expect(await m.migrationSealed()).to.equal(false);
      await expect(m.sealMigration()).to.emit(m, "MigrationSealed").withArgs(f.migrator.address);
      expect(await m.migrationSealed()).to.equal(true);
      await expect(m.sealMigration()).to.be.revertedWithCustomError(m, "MigrationClosed").withArgs(f.migrator.address);
    }
    const s = randomId();
    const closed = (c: { interface: ethersLib.Interface }, p: Promise<unknown>) =>
      expect(p).to.be.revertedWithCustomError(c, "MigrationClosed").withArgs(f.migrator.address);
    await closed(
      f.directory,
      f.directory.importOrganization(1, OrgKind.LAB, f.stranger.address, fakeKey("x"), 1, false),
    );
    await closed(f.directory, f.directory.importPractitioner(f.stranger.address, 1, 1, 1, false, fakeKey("x"), 1));
    await closed(f.directory, f.directory.importPatient(s, f.stranger.address, fakeKey("x"), 1, 0, 0));
    await closed(f.directory, f.directory.importGuardian(s, f.stranger.address, 1, 0));
    await closed(f.consents, f.consents.importConsent(s, 1, terms(), 0, f.stranger.address));
    await closed(f.consents, f.consents.importBreakGlassOptOut(s));
    await closed(f.records, f.records.importRecord(s, randomId(), 1, randomId(), randomId(), 0, 1, 0, ZeroHash));
  });

  it("only the migrator imports or seals: anyone else gets MigrationUnauthorized", async () => {
    const f = await networkHelpers.loadFixture(freshDeployment);
    const s = randomId();
    const x = f.stranger;
    const refused = (c: { interface: ethersLib.Interface }, p: Promise<unknown>) =>
      expect(p).to.be.revertedWithCustomError(c, "MigrationUnauthorized").withArgs(x.address);
    await refused(
      f.directory,
      f.directory.connect(x).importOrganization(1, OrgKind.LAB, x.address, fakeKey("x"), 1, false),
    );
    await refused(f.directory, f.directory.connect(x).importPractitioner(x.address, 1, 1, 1, false, fakeKey("x"), 1));
    await refused(f.directory, f.directory.connect(x).importPatient(s, x.address, fakeKey("x"), 1, 0, 0));
    await refused(f.directory, f.directory.connect(x).importGuardian(s, x.address, 1, 0));
    await refused(f.consents, f.consents.connect(x).importConsent(s, 1, terms(), 0, x.address));
    await refused(f.consents, f.consents.connect(x).importBreakGlassOptOut(s));
    await refused(
      f.records,
      f.records.connect(x).importRecord(s, randomId(), 1, randomId(), randomId(), 0, 1, 0, ZeroHash),
    );
    for (const m of [f.directory, f.consents, f.records]) await refused(m, m.connect(x).sealMigration());
  });

  it("imports are validated: ids in order, versions ≥ 1, sequences in order, times in the past, chains consistent", async () => {
    const f = await networkHelpers.loadFixture(freshDeployment);
    const d = f.directory;
    const a = f.signers[1]!;
    await expect(d.importOrganization(2, OrgKind.LAB, a.address, fakeKey("x"), 1, false))
      .to.be.revertedWithCustomError(d, "DirectoryInvalidImport")
      .withArgs("orgId");
    await expect(d.importOrganization(1, OrgKind.LAB, a.address, fakeKey("x"), 0, false))
      .to.be.revertedWithCustomError(d, "DirectoryInvalidImport")
      .withArgs("keyVersion");
    await expect(d.importOrganization(1, 0, a.address, fakeKey("x"), 1, false))
      .to.be.revertedWithCustomError(d, "DirectoryInvalidOrgKind")
      .withArgs(0);
    await (await d.importOrganization(1, OrgKind.LAB, a.address, fakeKey("x"), 1, false)).wait();
    await expect(d.importPractitioner(f.signers[2]!.address, 2, Role.CLINICIAN, 1, false, fakeKey("x"), 1))
      .to.be.revertedWithCustomError(d, "DirectoryUnknownOrganization")
      .withArgs(2);
    await expect(d.importPractitioner(f.signers[2]!.address, 1, Role.CLINICIAN, 1, false, fakeKey("x"), 0))
      .to.be.revertedWithCustomError(d, "DirectoryInvalidImport")
      .withArgs("keyVersion");
    await expect(d.importPatient(ZeroHash, a.address, fakeKey("x"), 1, 0, 0))
      .to.be.revertedWithCustomError(d, "DirectoryInvalidSubject")
      .withArgs(ZeroHash);
    const subject = randomId();
    await expect(d.importPatient(subject, a.address, fakeKey("x"), 0, 0, 0))
      .to.be.revertedWithCustomError(d, "DirectoryInvalidImport")
      .withArgs("keyVersion");
    await expect(d.importPatient(subject, a.address, fakeKey("x"), 1, 17, 0))
      .to.be.revertedWithCustomError(d, "DirectoryInvalidThreshold")
      .withArgs(17);
    await (await d.importPatient(subject, a.address, fakeKey("x"), 1, 0, 0)).wait();
    await expect(d.importPatient(subject, a.address, fakeKey("x"), 1, 0, 0))
      .to.be.revertedWithCustomError(d, "DirectorySubjectExists")
      .withArgs(subject);
    await expect(d.importGuardian(subject, f.signers[3]!.address, 0, 0))
      .to.be.revertedWithCustomError(d, "DirectoryInvalidPowers")
      .withArgs(0);
    const unknown = randomId();
    await expect(d.importGuardian(unknown, f.signers[3]!.address, 1, 0))
      .to.be.revertedWithCustomError(d, "DirectoryUnknownSubject")
      .withArgs(unknown);

    const c = f.consents;
    const now = Number((await ethers.provider.getBlock("latest"))!.timestamp);
    const t = terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: 1, granteeRoles: Role.CLINICIAN });
    await expect(c.importConsent(subject, 2, t, 0, a.address))
      .to.be.revertedWithCustomError(c, "ConsentInvalidImport")
      .withArgs("sequence");
    await expect(c.importConsent(unknown, 1, t, 0, a.address))
      .to.be.revertedWithCustomError(c, "ConsentInvalidImport")
      .withArgs("subject");
    await expect(c.importConsent(subject, 1, t, 0, ZeroAddress))
      .to.be.revertedWithCustomError(c, "ConsentInvalidImport")
      .withArgs("grantedBy");
    await expect(c.importConsent(subject, 1, t, now + DAY, a.address))
      .to.be.revertedWithCustomError(c, "ConsentInvalidImport")
      .withArgs("revokedAt");
    await expect(c.importConsent(subject, 1, { ...t, purposes: 0 }, 0, a.address))
      .to.be.revertedWithCustomError(c, "ConsentInvalidTerms")
      .withArgs("purposes");
    // A 1.0 permit whose categories were all sensitive keeps no public category: it binds nothing on chain.
    await expect(c.importConsent(subject, 1, { ...t, categories: 0 }, 0, a.address)).to.emit(c, "ConsentGranted");

    const r = f.records;
    await expect(r.importRecord(subject, randomId(), 1, randomId(), randomId(), 0, 0, 0, ZeroHash))
      .to.be.revertedWithCustomError(r, "RecordInvalidImport")
      .withArgs("anchoredAt");
    await expect(r.importRecord(subject, randomId(), 1, randomId(), randomId(), 0, now + DAY, 0, ZeroHash))
      .to.be.revertedWithCustomError(r, "RecordInvalidImport")
      .withArgs("anchoredAt");
    await expect(r.importRecord(subject, randomId(), 1, randomId(), randomId(), 0, now - DAY, now - 2 * DAY, ZeroHash))
      .to.be.revertedWithCustomError(r, "RecordInvalidImport")
      .withArgs("erasedAt");
    await expect(r.importRecord(subject, randomId(), 1, randomId(), randomId(), 0, now - DAY, now + DAY, ZeroHash))
      .to.be.revertedWithCustomError(r, "RecordInvalidImport")
      .withArgs("erasedAt");
    await expect(r.importRecord(unknown, randomId(), 1, randomId(), randomId(), 0, now - DAY, 0, ZeroHash))
      .to.be.revertedWithCustomError(r, "RecordUnknownSubject")
      .withArgs(unknown);
    await expect(r.importRecord(subject, randomId(), 16, randomId(), randomId(), 0, now - DAY, 0, ZeroHash))
      .to.be.revertedWithCustomError(r, "RecordInvalidCategory")
      .withArgs(16);
    const v1 = randomId();
    await (await r.importRecord(subject, v1, 1, randomId(), randomId(), 0, now - DAY, 0, ZeroHash)).wait();
    await expect(r.importRecord(subject, v1, 1, randomId(), randomId(), 0, now - DAY, 0, ZeroHash))
      .to.be.revertedWithCustomError(r, "RecordExists")
      .withArgs(subject, v1);
    await expect(r.importRecord(subject, randomId(), 2, randomId(), randomId(), 0, now - DAY, 0, v1))
      .to.be.revertedWithCustomError(r, "RecordCategoryMismatch")
      .withArgs(subject, v1, 1, 2);
    const missing = randomId();
    await expect(r.importRecord(subject, randomId(), 1, randomId(), randomId(), 0, now - DAY, 0, missing))
      .to.be.revertedWithCustomError(r, "RecordUnknown")
      .withArgs(subject, missing);
    await (await r.importRecord(subject, randomId(), 1, randomId(), randomId(), 0, now - DAY, 0, v1)).wait();
    await expect(r.importRecord(subject, randomId(), 1, randomId(), randomId(), 0, now - DAY, 0, v1))
      .to.be.revertedWithCustomError(r, "RecordAlreadySuperseded")
      .withArgs(subject, v1);
  });

  it("an imported active consent still needs its place: a 1.0 subject with more guardian consents than a list allows is refused", async () => {
    const f = await networkHelpers.loadFixture(freshDeployment);
    const d = f.directory;
    const [admin, doctor, patient, guardian] = [f.signers[1]!, f.signers[2]!, f.signers[9]!, f.signers[10]!];
    await (await d.importOrganization(1, OrgKind.HOSPITAL, admin.address, fakeKey("h"), 1, false)).wait();
    await (await d.importPractitioner(doctor.address, 1, Role.CLINICIAN, 2 ** 40, false, fakeKey("d"), 1)).wait();
    const subject = randomId();
    await (await d.importPatient(subject, patient.address, fakeKey("p"), 1, 0, 0)).wait();
    const deny = terms({ effect: Effect.DENY, granteeAccount: doctor.address, purposes: ALL_PURPOSES });
    for (let n = 1; n <= 4; n++) await (await f.consents.importConsent(subject, n, deny, 0, guardian.address)).wait();
    await expect(f.consents.importConsent(subject, 5, deny, 0, guardian.address))
      .to.be.revertedWithCustomError(f.consents, "ConsentGuardianQuotaExceeded")
      .withArgs(subject, guardian.address, 4);
    // Imported revoked, it takes no place.
    await expect(f.consents.importConsent(subject, 5, deny, 1, guardian.address)).to.emit(f.consents, "ConsentRevoked");
  });

  it("the SDK's deploy runs the migration hook before sealing and before the governance hand-off", async () => {
    const [deployer, multisig] = await ethers.getSigners();
    let hookSawUnsealed = false;
    const book = await deployMedLedger(deployer!, {
      network: "migration-test",
      governance: { multisig: multisig!.address },
      migrate: async (partial) => {
        const d = ParticipantDirectory__factory.connect(partial.contracts.ParticipantDirectory!.address, deployer);
        hookSawUnsealed =
          !(await d.migrationSealed()) && (await d.hasRole(await d.GOVERNANCE_ROLE(), deployer!.address));
        await (await d.importOrganization(1, OrgKind.HOSPITAL, deployer!.address, fakeKey("h"), 1, false)).wait();
      },
    });
    expect(hookSawUnsealed).to.equal(true);
    const d = ParticipantDirectory__factory.connect(book.contracts.ParticipantDirectory.address, deployer);
    expect(await d.organizationCount()).to.equal(1n);
    expect(await d.migrationSealed()).to.equal(true);
    expect(await d.hasRole(await d.GOVERNANCE_ROLE(), multisig!.address)).to.equal(true);
    expect(await d.hasRole(await d.GOVERNANCE_ROLE(), deployer!.address)).to.equal(false);
    const kh = KeyholderRegistry__factory.connect(
      (book.contracts as unknown as Record<string, { address: string }>).KeyholderRegistry!.address,
      deployer,
    );
    expect(await kh.hasRole(await kh.GOVERNANCE_ROLE(), multisig!.address)).to.equal(true);
  });

  it("a migrated deployment rebuilds from its events (imports included) to the same state as its views", async () => {
    const { directory, consents, records, old } = await networkHelpers.loadFixture(migrated);
    await time.increase(1);
    const events = await fetchLedgerEvents(ethers.provider, {
      directory: await directory.getAddress(),
      consents: await consents.getAddress(),
      records: await records.getAddress(),
    });
    const state = replay(events);
    const p = state.patients.get(old.subject)!;
    expect([p.controller, p.keyVersion, p.recoveryThreshold, p.epoch, p.breakGlassOptedOut]).to.deep.equal([
      old.patient.address,
      4,
      2,
      7,
      true,
    ]);
    for (const [id, c] of state.consents) {
      const v = await consents.getConsent(c.subject, id);
      expect([c.sequence, c.revokedAt, c.byGuardian]).to.deep.equal([Number(v.sequence), v.revokedAt, v.byGuardian]);
    }
    for (const rec of old.records) {
      const r = state.records.get(recordKey(old.subject, rec.id))!;
      const v = await records.getRecord(old.subject, rec.id);
      expect([r.commitment, r.custodian, r.category, r.anchoredAt, r.erasedAt, r.superseded, r.imported]).to.deep.equal(
        [v.commitment, Number(v.custodian), Number(v.category), v.anchoredAt, v.erasedAt, v.superseded, true],
      );
    }
    expect([...state.migrationSealed]).to.have.members(["directory", "consents", "records"]);
  });
});
