/**
 * One deployment fixture shared by the contract tests and the gas benchmark: the three contracts,
 * a consortium with a hospital (doctor, emergency responder, privacy officer), a payer and a lab,
 * and a registered patient with a guardian.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { ethers as ethersLib } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";

import {
  Action,
  Category,
  Effect,
  GranteeKind,
  OrgKind,
  Power,
  Purpose,
  Role,
  categoryMask,
  purposeMask,
} from "../../sdk/codes.js";
import { consentDomain as domainFor } from "../../sdk/chain/eip712.js";
import { deployMedLedger } from "../../sdk/deploy.js";
import type { ConsentTermsStruct } from "../../types/typechain/ConsentRegistry.js";
import {
  ConsentRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";
import type { ConsentRegistry, ParticipantDirectory, RecordRegistry } from "../../types/typechain/index.js";

export type Conn = NetworkConnection;

export const DAY = 24 * 60 * 60;
export const YEAR = 365 * DAY;

/** A deterministic 32-byte key-like value for tests (never a real key). */
export function fakeKey(label: string): string {
  return ethersLib.keccak256(ethersLib.toUtf8Bytes(`x25519:${label}`));
}

export function randomId(): string {
  return ethersLib.hexlify(ethersLib.randomBytes(32));
}

export interface Deployed {
  directory: ParticipantDirectory;
  consents: ConsentRegistry;
  records: RecordRegistry;
}

/** Deploys through the SDK's deploy (governance kept by `governance` for the tests). */
export async function deployContracts(governance: HardhatEthersSigner): Promise<Deployed> {
  const book = await deployMedLedger(governance, { network: "test", governance: false });
  const c = book.contracts;
  return {
    directory: ParticipantDirectory__factory.connect(c.ParticipantDirectory.address, governance),
    consents: ConsentRegistry__factory.connect(c.ConsentRegistry.address, governance),
    records: RecordRegistry__factory.connect(c.RecordRegistry.address, governance),
  };
}

export interface World extends Deployed {
  conn: Conn;
  now: () => Promise<number>;
  signers: HardhatEthersSigner[];
  governance: HardhatEthersSigner;
  hospitalAdmin: HardhatEthersSigner;
  doctor: HardhatEthersSigner;
  responder: HardhatEthersSigner;
  officer: HardhatEthersSigner;
  payerAdmin: HardhatEthersSigner;
  payerAgent: HardhatEthersSigner;
  labAdmin: HardhatEthersSigner;
  labTech: HardhatEthersSigner;
  patient: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  relayer: HardhatEthersSigner;
  hospital: number;
  payer: number;
  lab: number;
  subject: string;
}

/** Terms with sensible defaults: a permit for one practitioner, READ, TREAT, no expiry. */
export function terms(overrides: Partial<ConsentTermsStruct> = {}): ConsentTermsStruct {
  return {
    effect: Effect.PERMIT,
    granteeKind: GranteeKind.PRACTITIONER,
    granteeAccount: ethersLib.ZeroAddress,
    granteeOrg: 0,
    granteeRoles: 0,
    categories: categoryMask(["OBSERVATIONS", "MEDICATIONS"]),
    purposes: purposeMask(["TREAT"]),
    actions: Action.READ,
    validFrom: 0,
    validUntil: 0,
    ...overrides,
  };
}

export async function buildWorld(conn: Conn): Promise<World> {
  const { ethers } = conn;
  const signers = await ethers.getSigners();
  const at = (i: number): HardhatEthersSigner => {
    const signer = signers[i];
    if (signer === undefined) throw new Error(`the network has fewer than ${i + 1} accounts`);
    return signer;
  };
  const governance = at(0);
  const hospitalAdmin = at(1);
  const doctor = at(2);
  const responder = at(3);
  const officer = at(4);
  const payerAdmin = at(5);
  const payerAgent = at(6);
  const labAdmin = at(7);
  const labTech = at(8);
  const patient = at(9);
  const guardian = at(10);
  const stranger = at(11);
  const relayer = at(12);
  const deployed = await deployContracts(governance);
  const { directory } = deployed;
  const now = async (): Promise<number> => {
    const block = await ethers.provider.getBlock("latest");
    if (block === null) throw new Error("no latest block");
    return block.timestamp;
  };
  const licence = (await now()) + 5 * YEAR;

  await (await directory.admitOrganization(OrgKind.HOSPITAL, hospitalAdmin.address, fakeKey("hospital"))).wait();
  await (await directory.admitOrganization(OrgKind.PAYER, payerAdmin.address, fakeKey("payer"))).wait();
  await (await directory.admitOrganization(OrgKind.LAB, labAdmin.address, fakeKey("lab"))).wait();
  const [hospital, payer, lab] = [1, 2, 3];
  const h = directory.connect(hospitalAdmin);
  await (await h.enrollPractitioner(hospital, doctor.address, Role.CLINICIAN, licence, fakeKey("doctor"))).wait();
  await (
    await h.enrollPractitioner(hospital, responder.address, Role.EMERGENCY_RESPONDER, licence, fakeKey("responder"))
  ).wait();
  await (
    await h.enrollPractitioner(hospital, officer.address, Role.PRIVACY_OFFICER, licence, fakeKey("officer"))
  ).wait();
  await (
    await directory
      .connect(payerAdmin)
      .enrollPractitioner(payer, payerAgent.address, Role.PAYER, licence, fakeKey("payerAgent"))
  ).wait();
  await (
    await directory
      .connect(labAdmin)
      .enrollPractitioner(lab, labTech.address, Role.CLINICIAN, licence, fakeKey("labTech"))
  ).wait();

  const subject = randomId();
  await (await directory.connect(patient).registerPatient(subject, patient.address, fakeKey("patient"))).wait();
  await (
    await directory
      .connect(patient)
      .setGuardian(subject, guardian.address, Power.GRANT | Power.REVOKE | Power.RECOVER, 0)
  ).wait();

  return {
    ...deployed,
    conn,
    now,
    signers,
    governance: governance,
    hospitalAdmin: hospitalAdmin,
    doctor: doctor,
    responder: responder,
    officer: officer,
    payerAdmin: payerAdmin,
    payerAgent: payerAgent,
    labAdmin: labAdmin,
    labTech: labTech,
    patient: patient,
    guardian: guardian,
    stranger: stranger,
    relayer: relayer,
    hospital,
    payer,
    lab,
    subject,
  };
}

/** Grants `t` for the world's subject from the patient; returns the consent id. */
export async function grantFromPatient(w: World, t: ConsentTermsStruct): Promise<string> {
  const id = await w.consents.consentIdAt(w.subject, Number(await w.consents.consentCount(w.subject)) + 1);
  await (await w.consents.connect(w.patient).grant(w.subject, t)).wait();
  return id;
}

/** Grants the hospital's clinicians APPEND (+READ, TREAT) on every category; returns the consent id. */
export async function grantHospitalAppend(w: World): Promise<string> {
  return grantFromPatient(
    w,
    terms({
      granteeKind: GranteeKind.ORG_ROLE,
      granteeOrg: w.hospital,
      granteeRoles: Role.CLINICIAN,
      categories: 0xffffffff,
      purposes: purposeMask(["TREAT"]),
      actions: Action.APPEND | Action.READ,
    }),
  );
}

/** Anchors a record for the world's subject by the doctor (needs an append consent). */
export async function anchor(
  w: World,
  opts: { category?: number; previous?: string; hint?: string; by?: HardhatEthersSigner } = {},
): Promise<string> {
  const id = randomId();
  const digest = randomId();
  await (
    await w.records
      .connect(opts.by ?? w.doctor)
      .anchorRecord(
        id,
        w.subject,
        opts.category ?? Category.OBSERVATIONS,
        digest,
        opts.previous ?? ethersLib.ZeroHash,
        `sha256:${digest.slice(2)}`,
        opts.hint ?? ethersLib.ZeroHash,
      )
  ).wait();
  return id;
}

export { Action, Category, Effect, GranteeKind, OrgKind, Power, Purpose, Role };

/** The EIP-712 domain of the world's consent registry. */
export async function consentDomain(w: World): Promise<ethersLib.TypedDataDomain> {
  const { chainId } = await w.conn.ethers.provider.getNetwork();
  return domainFor({ chainId, verifyingContract: await w.consents.getAddress() });
}

export { GRANT_TYPES, REVOKE_TYPES } from "../../sdk/chain/eip712.js";
