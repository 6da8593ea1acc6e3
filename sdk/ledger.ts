/**
 * `MedLedger`: one object per acting participant (a hospital service, a doctor's app, a patient's
 * app) with `records`, `consent`, `directory`, `emergency` and `audit`. A thin facade: each
 * method checks nothing and does nothing itself but call the action of the same name with this
 * participant's context (sdk/records, sdk/consent, sdk/directory, sdk/emergency, sdk/audit).
 *
 * @example
 * ```ts
 * import { MedLedger } from "medledger";
 * import { filesystem, readAddressBook } from "medledger/node";
 * const ml = await MedLedger.create({
 *   signer: wallet,                      // the participant's Ethereum account
 *   encryptionKey: { privateKey: x25519Private, keyVersion: 1 },
 *   addressBook: await readAddressBook("deployments/localhost.json"),
 *   storage: filesystem({ dir: ".medledger/blobs" }),
 *   custody,                             // the keyholder network (key release after a logged access)
 * });
 * const recordId = await ml.records.put(subject, json, { category: "OBSERVATIONS", mediaType: "application/fhir+json" });
 * const { content } = await ml.records.get(subject, recordId, { purpose: "TREAT" });
 * ```
 */
import * as audit from "./audit/index.js";
import type { ChainClient } from "./chain/client.js";
import type { ActionName, CategoryName, OrgKindName, PowerName, PurposeName } from "./codes.js";
import * as consent from "./consent/index.js";
import type { ConsentInput, SealedTermsOpening, SignedGrant, SignedRevoke, SignOptions } from "./consent/index.js";
import { createLedgerContext } from "./context.js";
import type { LedgerContext, MedLedgerOptions } from "./context.js";
import * as directory from "./directory/index.js";
import * as emergency from "./emergency/index.js";
import type { Journal } from "./records/journal.js";
import * as records from "./records/index.js";
import type { GetParams, PutParams } from "./records/index.js";
import type { BlobStore } from "./storage/index.js";
import type { ConsentId, RecordId, SubjectId } from "./types.js";

export type { MedLedgerOptions } from "./context.js";
export type PutOptions = Omit<PutParams, "subject" | "content">;
export type GetOptions = Omit<GetParams, "subject" | "recordId">;

type BatchItem = records.PutBatchParams["items"][number];

/** Binds a participant's context to the record actions. */
function recordsOf(ctx: LedgerContext) {
  return {
    /** Seals, stores and anchors a record; idempotent and crash-safe. See records/put.ts. */
    put: (subject: SubjectId, content: Uint8Array | string, opts: PutOptions) =>
      records.put(ctx, { ...opts, subject, content }),
    /** Many first versions of one subject's records under one Merkle root. */
    putBatch: (subject: SubjectId, items: readonly BatchItem[]) => records.putBatch(ctx, { subject, items }),
    /** Logs the access on chain, then gets the key released, then opens the record. See records/get.ts. */
    get: (subject: SubjectId, recordId: RecordId, opts: GetOptions) => records.get(ctx, { ...opts, subject, recordId }),
    /** Every version of the record's chain, oldest first. */
    history: (subject: SubjectId, recordId: RecordId) => records.history(ctx, { subject, recordId }),
    /** Checks the stored envelope against the anchored digest (no key needed). */
    verify: (subject: SubjectId, recordId: RecordId) => records.verify(ctx, { subject, recordId }),
    /** Tombstone on chain, then crypto-shredding (key material and ciphertext destroyed). */
    erase: (subject: SubjectId, recordId: RecordId) => records.erase(ctx, { subject, recordId }),
    /** Re-seals under a new key as a linked version and retires the old key material. See records/rekey.ts. */
    rekey: (subject: SubjectId, recordId: RecordId, opts: { purpose?: PurposeName } = {}) =>
      records.rekey(ctx, { ...opts, subject, recordId }),
  };
}

function consentOf(ctx: LedgerContext) {
  return {
    /** Grants a consent directly (controller or guardian); the value is the consent id, `opening` its sealed terms. */
    grant: (subject: SubjectId, input: ConsentInput) => consent.grant(ctx, { subject, consent: input }),
    /** Revokes; `rekey: true` then re-keys every record read under the consent. */
    revoke: (subject: SubjectId, consentId: ConsentId, opts: { rekey?: boolean } = {}) =>
      consent.revoke(ctx, { ...opts, subject, consentId }),
    /** Hands a consent's sealed-terms opening to the keyholders (after a relayed grant; `grant` does it itself). */
    deliverOpening: (subject: SubjectId, consentId: ConsentId, opening: SealedTermsOpening) =>
      consent.deliverOpening(ctx, { subject, consentId, opening }),
    /** Signs a grant (EIP-712) for anyone to relay (`signed`); the patient pays no gas and keeps `opening`. */
    signGrant: (subject: SubjectId, input: ConsentInput, opts: SignOptions = {}) =>
      consent.signGrant(ctx, { ...opts, subject, consent: input }),
    signRevoke: (subject: SubjectId, consentId: ConsentId, opts: SignOptions = {}) =>
      consent.signRevoke(ctx, { ...opts, subject, consentId }),
    /** Relays a signed grant or revocation (this participant pays the gas). */
    relay: (signed: SignedGrant | SignedRevoke) => consent.relay(ctx, signed),
    list: (subject: SubjectId) => consent.list(ctx, { subject }),
    check: (q: {
      accessor: string;
      subject: SubjectId;
      category: CategoryName;
      purpose: PurposeName;
      action?: ActionName;
    }) => consent.check(ctx, q),
    setBreakGlassOptOut: (subject: SubjectId, optedOut: boolean) =>
      consent.setBreakGlassOptOut(ctx, { subject, optedOut }),
  };
}

function directoryOf(ctx: LedgerContext) {
  type Enroll = Parameters<typeof directory.enrollPractitioner>[1];
  type Register = Parameters<typeof directory.registerPatient>[1];
  return {
    /** Governance admits an organization (the signer holds GOVERNANCE_ROLE); the value is its id. */
    admitOrganization: (kind: OrgKindName, admin: string, encryptionKey: Uint8Array | string) =>
      directory.admitOrganization(ctx, { kind, admin, encryptionKey }),
    enrollPractitioner: (p: Enroll) => directory.enrollPractitioner(ctx, p),
    /** Registers a patient; the value is the subject id derived from this account and `salt`. */
    registerPatient: (p: Register) => directory.registerPatient(ctx, p),
    /** Registers this account's own X25519 key (a guardian's); the value is the key version. */
    registerAccountKey: (encryptionKey: Uint8Array | string) => directory.registerAccountKey(ctx, { encryptionKey }),
    rotatePatientKey: (subject: SubjectId, encryptionKey: Uint8Array | string) =>
      directory.rotatePatientKey(ctx, { subject, encryptionKey }),
    rotatePractitionerKey: (encryptionKey: Uint8Array | string) =>
      directory.rotatePractitionerKey(ctx, { encryptionKey }),
    rotateController: (subject: SubjectId, newController: string) =>
      directory.rotateController(ctx, { subject, newController }),
    setGuardian: (subject: SubjectId, guardian: string, powers: readonly PowerName[], validUntil?: Date | number) =>
      directory.setGuardian(ctx, { subject, guardian, powers, validUntil }),
    suspendPractitioner: (account: string) => directory.suspendPractitioner(ctx, { account }),
    suspendOrganization: (orgId: number) => directory.suspendOrganization(ctx, { orgId }),
  };
}

export class MedLedger {
  /** The context every action takes (for the function API: `records.put(ml.context, …)`). */
  readonly context: LedgerContext;
  /** The options this participant was created with. */
  readonly options: MedLedgerOptions;
  readonly records: ReturnType<typeof recordsOf>;
  readonly consent: ReturnType<typeof consentOf>;
  readonly directory: ReturnType<typeof directoryOf>;
  readonly emergency: {
    closeReview(
      sessionId: bigint | number,
      outcome: "JUSTIFIED" | "UNJUSTIFIED",
    ): ReturnType<typeof emergency.closeReview>;
    pendingReviews(orgId: number): Promise<number>;
  };
  readonly audit: { accessHistory(subject: SubjectId): ReturnType<typeof audit.accessHistory> };

  private constructor(ctx: LedgerContext, options: MedLedgerOptions) {
    this.context = ctx;
    this.options = options;
    this.records = recordsOf(ctx);
    this.consent = consentOf(ctx);
    this.directory = directoryOf(ctx);
    this.emergency = {
      closeReview: (sessionId, outcome) => emergency.closeReview(ctx, { sessionId, outcome }),
      pendingReviews: (orgId) => emergency.pendingReviews(ctx, { orgId }),
    };
    this.audit = { accessHistory: (subject) => audit.accessHistory(ctx, { subject }) };
  }

  /** Connects to the deployment, checking it (chain id, contract code, versions, wiring). */
  static async create(options: MedLedgerOptions): Promise<MedLedger> {
    return new MedLedger(await createLedgerContext(options), options);
  }

  /** @deprecated Use {@link MedLedger.options}. */
  get opts(): MedLedgerOptions {
    return this.options;
  }

  /** The chain client (typed contracts, `send`). */
  get chain(): ChainClient {
    return this.context.chain;
  }

  /** This participant's account address. */
  get account(): string {
    return this.context.chain.account;
  }

  get storage(): BlobStore {
    return this.context.storage;
  }

  get journal(): Journal {
    return this.context.journal;
  }
}
