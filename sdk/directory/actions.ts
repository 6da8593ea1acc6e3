/**
 * Participant directory actions over a {@link LedgerContext}: organizations (governance),
 * practitioners (an organization's admin), patients, keys, controllers and guardians.
 *
 * Contract calls built here: ParticipantDirectory.admitOrganization, enrollPractitioner,
 * registerPatient, rotatePatientKey, rotatePractitionerKey, rotateController, setGuardian,
 * suspendPractitioner, suspendOrganization.
 *
 * @example
 * ```ts
 * import { directory } from "medledger";
 * const { value: subject } = await directory.registerPatient(ctx, { controller: patient, encryptionKey: patientX25519Public });
 * ```
 */
import type { ContractTransaction } from "ethers";

import type { ChainClient, Sent, Write } from "../chain/client.js";
import { eventOf } from "../chain/client.js";
import type { OrgKindName, PowerName, RoleName } from "../codes.js";
import { orgKindCode, powerMask, roleMask } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { asSubjectId, newSubjectId } from "../types.js";
import type { SubjectId } from "../types.js";
import { address, bytesOf, object, uint, unixSeconds } from "../validate.js";

/** An X25519 public key (32 bytes, or 0x-hex). */
type PublicKey = Uint8Array | string;

export interface AdmitOrganizationParams {
  kind: OrgKindName;
  /** The organization's admin account (enrolls its practitioners). */
  admin: string;
  /** The organization's X25519 public key (its keyholder's). */
  encryptionKey: PublicKey;
}

/** The checked `admitOrganization` call (sent directly, or scheduled through the timelock). */
export function admitOrganizationCall(chain: ChainClient, p: AdmitOrganizationParams): Promise<ContractTransaction> {
  object(p, "params");
  return chain.directory.admitOrganization.populateTransaction(
    orgKindCode(p.kind),
    address(p.admin, "admin"),
    bytesOf(p.encryptionKey, 32, "encryptionKey"),
  );
}

/** The new organization's id from the receipt of an admission. */
export function admittedOrgId(sent: Sent): number {
  return Number(eventOf(sent, "OrganizationAdmitted").args.orgId);
}

/** Governance admits an organization (the signer holds GOVERNANCE_ROLE); the value is its id. */
export async function admitOrganization(ctx: LedgerContext, p: AdmitOrganizationParams): Promise<Write<number>> {
  const sent = await ctx.chain.send(admitOrganizationCall(ctx.chain, p));
  return { value: admittedOrgId(sent), receipt: sent.receipt };
}

/** The organization's admin enrolls a practitioner; the value is the practitioner's account. */
export async function enrollPractitioner(
  ctx: LedgerContext,
  p: {
    orgId: number;
    account: string;
    roles: readonly RoleName[];
    /** Unix time in SECONDS, or a Date. */
    credentialValidUntil: Date | number;
    encryptionKey: PublicKey;
  },
): Promise<Write<string>> {
  object(p, "params");
  const account = address(p.account, "account");
  const sent = await ctx.chain.send(
    ctx.chain.directory.enrollPractitioner.populateTransaction(
      uint(p.orgId, "orgId", 32),
      account,
      roleMask(p.roles),
      unixSeconds(p.credentialValidUntil, "credentialValidUntil"),
      bytesOf(p.encryptionKey, 32, "encryptionKey"),
    ),
  );
  return { value: account, receipt: sent.receipt };
}

/** Registers a patient under a new random subject id (or the one given); the value is the subject id. */
export async function registerPatient(
  ctx: LedgerContext,
  p: { controller: string; encryptionKey: PublicKey; subject?: SubjectId },
): Promise<Write<SubjectId>> {
  object(p, "params");
  const subject = p.subject === undefined ? newSubjectId() : asSubjectId(p.subject);
  const sent = await ctx.chain.send(
    ctx.chain.directory.registerPatient.populateTransaction(
      subject,
      address(p.controller, "controller"),
      bytesOf(p.encryptionKey, 32, "encryptionKey"),
    ),
  );
  return { value: subject, receipt: sent.receipt };
}

/** The subject's controller registers a new key; the value is the new key version. */
export async function rotatePatientKey(
  ctx: LedgerContext,
  p: { subject: SubjectId; encryptionKey: PublicKey },
): Promise<Write<number>> {
  object(p, "params");
  const sent = await ctx.chain.send(
    ctx.chain.directory.rotatePatientKey.populateTransaction(
      asSubjectId(p.subject),
      bytesOf(p.encryptionKey, 32, "encryptionKey"),
    ),
  );
  return { value: Number(eventOf(sent, "PatientKeyRotated").args.keyVersion), receipt: sent.receipt };
}

/** A practitioner registers a new key for itself; the value is the new key version. */
export async function rotatePractitionerKey(
  ctx: LedgerContext,
  p: { encryptionKey: PublicKey },
): Promise<Write<number>> {
  object(p, "params");
  const sent = await ctx.chain.send(
    ctx.chain.directory.rotatePractitionerKey.populateTransaction(bytesOf(p.encryptionKey, 32, "encryptionKey")),
  );
  return { value: Number(eventOf(sent, "PractitionerKeyRotated").args.keyVersion), receipt: sent.receipt };
}

/** The controller hands control of the subject to another account; the value is that account. */
export async function rotateController(
  ctx: LedgerContext,
  p: { subject: SubjectId; newController: string },
): Promise<Write<string>> {
  object(p, "params");
  const controller = address(p.newController, "newController");
  const sent = await ctx.chain.send(
    ctx.chain.directory.rotateController.populateTransaction(asSubjectId(p.subject), controller),
  );
  return { value: controller, receipt: sent.receipt };
}

/** Appoints or changes a guardian (`powers` empty: removes it); the value is the power mask. */
export async function setGuardian(
  ctx: LedgerContext,
  p: { subject: SubjectId; guardian: string; powers: readonly PowerName[]; validUntil?: Date | number },
): Promise<Write<number>> {
  object(p, "params");
  const powers = powerMask(p.powers);
  const sent = await ctx.chain.send(
    ctx.chain.directory.setGuardian.populateTransaction(
      asSubjectId(p.subject),
      address(p.guardian, "guardian"),
      powers,
      unixSeconds(p.validUntil, "validUntil", { optional: true }),
    ),
  );
  return { value: powers, receipt: sent.receipt };
}

/** An organization's admin suspends one of its practitioners; the value is the account. */
export async function suspendPractitioner(ctx: LedgerContext, p: { account: string }): Promise<Write<string>> {
  object(p, "params");
  const account = address(p.account, "account");
  const sent = await ctx.chain.send(ctx.chain.directory.suspendPractitioner.populateTransaction(account));
  return { value: account, receipt: sent.receipt };
}

/** Governance suspends an organization; the value is its id. */
export async function suspendOrganization(ctx: LedgerContext, p: { orgId: number }): Promise<Write<number>> {
  object(p, "params");
  const orgId = uint(p.orgId, "orgId", 32);
  const sent = await ctx.chain.send(ctx.chain.directory.suspendOrganization.populateTransaction(orgId));
  return { value: orgId, receipt: sent.receipt };
}
