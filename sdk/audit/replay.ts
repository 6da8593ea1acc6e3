/**
 * Rebuilds the whole MedLedger state (participants, consents, record anchors, batches, accesses,
 * break-glass sessions, the keyholder set) from contract events alone — what an auditor or an
 * indexer does, with no trust in the contracts' views. Pure: feed it decoded events in chain order.
 * Contracts 1.1: records and batches are keyed by subject; commitments are recomputed from the
 * emitted digest and label commitment; consents keep their emitted sealed-terms commitment.
 *
 * @example
 * ```ts
 * import { fetchLedgerEvents, replay, recordKey } from "medledger";
 * const events = await fetchLedgerEvents(provider, addresses, { fromBlock: 0 });
 * const state = replay(events);
 * console.log(state.records.get(recordKey(subject, recordId))?.superseded);
 * ```
 */
import { AbiCoder, keccak256 } from "ethers";
import type { Interface, LogDescription, Provider } from "ethers";

import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";

/** One decoded event with its position and block time. */
export interface LedgerEvent {
  contract: "directory" | "consents" | "records" | "keyholders";
  name: string;
  args: LogDescription["args"];
  blockNumber: number;
  logIndex: number;
  transactionHash: string;
  timestamp: number;
}

export interface OrganizationState {
  kind: number;
  admin: string;
  suspended: boolean;
  encryptionKey: string;
  keyVersion: number;
}
export interface PractitionerState {
  practitionerId: number;
  orgId: number;
  roles: number;
  credentialValidUntil: bigint;
  suspended: boolean;
  barred: boolean;
  encryptionKey: string;
  keyVersion: number;
}
export interface GuardianState {
  powers: number;
  validUntil: bigint;
  appointment: number;
}
export interface PatientState {
  controller: string;
  encryptionKey: string;
  keyVersion: number;
  recoveryThreshold: number;
  epoch: number;
  registeredBy: string;
  salt: string;
  /** Every guardianship ever set, removed ones included (powers 0): the appointment number counts on. */
  guardians: Map<string, GuardianState>;
  breakGlassOptedOut: boolean;
}
export interface ConsentState {
  subject: string;
  sequence: number;
  terms: {
    effect: number;
    granteeKind: number;
    granteeAccount: string;
    granteeOrg: number;
    granteeRoles: number;
    categories: number;
    purposes: number;
    actions: number;
    validFrom: bigint;
    validUntil: bigint;
    sealedTerms: string;
  };
  revokedAt: bigint;
  grantedBy: string;
  /** Whether a guardian (not the controller at that time) granted it. */
  byGuardian: boolean;
  bySignature: boolean;
}
export interface RecordState {
  subject: string;
  recordId: string;
  digest: string;
  labelCommitment: string;
  /** keccak256(abi.encode(digest, labelCommitment)): what the contract stores. */
  commitment: string;
  custodian: number;
  category: number;
  anchoredAt: bigint;
  erasedAt: bigint;
  superseded: boolean;
  previous: string;
  /** Empty for proven batch members (the manifest's pointer is the batch's) and imports. */
  pointer: string;
  batchRoot?: string;
  imported?: boolean;
}
export interface BatchState {
  subject: string;
  root: string;
  tag: string;
  custodian: number;
  count: number;
  categories: number;
  anchoredAt: bigint;
  pointer: string;
}
export interface AccessEntry {
  recordId: string;
  subject: string;
  accessor: string;
  purpose: number;
  basis: number;
  basisId: string;
  timestamp: number;
  transactionHash: string;
}
export interface SessionState {
  subject: string;
  responder: string;
  orgId: number;
  purpose: number;
  reasonCode: number;
  expiresAt: bigint;
  outcome: number;
  reviewer?: string;
  reviewerOrg?: number;
}
export interface KeyholderState {
  orgId: number;
  account: string;
  encryptionKey: string;
  keyVersion: number;
  active: boolean;
  endpoint: string;
  lastLogSequence: bigint;
  lastLogHead: string;
  lastLogAt: bigint;
}

export interface LedgerState {
  organizations: Map<number, OrganizationState>;
  practitioners: Map<string, PractitionerState>;
  accountKeys: Map<string, { encryptionKey: string; keyVersion: number }>;
  patients: Map<string, PatientState>;
  consents: Map<string, ConsentState>;
  consentCount: Map<string, number>;
  /** Keyed by {@link recordKey}(subject, recordId). */
  records: Map<string, RecordState>;
  /** Keyed by {@link recordKey}(subject, root). */
  batches: Map<string, BatchState>;
  accesses: AccessEntry[];
  sessions: Map<number, SessionState>;
  pendingReviews: Map<number, number>;
  keyholders: Map<number, KeyholderState>;
  keyholderThreshold: number;
  keyholderEpoch: bigint;
  /** Contracts whose migration was sealed. */
  migrationSealed: Set<LedgerEvent["contract"]>;
}

const ZERO_HASH = `0x${"00".repeat(32)}`;
const PENDING = 0;
const coder = AbiCoder.defaultAbiCoder();

/** The key of a record (or batch) in {@link LedgerState}: records are unique within their subject. */
export function recordKey(subject: string, id: string): string {
  return `${subject.toLowerCase()}:${id.toLowerCase()}`;
}

function emptyState(): LedgerState {
  return {
    organizations: new Map(),
    practitioners: new Map(),
    accountKeys: new Map(),
    patients: new Map(),
    consents: new Map(),
    consentCount: new Map(),
    records: new Map(),
    batches: new Map(),
    accesses: [],
    sessions: new Map(),
    pendingReviews: new Map(),
    keyholders: new Map(),
    keyholderThreshold: 0,
    keyholderEpoch: 0n,
    migrationSealed: new Set(),
  };
}

function get<K, V>(map: Map<K, V>, key: K, what: string): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`replay: event for unknown ${what} ${String(key)}`);
  return value;
}

/** Applies events (in chain order) to a state; returns the state. */
export function replay(events: Iterable<LedgerEvent>, state: LedgerState = emptyState()): LedgerState {
  for (const e of events) {
    if (e.contract === "keyholders") applyKeyholder(state, e);
    else apply(state, e);
  }
  return state;
}

function newRecord(
  a: LogDescription["args"],
  fields: Omit<RecordState, "subject" | "recordId" | "digest" | "labelCommitment" | "commitment" | "category">,
): RecordState {
  const digest = a.digest as string;
  const labelCommitment = a.labelCommitment as string;
  return {
    subject: a.subject as string,
    recordId: a.recordId as string,
    digest,
    labelCommitment,
    commitment: keccak256(coder.encode(["bytes32", "bytes32"], [digest, labelCommitment])),
    category: Number(a.category),
    ...fields,
  };
}

function apply(s: LedgerState, e: LedgerEvent): void {
  const a = e.args;
  const time = BigInt(e.timestamp);
  switch (e.name) {
    case "OrganizationAdmitted":
      s.organizations.set(Number(a.orgId), {
        kind: Number(a.kind),
        admin: a.admin as string,
        suspended: false,
        encryptionKey: a.encryptionKey as string,
        keyVersion: Number(a.keyVersion),
      });
      break;
    case "OrganizationStatusChanged":
      get(s.organizations, Number(a.orgId), "organization").suspended = a.suspended as boolean;
      break;
    case "OrganizationAdminChanged":
      get(s.organizations, Number(a.orgId), "organization").admin = a.newAdmin as string;
      break;
    case "OrganizationKeyRotated": {
      const org = get(s.organizations, Number(a.orgId), "organization");
      org.encryptionKey = a.encryptionKey as string;
      org.keyVersion = Number(a.keyVersion);
      break;
    }
    case "PractitionerEnrolled":
      s.practitioners.set(a.account as string, {
        practitionerId: Number(a.practitionerId),
        orgId: Number(a.orgId),
        roles: Number(a.roles),
        credentialValidUntil: a.credentialValidUntil as bigint,
        suspended: false,
        barred: false,
        encryptionKey: a.encryptionKey as string,
        keyVersion: Number(a.keyVersion),
      });
      break;
    case "PractitionerUpdated": {
      const p = get(s.practitioners, a.account as string, "practitioner");
      p.roles = Number(a.roles);
      p.credentialValidUntil = a.credentialValidUntil as bigint;
      break;
    }
    case "PractitionerStatusChanged":
      get(s.practitioners, a.account as string, "practitioner").suspended = a.suspended as boolean;
      break;
    case "PractitionerBarred":
      get(s.practitioners, a.account as string, "practitioner").barred = a.barred as boolean;
      break;
    case "PractitionerKeyRotated": {
      const p = get(s.practitioners, a.account as string, "practitioner");
      p.encryptionKey = a.encryptionKey as string;
      p.keyVersion = Number(a.keyVersion);
      break;
    }
    case "AccountKeyRegistered":
      s.accountKeys.set(a.account as string, {
        encryptionKey: a.encryptionKey as string,
        keyVersion: Number(a.keyVersion),
      });
      break;
    case "PatientRegistered":
      s.patients.set(a.subject as string, {
        controller: a.controller as string,
        encryptionKey: a.encryptionKey as string,
        keyVersion: Number(a.keyVersion),
        recoveryThreshold: 0,
        epoch: 0,
        registeredBy: a.registeredBy as string,
        salt: a.salt as string,
        guardians: new Map(),
        breakGlassOptedOut: false,
      });
      break;
    case "ControllerChanged": {
      const p = get(s.patients, a.subject as string, "subject");
      p.controller = a.newController as string;
      p.epoch = Number(a.epoch);
      break;
    }
    case "PatientKeyRotated": {
      const p = get(s.patients, a.subject as string, "subject");
      p.encryptionKey = a.encryptionKey as string;
      p.keyVersion = Number(a.keyVersion);
      break;
    }
    case "GuardianSet":
      get(s.patients, a.subject as string, "subject").guardians.set(a.guardian as string, {
        powers: Number(a.powers),
        validUntil: a.validUntil as bigint,
        appointment: Number(a.appointment),
      });
      break;
    case "RecoveryThresholdSet":
      get(s.patients, a.subject as string, "subject").recoveryThreshold = Number(a.threshold);
      break;
    case "RecoveryCancelled":
      get(s.patients, a.subject as string, "subject").epoch = Number(a.epoch);
      break;
    case "ConsentGranted": {
      const subject = a.subject as string;
      const sequence = (s.consentCount.get(subject) ?? 0) + 1;
      s.consentCount.set(subject, sequence);
      const t = a.terms as unknown as Record<string, bigint | string>;
      const by = a.by as string;
      s.consents.set(a.consentId as string, {
        subject,
        sequence,
        terms: {
          effect: Number(t.effect),
          granteeKind: Number(t.granteeKind),
          granteeAccount: t.granteeAccount as string,
          granteeOrg: Number(t.granteeOrg),
          granteeRoles: Number(t.granteeRoles),
          categories: Number(t.categories),
          purposes: Number(t.purposes),
          actions: Number(t.actions),
          validFrom: BigInt(t.validFrom as bigint),
          validUntil: BigInt(t.validUntil as bigint),
          sealedTerms: t.sealedTerms as string,
        },
        revokedAt: 0n,
        grantedBy: by,
        byGuardian: get(s.patients, subject, "subject").controller !== by,
        bySignature: a.bySignature as boolean,
      });
      break;
    }
    case "ConsentRevoked":
      get(s.consents, a.consentId as string, "consent").revokedAt = a.revokedAt as bigint;
      break;
    case "BreakGlassPreferenceSet":
      get(s.patients, a.subject as string, "subject").breakGlassOptedOut = a.optedOut as boolean;
      break;
    case "RecordAnchored": {
      const subject = a.subject as string;
      const previous = a.previous as string;
      if (previous !== ZERO_HASH) get(s.records, recordKey(subject, previous), "record").superseded = true;
      s.records.set(
        recordKey(subject, a.recordId as string),
        newRecord(a, {
          custodian: Number(a.custodian),
          anchoredAt: time,
          erasedAt: 0n,
          superseded: false,
          previous,
          pointer: a.pointer as string,
        }),
      );
      break;
    }
    case "RecordImported": {
      const subject = a.subject as string;
      const previous = a.previous as string;
      if (previous !== ZERO_HASH) get(s.records, recordKey(subject, previous), "record").superseded = true;
      s.records.set(
        recordKey(subject, a.recordId as string),
        newRecord(a, {
          custodian: Number(a.custodian),
          anchoredAt: a.anchoredAt as bigint,
          erasedAt: a.erasedAt as bigint,
          superseded: false,
          previous,
          pointer: "",
          imported: true,
        }),
      );
      break;
    }
    case "BatchAnchored":
      s.batches.set(recordKey(a.subject as string, a.root as string), {
        subject: a.subject as string,
        root: a.root as string,
        tag: a.tag as string,
        custodian: Number(a.custodian),
        count: Number(a.count),
        categories: Number(a.categories),
        anchoredAt: time,
        pointer: a.pointer as string,
      });
      break;
    case "RecordProven": {
      const subject = a.subject as string;
      const batch = get(s.batches, recordKey(subject, a.root as string), "batch");
      s.records.set(
        recordKey(subject, a.recordId as string),
        newRecord(a, {
          custodian: batch.custodian,
          anchoredAt: batch.anchoredAt,
          erasedAt: 0n,
          superseded: false,
          previous: ZERO_HASH,
          pointer: batch.pointer,
          batchRoot: a.root as string,
        }),
      );
      break;
    }
    case "RecordErased":
      get(s.records, recordKey(a.subject as string, a.recordId as string), "record").erasedAt = time;
      break;
    case "RecordAccessed":
      s.accesses.push({
        recordId: a.recordId as string,
        subject: a.subject as string,
        accessor: a.accessor as string,
        purpose: Number(a.purpose),
        basis: Number(a.basis),
        basisId: a.basisId as string,
        timestamp: e.timestamp,
        transactionHash: e.transactionHash,
      });
      break;
    case "BreakGlassDeclared": {
      const orgId = Number(a.orgId);
      s.sessions.set(Number(a.sessionId), {
        subject: a.subject as string,
        responder: a.responder as string,
        orgId,
        purpose: Number(a.purpose),
        reasonCode: Number(a.reasonCode),
        expiresAt: a.expiresAt as bigint,
        outcome: PENDING,
      });
      s.pendingReviews.set(orgId, (s.pendingReviews.get(orgId) ?? 0) + 1);
      break;
    }
    case "BreakGlassReviewed": {
      const session = get(s.sessions, Number(a.sessionId), "session");
      session.outcome = Number(a.outcome);
      session.reviewer = a.reviewer as string;
      session.reviewerOrg = Number(a.reviewerOrg);
      s.pendingReviews.set(session.orgId, (s.pendingReviews.get(session.orgId) ?? 1) - 1);
      break;
    }
    case "MigrationSealed":
      s.migrationSealed.add(e.contract);
      break;
    default:
      // RoleGranted/RoleRevoked/RoleAdminChanged, RecoveryApproved, EIP712DomainChanged: not part of this state.
      break;
  }
}

function applyKeyholder(s: LedgerState, e: LedgerEvent): void {
  const a = e.args;
  const id = Number(a.keyholderId);
  switch (e.name) {
    case "KeyholderAdded":
      s.keyholders.set(id, {
        orgId: Number(a.orgId),
        account: a.account as string,
        encryptionKey: a.encryptionKey as string,
        keyVersion: Number(a.keyVersion),
        active: true,
        endpoint: a.endpoint as string,
        lastLogSequence: 0n,
        lastLogHead: ZERO_HASH,
        lastLogAt: 0n,
      });
      s.keyholderEpoch = a.epoch as bigint;
      break;
    case "KeyholderRemoved":
      get(s.keyholders, id, "keyholder").active = false;
      s.keyholderEpoch = a.epoch as bigint;
      break;
    case "KeyholderKeyRotated": {
      const k = get(s.keyholders, id, "keyholder");
      k.encryptionKey = a.encryptionKey as string;
      k.keyVersion = Number(a.keyVersion);
      s.keyholderEpoch = a.epoch as bigint;
      break;
    }
    case "KeyholderAccountChanged":
      get(s.keyholders, id, "keyholder").account = a.newAccount as string;
      s.keyholderEpoch = a.epoch as bigint;
      break;
    case "KeyholderEndpointChanged":
      get(s.keyholders, id, "keyholder").endpoint = a.endpoint as string;
      break;
    case "ThresholdSet":
      s.keyholderThreshold = Number(a.threshold);
      s.keyholderEpoch = a.epoch as bigint;
      break;
    case "ReleaseLogAnchored": {
      const k = get(s.keyholders, id, "keyholder");
      k.lastLogSequence = a.sequence as bigint;
      k.lastLogHead = a.head as string;
      k.lastLogAt = BigInt(e.timestamp);
      break;
    }
    default:
      break;
  }
}

/** The addresses of one MedLedger deployment. */
export interface LedgerAddresses {
  directory: string;
  consents: string;
  records: string;
  /** The keyholder registry (contracts 1.1); omit for a 1.0 deployment. */
  keyholders?: string;
}

const INTERFACES: [LedgerEvent["contract"], Interface][] = [
  ["directory", ParticipantDirectory__factory.createInterface()],
  ["consents", ConsentRegistry__factory.createInterface()],
  ["records", RecordRegistry__factory.createInterface()],
  ["keyholders", KeyholderRegistry__factory.createInterface()],
];

/**
 * Fetches and decodes every MedLedger event in a block range, in chain order, with block times.
 * Pages through the range `pageSize` blocks at a time (RPC providers cap log queries).
 */
export async function fetchLedgerEvents(
  provider: Provider,
  addresses: LedgerAddresses,
  opts: { fromBlock?: number; toBlock?: number; pageSize?: number } = {},
): Promise<LedgerEvent[]> {
  const toBlock = opts.toBlock ?? (await provider.getBlockNumber());
  const pageSize = opts.pageSize ?? 10_000;
  const byAddress = new Map<string, { name: LedgerEvent["contract"]; iface: Interface }>();
  for (const [name, iface] of INTERFACES) {
    const address = addresses[name];
    if (address !== undefined) byAddress.set(address.toLowerCase(), { name, iface });
  }
  const times = new Map<number, number>();
  const events: LedgerEvent[] = [];
  for (let from = opts.fromBlock ?? 0; from <= toBlock; from += pageSize) {
    const logs = await provider.getLogs({
      address: [...byAddress.keys()],
      fromBlock: from,
      toBlock: Math.min(toBlock, from + pageSize - 1),
    });
    for (const log of logs) {
      const source = byAddress.get(log.address.toLowerCase());
      const parsed = source?.iface.parseLog(log);
      if (source === undefined || parsed === null || parsed === undefined) continue;
      let timestamp = times.get(log.blockNumber);
      if (timestamp === undefined) {
        const block = await provider.getBlock(log.blockNumber);
        timestamp = block?.timestamp ?? 0;
        times.set(log.blockNumber, timestamp);
      }
      events.push({
        contract: source.name,
        name: parsed.name,
        args: parsed.args,
        blockNumber: log.blockNumber,
        logIndex: log.index,
        transactionHash: log.transactionHash,
        timestamp,
      });
    }
  }
  events.sort((x, y) => x.blockNumber - y.blockNumber || x.logIndex - y.logIndex);
  return events;
}
