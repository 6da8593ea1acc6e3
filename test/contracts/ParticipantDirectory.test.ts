/**
 * ParticipantDirectory: organizations admitted by governance, practitioners enrolled by their
 * organization's admin, patients (subject ids) with a rotatable controller, guardians and M-of-N
 * recovery. Every external function, every guard and every event of IParticipantDirectory.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { ZeroAddress, ZeroHash, id as keccakString } from "ethers";
import { network } from "hardhat";

import {
  DAY,
  OrgKind,
  Power,
  Role,
  YEAR,
  buildWorld,
  fakeKey,
  randomId,
  registerSubject,
} from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";
import { ParticipantDirectory__factory } from "../../types/typechain/index.js";

const conn = await network.create();
const { networkHelpers, ethers } = conn;
const { time } = networkHelpers;

/** enum AccessorStatus (contracts/libraries/MedLedgerTypes.sol), in ABI order. */
const Status = { ACTIVE: 0, UNKNOWN: 1, SUSPENDED: 2, CREDENTIAL_EXPIRED: 3, ORGANIZATION_SUSPENDED: 4 } as const;
const ALL_ROLES = 63;
const ALL_POWERS = 31;
const MAX_THRESHOLD = 16;
const GOVERNANCE_ROLE = keccakString("GOVERNANCE_ROLE");
const DEFAULT_ADMIN_ROLE = ZeroHash;

interface Ctx extends World {
  /** Two more accounts to use as guardians, a recovery target and a spare account. */
  g2: HardhatEthersSigner;
  g3: HardhatEthersSigner;
  newController: HardhatEthersSigner;
  extra: HardhatEthersSigner;
  /** The fixture practitioners' licence expiry. */
  licence: bigint;
}

function signerAt(signers: HardhatEthersSigner[], i: number): HardhatEthersSigner {
  const s = signers[i];
  if (s === undefined) throw new Error(`no signer #${i}`);
  return s;
}

/** Addresses in strictly ascending numeric order (what executeRecovery expects). */
function ascending(...addresses: string[]): string[] {
  return [...addresses].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}

describe("ParticipantDirectory", () => {
  async function directoryFixture(): Promise<Ctx> {
    const w = await buildWorld(conn);
    const licence = (await w.directory.getPractitioner(w.doctor.address)).credentialValidUntil;
    return {
      ...w,
      g2: signerAt(w.signers, 13),
      g3: signerAt(w.signers, 14),
      newController: signerAt(w.signers, 15),
      extra: signerAt(w.signers, 16),
      licence,
    };
  }

  async function expectStatus(
    c: Ctx,
    account: string,
    status: number,
    orgId: number,
    roles: number,
    blockTag?: number,
  ): Promise<void> {
    const [s, o, r] = await c.directory.accessorStatus(account, blockTag === undefined ? {} : { blockTag });
    expect([s, o, r]).to.deep.equal([BigInt(status), BigInt(orgId), BigInt(roles)]);
  }

  /** Patient appoints g2 and g3 as RECOVER guardians (next to the fixture guardian) and sets M. */
  async function enableRecovery(c: Ctx, threshold = 2): Promise<void> {
    const d = c.directory.connect(c.patient);
    await (await d.setGuardian(c.subject, c.g2.address, Power.RECOVER, 0)).wait();
    await (await d.setGuardian(c.subject, c.g3.address, Power.RECOVER | Power.GRANT, 0)).wait();
    await (await d.setRecoveryThreshold(c.subject, threshold)).wait();
  }

  async function approve(c: Ctx, by: HardhatEthersSigner[], to: string): Promise<void> {
    for (const g of by) await (await c.directory.connect(g).approveRecovery(c.subject, to)).wait();
  }

  // ───────────────────────────── deployment ─────────────────────────────

  describe("deployment", () => {
    it("gives governance GOVERNANCE_ROLE and DEFAULT_ADMIN_ROLE, and nobody else", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      expect(await c.directory.GOVERNANCE_ROLE()).to.equal(GOVERNANCE_ROLE);
      expect(await c.directory.DEFAULT_ADMIN_ROLE()).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await c.directory.hasRole(GOVERNANCE_ROLE, c.governance.address)).to.equal(true);
      expect(await c.directory.hasRole(DEFAULT_ADMIN_ROLE, c.governance.address)).to.equal(true);
      expect(await c.directory.getRoleAdmin(GOVERNANCE_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
      for (const s of [c.hospitalAdmin, c.doctor, c.patient, c.stranger]) {
        expect(await c.directory.hasRole(GOVERNANCE_ROLE, s.address)).to.equal(false);
        expect(await c.directory.hasRole(DEFAULT_ADMIN_ROLE, s.address)).to.equal(false);
      }
    });

    it("deploys with another governance account", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const d = await new ParticipantDirectory__factory(c.stranger).deploy(c.extra.address, c.stranger.address);
      await d.waitForDeployment();
      expect(await d.hasRole(GOVERNANCE_ROLE, c.extra.address)).to.equal(true);
      expect(await d.hasRole(DEFAULT_ADMIN_ROLE, c.extra.address)).to.equal(true);
      expect(await d.hasRole(GOVERNANCE_ROLE, c.stranger.address)).to.equal(false);
      expect(await d.organizationCount()).to.equal(0n);
    });

    it("rejects a zero governance address", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const factory = new ParticipantDirectory__factory(c.governance);
      await expect(factory.deploy(ZeroAddress, c.governance.address))
        .to.be.revertedWithCustomError(factory, "DirectoryZeroAddress")
        .withArgs("governance");
    });

    it("exposes its constants and version 1.1.0", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      expect(await c.directory.MAX_RECOVERY_THRESHOLD()).to.equal(BigInt(MAX_THRESHOLD));
      expect(await c.directory.SECURITY_COUNCIL_ROLE()).to.equal(keccakString("SECURITY_COUNCIL_ROLE"));
      expect(await c.directory.version()).to.equal("1.1.0");
    });

    it("supports IERC165 and IAccessControl, and no invalid interface id", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const selector = (sig: string) => BigInt(keccakString(sig).slice(0, 10));
      const accessControlId =
        selector("hasRole(bytes32,address)") ^
        selector("getRoleAdmin(bytes32)") ^
        selector("grantRole(bytes32,address)") ^
        selector("revokeRole(bytes32,address)") ^
        selector("renounceRole(bytes32,address)");
      const idHex = "0x" + accessControlId.toString(16).padStart(8, "0");
      expect(idHex).to.equal("0x7965db0b");
      expect(await c.directory.supportsInterface(idHex)).to.equal(true);
      expect(await c.directory.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await c.directory.supportsInterface("0xffffffff")).to.equal(false);
      expect(await c.directory.supportsInterface("0x12345678")).to.equal(false);
    });

    it("DEFAULT_ADMIN_ROLE hands GOVERNANCE_ROLE on and takes it back; others cannot", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.stranger).grantRole(GOVERNANCE_ROLE, c.stranger.address))
        .to.be.revertedWithCustomError(c.directory, "AccessControlUnauthorizedAccount")
        .withArgs(c.stranger.address, DEFAULT_ADMIN_ROLE);

      await (await c.directory.grantRole(GOVERNANCE_ROLE, c.extra.address)).wait();
      await expect(c.directory.connect(c.extra).admitOrganization(OrgKind.REGULATOR, c.g2.address, fakeKey("reg")))
        .to.emit(c.directory, "OrganizationAdmitted")
        .withArgs(4, OrgKind.REGULATOR, c.g2.address, fakeKey("reg"), 1);

      await (await c.directory.revokeRole(GOVERNANCE_ROLE, c.extra.address)).wait();
      await expect(c.directory.connect(c.extra).admitOrganization(OrgKind.REGULATOR, c.g3.address, fakeKey("reg2")))
        .to.be.revertedWithCustomError(c.directory, "AccessControlUnauthorizedAccount")
        .withArgs(c.extra.address, GOVERNANCE_ROLE);
    });
  });

  // ──────────────────────────── governance ────────────────────────────

  describe("admitOrganization", () => {
    it("admits an organization with sequential ids, stores it and emits OrganizationAdmitted", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      expect(await c.directory.organizationCount()).to.equal(3n);
      const key = fakeKey("research");
      expect(
        await c.directory.admitOrganization.staticCall(OrgKind.RESEARCH_INSTITUTE, c.stranger.address, key),
      ).to.equal(4n);
      await expect(c.directory.admitOrganization(OrgKind.RESEARCH_INSTITUTE, c.stranger.address, key))
        .to.emit(c.directory, "OrganizationAdmitted")
        .withArgs(4, OrgKind.RESEARCH_INSTITUTE, c.stranger.address, key, 1);
      expect(await c.directory.organizationCount()).to.equal(4n);
      const [kind, admin, suspended, encryptionKey, keyVersion] = await c.directory.getOrganization(4);
      expect([kind, admin, suspended, encryptionKey, keyVersion]).to.deep.equal([
        BigInt(OrgKind.RESEARCH_INSTITUTE),
        c.stranger.address,
        false,
        key,
        1n,
      ]);

      await expect(c.directory.admitOrganization(OrgKind.REGULATOR, c.extra.address, fakeKey("regulator")))
        .to.emit(c.directory, "OrganizationAdmitted")
        .withArgs(5, OrgKind.REGULATOR, c.extra.address, fakeKey("regulator"), 1);
      expect(await c.directory.organizationCount()).to.equal(5n);
    });

    it("accepts every valid kind", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const kinds = [OrgKind.HOSPITAL, OrgKind.LAB, OrgKind.PAYER, OrgKind.RESEARCH_INSTITUTE, OrgKind.REGULATOR];
      for (const [i, kind] of kinds.entries()) {
        const admin = signerAt(c.signers, 13 + i).address;
        await expect(c.directory.admitOrganization(kind, admin, fakeKey(`org${i}`)))
          .to.emit(c.directory, "OrganizationAdmitted")
          .withArgs(4 + i, kind, admin, fakeKey(`org${i}`), 1);
        expect((await c.directory.getOrganization(4 + i)).kind).to.equal(BigInt(kind));
      }
    });

    it("is restricted to GOVERNANCE_ROLE", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.stranger, c.hospitalAdmin, c.doctor]) {
        await expect(c.directory.connect(s).admitOrganization(OrgKind.HOSPITAL, c.extra.address, fakeKey("x")))
          .to.be.revertedWithCustomError(c.directory, "AccessControlUnauthorizedAccount")
          .withArgs(s.address, GOVERNANCE_ROLE);
      }
      expect(await c.directory.organizationCount()).to.equal(3n);
    });

    it("rejects the NONE kind", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.admitOrganization(0, c.extra.address, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidOrgKind")
        .withArgs(0);
    });

    it("rejects a kind outside the enum at ABI decoding", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.admitOrganization(7, c.extra.address, fakeKey("x"))).to.be.revertedWithoutReason(ethers);
    });

    it("rejects a zero admin", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.admitOrganization(OrgKind.LAB, ZeroAddress, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryZeroAddress")
        .withArgs("admin");
    });

    it("rejects a zero encryption key", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.admitOrganization(OrgKind.LAB, c.extra.address, ZeroHash))
        .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidEncryptionKey")
        .withArgs(ZeroHash);
    });

    it("rejects an admin who already administers an organization", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.admitOrganization(OrgKind.LAB, c.hospitalAdmin.address, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryAdminInUse")
        .withArgs(c.hospitalAdmin.address, c.hospital);
      await expect(c.directory.admitOrganization(OrgKind.HOSPITAL, c.labAdmin.address, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryAdminInUse")
        .withArgs(c.labAdmin.address, c.lab);
    });
  });

  describe("suspendOrganization / reinstateOrganization", () => {
    it("governance suspends and reinstates, with events", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.suspendOrganization(c.hospital))
        .to.emit(c.directory, "OrganizationStatusChanged")
        .withArgs(c.hospital, true, c.governance.address);
      expect((await c.directory.getOrganization(c.hospital)).suspended).to.equal(true);
      expect((await c.directory.getOrganization(c.payer)).suspended).to.equal(false);

      await expect(c.directory.reinstateOrganization(c.hospital))
        .to.emit(c.directory, "OrganizationStatusChanged")
        .withArgs(c.hospital, false, c.governance.address);
      expect((await c.directory.getOrganization(c.hospital)).suspended).to.equal(false);
    });

    it("only GOVERNANCE_ROLE or the SECURITY_COUNCIL_ROLE suspends (not even the organization's own admin)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.hospitalAdmin, c.stranger, c.doctor]) {
        await expect(c.directory.connect(s).suspendOrganization(c.hospital))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotGovernanceOrCouncil")
          .withArgs(s.address);
      }
    });

    it("only GOVERNANCE_ROLE reinstates (not even the organization's own admin)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await (await c.directory.suspendOrganization(c.hospital)).wait();
      for (const s of [c.hospitalAdmin, c.stranger]) {
        await expect(c.directory.connect(s).reinstateOrganization(c.hospital))
          .to.be.revertedWithCustomError(c.directory, "AccessControlUnauthorizedAccount")
          .withArgs(s.address, GOVERNANCE_ROLE);
      }
      expect((await c.directory.getOrganization(c.hospital)).suspended).to.equal(true);
    });

    it("rejects suspending twice and reinstating an active organization", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.reinstateOrganization(c.hospital))
        .to.be.revertedWithCustomError(c.directory, "DirectoryOrganizationStatusUnchanged")
        .withArgs(c.hospital, false);
      await (await c.directory.suspendOrganization(c.hospital)).wait();
      await expect(c.directory.suspendOrganization(c.hospital))
        .to.be.revertedWithCustomError(c.directory, "DirectoryOrganizationStatusUnchanged")
        .withArgs(c.hospital, true);
    });

    it("rejects unknown organization ids", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const orgId of [0, 4, 99]) {
        await expect(c.directory.suspendOrganization(orgId))
          .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownOrganization")
          .withArgs(orgId);
        await expect(c.directory.reinstateOrganization(orgId))
          .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownOrganization")
          .withArgs(orgId);
      }
    });
  });

  describe("setOrganizationAdmin", () => {
    it("governance replaces the admin; the old admin loses every power, the new one gains them", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.setOrganizationAdmin(c.hospital, c.extra.address))
        .to.emit(c.directory, "OrganizationAdminChanged")
        .withArgs(c.hospital, c.hospitalAdmin.address, c.extra.address);
      expect((await c.directory.getOrganization(c.hospital)).admin).to.equal(c.extra.address);

      const old = c.directory.connect(c.hospitalAdmin);
      const until = c.licence;
      await expect(old.enrollPractitioner(c.hospital, c.stranger.address, Role.CLINICIAN, until, fakeKey("s")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
        .withArgs(c.hospital, c.hospitalAdmin.address);
      await expect(old.suspendPractitioner(c.doctor.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
        .withArgs(c.hospital, c.hospitalAdmin.address);
      await expect(old.rotateOrganizationKey(c.hospital, fakeKey("h2")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
        .withArgs(c.hospital, c.hospitalAdmin.address);
      await expect(old.setOrganizationAdmin(c.hospital, c.hospitalAdmin.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
        .withArgs(c.hospital, c.hospitalAdmin.address);
      await expect(old.registerPatient(randomId(), c.stranger.address, fakeKey("p")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotRegistrar")
        .withArgs(c.hospitalAdmin.address);

      const neu = c.directory.connect(c.extra);
      await expect(neu.enrollPractitioner(c.hospital, c.stranger.address, Role.CLINICIAN, until, fakeKey("s")))
        .to.emit(c.directory, "PractitionerEnrolled")
        .withArgs(c.stranger.address, c.hospital, 6, Role.CLINICIAN, until, fakeKey("s"), 1);
      const salt = randomId();
      const subject = await c.directory.subjectIdFor(c.extra.address, salt);
      await expect(neu.registerPatient(salt, c.g2.address, fakeKey("p")))
        .to.emit(c.directory, "PatientRegistered")
        .withArgs(subject, c.g2.address, c.extra.address, salt, fakeKey("p"), 1);

      // The old admin account is free again: it may administer another organization.
      await expect(c.directory.admitOrganization(OrgKind.LAB, c.hospitalAdmin.address, fakeKey("lab2")))
        .to.emit(c.directory, "OrganizationAdmitted")
        .withArgs(4, OrgKind.LAB, c.hospitalAdmin.address, fakeKey("lab2"), 1);
    });

    it("the current admin hands over to a new admin", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.hospitalAdmin).setOrganizationAdmin(c.hospital, c.extra.address))
        .to.emit(c.directory, "OrganizationAdminChanged")
        .withArgs(c.hospital, c.hospitalAdmin.address, c.extra.address);
      expect((await c.directory.getOrganization(c.hospital)).admin).to.equal(c.extra.address);
      // and the new admin can hand it on again
      await expect(c.directory.connect(c.extra).setOrganizationAdmin(c.hospital, c.g2.address))
        .to.emit(c.directory, "OrganizationAdminChanged")
        .withArgs(c.hospital, c.extra.address, c.g2.address);
    });

    it("rejects anyone else: a stranger, a practitioner, another organization's admin", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.stranger, c.doctor, c.payerAdmin]) {
        await expect(c.directory.connect(s).setOrganizationAdmin(c.hospital, c.extra.address))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
          .withArgs(c.hospital, s.address);
      }
      expect((await c.directory.getOrganization(c.hospital)).admin).to.equal(c.hospitalAdmin.address);
    });

    it("rejects a zero new admin", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.setOrganizationAdmin(c.hospital, ZeroAddress))
        .to.be.revertedWithCustomError(c.directory, "DirectoryZeroAddress")
        .withArgs("admin");
    });

    it("rejects a new admin already in use (another organization's, or the current one)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.setOrganizationAdmin(c.hospital, c.payerAdmin.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryAdminInUse")
        .withArgs(c.payerAdmin.address, c.payer);
      await expect(c.directory.connect(c.hospitalAdmin).setOrganizationAdmin(c.hospital, c.hospitalAdmin.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryAdminInUse")
        .withArgs(c.hospitalAdmin.address, c.hospital);
    });

    it("rejects unknown organization ids", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const orgId of [0, 4]) {
        await expect(c.directory.setOrganizationAdmin(orgId, c.extra.address))
          .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownOrganization")
          .withArgs(orgId);
      }
    });
  });

  describe("rotateOrganizationKey", () => {
    it("the admin registers a new key: the version goes up by one each time", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const h = c.directory.connect(c.hospitalAdmin);
      await expect(h.rotateOrganizationKey(c.hospital, fakeKey("hospital-2")))
        .to.emit(c.directory, "OrganizationKeyRotated")
        .withArgs(c.hospital, fakeKey("hospital-2"), 2);
      let org = await c.directory.getOrganization(c.hospital);
      expect([org.encryptionKey, org.keyVersion]).to.deep.equal([fakeKey("hospital-2"), 2n]);
      await expect(h.rotateOrganizationKey(c.hospital, fakeKey("hospital-3")))
        .to.emit(c.directory, "OrganizationKeyRotated")
        .withArgs(c.hospital, fakeKey("hospital-3"), 3);
      org = await c.directory.getOrganization(c.hospital);
      expect([org.encryptionKey, org.keyVersion]).to.deep.equal([fakeKey("hospital-3"), 3n]);
      // other organizations untouched
      const payer = await c.directory.getOrganization(c.payer);
      expect([payer.encryptionKey, payer.keyVersion]).to.deep.equal([fakeKey("payer"), 1n]);
    });

    it("rejects anyone but the admin (governance, another admin, a practitioner)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.governance, c.payerAdmin, c.doctor, c.stranger]) {
        await expect(c.directory.connect(s).rotateOrganizationKey(c.hospital, fakeKey("x")))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
          .withArgs(c.hospital, s.address);
      }
    });

    it("rejects a zero key and an unknown organization", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.hospitalAdmin).rotateOrganizationKey(c.hospital, ZeroHash))
        .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidEncryptionKey")
        .withArgs(ZeroHash);
      await expect(c.directory.connect(c.hospitalAdmin).rotateOrganizationKey(7, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownOrganization")
        .withArgs(7);
    });
  });

  // ─────────────────────────── practitioners ───────────────────────────

  describe("enrollPractitioner", () => {
    it("the admin enrolls a practitioner: stored, ACTIVE, event", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const roles = Role.CLINICIAN | Role.RESEARCHER;
      const until = BigInt(await c.now()) + BigInt(YEAR);
      await expect(
        c.directory
          .connect(c.hospitalAdmin)
          .enrollPractitioner(c.hospital, c.stranger.address, roles, until, fakeKey("nurse")),
      )
        .to.emit(c.directory, "PractitionerEnrolled")
        .withArgs(c.stranger.address, c.hospital, 6, roles, until, fakeKey("nurse"), 1);
      const p = await c.directory.getPractitioner(c.stranger.address);
      expect([p.orgId, p.roles, p.credentialValidUntil, p.suspended, p.encryptionKey, p.keyVersion]).to.deep.equal([
        BigInt(c.hospital),
        BigInt(roles),
        until,
        false,
        fakeKey("nurse"),
        1n,
      ]);
      await expectStatus(c, c.stranger.address, Status.ACTIVE, c.hospital, roles);
    });

    it("accepts every single role and ALL_ROLES", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const h = c.directory.connect(c.hospitalAdmin);
      const roles = [...Object.values(Role), ALL_ROLES];
      for (const [i, r] of roles.entries()) {
        const account = signerAt(c.signers, 13 + i).address;
        await expect(h.enrollPractitioner(c.hospital, account, r, c.licence, fakeKey(`p${i}`)))
          .to.emit(c.directory, "PractitionerEnrolled")
          .withArgs(account, c.hospital, 6 + i, r, c.licence, fakeKey(`p${i}`), 1);
      }
    });

    it("rejects anyone but the organization's admin (another organization's admin, governance, a stranger)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.payerAdmin, c.labAdmin, c.governance, c.stranger, c.doctor]) {
        await expect(
          c.directory
            .connect(s)
            .enrollPractitioner(c.hospital, c.extra.address, Role.CLINICIAN, c.licence, fakeKey("x")),
        )
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
          .withArgs(c.hospital, s.address);
      }
      await expect(c.directory.getPractitioner(c.extra.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownPractitioner")
        .withArgs(c.extra.address);
    });

    it("rejects an unknown organization", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(
        c.directory
          .connect(c.hospitalAdmin)
          .enrollPractitioner(9, c.extra.address, Role.CLINICIAN, c.licence, fakeKey("x")),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownOrganization")
        .withArgs(9);
    });

    it("rejects enrolment while the organization is suspended, and allows it after reinstatement", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await (await c.directory.suspendOrganization(c.hospital)).wait();
      const h = c.directory.connect(c.hospitalAdmin);
      await expect(h.enrollPractitioner(c.hospital, c.extra.address, Role.CLINICIAN, c.licence, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryOrganizationSuspended")
        .withArgs(c.hospital);
      await (await c.directory.reinstateOrganization(c.hospital)).wait();
      await expect(h.enrollPractitioner(c.hospital, c.extra.address, Role.CLINICIAN, c.licence, fakeKey("x")))
        .to.emit(c.directory, "PractitionerEnrolled")
        .withArgs(c.extra.address, c.hospital, 6, Role.CLINICIAN, c.licence, fakeKey("x"), 1);
    });

    it("rejects a zero account", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(
        c.directory
          .connect(c.hospitalAdmin)
          .enrollPractitioner(c.hospital, ZeroAddress, Role.CLINICIAN, c.licence, fakeKey("x")),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryZeroAddress")
        .withArgs("account");
    });

    it("rejects a duplicate enrolment, by the same or by another organization", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(
        c.directory
          .connect(c.hospitalAdmin)
          .enrollPractitioner(c.hospital, c.doctor.address, Role.AUDITOR, c.licence, fakeKey("x")),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryPractitionerExists")
        .withArgs(c.doctor.address, c.hospital);
      await expect(
        c.directory
          .connect(c.payerAdmin)
          .enrollPractitioner(c.payer, c.doctor.address, Role.PAYER, c.licence, fakeKey("x")),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryPractitionerExists")
        .withArgs(c.doctor.address, c.hospital);
      // the doctor's record is unchanged
      const p = await c.directory.getPractitioner(c.doctor.address);
      expect([p.orgId, p.roles, p.encryptionKey]).to.deep.equal([
        BigInt(c.hospital),
        BigInt(Role.CLINICIAN),
        fakeKey("doctor"),
      ]);
    });

    it("rejects invalid role masks (0 and above ALL_ROLES)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const h = c.directory.connect(c.hospitalAdmin);
      for (const roles of [0, ALL_ROLES + 1, 128, 255]) {
        await expect(h.enrollPractitioner(c.hospital, c.extra.address, roles, c.licence, fakeKey("x")))
          .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidRoles")
          .withArgs(roles);
      }
    });

    it("rejects a credential expiry in the past or now; accepts one second later", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const h = c.directory.connect(c.hospitalAdmin);
      const t = (await c.now()) + 100;
      await time.setNextBlockTimestamp(t);
      for (const until of [1, t - 1, t]) {
        await expect(h.enrollPractitioner(c.hospital, c.extra.address, Role.CLINICIAN, until, fakeKey("x")))
          .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidCredentialExpiry")
          .withArgs(until, t);
      }
      await expect(h.enrollPractitioner(c.hospital, c.extra.address, Role.CLINICIAN, t + 1, fakeKey("x")))
        .to.emit(c.directory, "PractitionerEnrolled")
        .withArgs(c.extra.address, c.hospital, 6, Role.CLINICIAN, t + 1, fakeKey("x"), 1);
      expect(await c.now()).to.equal(t);
    });

    it("rejects a zero encryption key", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(
        c.directory
          .connect(c.hospitalAdmin)
          .enrollPractitioner(c.hospital, c.extra.address, Role.CLINICIAN, c.licence, ZeroHash),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidEncryptionKey")
        .withArgs(ZeroHash);
    });
  });

  describe("updatePractitioner", () => {
    it("the admin changes roles and expiry, with an event", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const roles = Role.CLINICIAN | Role.EMERGENCY_RESPONDER;
      const until = c.licence + BigInt(YEAR);
      await expect(c.directory.connect(c.hospitalAdmin).updatePractitioner(c.doctor.address, roles, until))
        .to.emit(c.directory, "PractitionerUpdated")
        .withArgs(c.doctor.address, c.hospital, roles, until);
      const p = await c.directory.getPractitioner(c.doctor.address);
      expect([p.orgId, p.roles, p.credentialValidUntil, p.keyVersion]).to.deep.equal([
        BigInt(c.hospital),
        BigInt(roles),
        until,
        1n,
      ]);
      await expectStatus(c, c.doctor.address, Status.ACTIVE, c.hospital, roles);
    });

    it("renewing an expired credential makes the practitioner ACTIVE again", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await time.increaseTo(c.licence);
      await expectStatus(c, c.doctor.address, Status.CREDENTIAL_EXPIRED, c.hospital, Role.CLINICIAN);
      const until = c.licence + BigInt(YEAR);
      await (
        await c.directory.connect(c.hospitalAdmin).updatePractitioner(c.doctor.address, Role.CLINICIAN, until)
      ).wait();
      await expectStatus(c, c.doctor.address, Status.ACTIVE, c.hospital, Role.CLINICIAN);
    });

    it("rejects anyone but the practitioner's organization admin", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.payerAdmin, c.governance, c.doctor, c.stranger]) {
        await expect(c.directory.connect(s).updatePractitioner(c.doctor.address, ALL_ROLES, c.licence))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
          .withArgs(c.hospital, s.address);
      }
      // the payer's admin cannot touch the hospital's doctor, but the lab's admin can update its own tech
      await expect(c.directory.connect(c.labAdmin).updatePractitioner(c.labTech.address, Role.AUDITOR, c.licence))
        .to.emit(c.directory, "PractitionerUpdated")
        .withArgs(c.labTech.address, c.lab, Role.AUDITOR, c.licence);
    });

    it("rejects an unknown practitioner", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(
        c.directory.connect(c.hospitalAdmin).updatePractitioner(c.stranger.address, Role.CLINICIAN, c.licence),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownPractitioner")
        .withArgs(c.stranger.address);
    });

    it("rejects invalid roles and an expiry that is not in the future", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const h = c.directory.connect(c.hospitalAdmin);
      for (const roles of [0, ALL_ROLES + 1]) {
        await expect(h.updatePractitioner(c.doctor.address, roles, c.licence))
          .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidRoles")
          .withArgs(roles);
      }
      const t = (await c.now()) + 50;
      await time.setNextBlockTimestamp(t);
      for (const until of [t - 1, t]) {
        await expect(h.updatePractitioner(c.doctor.address, Role.CLINICIAN, until))
          .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidCredentialExpiry")
          .withArgs(until, t);
      }
    });
  });

  describe("suspendPractitioner / reinstatePractitioner", () => {
    it("the admin suspends and reinstates, with events and status changes", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const h = c.directory.connect(c.hospitalAdmin);
      await expect(h.suspendPractitioner(c.doctor.address))
        .to.emit(c.directory, "PractitionerStatusChanged")
        .withArgs(c.doctor.address, c.hospital, true);
      expect((await c.directory.getPractitioner(c.doctor.address)).suspended).to.equal(true);
      await expectStatus(c, c.doctor.address, Status.SUSPENDED, c.hospital, Role.CLINICIAN);
      await expectStatus(c, c.responder.address, Status.ACTIVE, c.hospital, Role.EMERGENCY_RESPONDER);

      await expect(h.reinstatePractitioner(c.doctor.address))
        .to.emit(c.directory, "PractitionerStatusChanged")
        .withArgs(c.doctor.address, c.hospital, false);
      expect((await c.directory.getPractitioner(c.doctor.address)).suspended).to.equal(false);
      await expectStatus(c, c.doctor.address, Status.ACTIVE, c.hospital, Role.CLINICIAN);
    });

    it("rejects suspending twice and reinstating an active practitioner", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const h = c.directory.connect(c.hospitalAdmin);
      await expect(h.reinstatePractitioner(c.doctor.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryPractitionerStatusUnchanged")
        .withArgs(c.doctor.address, false);
      await (await h.suspendPractitioner(c.doctor.address)).wait();
      await expect(h.suspendPractitioner(c.doctor.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryPractitionerStatusUnchanged")
        .withArgs(c.doctor.address, true);
    });

    it("only the practitioner's organization admin suspends", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.payerAdmin, c.governance, c.officer, c.doctor, c.stranger]) {
        await expect(c.directory.connect(s).suspendPractitioner(c.doctor.address))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
          .withArgs(c.hospital, s.address);
      }
      await expectStatus(c, c.doctor.address, Status.ACTIVE, c.hospital, Role.CLINICIAN);
    });

    it("only the practitioner's organization admin reinstates", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await (await c.directory.connect(c.hospitalAdmin).suspendPractitioner(c.doctor.address)).wait();
      for (const s of [c.labAdmin, c.governance, c.doctor, c.stranger]) {
        await expect(c.directory.connect(s).reinstatePractitioner(c.doctor.address))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotOrganizationAdmin")
          .withArgs(c.hospital, s.address);
      }
      await expectStatus(c, c.doctor.address, Status.SUSPENDED, c.hospital, Role.CLINICIAN);
    });

    it("rejects an unknown practitioner", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const h = c.directory.connect(c.hospitalAdmin);
      await expect(h.suspendPractitioner(c.stranger.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownPractitioner")
        .withArgs(c.stranger.address);
      await expect(h.reinstatePractitioner(c.hospitalAdmin.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownPractitioner")
        .withArgs(c.hospitalAdmin.address);
    });
  });

  describe("rotatePractitionerKey", () => {
    it("the practitioner registers a new key: the version goes up by one each time", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const d = c.directory.connect(c.doctor);
      await expect(d.rotatePractitionerKey(fakeKey("doctor-2")))
        .to.emit(c.directory, "PractitionerKeyRotated")
        .withArgs(c.doctor.address, fakeKey("doctor-2"), 2);
      await expect(d.rotatePractitionerKey(fakeKey("doctor-3")))
        .to.emit(c.directory, "PractitionerKeyRotated")
        .withArgs(c.doctor.address, fakeKey("doctor-3"), 3);
      const p = await c.directory.getPractitioner(c.doctor.address);
      expect([p.encryptionKey, p.keyVersion]).to.deep.equal([fakeKey("doctor-3"), 3n]);
      const r = await c.directory.getPractitioner(c.responder.address);
      expect([r.encryptionKey, r.keyVersion]).to.deep.equal([fakeKey("responder"), 1n]);
    });

    it("rejects an account that is not a practitioner (even an organization admin)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.stranger, c.hospitalAdmin, c.patient]) {
        await expect(c.directory.connect(s).rotatePractitionerKey(fakeKey("x")))
          .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownPractitioner")
          .withArgs(s.address);
      }
    });

    it("rejects a zero key", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.doctor).rotatePractitionerKey(ZeroHash))
        .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidEncryptionKey")
        .withArgs(ZeroHash);
    });
  });

  describe("accessorStatus", () => {
    it("ACTIVE → SUSPENDED → ACTIVE → ORGANIZATION_SUSPENDED → CREDENTIAL_EXPIRED; UNKNOWN for strangers", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const h = c.directory.connect(c.hospitalAdmin);
      await expectStatus(c, c.doctor.address, Status.ACTIVE, c.hospital, Role.CLINICIAN);

      await (await h.suspendPractitioner(c.doctor.address)).wait();
      await expectStatus(c, c.doctor.address, Status.SUSPENDED, c.hospital, Role.CLINICIAN);

      await (await h.reinstatePractitioner(c.doctor.address)).wait();
      await expectStatus(c, c.doctor.address, Status.ACTIVE, c.hospital, Role.CLINICIAN);

      await (await c.directory.suspendOrganization(c.hospital)).wait();
      await expectStatus(c, c.doctor.address, Status.ORGANIZATION_SUSPENDED, c.hospital, Role.CLINICIAN);

      await time.increaseTo(c.licence);
      await expectStatus(c, c.doctor.address, Status.CREDENTIAL_EXPIRED, c.hospital, Role.CLINICIAN);

      for (const s of [c.stranger, c.hospitalAdmin, c.patient, c.governance]) {
        await expectStatus(c, s.address, Status.UNKNOWN, 0, 0);
      }
      await expectStatus(c, ZeroAddress, Status.UNKNOWN, 0, 0);
    });

    it("a suspended organization's members stop being ACTIVE from the suspension block on; others are unaffected", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const receipt = (await (await c.directory.suspendOrganization(c.hospital)).wait())!;
      const members: [string, number][] = [
        [c.doctor.address, Role.CLINICIAN],
        [c.responder.address, Role.EMERGENCY_RESPONDER],
        [c.officer.address, Role.PRIVACY_OFFICER],
      ];
      for (const [account, roles] of members) {
        // right after the suspension transaction, and at the very block that included it
        await expectStatus(c, account, Status.ORGANIZATION_SUSPENDED, c.hospital, roles);
        await expectStatus(c, account, Status.ORGANIZATION_SUSPENDED, c.hospital, roles, receipt.blockNumber);
        // the block before it still saw them ACTIVE
        await expectStatus(c, account, Status.ACTIVE, c.hospital, roles, receipt.blockNumber - 1);
      }
      await expectStatus(c, c.payerAgent.address, Status.ACTIVE, c.payer, Role.PAYER);
      await expectStatus(c, c.labTech.address, Status.ACTIVE, c.lab, Role.CLINICIAN);

      await (await c.directory.reinstateOrganization(c.hospital)).wait();
      for (const [account, roles] of members) await expectStatus(c, account, Status.ACTIVE, c.hospital, roles);
    });

    it("the credential expires exactly at credentialValidUntil", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await time.increaseTo(c.licence - 1n);
      await expectStatus(c, c.doctor.address, Status.ACTIVE, c.hospital, Role.CLINICIAN);
      await time.increaseTo(c.licence);
      await expectStatus(c, c.doctor.address, Status.CREDENTIAL_EXPIRED, c.hospital, Role.CLINICIAN);
    });
  });

  // ───────────────────────────── patients ─────────────────────────────

  describe("registerPatient", () => {
    it("the controller registers itself: the subject id is keccak256(abi.encode(registrant, salt))", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const salt = randomId();
      const subject = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [c.stranger.address, salt]),
      );
      expect(await c.directory.subjectIdFor(c.stranger.address, salt)).to.equal(subject);
      expect(
        await c.directory.connect(c.stranger).registerPatient.staticCall(salt, c.stranger.address, fakeKey("s")),
      ).to.equal(subject);
      await expect(c.directory.connect(c.stranger).registerPatient(salt, c.stranger.address, fakeKey("s")))
        .to.emit(c.directory, "PatientRegistered")
        .withArgs(subject, c.stranger.address, c.stranger.address, salt, fakeKey("s"), 1);
      const p = await c.directory.getPatient(subject);
      expect([p.controller, p.encryptionKey, p.keyVersion, p.recoveryThreshold, p.epoch]).to.deep.equal([
        c.stranger.address,
        fakeKey("s"),
        1n,
        0n,
        0n,
      ]);
      expect(await c.directory.controllerOf(subject)).to.equal(c.stranger.address);
    });

    it("an active organization's admin registers a patient for its controller (sponsor); the id derives from the admin", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const [admin, label] of [
        [c.hospitalAdmin, "h"],
        [c.labAdmin, "l"],
      ] as const) {
        const salt = randomId();
        const subject = await c.directory.subjectIdFor(admin.address, salt);
        await expect(c.directory.connect(admin).registerPatient(salt, c.stranger.address, fakeKey(label)))
          .to.emit(c.directory, "PatientRegistered")
          .withArgs(subject, c.stranger.address, admin.address, salt, fakeKey(label), 1);
        expect(await c.directory.controllerOf(subject)).to.equal(c.stranger.address);
        // the sponsor gains no control over the subject
        expect(await c.directory.actsFor(subject, admin.address, Power.GRANT)).to.equal(false);
      }
    });

    it("rejects a caller that is neither the controller nor an organization admin", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const salt = randomId();
      for (const s of [c.stranger, c.doctor, c.governance, c.patient]) {
        await expect(c.directory.connect(s).registerPatient(salt, c.extra.address, fakeKey("x")))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotRegistrar")
          .withArgs(s.address);
        expect(await c.directory.controllerOf(await c.directory.subjectIdFor(s.address, salt))).to.equal(ZeroAddress);
      }
    });

    it("rejects a suspended organization's admin, until reinstated", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await (await c.directory.suspendOrganization(c.hospital)).wait();
      const salt = randomId();
      await expect(c.directory.connect(c.hospitalAdmin).registerPatient(salt, c.extra.address, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotRegistrar")
        .withArgs(c.hospitalAdmin.address);
      await (await c.directory.reinstateOrganization(c.hospital)).wait();
      await expect(c.directory.connect(c.hospitalAdmin).registerPatient(salt, c.extra.address, fakeKey("x")))
        .to.emit(c.directory, "PatientRegistered")
        .withArgs(
          await c.directory.subjectIdFor(c.hospitalAdmin.address, salt),
          c.extra.address,
          c.hospitalAdmin.address,
          salt,
          fakeKey("x"),
          1,
        );
    });

    it("rejects a zero controller and a zero key; a zero salt is just a salt", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const d = c.directory.connect(c.stranger);
      await expect(c.directory.connect(c.hospitalAdmin).registerPatient(randomId(), ZeroAddress, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryZeroAddress")
        .withArgs("controller");
      await expect(d.registerPatient(randomId(), c.stranger.address, ZeroHash))
        .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidEncryptionKey")
        .withArgs(ZeroHash);
      await expect(d.registerPatient(ZeroHash, c.stranger.address, fakeKey("x"))).to.emit(
        c.directory,
        "PatientRegistered",
      );
    });

    it("the same registrant and salt twice → DirectorySubjectExists; another registrant's same salt is another subject", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.patient).registerPatient(c.salt, c.patient.address, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectorySubjectExists")
        .withArgs(c.subject);
      await expect(c.directory.connect(c.stranger).registerPatient(c.salt, c.stranger.address, fakeKey("x")))
        .to.emit(c.directory, "PatientRegistered")
        .withArgs(
          await c.directory.subjectIdFor(c.stranger.address, c.salt),
          c.stranger.address,
          c.stranger.address,
          c.salt,
          fakeKey("x"),
          1,
        );
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.patient.address);
    });
  });

  describe("rotateController", () => {
    it("hands control to the new controller; the old one loses it", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.patient).rotateController(c.subject, c.extra.address))
        .to.emit(c.directory, "ControllerChanged")
        .withArgs(c.subject, c.patient.address, c.extra.address, false, 1)
        .and.not.to.emit(c.directory, "GuardianSet");
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.extra.address);
      const p = await c.directory.getPatient(c.subject);
      expect([p.controller, p.epoch]).to.deep.equal([c.extra.address, 1n]);

      for (const power of Object.values(Power)) {
        expect(await c.directory.actsFor(c.subject, c.extra.address, power)).to.equal(true);
        expect(await c.directory.actsFor(c.subject, c.patient.address, power)).to.equal(false);
      }
      await expect(c.directory.connect(c.patient).rotatePatientKey(c.subject, fakeKey("old")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotController")
        .withArgs(c.subject, c.patient.address);
      await expect(c.directory.connect(c.patient).rotateController(c.subject, c.patient.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotController")
        .withArgs(c.subject, c.patient.address);
      await expect(c.directory.connect(c.extra).rotatePatientKey(c.subject, fakeKey("new")))
        .to.emit(c.directory, "PatientKeyRotated")
        .withArgs(c.subject, fakeKey("new"), 2);
      // the existing guardianship is kept
      expect(await c.directory.actsFor(c.subject, c.guardian.address, Power.GRANT)).to.equal(true);
    });

    it("a new controller who was a guardian loses the guardianship", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.patient).rotateController(c.subject, c.guardian.address))
        .to.emit(c.directory, "GuardianSet")
        .withArgs(c.subject, c.guardian.address, 0, 0, 2)
        .and.to.emit(c.directory, "ControllerChanged")
        .withArgs(c.subject, c.patient.address, c.guardian.address, false, 1);
      const g = await c.directory.getGuardian(c.subject, c.guardian.address);
      expect([g.powers, g.validUntil]).to.deep.equal([0n, 0n]);
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.guardian.address);
    });

    it("only the controller rotates (not a guardian, not a stranger)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.guardian, c.stranger, c.hospitalAdmin]) {
        await expect(c.directory.connect(s).rotateController(c.subject, s.address))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotController")
          .withArgs(c.subject, s.address);
      }
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.patient.address);
    });

    it("rejects a zero new controller and an unknown subject", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.patient).rotateController(c.subject, ZeroAddress))
        .to.be.revertedWithCustomError(c.directory, "DirectoryZeroAddress")
        .withArgs("controller");
      const unknown = randomId();
      await expect(c.directory.connect(c.patient).rotateController(unknown, c.extra.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownSubject")
        .withArgs(unknown);
    });

    it("moves the epoch and cancels pending recovery approvals", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian, c.g2], c.newController.address);
      await (await c.directory.connect(c.patient).rotateController(c.subject, c.extra.address)).wait();
      const approvers = ascending(c.guardian.address, c.g2.address);
      await expect(c.directory.connect(c.stranger).executeRecovery(c.subject, c.newController.address, approvers))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryNotApproved")
        .withArgs(c.subject, approvers[0], c.newController.address);
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.extra.address);
    });
  });

  describe("rotatePatientKey", () => {
    it("the controller registers a new key: the version goes up by one each time", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const d = c.directory.connect(c.patient);
      await expect(d.rotatePatientKey(c.subject, fakeKey("patient-2")))
        .to.emit(c.directory, "PatientKeyRotated")
        .withArgs(c.subject, fakeKey("patient-2"), 2);
      await expect(d.rotatePatientKey(c.subject, fakeKey("patient-3")))
        .to.emit(c.directory, "PatientKeyRotated")
        .withArgs(c.subject, fakeKey("patient-3"), 3);
      const p = await c.directory.getPatient(c.subject);
      expect([p.encryptionKey, p.keyVersion, p.controller]).to.deep.equal([
        fakeKey("patient-3"),
        3n,
        c.patient.address,
      ]);
    });

    it("rejects a non-controller (even a guardian), an unknown subject and a zero key", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.guardian, c.stranger]) {
        await expect(c.directory.connect(s).rotatePatientKey(c.subject, fakeKey("x")))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotController")
          .withArgs(c.subject, s.address);
      }
      const unknown = randomId();
      await expect(c.directory.connect(c.patient).rotatePatientKey(unknown, fakeKey("x")))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownSubject")
        .withArgs(unknown);
      await expect(c.directory.connect(c.patient).rotatePatientKey(c.subject, ZeroHash))
        .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidEncryptionKey")
        .withArgs(ZeroHash);
    });
  });

  describe("setGuardian", () => {
    it("appoints a guardian with powers and an expiry", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const until = (await c.now()) + YEAR;
      await expect(c.directory.connect(c.patient).setGuardian(c.subject, c.stranger.address, Power.ACCESS, until))
        .to.emit(c.directory, "GuardianSet")
        .withArgs(c.subject, c.stranger.address, Power.ACCESS, until, 1);
      const g = await c.directory.getGuardian(c.subject, c.stranger.address);
      expect([g.powers, g.validUntil]).to.deep.equal([BigInt(Power.ACCESS), BigInt(until)]);
      expect(await c.directory.actsFor(c.subject, c.stranger.address, Power.ACCESS)).to.equal(true);
      expect(await c.directory.actsFor(c.subject, c.stranger.address, Power.GRANT)).to.equal(false);
    });

    it("changes a guardian's powers and expiry", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const until = (await c.now()) + DAY;
      await expect(c.directory.connect(c.patient).setGuardian(c.subject, c.guardian.address, Power.ERASE, until))
        .to.emit(c.directory, "GuardianSet")
        .withArgs(c.subject, c.guardian.address, Power.ERASE, until, 2);
      const g = await c.directory.getGuardian(c.subject, c.guardian.address);
      expect([g.powers, g.validUntil]).to.deep.equal([BigInt(Power.ERASE), BigInt(until)]);
      expect(await c.directory.actsFor(c.subject, c.guardian.address, Power.ERASE)).to.equal(true);
      expect(await c.directory.actsFor(c.subject, c.guardian.address, Power.GRANT)).to.equal(false);
      expect(await c.directory.actsFor(c.subject, c.guardian.address, Power.RECOVER)).to.equal(false);
    });

    it("removes a guardian with powers 0 (any validUntil is ignored and reported as 0)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.patient).setGuardian(c.subject, c.guardian.address, 0, 1))
        .to.emit(c.directory, "GuardianSet")
        .withArgs(c.subject, c.guardian.address, 0, 0, 2);
      const g = await c.directory.getGuardian(c.subject, c.guardian.address);
      expect([g.powers, g.validUntil]).to.deep.equal([0n, 0n]);
      for (const power of Object.values(Power)) {
        expect(await c.directory.actsFor(c.subject, c.guardian.address, power)).to.equal(false);
      }
    });

    it("accepts ALL_POWERS and rejects powers above it", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const d = c.directory.connect(c.patient);
      await expect(d.setGuardian(c.subject, c.stranger.address, ALL_POWERS, 0))
        .to.emit(c.directory, "GuardianSet")
        .withArgs(c.subject, c.stranger.address, ALL_POWERS, 0, 1);
      for (const powers of [ALL_POWERS + 1, 64, 255]) {
        await expect(d.setGuardian(c.subject, c.extra.address, powers, 0))
          .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidPowers")
          .withArgs(powers);
      }
    });

    it("rejects the controller as its own guardian", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.patient).setGuardian(c.subject, c.patient.address, Power.GRANT, 0))
        .to.be.revertedWithCustomError(c.directory, "DirectoryGuardianIsController")
        .withArgs(c.subject, c.patient.address);
    });

    it("rejects an expiry in the past or now; accepts one second later", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const d = c.directory.connect(c.patient);
      const t = (await c.now()) + 100;
      await time.setNextBlockTimestamp(t);
      for (const until of [1, t - 1, t]) {
        await expect(d.setGuardian(c.subject, c.stranger.address, Power.GRANT, until))
          .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidCredentialExpiry")
          .withArgs(until, t);
      }
      await expect(d.setGuardian(c.subject, c.stranger.address, Power.GRANT, t + 1))
        .to.emit(c.directory, "GuardianSet")
        .withArgs(c.subject, c.stranger.address, Power.GRANT, t + 1, 1);
    });

    it("rejects a zero guardian", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.patient).setGuardian(c.subject, ZeroAddress, Power.GRANT, 0))
        .to.be.revertedWithCustomError(c.directory, "DirectoryZeroAddress")
        .withArgs("guardian");
    });

    it("only the controller appoints (not a guardian, even with GRANT), and the subject must exist", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.guardian, c.stranger, c.hospitalAdmin]) {
        await expect(c.directory.connect(s).setGuardian(c.subject, c.extra.address, Power.GRANT, 0))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotController")
          .withArgs(c.subject, s.address);
      }
      const unknown = randomId();
      await expect(c.directory.connect(c.patient).setGuardian(unknown, c.extra.address, Power.GRANT, 0))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownSubject")
        .withArgs(unknown);
    });
  });

  describe("actsFor / controllerOf / getGuardian", () => {
    it("the controller holds every power", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const power of [...Object.values(Power), ALL_POWERS]) {
        expect(await c.directory.actsFor(c.subject, c.patient.address, power)).to.equal(true);
      }
    });

    it("a guardian holds exactly the powers it was given", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const g = await c.directory.getGuardian(c.subject, c.guardian.address);
      expect([g.powers, g.validUntil]).to.deep.equal([BigInt(Power.GRANT | Power.REVOKE | Power.RECOVER), 0n]);
      const has = async (power: number) => c.directory.actsFor(c.subject, c.guardian.address, power);
      expect(await has(Power.GRANT)).to.equal(true);
      expect(await has(Power.REVOKE)).to.equal(true);
      expect(await has(Power.RECOVER)).to.equal(true);
      expect(await has(Power.GRANT | Power.REVOKE)).to.equal(true);
      expect(await has(Power.ERASE)).to.equal(false);
      expect(await has(Power.ACCESS)).to.equal(false);
      expect(await has(Power.GRANT | Power.ERASE)).to.equal(false);
      expect(await has(ALL_POWERS)).to.equal(false);
      expect(await has(0)).to.equal(false);
      // a guardian without expiry keeps its powers forever
      await time.increase(50 * YEAR);
      expect(await has(Power.GRANT)).to.equal(true);
    });

    it("an expired guardian holds no power (expiry is exclusive)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const until = (await c.now()) + DAY;
      await (await c.directory.connect(c.patient).setGuardian(c.subject, c.stranger.address, ALL_POWERS, until)).wait();
      expect(await c.directory.actsFor(c.subject, c.stranger.address, Power.ACCESS)).to.equal(true);
      await time.increaseTo(until - 1);
      expect(await c.directory.actsFor(c.subject, c.stranger.address, Power.ACCESS)).to.equal(true);
      await time.increaseTo(until);
      for (const power of Object.values(Power)) {
        expect(await c.directory.actsFor(c.subject, c.stranger.address, power)).to.equal(false);
      }
      // the record is still there; only its validity ended
      const g = await c.directory.getGuardian(c.subject, c.stranger.address);
      expect([g.powers, g.validUntil]).to.deep.equal([BigInt(ALL_POWERS), BigInt(until)]);
    });

    it("strangers and unregistered subjects: false / zero", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      expect(await c.directory.actsFor(c.subject, c.stranger.address, Power.GRANT)).to.equal(false);
      const unknown = randomId();
      for (const account of [c.patient.address, c.stranger.address, ZeroAddress]) {
        expect(await c.directory.actsFor(unknown, account, Power.GRANT)).to.equal(false);
      }
      expect(await c.directory.controllerOf(unknown)).to.equal(ZeroAddress);
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.patient.address);
      const g = await c.directory.getGuardian(unknown, c.guardian.address);
      expect([g.powers, g.validUntil]).to.deep.equal([0n, 0n]);
      const none = await c.directory.getGuardian(c.subject, c.stranger.address);
      expect([none.powers, none.validUntil]).to.deep.equal([0n, 0n]);
    });

    it("guardianship is per subject", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const other = await registerSubject(c, c.stranger);
      expect(await c.directory.actsFor(other, c.guardian.address, Power.GRANT)).to.equal(false);
      expect(await c.directory.actsFor(other, c.patient.address, Power.GRANT)).to.equal(false);
    });
  });

  // ───────────────────────────── recovery ─────────────────────────────

  describe("setRecoveryThreshold", () => {
    it("the controller sets 0..16, with an event", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const d = c.directory.connect(c.patient);
      for (const threshold of [1, 3, MAX_THRESHOLD, 0]) {
        await expect(d.setRecoveryThreshold(c.subject, threshold))
          .to.emit(c.directory, "RecoveryThresholdSet")
          .withArgs(c.subject, threshold);
        expect((await c.directory.getPatient(c.subject)).recoveryThreshold).to.equal(BigInt(threshold));
      }
    });

    it("rejects a threshold above MAX_RECOVERY_THRESHOLD", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const threshold of [MAX_THRESHOLD + 1, 255]) {
        await expect(c.directory.connect(c.patient).setRecoveryThreshold(c.subject, threshold))
          .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidThreshold")
          .withArgs(threshold);
      }
    });

    it("only the controller (not a RECOVER guardian) sets it, and the subject must exist", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.guardian, c.stranger]) {
        await expect(c.directory.connect(s).setRecoveryThreshold(c.subject, 1))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotController")
          .withArgs(c.subject, s.address);
      }
      const unknown = randomId();
      await expect(c.directory.connect(c.patient).setRecoveryThreshold(unknown, 1))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownSubject")
        .withArgs(unknown);
    });
  });

  describe("approveRecovery", () => {
    it("a RECOVER guardian approves a new controller in the current epoch", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await expect(c.directory.connect(c.guardian).approveRecovery(c.subject, c.newController.address))
        .to.emit(c.directory, "RecoveryApproved")
        .withArgs(c.subject, c.guardian.address, c.newController.address, 1, 1);
      await (await c.directory.connect(c.patient).cancelRecovery(c.subject)).wait();
      await expect(c.directory.connect(c.g2).approveRecovery(c.subject, c.newController.address))
        .to.emit(c.directory, "RecoveryApproved")
        .withArgs(c.subject, c.g2.address, c.newController.address, 2, 1);
    });

    it("is disabled while the threshold is 0", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.connect(c.guardian).approveRecovery(c.subject, c.newController.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryDisabled")
        .withArgs(c.subject);
    });

    it("rejects a guardian without RECOVER, a non-guardian and the controller", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      const allButRecover = ALL_POWERS & ~Power.RECOVER;
      await (await c.directory.connect(c.patient).setGuardian(c.subject, c.extra.address, allButRecover, 0)).wait();
      for (const s of [c.extra, c.stranger, c.patient]) {
        await expect(c.directory.connect(s).approveRecovery(c.subject, c.newController.address))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotGuardian")
          .withArgs(c.subject, s.address, Power.RECOVER);
      }
    });

    it("rejects an expired RECOVER guardian", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      const until = (await c.now()) + DAY;
      await (await c.directory.connect(c.patient).setGuardian(c.subject, c.extra.address, Power.RECOVER, until)).wait();
      await time.increaseTo(until);
      await expect(c.directory.connect(c.extra).approveRecovery(c.subject, c.newController.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotGuardian")
        .withArgs(c.subject, c.extra.address, Power.RECOVER);
    });

    it("rejects a zero new controller and an unknown subject", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await expect(c.directory.connect(c.guardian).approveRecovery(c.subject, ZeroAddress))
        .to.be.revertedWithCustomError(c.directory, "DirectoryZeroAddress")
        .withArgs("controller");
      const unknown = randomId();
      await expect(c.directory.connect(c.guardian).approveRecovery(unknown, c.newController.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownSubject")
        .withArgs(unknown);
    });
  });

  describe("executeRecovery", () => {
    it("2-of-3: anyone executes; control moves to the new controller, the old one loses it", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian, c.g3], c.newController.address);
      const approvers = ascending(c.guardian.address, c.g3.address);
      await expect(c.directory.connect(c.stranger).executeRecovery(c.subject, c.newController.address, approvers))
        .to.emit(c.directory, "ControllerChanged")
        .withArgs(c.subject, c.patient.address, c.newController.address, true, 2)
        .and.not.to.emit(c.directory, "GuardianSet");
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.newController.address);
      const p = await c.directory.getPatient(c.subject);
      expect([p.controller, p.epoch, p.recoveryThreshold, p.keyVersion]).to.deep.equal([
        c.newController.address,
        2n,
        2n,
        1n,
      ]);
      expect(await c.directory.actsFor(c.subject, c.newController.address, Power.GRANT)).to.equal(true);
      expect(await c.directory.actsFor(c.subject, c.patient.address, Power.GRANT)).to.equal(false);

      await expect(c.directory.connect(c.newController).rotatePatientKey(c.subject, fakeKey("recovered")))
        .to.emit(c.directory, "PatientKeyRotated")
        .withArgs(c.subject, fakeKey("recovered"), 2);
      await expect(c.directory.connect(c.patient).setGuardian(c.subject, c.stranger.address, Power.GRANT, 0))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotController")
        .withArgs(c.subject, c.patient.address);
      await expect(c.directory.connect(c.patient).cancelRecovery(c.subject))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotController")
        .withArgs(c.subject, c.patient.address);

      // the approvals are spent: replaying them fails (the epoch moved on)
      await expect(c.directory.connect(c.stranger).executeRecovery(c.subject, c.newController.address, approvers))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryNotApproved")
        .withArgs(c.subject, approvers[0], c.newController.address);
    });

    it("more approvers than the threshold also work (3 of 3 with M = 2); M = 1 needs one", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian, c.g2, c.g3], c.newController.address);
      await expect(
        c.directory.executeRecovery(
          c.subject,
          c.newController.address,
          ascending(c.guardian.address, c.g2.address, c.g3.address),
        ),
      )
        .to.emit(c.directory, "ControllerChanged")
        .withArgs(c.subject, c.patient.address, c.newController.address, true, 2);

      await (await c.directory.connect(c.newController).setRecoveryThreshold(c.subject, 1)).wait();
      await approve(c, [c.g2], c.extra.address);
      await expect(c.directory.connect(c.g2).executeRecovery(c.subject, c.extra.address, [c.g2.address]))
        .to.emit(c.directory, "ControllerChanged")
        .withArgs(c.subject, c.newController.address, c.extra.address, true, 4);
    });

    it("a new controller who was a guardian loses the guardianship", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian, c.g2], c.g3.address);
      await expect(c.directory.executeRecovery(c.subject, c.g3.address, ascending(c.guardian.address, c.g2.address)))
        .to.emit(c.directory, "GuardianSet")
        .withArgs(c.subject, c.g3.address, 0, 0, 2)
        .and.to.emit(c.directory, "ControllerChanged")
        .withArgs(c.subject, c.patient.address, c.g3.address, true, 2);
      const g = await c.directory.getGuardian(c.subject, c.g3.address);
      expect([g.powers, g.validUntil]).to.deep.equal([0n, 0n]);
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.g3.address);
    });

    it("rejects fewer approvers than the threshold", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c, 3);
      await approve(c, [c.guardian, c.g2, c.g3], c.newController.address);
      const two = ascending(c.guardian.address, c.g2.address);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, two))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryThresholdNotMet")
        .withArgs(c.subject, 3, 2);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, []))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryThresholdNotMet")
        .withArgs(c.subject, 3, 0);
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.patient.address);
    });

    it("rejects unsorted, duplicate and zero approvers", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian, c.g2, c.g3], c.newController.address);
      const [a0, a1, a2] = ascending(c.guardian.address, c.g2.address, c.g3.address) as [string, string, string];
      const to = c.newController.address;
      await expect(c.directory.executeRecovery(c.subject, to, [a1, a0]))
        .to.be.revertedWithCustomError(c.directory, "DirectoryApproversNotSorted")
        .withArgs(a0);
      await expect(c.directory.executeRecovery(c.subject, to, [a0, a2, a1]))
        .to.be.revertedWithCustomError(c.directory, "DirectoryApproversNotSorted")
        .withArgs(a1);
      await expect(c.directory.executeRecovery(c.subject, to, [a0, a0]))
        .to.be.revertedWithCustomError(c.directory, "DirectoryApproversNotSorted")
        .withArgs(a0);
      await expect(c.directory.executeRecovery(c.subject, to, [a0, a1, a1]))
        .to.be.revertedWithCustomError(c.directory, "DirectoryApproversNotSorted")
        .withArgs(a1);
      await expect(c.directory.executeRecovery(c.subject, to, [ZeroAddress, a0]))
        .to.be.revertedWithCustomError(c.directory, "DirectoryApproversNotSorted")
        .withArgs(ZeroAddress);
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.patient.address);
    });

    it("rejects an approver who approved another new controller, or nothing", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian], c.newController.address);
      await approve(c, [c.g2], c.extra.address);
      const pair = ascending(c.guardian.address, c.g2.address);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, pair))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryNotApproved")
        .withArgs(c.subject, c.g2.address, c.newController.address);
      // g3 (a RECOVER guardian) approved nothing
      const withG3 = ascending(c.guardian.address, c.g3.address);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, withG3))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryNotApproved")
        .withArgs(c.subject, c.g3.address, c.newController.address);
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.patient.address);
    });

    it("rejects an approver that is not a RECOVER guardian, even one that is listed after valid ones", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c, 1);
      await approve(c, [c.guardian], c.newController.address);
      const list = ascending(c.guardian.address, c.stranger.address);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, list))
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotGuardian")
        .withArgs(c.subject, c.stranger.address, Power.RECOVER);
    });

    it("a guardian removed (or stripped of RECOVER) after approving no longer counts", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian, c.g2, c.g3], c.newController.address);
      const d = c.directory.connect(c.patient);
      await (await d.setGuardian(c.subject, c.g2.address, 0, 0)).wait();
      await (await d.setGuardian(c.subject, c.g3.address, Power.GRANT, 0)).wait();
      await expect(
        c.directory.executeRecovery(c.subject, c.newController.address, ascending(c.guardian.address, c.g2.address)),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotGuardian")
        .withArgs(c.subject, c.g2.address, Power.RECOVER);
      await expect(
        c.directory.executeRecovery(c.subject, c.newController.address, ascending(c.guardian.address, c.g3.address)),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotGuardian")
        .withArgs(c.subject, c.g3.address, Power.RECOVER);
      expect(await c.directory.controllerOf(c.subject)).to.equal(c.patient.address);
    });

    it("a guardian whose guardianship expired after approving no longer counts", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      const until = (await c.now()) + DAY;
      await (await c.directory.connect(c.patient).setGuardian(c.subject, c.g2.address, Power.RECOVER, until)).wait();
      await approve(c, [c.guardian, c.g2], c.newController.address);
      await time.increaseTo(until);
      await expect(
        c.directory.executeRecovery(c.subject, c.newController.address, ascending(c.guardian.address, c.g2.address)),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryNotGuardian")
        .withArgs(c.subject, c.g2.address, Power.RECOVER);
    });

    it("approvals from before a cancelRecovery no longer count; fresh ones do", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian, c.g2], c.newController.address);
      await (await c.directory.connect(c.patient).cancelRecovery(c.subject)).wait();
      const approvers = ascending(c.guardian.address, c.g2.address);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, approvers))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryNotApproved")
        .withArgs(c.subject, approvers[0], c.newController.address);
      // one fresh approval is not enough either: the other one is from the old epoch
      await approve(c, [c.guardian], c.newController.address);
      const stale = approvers[0] === c.guardian.address ? approvers[1] : approvers[0];
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, approvers))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryNotApproved")
        .withArgs(c.subject, stale, c.newController.address);
      await approve(c, [c.g2], c.newController.address);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, approvers))
        .to.emit(c.directory, "ControllerChanged")
        .withArgs(c.subject, c.patient.address, c.newController.address, true, 3);
    });

    it("is disabled when the threshold is 0 (even with approvals collected before)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, [c.guardian.address]))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryDisabled")
        .withArgs(c.subject);
      await enableRecovery(c);
      await approve(c, [c.guardian, c.g2], c.newController.address);
      await (await c.directory.connect(c.patient).setRecoveryThreshold(c.subject, 0)).wait();
      await expect(
        c.directory.executeRecovery(c.subject, c.newController.address, ascending(c.guardian.address, c.g2.address)),
      )
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryDisabled")
        .withArgs(c.subject);
    });

    it("rejects an unknown subject", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const unknown = randomId();
      await expect(c.directory.executeRecovery(unknown, c.newController.address, [c.guardian.address]))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownSubject")
        .withArgs(unknown);
    });
  });

  describe("cancelRecovery", () => {
    it("the controller moves the epoch on, with an event", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const d = c.directory.connect(c.patient);
      await expect(d.cancelRecovery(c.subject)).to.emit(c.directory, "RecoveryCancelled").withArgs(c.subject, 1);
      await expect(d.cancelRecovery(c.subject)).to.emit(c.directory, "RecoveryCancelled").withArgs(c.subject, 2);
      const p = await c.directory.getPatient(c.subject);
      expect([p.epoch, p.controller]).to.deep.equal([2n, c.patient.address]);
    });

    it("only the controller cancels (not a RECOVER guardian), and the subject must exist", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      for (const s of [c.guardian, c.stranger]) {
        await expect(c.directory.connect(s).cancelRecovery(c.subject))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotController")
          .withArgs(c.subject, s.address);
      }
      const unknown = randomId();
      await expect(c.directory.connect(c.patient).cancelRecovery(unknown))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownSubject")
        .withArgs(unknown);
      expect((await c.directory.getPatient(c.subject)).epoch).to.equal(0n);
    });
  });

  // ─────────────────────────────── views ───────────────────────────────

  describe("views", () => {
    it("getOrganization returns the fixture's organizations and reverts for unknown ids", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const org = await c.directory.getOrganization(c.payer);
      expect([org.kind, org.admin, org.suspended, org.encryptionKey, org.keyVersion]).to.deep.equal([
        BigInt(OrgKind.PAYER),
        c.payerAdmin.address,
        false,
        fakeKey("payer"),
        1n,
      ]);
      expect(await c.directory.organizationCount()).to.equal(3n);
      for (const orgId of [0, 4, 2 ** 32 - 1]) {
        await expect(c.directory.getOrganization(orgId))
          .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownOrganization")
          .withArgs(orgId);
      }
    });

    it("getPractitioner returns an enrolled practitioner and reverts for anyone else", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const p = await c.directory.getPractitioner(c.payerAgent.address);
      expect([p.orgId, p.roles, p.credentialValidUntil, p.suspended, p.encryptionKey, p.keyVersion]).to.deep.equal([
        BigInt(c.payer),
        BigInt(Role.PAYER),
        c.licence,
        false,
        fakeKey("payerAgent"),
        1n,
      ]);
      for (const account of [c.stranger.address, c.payerAdmin.address, ZeroAddress]) {
        await expect(c.directory.getPractitioner(account))
          .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownPractitioner")
          .withArgs(account);
      }
    });

    it("getPatient returns a registered patient and reverts for an unknown subject", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const p = await c.directory.getPatient(c.subject);
      expect([p.controller, p.encryptionKey, p.keyVersion, p.recoveryThreshold, p.epoch]).to.deep.equal([
        c.patient.address,
        fakeKey("patient"),
        1n,
        0n,
        0n,
      ]);
      for (const subject of [randomId(), ZeroHash]) {
        await expect(c.directory.getPatient(subject))
          .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownSubject")
          .withArgs(subject);
      }
    });
  });

  describe("threshold changes", () => {
    it("changing the threshold cancels approvals given under the old one", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c, 3);
      await approve(c, [c.guardian], c.newController.address);
      const epoch = (await c.directory.getPatient(c.subject)).epoch;
      await expect(c.directory.connect(c.patient).setRecoveryThreshold(c.subject, 1))
        .to.emit(c.directory, "RecoveryThresholdSet")
        .withArgs(c.subject, 1)
        .and.to.emit(c.directory, "RecoveryCancelled")
        .withArgs(c.subject, epoch + 1n);
      // The stale approval would meet the new threshold of 1 on its own: it must not count.
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, [c.guardian.address]))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryNotApproved")
        .withArgs(c.subject, c.guardian.address, c.newController.address);
    });
  });

  // ──────────────────────────── 1.1 additions ────────────────────────────

  describe("security council", () => {
    const COUNCIL_ROLE = keccakString("SECURITY_COUNCIL_ROLE");

    async function withCouncil(): Promise<Ctx & { council: HardhatEthersSigner }> {
      const c = await directoryFixture();
      await (await c.directory.grantRole(COUNCIL_ROLE, c.g2.address)).wait();
      return { ...c, council: c.g2 };
    }

    it("DEFAULT_ADMIN_ROLE administers the council role; nobody else grants it", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      expect(await c.directory.getRoleAdmin(COUNCIL_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
      await expect(c.directory.connect(c.stranger).grantRole(COUNCIL_ROLE, c.stranger.address))
        .to.be.revertedWithCustomError(c.directory, "AccessControlUnauthorizedAccount")
        .withArgs(c.stranger.address, DEFAULT_ADMIN_ROLE);
    });

    it("the council suspends an organization at once; only governance reinstates", async () => {
      const c = await networkHelpers.loadFixture(withCouncil);
      await expect(c.directory.connect(c.council).suspendOrganization(c.lab))
        .to.emit(c.directory, "OrganizationStatusChanged")
        .withArgs(c.lab, true, c.council.address);
      await expectStatus(c, c.labTech.address, Status.ORGANIZATION_SUSPENDED, c.lab, Role.CLINICIAN);
      await expect(c.directory.connect(c.council).reinstateOrganization(c.lab))
        .to.be.revertedWithCustomError(c.directory, "AccessControlUnauthorizedAccount")
        .withArgs(c.council.address, GOVERNANCE_ROLE);
      await expect(c.directory.reinstateOrganization(c.lab))
        .to.emit(c.directory, "OrganizationStatusChanged")
        .withArgs(c.lab, false, c.governance.address);
    });

    it("the council or governance bars a practitioner (SUSPENDED whatever its organization does); only governance lifts the bar", async () => {
      const c = await networkHelpers.loadFixture(withCouncil);
      await expect(c.directory.connect(c.council).barPractitioner(c.doctor.address))
        .to.emit(c.directory, "PractitionerBarred")
        .withArgs(c.doctor.address, c.hospital, true, c.council.address);
      await expectStatus(c, c.doctor.address, Status.SUSPENDED, c.hospital, Role.CLINICIAN);
      const p = await c.directory.getPractitioner(c.doctor.address);
      expect([p.suspended, p.barred]).to.deep.equal([false, true]);
      // Its admin's suspension and reinstatement are independent of the bar.
      const h = c.directory.connect(c.hospitalAdmin);
      await (await h.suspendPractitioner(c.doctor.address)).wait();
      await (await h.reinstatePractitioner(c.doctor.address)).wait();
      await expectStatus(c, c.doctor.address, Status.SUSPENDED, c.hospital, Role.CLINICIAN);
      await expect(c.directory.connect(c.council).barPractitioner(c.doctor.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryPractitionerBarUnchanged")
        .withArgs(c.doctor.address, true);
      for (const s of [c.council, c.hospitalAdmin, c.doctor]) {
        await expect(c.directory.connect(s).liftPractitionerBar(c.doctor.address))
          .to.be.revertedWithCustomError(c.directory, "AccessControlUnauthorizedAccount")
          .withArgs(s.address, GOVERNANCE_ROLE);
      }
      await expect(c.directory.liftPractitionerBar(c.doctor.address))
        .to.emit(c.directory, "PractitionerBarred")
        .withArgs(c.doctor.address, c.hospital, false, c.governance.address);
      await expectStatus(c, c.doctor.address, Status.ACTIVE, c.hospital, Role.CLINICIAN);
      await expect(c.directory.liftPractitionerBar(c.doctor.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryPractitionerBarUnchanged")
        .withArgs(c.doctor.address, false);
      // Governance may bar too.
      await expect(c.directory.barPractitioner(c.labTech.address))
        .to.emit(c.directory, "PractitionerBarred")
        .withArgs(c.labTech.address, c.lab, true, c.governance.address);
    });

    it("nobody else bars; an unknown practitioner cannot be barred", async () => {
      const c = await networkHelpers.loadFixture(withCouncil);
      for (const s of [c.hospitalAdmin, c.stranger, c.officer]) {
        await expect(c.directory.connect(s).barPractitioner(c.doctor.address))
          .to.be.revertedWithCustomError(c.directory, "DirectoryNotGovernanceOrCouncil")
          .withArgs(s.address);
      }
      await expect(c.directory.connect(c.council).barPractitioner(c.stranger.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownPractitioner")
        .withArgs(c.stranger.address);
      await expect(c.directory.liftPractitionerBar(c.stranger.address))
        .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownPractitioner")
        .withArgs(c.stranger.address);
    });
  });

  describe("practitioner ids", () => {
    it("are sequential from 1, returned by enrollPractitioner and accessorStatus, and map back to the account", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      expect(await c.directory.practitionerCount()).to.equal(5n);
      const enrolled = [c.doctor, c.responder, c.officer, c.payerAgent, c.labTech];
      for (const [i, p] of enrolled.entries()) {
        expect(await c.directory.practitionerIdOf(p.address)).to.equal(BigInt(i + 1));
        expect(await c.directory.practitionerAccount(i + 1)).to.equal(p.address);
        expect((await c.directory.accessorStatus(p.address)).practitionerId).to.equal(BigInt(i + 1));
        expect((await c.directory.getPractitioner(p.address)).practitionerId).to.equal(BigInt(i + 1));
      }
      expect(
        await c.directory
          .connect(c.hospitalAdmin)
          .enrollPractitioner.staticCall(c.hospital, c.extra.address, Role.CLINICIAN, c.licence, fakeKey("x")),
      ).to.equal(6n);
      expect(await c.directory.practitionerIdOf(c.stranger.address)).to.equal(0n);
      for (const id of [0, 6, 99]) {
        await expect(c.directory.practitionerAccount(id))
          .to.be.revertedWithCustomError(c.directory, "DirectoryUnknownPractitionerId")
          .withArgs(id);
      }
    });
  });

  describe("registerAccountKey", () => {
    it("any account registers its own key (a guardian receiving key shares); versions go up; zero refused", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      expect(await c.directory.getAccountKey(c.guardian.address)).to.deep.equal([ZeroHash, 0n]);
      await expect(c.directory.connect(c.guardian).registerAccountKey(fakeKey("g1")))
        .to.emit(c.directory, "AccountKeyRegistered")
        .withArgs(c.guardian.address, fakeKey("g1"), 1);
      await expect(c.directory.connect(c.guardian).registerAccountKey(fakeKey("g2")))
        .to.emit(c.directory, "AccountKeyRegistered")
        .withArgs(c.guardian.address, fakeKey("g2"), 2);
      expect(await c.directory.getAccountKey(c.guardian.address)).to.deep.equal([fakeKey("g2"), 2n]);
      expect(await c.directory.getAccountKey(c.stranger.address)).to.deep.equal([ZeroHash, 0n]);
      await expect(c.directory.connect(c.stranger).registerAccountKey(ZeroHash))
        .to.be.revertedWithCustomError(c.directory, "DirectoryInvalidEncryptionKey")
        .withArgs(ZeroHash);
    });
  });

  describe("guardian appointments", () => {
    it("every setGuardian (appoint, change, renew, remove) moves the guardian's appointment on", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      const d = c.directory.connect(c.patient);
      expect((await c.directory.getGuardian(c.subject, c.guardian.address)).appointment).to.equal(1n);
      await (await d.setGuardian(c.subject, c.guardian.address, Power.RECOVER, 0)).wait();
      await (await d.setGuardian(c.subject, c.guardian.address, Power.RECOVER, 0)).wait();
      await (await d.setGuardian(c.subject, c.guardian.address, 0, 0)).wait();
      expect(await c.directory.getGuardian(c.subject, c.guardian.address)).to.deep.equal([0n, 0n, 4n]);
    });

    it("an approval is void once the guardian's appointment changes (renewal with the same powers included)", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian, c.g2], c.newController.address);
      expect(await c.directory.recoveryApproved(c.subject, c.g2.address, c.newController.address)).to.equal(true);
      await (await c.directory.connect(c.patient).setGuardian(c.subject, c.g2.address, Power.RECOVER, 0)).wait();
      expect(await c.directory.recoveryApproved(c.subject, c.g2.address, c.newController.address)).to.equal(false);
      const approvers = ascending(c.guardian.address, c.g2.address);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, approvers))
        .to.be.revertedWithCustomError(c.directory, "DirectoryRecoveryNotApproved")
        .withArgs(c.subject, c.g2.address, c.newController.address);
      // A fresh approval under the new appointment counts.
      await expect(c.directory.connect(c.g2).approveRecovery(c.subject, c.newController.address))
        .to.emit(c.directory, "RecoveryApproved")
        .withArgs(c.subject, c.g2.address, c.newController.address, 1, 2);
      await expect(c.directory.executeRecovery(c.subject, c.newController.address, approvers)).to.emit(
        c.directory,
        "ControllerChanged",
      );
    });

    it("recoveryApproved is false for unknown subjects, non-guardians, expired guardians and other proposals", async () => {
      const c = await networkHelpers.loadFixture(directoryFixture);
      await enableRecovery(c);
      await approve(c, [c.guardian], c.newController.address);
      expect(await c.directory.recoveryApproved(randomId(), c.guardian.address, c.newController.address)).to.equal(
        false,
      );
      expect(await c.directory.recoveryApproved(c.subject, c.stranger.address, c.newController.address)).to.equal(
        false,
      );
      expect(await c.directory.recoveryApproved(c.subject, c.guardian.address, c.extra.address)).to.equal(false);
      expect(await c.directory.recoveryApproved(c.subject, c.g3.address, c.newController.address)).to.equal(false);
    });
  });
});
