/**
 * Participant directory actions over a {@link LedgerContext}: organizations (governance),
 * practitioners (an organization's admin), patients, keys, controllers and guardians.
 *
 * Subject ids are derived: keccak256(abi.encode(registrant, salt)), so only the registering
 * account can claim one. `registerPatient` derives it locally before sending; a retry that finds
 * it registered (`DirectorySubjectExists`) checks the controller and key on chain and adopts it
 * only if they are the ones asked for.
 *
 * Contract calls built here: ParticipantDirectory.admitOrganization, enrollPractitioner,
 * registerPatient, registerAccountKey, rotatePatientKey, rotatePractitionerKey, rotateController,
 * setGuardian, suspendPractitioner, suspendOrganization; read getPatient.
 *
 * @example
 * ```ts
 * import { directory } from "medledger";
 * const { value: subject, salt } = await directory.registerPatient(ctx, { controller: patient, encryptionKey: patientX25519Public });
 * ```
 */
import { AbiCoder, keccak256 } from "ethers";
import type { ContractTransaction } from "ethers";

import type { ChainClient, Sent, TxReceipt, Write } from "../chain/client.js";
import { eventOf } from "../chain/client.js";
import { ContractRevertError } from "../chain/errors.js";
import type { OrgKindName, PowerName, RoleName } from "../codes.js";
import { orgKindCode, powerMask, roleMask } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { ConflictError, TransactionError } from "../errors.js";
import { asSubjectId, randomBytes32 } from "../types.js";
import type { Hex, SubjectId } from "../types.js";
import { toHex } from "../util.js";
import { address, bytes32, bytesOf, object, uint, unixSeconds } from "../validate.js";

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

/** The subject id `registrant` obtains by registering with `salt`: keccak256(abi.encode(registrant, salt)). */
export function subjectIdFor(registrant: string, salt: string): SubjectId {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["address", "bytes32"],
    [address(registrant, "registrant"), bytes32(salt, "salt")],
  );
  return keccak256(encoded) as SubjectId;
}

/**
 * Registers a patient (the caller is the controller itself or an active organization's admin).
 * The subject id is derived from this account and `salt` (default: 32 random bytes); keep the
 * salt to retry. A retry whose registration was mined already (`DirectorySubjectExists`) is
 * adopted only if the subject's controller and key are the ones given (`receipt` null then);
 * otherwise a ConflictError.
 */
export async function registerPatient(
  ctx: LedgerContext,
  p: { controller: string; encryptionKey: PublicKey; salt?: string },
): Promise<Write<SubjectId, TxReceipt | null> & { salt: Hex }> {
  object(p, "params");
  const controller = address(p.controller, "controller");
  const key = toHex(bytesOf(p.encryptionKey, 32, "encryptionKey"));
  const salt = p.salt === undefined ? randomBytes32() : bytes32(p.salt, "salt");
  const subject = subjectIdFor(ctx.chain.account, salt);
  let receipt: TxReceipt | null = null;
  try {
    const sent = await ctx.chain.send(ctx.chain.directory.registerPatient.populateTransaction(salt, controller, key));
    const registered = String(eventOf(sent, "PatientRegistered").args.subject).toLowerCase();
    if (registered !== subject)
      throw new TransactionError("The directory registered another subject id than the one derived", {
        details: `derived ${subject}, registered ${registered}`,
      });
    receipt = sent.receipt;
  } catch (err) {
    if (!(err instanceof ContractRevertError && err.errorName === "DirectorySubjectExists")) throw err;
    // Registered already (an earlier attempt with this salt): ours only with this controller and key.
    const patient = await ctx.chain.directory.getPatient(subject);
    if (patient.controller.toLowerCase() !== controller.toLowerCase() || patient.encryptionKey.toLowerCase() !== key)
      throw new ConflictError("subject", subject, `Subject ${subject} is registered with another controller or key`, {
        details: `on chain: controller ${patient.controller}, key ${patient.encryptionKey}; asked: controller ${controller}, key ${key}`,
      });
  }
  return { value: subject, receipt, salt };
}

/** The calling account registers (or replaces) its own X25519 key, e.g. a guardian; the value is its key version. */
export async function registerAccountKey(ctx: LedgerContext, p: { encryptionKey: PublicKey }): Promise<Write<number>> {
  object(p, "params");
  const sent = await ctx.chain.send(
    ctx.chain.directory.registerAccountKey.populateTransaction(bytesOf(p.encryptionKey, 32, "encryptionKey")),
  );
  return { value: Number(eventOf(sent, "AccountKeyRegistered").args.keyVersion), receipt: sent.receipt };
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
