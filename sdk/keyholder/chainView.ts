/**
 * What a keyholder reads from the chain, through its own RPC node. The keyholder's logic
 * (`core.ts`) depends on this interface only; `contractChainView` (chainContracts.ts) implements
 * it with the TypeChain bindings of contracts 1.1 and a per-block cache.
 */
import {
  AccessBasis,
  AccessorStatus,
  Action,
  Effect,
  enumCodes,
  GranteeKind,
  OrgKind,
  Power,
  Purpose,
  ReviewOutcome,
  Role,
} from "../codes.js";
import type { Hex } from "../types.js";

/** Enum values and codes of the contracts, from the SDK's one list of each (sdk/codes.ts). */
export const AccessBasisCode = enumCodes(AccessBasis);
export const AccessorStatusCode = enumCodes(AccessorStatus);
export const ReviewOutcomeCode = ReviewOutcome;
export const POWER_GRANT = Power.GRANT;
export const POWER_REVOKE = Power.REVOKE;
export const POWER_ACCESS = Power.ACCESS;
export const EffectCode = Effect;
export const GranteeKindCode = GranteeKind;
export const ORG_KIND_REGULATOR = OrgKind.REGULATOR;
export const ACTION_READ = Action.READ;
export const ROLE_EMERGENCY_RESPONDER = Role.EMERGENCY_RESPONDER;
export const ROLE_AUDITOR = Role.AUDITOR;
export const PURPOSE_ETREAT = Purpose.ETREAT;
export const PURPOSE_BTG = Purpose.BTG;

/** A block the reads of one release are made at. */
export interface BlockRef {
  number: number;
  timestamp: number;
}

/** A decoded `RecordAccessed` event of the deployment's RecordRegistry. */
export interface AccessEvent {
  subject: Hex;
  recordId: Hex;
  accessor: string;
  purpose: number;
  basis: number;
  basisId: Hex;
}

export interface AccessReceipt {
  blockNumber: number;
  status: number;
  accesses: AccessEvent[];
}

export interface RecordState {
  custodian: number;
  category: number;
  anchoredAt: number;
  erasedAt: number;
  superseded: boolean;
}

export interface Decision {
  allowed: boolean;
  reason: number;
  basis: number;
  consentId: Hex;
}

export interface EmergencySession {
  subject: Hex;
  responder: string;
  expiresAt: number;
  outcome: number;
}

/** A consent's public terms as stored (`getConsent`), at some block. */
export interface ConsentPublic {
  effect: number;
  granteeKind: number;
  granteeAccount: string;
  granteeOrg: number;
  granteeRoles: number;
  categories: number;
  purposes: number;
  actions: number;
  validFrom: number;
  validUntil: number;
  revokedAt: number;
}

/** An accessor as the directory sees it at some block. */
export interface AccessorState {
  status: number;
  orgId: number;
  roles: number;
  /** Compact practitioner id (0: not a practitioner). */
  practitionerId: number;
}

/** A record's label commitment as anchored (RecordAnchored, RecordProven or RecordImported). */
export interface RecordCommitment {
  subject: Hex;
  recordId: Hex;
  labelCommitment: Hex;
  /** Custodian organization (0: subject-held; a proven batch member: its batch's). */
  custodian: number;
  blockNumber: number;
}

/** A consent's sealed-terms commitment as emitted in ConsentGranted. */
export interface ConsentCommitment {
  subject: Hex;
  consentId: Hex;
  effect: number;
  sealedTerms: Hex;
  blockNumber: number;
}

export interface KeyholderMember {
  id: number;
  orgId: number;
  account: string;
  encryptionKey: Hex;
  keyVersion: number;
  active: boolean;
  endpoint: string;
}

export interface KeyholderSet {
  epoch: bigint;
  threshold: number;
  /** Active keyholders, ascending id. */
  members: KeyholderMember[];
}

export interface RegisteredKey {
  key: Hex;
  version: number;
}

export interface ChainView {
  readonly chainId: bigint;
  readonly keyholderRegistry: string;
  readonly recordRegistry: string;
  readonly consentRegistry: string;
  /** The latest block (cached for a short time: concurrent releases share it; `fresh` reads it anew). */
  latest(fresh?: boolean): Promise<BlockRef>;
  blockTimestamp(blockNumber: number): Promise<number>;
  /** The receipt of `txHash` with the RecordRegistry's access events decoded; null if unknown. */
  accessReceipt(txHash: Hex): Promise<AccessReceipt | null>;
  /** A record's state at `block`, or undefined when it is not anchored. */
  record(subject: Hex, recordId: Hex, block: number): Promise<RecordState | undefined>;
  /** The account that anchored the record (RecordAnchored, or the BatchAnchored of a proven member). */
  anchoredBy(subject: Hex, recordId: Hex): Promise<string | undefined>;
  accessorStatus(account: string, block: number): Promise<AccessorState>;
  checkWithHint(
    accessor: string,
    subject: Hex,
    category: number,
    purpose: number,
    action: number,
    hint: Hex,
    block: number,
  ): Promise<Decision>;
  actsFor(subject: Hex, account: string, power: number, block: number): Promise<boolean>;
  /**
   * A study read (basis STUDY) at `block`: does the study still accept `reader` (approved, active,
   * reader an ACTIVE researcher of one of its custodians: StudyRegistry.studyAccessTerms with
   * ANY_RUN), and do the subject's research consents still allow it
   * (ConsentRegistry.checkStudy)? Optional: a view without a study registry refuses study reads.
   */
  studyRead?(reader: string, subject: Hex, category: number, studyId: Hex, block: number): Promise<Decision>;
  controllerOf(subject: Hex, block: number): Promise<string>;
  emergencySession(sessionId: bigint, block: number): Promise<EmergencySession | undefined>;
  breakGlassOptedOut(subject: Hex, block: number): Promise<boolean>;
  findDeny(
    accessor: string,
    subject: Hex,
    categories: number,
    purpose: number,
    action: number,
    block: number,
  ): Promise<Hex>;
  practitionerKey(account: string, block: number): Promise<RegisteredKey | undefined>;
  patientKey(subject: Hex, block: number): Promise<RegisteredKey | undefined>;
  accountKey(account: string, block: number): Promise<RegisteredKey | undefined>;
  keyholderSet(block?: number): Promise<KeyholderSet>;
  /** Any keyholder ever admitted (active or not). */
  keyholder(id: number): Promise<KeyholderMember | undefined>;
  keyholderOf(account: string): Promise<number>;
  /** RecordErased events in [fromBlock, toBlock]. */
  erasures(fromBlock: number, toBlock: number): Promise<{ subject: Hex; recordId: Hex; blockNumber: number }[]>;
  /** The label commitment a record was anchored with (it never changes); undefined if not anchored. */
  labelCommitment(subject: Hex, recordId: Hex): Promise<Hex | undefined>;
  /** The sealed-terms commitment emitted when a consent was granted; undefined if unknown. */
  sealedTerms(subject: Hex, consentId: Hex): Promise<Hex | undefined>;
  /** A consent's public terms at `block`; undefined if it does not exist. */
  consent(subject: Hex, consentId: Hex, block: number): Promise<ConsentPublic | undefined>;
  /** `listedConsents(subject, effect, granteeKind, grantee)` at `block`. */
  listedConsents(subject: Hex, effect: number, granteeKind: number, grantee: number, block: number): Promise<Hex[]>;
  /** An organization's kind (OrgKind; 0 if unknown). */
  organizationKind(orgId: number, block: number): Promise<number>;
  /** Every record commitment anchored since the deployment (auditors). */
  recordCommitments(): Promise<RecordCommitment[]>;
  /** Every consent commitment granted since the deployment (auditors). */
  consentCommitments(): Promise<ConsentCommitment[]>;
  /** Release-log anchors of a keyholder from chain events. */
  releaseLogAnchors(keyholderId: number): Promise<{ seq: number; head: Hex; at: number }[]>;
}
