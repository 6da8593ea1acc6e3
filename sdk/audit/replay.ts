/**
 * Rebuilds the whole MedLedger state (participants, consents, record heads, accesses, break-glass
 * sessions) from contract events alone — what an auditor or an indexer does, with no trust in the
 * contracts' views. Pure: feed it decoded events in chain order.
 *
 * @example
 * ```ts
 * import { fetchLedgerEvents, replay } from "medledger";
 * const events = await fetchLedgerEvents(provider, addresses, { fromBlock: 0 });
 * const state = replay(events);
 * console.log(state.records.get(recordId)?.superseded);
 * ```
 */
import type { Interface, LogDescription, Provider } from "ethers";

import {
  ConsentRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";

/** One decoded event with its position and block time. */
export interface LedgerEvent {
  contract: "directory" | "consents" | "records";
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
  orgId: number;
  roles: number;
  credentialValidUntil: bigint;
  suspended: boolean;
  encryptionKey: string;
  keyVersion: number;
}
export interface PatientState {
  controller: string;
  encryptionKey: string;
  keyVersion: number;
  recoveryThreshold: number;
  epoch: number;
  guardians: Map<string, { powers: number; validUntil: bigint }>;
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
  };
  revokedAt: bigint;
  grantedBy: string;
  bySignature: boolean;
}
export interface RecordState {
  subject: string;
  digest: string;
  custodian: number;
  category: number;
  anchoredAt: bigint;
  erasedAt: bigint;
  superseded: boolean;
  previous: string;
  pointer: string;
  batchRoot?: string;
}
export interface BatchState {
  subject: string;
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
}

export interface LedgerState {
  organizations: Map<number, OrganizationState>;
  practitioners: Map<string, PractitionerState>;
  patients: Map<string, PatientState>;
  consents: Map<string, ConsentState>;
  consentCount: Map<string, number>;
  records: Map<string, RecordState>;
  batches: Map<string, BatchState>;
  accesses: AccessEntry[];
  sessions: Map<number, SessionState>;
  pendingReviews: Map<number, number>;
}

const ZERO_HASH = `0x${"00".repeat(32)}`;
const DENY = 1;
const PENDING = 0;

function emptyState(): LedgerState {
  return {
    organizations: new Map(),
    practitioners: new Map(),
    patients: new Map(),
    consents: new Map(),
    consentCount: new Map(),
    records: new Map(),
    batches: new Map(),
    accesses: [],
    sessions: new Map(),
    pendingReviews: new Map(),
  };
}

function get<K, V>(map: Map<K, V>, key: K, what: string): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`replay: event for unknown ${what} ${String(key)}`);
  return value;
}

/** Applies events (in chain order) to a state; returns the state. */
export function replay(events: Iterable<LedgerEvent>, state: LedgerState = emptyState()): LedgerState {
  for (const e of events) apply(state, e);
  return state;
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
        orgId: Number(a.orgId),
        roles: Number(a.roles),
        credentialValidUntil: a.credentialValidUntil as bigint,
        suspended: false,
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
    case "PractitionerKeyRotated": {
      const p = get(s.practitioners, a.account as string, "practitioner");
      p.encryptionKey = a.encryptionKey as string;
      p.keyVersion = Number(a.keyVersion);
      break;
    }
    case "PatientRegistered":
      s.patients.set(a.subject as string, {
        controller: a.controller as string,
        encryptionKey: a.encryptionKey as string,
        keyVersion: Number(a.keyVersion),
        recoveryThreshold: 0,
        epoch: 0,
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
    case "GuardianSet": {
      const p = get(s.patients, a.subject as string, "subject");
      if (Number(a.powers) === 0) p.guardians.delete(a.guardian as string);
      else p.guardians.set(a.guardian as string, { powers: Number(a.powers), validUntil: a.validUntil as bigint });
      break;
    }
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
          // A deny with purposes 0 covers every purpose (stored as the full mask).
          purposes: Number(t.effect) === DENY && Number(t.purposes) === 0 ? 0x3ff : Number(t.purposes),
          actions: Number(t.actions),
          validFrom: BigInt(t.validFrom as bigint),
          validUntil: BigInt(t.validUntil as bigint),
        },
        revokedAt: 0n,
        grantedBy: a.by as string,
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
      const previous = a.previous as string;
      if (previous !== ZERO_HASH) get(s.records, previous, "record").superseded = true;
      s.records.set(a.recordId as string, {
        subject: a.subject as string,
        digest: a.digest as string,
        custodian: Number(a.custodian),
        category: Number(a.category),
        anchoredAt: time,
        erasedAt: 0n,
        superseded: false,
        previous,
        pointer: a.pointer as string,
      });
      break;
    }
    case "BatchAnchored":
      s.batches.set(a.root as string, {
        subject: a.subject as string,
        custodian: Number(a.custodian),
        count: Number(a.count),
        categories: Number(a.categories),
        anchoredAt: time,
        pointer: a.pointer as string,
      });
      break;
    case "RecordProven": {
      const batch = get(s.batches, a.root as string, "batch");
      s.records.set(a.recordId as string, {
        subject: a.subject as string,
        digest: a.digest as string,
        custodian: batch.custodian,
        category: Number(a.category),
        anchoredAt: batch.anchoredAt,
        erasedAt: 0n,
        superseded: false,
        previous: ZERO_HASH,
        pointer: batch.pointer,
        batchRoot: a.root as string,
      });
      break;
    }
    case "RecordErased":
      get(s.records, a.recordId as string, "record").erasedAt = time;
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
      s.pendingReviews.set(session.orgId, (s.pendingReviews.get(session.orgId) ?? 1) - 1);
      break;
    }
    default:
      // RoleGranted/RoleRevoked, RecoveryApproved, EIP712DomainChanged: not part of this state.
      break;
  }
}

/** The addresses of one MedLedger deployment. */
export interface LedgerAddresses {
  directory: string;
  consents: string;
  records: string;
}

const INTERFACES: [LedgerEvent["contract"], Interface][] = [
  ["directory", ParticipantDirectory__factory.createInterface()],
  ["consents", ConsentRegistry__factory.createInterface()],
  ["records", RecordRegistry__factory.createInterface()],
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
  const byAddress = new Map(INTERFACES.map(([name, iface]) => [addresses[name].toLowerCase(), { name, iface }]));
  const times = new Map<number, number>();
  const events: LedgerEvent[] = [];
  for (let from = opts.fromBlock ?? 0; from <= toBlock; from += pageSize) {
    const logs = await provider.getLogs({
      address: Object.values(addresses),
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
