/**
 * Rebuilds a MedLedger 1.0 deployment's state from its events (paged eth_getLogs): organizations
 * with their ids, practitioners, patients under their subject ids with guardians, thresholds and
 * epochs, consents with their sequence numbers, record versions (single anchors and proven batch
 * members) with version links and tombstones, batches, break-glass opt-outs and open reviews.
 */
import { AbiCoder, Contract, getAddress, keccak256 } from "ethers";
import type { Log, Provider } from "ethers";

import { mapLimit } from "../util.js";
import { MigrationSourceError } from "./errors.js";
import { LEDGER_10_INTERFACE, VERSION_10 } from "./abi10.js";
import { fetchLogsPaged } from "./logs.js";
import type { PagedLogsOptions, PagedLogsStats } from "./logs.js";

/** The 1.0 contracts the migration reads. */
export const CONTRACTS_10 = ["ParticipantDirectory", "ConsentRegistry", "RecordRegistry"] as const;
export type Contract10 = (typeof CONTRACTS_10)[number];

/** A 1.0 address book: the three contracts' addresses and deployment blocks (a 1.0 deployments file fits). */
export interface AddressBook10 {
  contracts: Record<Contract10, { address: string; blockNumber: number }>;
}

export interface Organization10 {
  orgId: number;
  kind: number;
  admin: string;
  encryptionKey: string;
  keyVersion: number;
  suspended: boolean;
}

export interface Practitioner10 {
  account: string;
  orgId: number;
  roles: number;
  credentialValidUntil: bigint;
  suspended: boolean;
  encryptionKey: string;
  keyVersion: number;
}

export interface Guardian10 {
  guardian: string;
  powers: number;
  validUntil: bigint;
}

/** 1.0 consent terms as stored (a deny's purposes 0 is stored, and here given, as every purpose). */
export interface Terms10 {
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
}

export interface Consent10 {
  subject: string;
  sequence: number;
  consentId: string;
  terms: Terms10;
  revokedAt: bigint;
  grantedBy: string;
}

export interface Patient10 {
  subject: string;
  controller: string;
  encryptionKey: string;
  keyVersion: number;
  recoveryThreshold: number;
  epoch: number;
  /** Current guardians (removed ones are gone), in appointment order. */
  guardians: Guardian10[];
  /** Consents in sequence order (sequence = index + 1). */
  consents: Consent10[];
  breakGlassOptedOut: boolean;
}

export interface Record10 {
  subject: string;
  recordId: string;
  category: number;
  digest: string;
  custodian: number;
  anchoredAt: bigint;
  erasedAt: bigint;
  /** The version it superseded (zero hash for a first version). */
  previous: string;
  superseded: boolean;
  /** The batch it was proven from (undefined for a single anchor). */
  batchRoot: string | undefined;
}

export interface Batch10 {
  root: string;
  subject: string;
  custodian: number;
  count: number;
  categories: number;
  anchoredAt: bigint;
  /** Members proven on 1.0 (imported like single anchors). */
  proven: number;
}

export interface State10 {
  /** The last block read (the cut-over block). */
  toBlock: number;
  fromBlock: number;
  organizations: Organization10[];
  practitioners: Practitioner10[];
  patients: Patient10[];
  /** Record versions in the order they became records on 1.0 (anchor or proof). */
  records: Record10[];
  batches: Batch10[];
  /** Break-glass sessions whose review was still pending at the cut-over. */
  openReviews: number;
  /** Pending recovery approvals (not carried: 1.1 ties approvals to the guardian's appointment). */
  recoveryApprovals: number;
  events: number;
  logs: PagedLogsStats;
}

const ZERO32 = `0x${"00".repeat(32)}`;
const ALL_PURPOSES_10 = (1 << 10) - 1;
const coder = AbiCoder.defaultAbiCoder();

/** consentIdAt(subject, sequence) of 1.0 (and 1.1): keccak256(abi.encode(subject, sequence)). */
export function consentIdAt(subject: string, sequence: number): string {
  return keccak256(coder.encode(["bytes32", "uint32"], [subject, sequence]));
}

/** Checks that every contract of `book` answers version() "1.0.0". */
export async function checkSource10(provider: Provider, book: AddressBook10): Promise<void> {
  for (const name of CONTRACTS_10) {
    const address = book.contracts[name].address;
    if ((await provider.getCode(address)) === "0x") {
      throw new MigrationSourceError("NO_CODE", `${name}: no contract at ${address}`, { contract: name });
    }
    let version: string;
    try {
      version = String(await new Contract(address, LEDGER_10_INTERFACE, provider).getFunction("version").staticCall());
    } catch (cause) {
      throw new MigrationSourceError("NOT_1_0", `${name} at ${address} does not answer version()`, {
        contract: name,
        cause,
      });
    }
    if (version !== VERSION_10) {
      throw new MigrationSourceError("NOT_1_0", `${name} at ${address} is version ${version}, not ${VERSION_10}`, {
        contract: name,
      });
    }
  }
}

/** The 1.0 logs of `book` in blocks `fromBlock..toBlock` (paged). */
export async function fetchLogs10(
  provider: Provider,
  book: AddressBook10,
  range: { fromBlock?: number; toBlock: number },
  options: PagedLogsOptions = {},
  stats?: PagedLogsStats,
): Promise<Log[]> {
  const fromBlock = range.fromBlock ?? Math.min(...CONTRACTS_10.map((n) => book.contracts[n].blockNumber));
  return fetchLogsPaged(
    provider,
    { addresses: CONTRACTS_10.map((n) => book.contracts[n].address), fromBlock, toBlock: range.toBlock },
    options,
    stats,
  );
}

/** Reads and replays a 1.0 deployment up to `toBlock` (default: the latest block). */
export async function readState10(
  provider: Provider,
  book: AddressBook10,
  options: { toBlock?: number; logs?: PagedLogsOptions } = {},
): Promise<State10> {
  const toBlock = options.toBlock ?? (await provider.getBlockNumber());
  const fromBlock = Math.min(...CONTRACTS_10.map((n) => book.contracts[n].blockNumber));
  const stats: PagedLogsStats = { queries: 0, refusals: 0, logs: 0 };
  const logs = await fetchLogs10(provider, book, { fromBlock, toBlock }, options.logs, stats);
  const timestamps = new Map<number, bigint>();
  const needsTime = new Set(["RecordAnchored", "BatchAnchored", "RecordErased"]);
  const blocks = new Set<number>();
  for (const log of logs) {
    const name = LEDGER_10_INTERFACE.getEvent(log.topics[0]!)?.name;
    if (name !== undefined && needsTime.has(name)) blocks.add(log.blockNumber);
  }
  await mapLimit([...blocks], 8, async (n) => {
    const block = await provider.getBlock(n);
    if (block === null) throw new MigrationSourceError("INCONSISTENT_EVENTS", `block ${n} is unknown to the node`);
    timestamps.set(n, BigInt(block.timestamp));
  });
  return replay10(logs, book, { fromBlock, toBlock, timestamps, stats });
}

/** Replays 1.0 logs (chain order) into the 1.0 state. */
export function replay10(
  logs: readonly Log[],
  book: AddressBook10,
  ctx: { fromBlock: number; toBlock: number; timestamps: Map<number, bigint>; stats: PagedLogsStats },
): State10 {
  const by = new Map(CONTRACTS_10.map((n) => [getAddress(book.contracts[n].address), n]));
  const orgs = new Map<number, Organization10>();
  const practitioners = new Map<string, Practitioner10>();
  const patients = new Map<string, Patient10 & { guardianMap: Map<string, Guardian10> }>();
  const records = new Map<string, Record10>();
  const batches = new Map<string, Batch10>();
  const approvals = new Set<string>();
  const reviews = new Set<string>();
  let events = 0;
  const fail = (log: Log, what: string): never => {
    throw new MigrationSourceError(
      "INCONSISTENT_EVENTS",
      `1.0 events are inconsistent at block ${log.blockNumber}: ${what}`,
    );
  };
  const patient = (log: Log, subject: string) => patients.get(subject) ?? fail(log, `unknown subject ${subject}`);
  const time = (log: Log) => ctx.timestamps.get(log.blockNumber) ?? fail(log, "no block time");

  for (const log of logs) {
    const contract = by.get(getAddress(log.address));
    const parsed = contract === undefined ? null : LEDGER_10_INTERFACE.parseLog(log);
    if (parsed === null) continue; // role events of AccessControl and the like
    events++;
    const a = parsed.args;
    switch (parsed.name) {
      case "OrganizationAdmitted":
        orgs.set(Number(a.orgId), {
          orgId: Number(a.orgId),
          kind: Number(a.kind),
          admin: getAddress(a.admin as string),
          encryptionKey: a.encryptionKey as string,
          keyVersion: Number(a.keyVersion),
          suspended: false,
        });
        break;
      case "OrganizationStatusChanged":
        (orgs.get(Number(a.orgId)) ?? fail(log, "unknown organization")).suspended = a.suspended as boolean;
        break;
      case "OrganizationAdminChanged":
        (orgs.get(Number(a.orgId)) ?? fail(log, "unknown organization")).admin = getAddress(a.newAdmin as string);
        break;
      case "OrganizationKeyRotated": {
        const org = orgs.get(Number(a.orgId)) ?? fail(log, "unknown organization");
        org.encryptionKey = a.encryptionKey as string;
        org.keyVersion = Number(a.keyVersion);
        break;
      }
      case "PractitionerEnrolled":
        practitioners.set(getAddress(a.account as string), {
          account: getAddress(a.account as string),
          orgId: Number(a.orgId),
          roles: Number(a.roles),
          credentialValidUntil: a.credentialValidUntil as bigint,
          suspended: false,
          encryptionKey: a.encryptionKey as string,
          keyVersion: Number(a.keyVersion),
        });
        break;
      case "PractitionerUpdated": {
        const p = practitioners.get(getAddress(a.account as string)) ?? fail(log, "unknown practitioner");
        p.roles = Number(a.roles);
        p.credentialValidUntil = a.credentialValidUntil as bigint;
        break;
      }
      case "PractitionerStatusChanged":
        (practitioners.get(getAddress(a.account as string)) ?? fail(log, "unknown practitioner")).suspended =
          a.suspended as boolean;
        break;
      case "PractitionerKeyRotated": {
        const p = practitioners.get(getAddress(a.account as string)) ?? fail(log, "unknown practitioner");
        p.encryptionKey = a.encryptionKey as string;
        p.keyVersion = Number(a.keyVersion);
        break;
      }
      case "PatientRegistered": {
        const subject = a.subject as string;
        patients.set(subject, {
          subject,
          controller: getAddress(a.controller as string),
          encryptionKey: a.encryptionKey as string,
          keyVersion: Number(a.keyVersion),
          recoveryThreshold: 0,
          epoch: 0,
          guardians: [],
          guardianMap: new Map(),
          consents: [],
          breakGlassOptedOut: false,
        });
        break;
      }
      case "ControllerChanged": {
        const p = patient(log, a.subject as string);
        p.controller = getAddress(a.newController as string);
        p.epoch = Number(a.epoch);
        break;
      }
      case "PatientKeyRotated": {
        const p = patient(log, a.subject as string);
        p.encryptionKey = a.encryptionKey as string;
        p.keyVersion = Number(a.keyVersion);
        break;
      }
      case "GuardianSet": {
        const p = patient(log, a.subject as string);
        const guardian = getAddress(a.guardian as string);
        if (Number(a.powers) === 0) p.guardianMap.delete(guardian);
        else p.guardianMap.set(guardian, { guardian, powers: Number(a.powers), validUntil: a.validUntil as bigint });
        break;
      }
      case "RecoveryThresholdSet":
        patient(log, a.subject as string).recoveryThreshold = Number(a.threshold);
        break;
      case "RecoveryCancelled":
        patient(log, a.subject as string).epoch = Number(a.epoch);
        break;
      case "RecoveryApproved":
        approvals.add(
          `${String(a.subject)}/${Number(a.epoch)}/${getAddress(a.guardian as string)}/${String(a.newController)}`,
        );
        break;
      case "ConsentGranted": {
        const p = patient(log, a.subject as string);
        const sequence = p.consents.length + 1;
        if (consentIdAt(p.subject, sequence) !== a.consentId)
          fail(log, `consent id is not consentIdAt(subject, ${sequence})`);
        const t = a.terms as unknown as {
          effect: bigint;
          granteeKind: bigint;
          granteeAccount: string;
          granteeOrg: bigint;
          granteeRoles: bigint;
          categories: bigint;
          purposes: bigint;
          actions: bigint;
          validFrom: bigint;
          validUntil: bigint;
        };
        const effect = Number(t.effect);
        const purposes = Number(t.purposes);
        p.consents.push({
          subject: p.subject,
          sequence,
          consentId: a.consentId as string,
          terms: {
            effect,
            granteeKind: Number(t.granteeKind),
            granteeAccount: getAddress(t.granteeAccount),
            granteeOrg: Number(t.granteeOrg),
            granteeRoles: Number(t.granteeRoles),
            categories: Number(t.categories),
            // 1.0 emitted a deny's purposes as given (0: all) but stored every purpose.
            purposes: effect === 1 && purposes === 0 ? ALL_PURPOSES_10 : purposes,
            actions: Number(t.actions),
            validFrom: t.validFrom,
            validUntil: t.validUntil,
          },
          revokedAt: 0n,
          grantedBy: getAddress(a.by as string),
        });
        break;
      }
      case "ConsentRevoked": {
        const p = patient(log, a.subject as string);
        const c = p.consents.find((x) => x.consentId === a.consentId) ?? fail(log, "unknown consent");
        c.revokedAt = a.revokedAt as bigint;
        break;
      }
      case "BreakGlassPreferenceSet":
        patient(log, a.subject as string).breakGlassOptedOut = a.optedOut as boolean;
        break;
      case "RecordAnchored": {
        const recordId = a.recordId as string;
        const previous = a.previous as string;
        if (previous !== ZERO32) (records.get(previous) ?? fail(log, "unknown previous version")).superseded = true;
        records.set(recordId, {
          subject: a.subject as string,
          recordId,
          category: Number(a.category),
          digest: a.digest as string,
          custodian: Number(a.custodian),
          anchoredAt: time(log),
          erasedAt: 0n,
          previous,
          superseded: false,
          batchRoot: undefined,
        });
        break;
      }
      case "BatchAnchored":
        batches.set(a.root as string, {
          root: a.root as string,
          subject: a.subject as string,
          custodian: Number(a.custodian),
          count: Number(a.count),
          categories: Number(a.categories),
          anchoredAt: time(log),
          proven: 0,
        });
        break;
      case "RecordProven": {
        const batch = batches.get(a.root as string) ?? fail(log, "unknown batch");
        batch.proven++;
        records.set(a.recordId as string, {
          subject: batch.subject,
          recordId: a.recordId as string,
          category: Number(a.category),
          digest: a.digest as string,
          custodian: batch.custodian,
          anchoredAt: batch.anchoredAt,
          erasedAt: 0n,
          previous: ZERO32,
          superseded: false,
          batchRoot: batch.root,
        });
        break;
      }
      case "RecordErased":
        (records.get(a.recordId as string) ?? fail(log, "unknown record")).erasedAt = time(log);
        break;
      case "BreakGlassDeclared":
        reviews.add(String(a.sessionId));
        break;
      case "BreakGlassReviewed":
        reviews.delete(String(a.sessionId));
        break;
      default:
        break; // RecordAccessed: the access log stays on 1.0 as history
    }
  }
  // Pending approvals: those of the subject's current epoch by a guardian still appointed.
  const pending = [...approvals].filter((k) => {
    const [subject, epoch, guardian] = k.split("/") as [string, string, string];
    const p = patients.get(subject);
    return p !== undefined && p.epoch === Number(epoch) && p.guardianMap.has(guardian);
  }).length;
  const patientList = [...patients.values()].map(({ guardianMap, ...p }) => ({
    ...p,
    guardians: [...guardianMap.values()],
  }));
  return {
    fromBlock: ctx.fromBlock,
    toBlock: ctx.toBlock,
    organizations: [...orgs.values()].sort((x, y) => x.orgId - y.orgId),
    practitioners: [...practitioners.values()],
    patients: patientList,
    records: [...records.values()],
    batches: [...batches.values()],
    openReviews: reviews.size,
    recoveryApprovals: pending,
    events,
    logs: ctx.stats,
  };
}
