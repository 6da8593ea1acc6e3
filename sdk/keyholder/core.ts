/**
 * One keyholder's logic, free of any transport: the Fastify service (`service/server.ts`) and the
 * in-process transport (`local.ts`) both call it. Every method takes the untrusted body, validates
 * it, and either answers or throws a {@link KeyholderRefusal} with a stable code. The checks and
 * their order are those of docs/keyholders.md ("Release protocol"), numbered the same here.
 *
 * @example
 * ```ts
 * import { createKeyholderCore } from "medledger/keyholder";
 * const core = await createKeyholderCore({ identity, chain, store, config });
 * const answer = await core.release(body);
 * ```
 */
import { SigningKey, Wallet, getBytes, hexlify, keccak256, randomBytes } from "ethers";
import type { TypedDataDomain } from "ethers";

import { concat } from "../crypto/bytes.js";
import type { Identity } from "../crypto/keystore.js";
import { StorageError } from "../errors.js";
import type { LabelOpening, SealedTermsOpening } from "../sealed/commitments.js";
import {
  OpeningKind,
  decodeLabelPayload,
  decodeTermsPayload,
  labelOpeningMatches,
  openPayload,
  openingSlotHeader,
  sealPayload,
  secretBinding,
  termsOpeningMatches,
} from "../sealed/openings.js";
import type { OpeningBinding } from "../sealed/openings.js";
import type { Hex } from "../types.js";
import {
  ACTION_READ,
  AccessBasisCode,
  AccessorStatusCode,
  EffectCode,
  GranteeKindCode,
  ORG_KIND_REGULATOR,
  POWER_ACCESS,
  POWER_GRANT,
  POWER_REVOKE,
  PURPOSE_BTG,
  PURPOSE_ETREAT,
  ROLE_AUDITOR,
  ROLE_EMERGENCY_RESPONDER,
  ReviewOutcomeCode,
} from "./chainView.js";
import type {
  AccessEvent,
  BlockRef,
  ChainView,
  KeyholderMember,
  KeyholderSet,
  RecordState,
  RegisteredKey,
} from "./chainView.js";
import { gfAdd, gfScale, lagrangeAtZero, shareAt } from "./gf256.js";
import { ReleaseLog, genesisHead } from "./log.js";
import type { LogEntry, LoggedToken } from "./log.js";
import { manifestWriter, signAttestation, trustedShares } from "./manifest.js";
import { custodianKeyholderId, denyBinds, evaluateSealed } from "./policy.js";
import type { SealedReason } from "./policy.js";
import {
  KEY_PREFLIGHT_TYPES,
  KEY_RELEASE_TYPES,
  KEY_RETIRE_TYPES,
  KeyholderRefusal,
  LOG_QUERY_TYPES,
  OPENINGS_QUERY_TYPES,
  POLICY_TOKEN_TYPES,
  SEALED_OPENINGS_TYPES,
  RESHARE_DEAL_TYPES,
  RESHARE_LIST_TYPES,
  RESHARE_SUBSHARES_TYPES,
  keyholderDomain,
  parseAccept,
  parseDeal,
  parseDeposit,
  parseErase,
  parseFinalize,
  parseLogQuery,
  parseOpenings,
  parseOpeningsQuery,
  parsePreflight,
  parseReleaseBody,
  parseReshareList,
  parseRetire,
  parseSigned,
  recoverTypedSigner,
  refuse,
  typedHash,
} from "./protocol.js";
import type {
  AuditKeyGrant,
  DealerResponse,
  DeletedResult,
  DepositResult,
  ExportedOpening,
  KeyReleaseRequest,
  KeyholderInfo,
  LogHead,
  OpeningsResult,
  PreflightResult,
  RefusalCode,
  ReleaseResult,
  ReshareAcceptResult,
  ReshareDeal,
  ShareManifest,
  SignedPolicyToken,
} from "./protocol.js";
import { signatureChecker, typedDigest } from "./signatures.js";
import { openShare, sealShare, shareCommitment, shareSlotKeyVersion } from "./shares.js";
import type { ShareContext } from "./shares.js";
import type { DurableWriter, KeyholderStore, LogRow, StoredShare } from "./store/sqlite.js";
import { deriveAuditKeys, openVault, sealVault } from "./vault.js";

/** The transport-free API of one keyholder: HTTP and in-process transports expose exactly this. */
export interface KeyholderApi {
  info(): Promise<KeyholderInfo>;
  deposit(body: unknown): Promise<DepositResult>;
  preflight(body: unknown): Promise<PreflightResult>;
  release(body: unknown): Promise<ReleaseResult>;
  erase(body: unknown): Promise<DeletedResult>;
  retire(body: unknown): Promise<DeletedResult>;
  reshareDeal(body: unknown): Promise<DealerResponse>;
  reshareAccept(body: unknown): Promise<ReshareAcceptResult>;
  reshareFinalize(body: unknown): Promise<DeletedResult & { activated: boolean }>;
  /** Manifests of the records this keyholder holds below `toEpoch` (a resharing work list). */
  reshareList(body: unknown): Promise<{ manifests: ShareManifest[] }>;
  /** Openings from the subject's side (consent openings; label openings re-delivered), checked against the chain. */
  openings(body: unknown): Promise<OpeningsResult>;
  logHead(): Promise<LogHead>;
  /** The keyed log's rows and the audit key sealed to the auditor (auditors only). */
  logEntries(body: unknown): Promise<{ entries: LogRow[]; auditKey: AuditKeyGrant }>;
  /** The stored openings (sealed under the vault key) and the audit key sealed to the auditor (auditors only). */
  openingsExport(body: unknown): Promise<{ openings: ExportedOpening[]; auditKey: AuditKeyGrant }>;
}

/** Tunables (docs/keyholders.md, "Configuration"). */
export interface CoreConfig {
  confirmations: number;
  maxAccessAgeSeconds: number;
  maxClockSkewSeconds: number;
  maxRequestLifetimeSeconds: number;
  pendingTtlSeconds: number;
  /** Lifetime of the policy tokens this keyholder signs, and the longest it accepts (plus clock skew). */
  policyTokenLifetimeSeconds: number;
  rateLimit: { burst: number; perSecond: number };
}

export const DEFAULT_CORE_CONFIG: CoreConfig = {
  confirmations: 1,
  maxAccessAgeSeconds: 300,
  maxClockSkewSeconds: 30,
  maxRequestLifetimeSeconds: 300,
  pendingTtlSeconds: 3600,
  policyTokenLifetimeSeconds: 30,
  rateLimit: { burst: 200, perSecond: 100 },
};

export interface KeyholderCoreOptions {
  identity: Identity;
  /** Earlier X25519 private keys by version, to open shares sealed before a key rotation. */
  previousKeys?: { keyVersion: number; privateKey: Uint8Array }[];
  chain: ChainView;
  store: KeyholderStore;
  config?: Partial<CoreConfig>;
  /** Clock in milliseconds (tests of the idle-chain rule inject one). */
  now?: () => number;
}

export interface KeyholderCore extends KeyholderApi {
  /** This keyholder's id in KeyholderRegistry (0 until {@link KeyholderCore.refreshIdentity} finds it). */
  readonly keyholderId: number;
  readonly account: string;
  readonly domain: TypedDataDomain;
  readonly log: ReleaseLog;
  /** Looks the keyholder up in the registry; returns the failing readiness checks. */
  refreshIdentity(): Promise<string[]>;
  /** Deletes pending shares older than the TTL whose record was never anchored; activates the others. */
  sweepPending(): Promise<number>;
  /** Deletes the shares of records erased on chain since the last call. */
  watchErasures(): Promise<number>;
  /** Appends a tick and padding; returns the (seq, head) to anchor. */
  prepareAnchor(padQuantum: number): Promise<{ seq: number; head: Hex }>;
  pruneNonces(): number;
  /** Closes the store (pending writes are committed first). */
  close(): void;
}

/** Refusal for each DenyReason of the contracts (index = enum value). */
const DENY_TO_REFUSAL: RefusalCode[] = [
  "NOT_PERMITTED", // NONE (not allowed without reason: treat as not permitted)
  "NOT_PERMITTED", // NO_CONSENT
  "REVOKED", // CONSENT_REVOKED
  "CONSENT_EXPIRED", // CONSENT_EXPIRED
  "NOT_PERMITTED", // CONSENT_NOT_YET_VALID
  "NOT_PERMITTED", // CATEGORY_NOT_COVERED
  "NOT_PERMITTED", // PURPOSE_NOT_ALLOWED
  "NOT_PERMITTED", // ACTION_NOT_ALLOWED
  "NOT_PERMITTED", // GRANTEE_MISMATCH
  "DENIED", // DENIED_BY_SUBJECT
  "UNKNOWN_READER", // ACCESSOR_UNKNOWN
  "SUSPENDED", // ACCESSOR_SUSPENDED
  "CREDENTIAL_EXPIRED", // CREDENTIAL_EXPIRED
  "ORGANIZATION_SUSPENDED", // ORGANIZATION_SUSPENDED
  "UNKNOWN_RECORD", // SUBJECT_UNKNOWN
  "UNKNOWN_RECORD", // RECORD_UNKNOWN
  "ERASED", // RECORD_ERASED
  "OPTED_OUT", // BREAK_GLASS_OPTED_OUT
  "NOT_PERMITTED", // NOT_EMERGENCY_RESPONDER
  "NOT_PERMITTED", // INVALID_PURPOSE
];

const STATUS_TO_REFUSAL: Record<number, RefusalCode> = {
  [AccessorStatusCode.UNKNOWN]: "UNKNOWN_READER",
  [AccessorStatusCode.SUSPENDED]: "SUSPENDED",
  [AccessorStatusCode.CREDENTIAL_EXPIRED]: "CREDENTIAL_EXPIRED",
  [AccessorStatusCode.ORGANIZATION_SUSPENDED]: "ORGANIZATION_SUSPENDED",
};

/** Refusals logged without a reader: the request did not authenticate one. */
const UNAUTHENTICATED: ReadonlySet<RefusalCode> = new Set([
  "BAD_REQUEST",
  "WRONG_KEYHOLDER",
  "EXPIRED",
  "EXPIRY_TOO_FAR",
  "BAD_SIGNATURE",
  "RATE_LIMITED",
]);

const ZERO32: Hex = `0x${"00".repeat(32)}`;
const lower = (a: string) => a.toLowerCase();

class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    readonly burst: number,
    readonly perSecond: number,
  ) {}
  take(key: string, now: number): boolean {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size > 100_000) this.#buckets.clear();
      b = { tokens: this.burst, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export async function createKeyholderCore(opts: KeyholderCoreOptions): Promise<KeyholderCore> {
  const config: CoreConfig = { ...DEFAULT_CORE_CONFIG, ...opts.config };
  const { chain, store, identity } = opts;
  const now = opts.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const wallet = new Wallet(hexlify(identity.signingKey));
  const account = wallet.address;
  const domain = keyholderDomain(chain.chainId, chain.keyholderRegistry);
  const buckets = new TokenBuckets(config.rateLimit.burst, config.rateLimit.perSecond);
  const privateKeys = new Map<number, Uint8Array>([[identity.keyVersion, identity.x25519.privateKey]]);
  for (const k of opts.previousKeys ?? []) privateKeys.set(k.keyVersion, k.privateKey);
  const noncesInFlight = new Set<string>();
  const checkSignature = signatureChecker();

  const signingKey = new SigningKey(hexlify(identity.signingKey));
  const atRest = secretBinding({
    chainId: chain.chainId,
    keyholderRegistry: chain.keyholderRegistry,
    account: `0x${"00".repeat(20)}`,
    recipient: 0,
  });

  /**
   * The audit key (vault.ts): drawn once, kept sealed to this keyholder's own X25519 key; re-sealed
   * to the current key version after a rotation (the previous key must be configured until then).
   */
  function loadAuditKey(): Uint8Array {
    const stored = store.getMeta("auditKey");
    if (stored === undefined) {
      if (store.lastLog() !== undefined) {
        throw new StorageError(
          "This keyholder database holds a release log of format v1 (unkeyed); start from a fresh data directory",
        );
      }
      const fresh = randomBytes(32);
      storeAuditKey(fresh);
      return fresh;
    }
    const slot = getBytes(stored);
    const { keyVersion } = openingSlotHeader(slot);
    const key = openPayload({
      slot,
      kind: OpeningKind.SECRET,
      recipientPrivateKey: privateKeyFor(keyVersion),
      binding: atRest,
    });
    if (keyVersion !== identity.keyVersion) storeAuditKey(key);
    return key;
  }
  function storeAuditKey(key: Uint8Array): void {
    const slot = sealPayload({
      kind: OpeningKind.SECRET,
      payload: key,
      recipientPublicKey: identity.x25519.publicKey,
      recipientKeyVersion: identity.keyVersion,
      binding: atRest,
    });
    store.setMeta("auditKey", hexlify(slot));
  }
  function privateKeyFor(version: number): Uint8Array {
    const key = privateKeys.get(version);
    if (key === undefined)
      refuse("INTERNAL", "This keyholder lacks the key its share is sealed to", `key version ${version}`);
    return key;
  }
  const auditKey = loadAuditKey();
  const auditKeys = deriveAuditKeys(auditKey);

  let keyholderId = Number(store.getMeta("keyholderId") ?? 0);
  let log = new ReleaseLog(
    store,
    auditKeys,
    genesisHead(auditKeys.macKey, chain.chainId, chain.keyholderRegistry, Math.max(keyholderId, 1)),
  );

  const ready = (): number => {
    if (keyholderId === 0) refuse("NOT_READY", "This keyholder is not registered in KeyholderRegistry yet");
    return keyholderId;
  };

  /** Wraps a chain read: an RPC failure is CHAIN_UNAVAILABLE, never a crash. */
  async function onChain<T>(what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (err instanceof KeyholderRefusal) throw err;
      return refuse(
        "CHAIN_UNAVAILABLE",
        `Reading the chain failed (${what})`,
        String((err as Error).message).slice(0, 200),
      );
    }
  }

  const shareContext = (subject: Hex, recordId: Hex, id: number, epoch: string, x: number): ShareContext => ({
    chainId: chain.chainId,
    keyholderRegistry: chain.keyholderRegistry,
    recordRegistry: chain.recordRegistry,
    subject,
    recordId,
    keyholderId: id,
    epoch: BigInt(epoch),
    x,
  });

  function checkExpiry(expiry: number): void {
    const t = nowSeconds();
    if (expiry < t) refuse("EXPIRED", "The request has expired", `expiry ${expiry}, now ${t}`);
    if (expiry > t + config.maxRequestLifetimeSeconds) {
      refuse("EXPIRY_TOO_FAR", "The request's expiry is too far ahead", `max ${config.maxRequestLifetimeSeconds}s`);
    }
  }

  function rateLimit(reader: string): void {
    if (!buckets.take(lower(reader), now())) refuse("RATE_LIMITED", "Too many requests from this reader");
  }

  async function logRefusal(
    err: unknown,
    entry: Omit<LogEntry, "seq" | "at" | "kind" | "code">,
    alsoWrite: ((w: DurableWriter) => void)[] = [],
  ): Promise<never> {
    if (err instanceof KeyholderRefusal && keyholderId !== 0) {
      const authenticated = !UNAUTHENTICATED.has(err.refusal);
      const write = log.prepare(
        authenticated ? { ...entry, kind: "refusal", code: err.refusal } : { kind: "refusal", code: err.refusal },
      );
      await store.commit([...alsoWrite, write]).catch(() => undefined);
    }
    throw err;
  }

  function openOwn(share: StoredShare): Uint8Array {
    return openShare({
      slot: share.slot,
      recipientPrivateKey: privateKeyFor(share.keyVersion),
      context: shareContext(share.subject, share.recordId, keyholderId, share.epoch, share.x),
    });
  }

  function storedManifest(share: StoredShare): ShareManifest {
    const m = store.manifest(share.subject, share.recordId, share.epoch);
    if (m === undefined) return refuse("INTERNAL", "The record's manifest is missing");
    return JSON.parse(m.json) as ShareManifest;
  }

  /** 11. The record at the latest block: exists, not erased, anchored by the manifest's writer. */
  async function checkRecord(share: StoredShare, block: BlockRef): Promise<RecordState> {
    const state = await onChain("record", () => chain.record(share.subject, share.recordId, block.number));
    if (state === undefined) refuse("UNKNOWN_RECORD", "The record is not anchored");
    if (state.erasedAt !== 0) refuse("ERASED", "The record was erased");
    const anchoredBy = await onChain("anchor", () => chain.anchoredBy(share.subject, share.recordId));
    const writer = store.manifest(share.subject, share.recordId, share.epoch)?.writer;
    if (anchoredBy === undefined || writer === undefined || lower(anchoredBy) !== lower(writer)) {
      refuse("MANIFEST_MISMATCH", "The shares were not deposited by the account that anchored the record");
    }
    if (share.state === "pending") store.activate(share.subject, share.recordId, share.epoch);
    return state;
  }

  function decisionRefusal(reason: number): RefusalCode {
    return DENY_TO_REFUSAL[reason] ?? "NOT_PERMITTED";
  }

  async function requireActive(reader: string, block: number): Promise<{ orgId: number; roles: number }> {
    const s = await onChain("accessorStatus", () => chain.accessorStatus(reader, block));
    const code = STATUS_TO_REFUSAL[s.status];
    if (code !== undefined) refuse(code, "The reader is not an active practitioner");
    return s;
  }

  /** 12. The basis of the access still holds at the latest block. */
  async function checkBasis(reader: string, subject: Hex, category: number, access: AccessEvent, block: BlockRef) {
    if (access.basis === AccessBasisCode.SUBJECT) {
      const acts = await onChain("actsFor", () => chain.actsFor(subject, reader, POWER_ACCESS, block.number));
      if (!acts) refuse("REVOKED", "The reader no longer acts for the subject");
      return;
    }
    if (access.basis === AccessBasisCode.CONSENT) {
      const d = await onChain("check", () =>
        chain.checkWithHint(reader, subject, category, access.purpose, ACTION_READ, access.basisId, block.number),
      );
      if (!d.allowed) refuse(decisionRefusal(d.reason), "The consent the access was logged under no longer allows it");
      if (lower(d.consentId) !== lower(access.basisId)) refuse("REVOKED", "The access's consent no longer applies");
      return;
    }
    if (access.basis === AccessBasisCode.EMERGENCY) {
      const session = await onChain("session", () => chain.emergencySession(BigInt(access.basisId), block.number));
      if (
        session === undefined ||
        lower(session.responder) !== lower(reader) ||
        lower(session.subject) !== lower(subject) ||
        session.expiresAt <= block.timestamp ||
        session.outcome === ReviewOutcomeCode.UNJUSTIFIED
      ) {
        refuse("SESSION_CLOSED", "The break-glass session is closed");
      }
      if (await onChain("optOut", () => chain.breakGlassOptedOut(subject, block.number))) {
        refuse("OPTED_OUT", "The subject has opted out of break-glass access");
      }
      await requireActive(reader, block.number);
      const deny = await onChain("findDeny", () =>
        chain.findDeny(reader, subject, 1 << category, access.purpose, ACTION_READ, block.number),
      );
      if (lower(deny) !== ZERO32) refuse("DENIED", "A deny of the subject now names the reader");
      return;
    }
    if (access.basis === AccessBasisCode.STUDY && chain.studyRead !== undefined) {
      // A custodian's read for a study (issue 12): the study and the subject's research consents, now.
      const d = await onChain("study", () => chain.studyRead!(reader, subject, category, access.basisId, block.number));
      if (!d.allowed) refuse(decisionRefusal(d.reason), "The study read is no longer allowed");
      return;
    }
    refuse("NO_ACCESS_EVENT", "The access has no basis");
  }

  /** 13. The reader's currently registered key for this basis. */
  async function readerKey(reader: string, subject: Hex, basis: number, block: number): Promise<RegisteredKey> {
    let key: RegisteredKey | undefined;
    if (basis === AccessBasisCode.SUBJECT) {
      const controller = await onChain("controller", () => chain.controllerOf(subject, block));
      key =
        lower(controller) === lower(reader)
          ? await onChain("patientKey", () => chain.patientKey(subject, block))
          : await onChain("accountKey", () => chain.accountKey(reader, block));
    } else {
      key = await onChain("practitionerKey", () => chain.practitionerKey(reader, block));
    }
    if (key === undefined || lower(key.key) === ZERO32)
      refuse("NO_READER_KEY", "The reader has no registered X25519 key");
    return key;
  }

  async function currentSet(): Promise<KeyholderSet> {
    return onChain("keyholderSet", () => chain.keyholderSet());
  }

  async function keyholderAccount(id: number): Promise<KeyholderMember | undefined> {
    return onChain("keyholder", () => chain.keyholder(id));
  }

  /** The signer must be an active keyholder of the current set. */
  function requireMember(set: KeyholderSet, signer: string): KeyholderMember {
    const member = set.members.find((m) => lower(m.account) === lower(signer));
    if (member === undefined) refuse("NOT_KEYHOLDER", "The request is not signed by an active keyholder");
    return member;
  }

  function checkPlan(deal: ReshareDeal, set: KeyholderSet): void {
    const ids = set.members.map((m) => m.id);
    const sameIds = deal.newIds.length === ids.length && deal.newIds.every((id, i) => id === ids[i]);
    if (deal.toEpoch !== set.epoch.toString() || deal.newThreshold !== set.threshold || !sameIds) {
      refuse("STALE_EPOCH", "The resharing plan does not match the registry's current set");
    }
    if (deal.newXs.length !== deal.newIds.length || new Set(deal.newXs).size !== deal.newXs.length) {
      refuse("RESHARE_INVALID", "The new x coordinates must be distinct, one per new keyholder");
    }
    if (BigInt(deal.fromEpoch) >= BigInt(deal.toEpoch)) refuse("RESHARE_INVALID", "fromEpoch must precede toEpoch");
  }

  const dealValue = (deal: ReshareDeal) => ({
    ...deal,
    fromEpoch: BigInt(deal.fromEpoch),
    toEpoch: BigInt(deal.toEpoch),
  });

  async function anchoredByOf(subject: Hex, recordId: Hex): Promise<string> {
    const by = await onChain("anchor", () => chain.anchoredBy(subject, recordId));
    if (by === undefined) refuse("UNKNOWN_RECORD", "The record is not anchored");
    return by;
  }

  async function accountMap(manifest: ShareManifest): Promise<Map<number, string>> {
    const ids = new Set(manifest.current.shares.map((s) => s.keyholderId));
    const out = new Map<number, string>();
    for (const id of ids) {
      const m = await keyholderAccount(id);
      if (m !== undefined) out.set(id, m.account);
    }
    return out;
  }

  // ───────────────────────────── sealed labels ─────────────────────────────

  /** One message for every sealed refusal: the reason goes to the keyed log only. */
  const SEALED_MESSAGE = "The sealed-label policy refuses the read";
  const labelsCache = new Map<string, number>();
  const termsCache = new Map<string, SealedTermsOpening>();
  const remember = <V>(m: Map<string, V>, k: string, v: V) => {
    if (m.size >= 50_000) m.delete(m.keys().next().value as string);
    m.set(k, v);
  };

  const openingBinding = (kind: number, subject: Hex, id: Hex, recipient: number): OpeningBinding => ({
    chainId: chain.chainId,
    keyholderRegistry: chain.keyholderRegistry,
    registry: kind === OpeningKind.LABELS ? chain.recordRegistry : chain.consentRegistry,
    subject,
    id,
    recipient,
  });

  /** Opens an opening sealed to this keyholder; BAD_OPENING if it does not open for this record or consent. */
  function openIncoming(kind: 1 | 2, subject: Hex, id: Hex, slotHex: Hex): Uint8Array {
    const slot = getBytes(slotHex);
    try {
      const { keyVersion } = openingSlotHeader(slot);
      return openPayload({
        slot,
        kind,
        recipientPrivateKey: privateKeyFor(keyVersion),
        binding: openingBinding(kind, subject, id, keyholderId),
      });
    } catch {
      return refuse("BAD_OPENING", "The opening does not open with this keyholder's key for this record or consent");
    }
  }

  function putOpening(kind: 1 | 2, subject: Hex, id: Hex, payload: Uint8Array, verified: boolean): void {
    store.putOpening({
      kind,
      subject,
      id,
      sealed: sealVault(auditKeys.vaultKey, kind, subject, id, payload),
      verified,
      createdAt: nowSeconds(),
    });
    labelsCache.delete(`${subject}:${id}`);
    termsCache.delete(`${subject}:${id}`);
  }

  /** The record's verified label mask, or undefined when its opening is missing or does not match the anchor. */
  async function labelsOf(subject: Hex, recordId: Hex): Promise<number | undefined> {
    const key = `${subject}:${recordId}`;
    const cached = labelsCache.get(key);
    if (cached !== undefined) return cached;
    const row = store.opening(OpeningKind.LABELS, subject, recordId);
    if (row === undefined) return undefined;
    let opening: LabelOpening;
    try {
      opening = decodeLabelPayload(
        openVault(auditKeys.vaultKey, OpeningKind.LABELS, subject, recordId, row.sealed),
        subject,
        recordId,
      );
    } catch {
      return undefined;
    }
    if (!row.verified) {
      const commitment = await onChain("labelCommitment", () => chain.labelCommitment(subject, recordId));
      if (commitment === undefined || !labelOpeningMatches(opening, subject, recordId, commitment)) return undefined;
      store.markOpeningVerified(OpeningKind.LABELS, subject, recordId);
    }
    remember(labelsCache, key, opening.labels);
    return opening.labels;
  }

  /** A consent's verified sealed terms (checked against ConsentGranted when accepted), or undefined. */
  function termsOf(subject: Hex, consentId: Hex): SealedTermsOpening | undefined {
    const key = `${subject}:${consentId}`;
    const cached = termsCache.get(key);
    if (cached !== undefined) return cached;
    const row = store.opening(OpeningKind.TERMS, subject, consentId);
    if (row === undefined || !row.verified) return undefined;
    try {
      const opening = decodeTermsPayload(
        openVault(auditKeys.vaultKey, OpeningKind.TERMS, subject, consentId, row.sealed),
        subject,
      );
      remember(termsCache, key, opening);
      return opening;
    } catch {
      return undefined;
    }
  }

  /** The subject's denies whose public terms bind `reader` for `purpose` at `block` (its three deny lists). */
  async function bindingDenies(reader: string, subject: Hex, purpose: number, block: BlockRef): Promise<Hex[]> {
    const s = await onChain("accessorStatus", () => chain.accessorStatus(reader, block.number));
    const lists: [number, number][] = [[GranteeKindCode.ORG_ROLE, 0]];
    if (s.practitionerId !== 0) lists.push([GranteeKindCode.PRACTITIONER, s.practitionerId]);
    if (s.orgId !== 0) lists.push([GranteeKindCode.ORG_ROLE, s.orgId]);
    const listed = await Promise.all(
      lists.map(([kind, grantee]) =>
        onChain("listedConsents", () => chain.listedConsents(subject, EffectCode.DENY, kind, grantee, block.number)),
      ),
    );
    const ids = [...new Set(listed.flat())];
    const terms = await Promise.all(
      ids.map((id) => onChain("consent", () => chain.consent(subject, id, block.number))),
    );
    return ids.filter((_, i) => {
      const c = terms[i];
      return c !== undefined && denyBinds(c, { ...s, account: reader }, purpose, block.timestamp);
    });
  }

  /** The sealed rule at every block of `blocks` (policy.ts); undefined when it passes. */
  async function sealedReason(p: {
    reader: string;
    subject: Hex;
    recordId: Hex;
    category: number;
    basis: number;
    permitId?: Hex;
    purpose: number;
    blocks: BlockRef[];
  }): Promise<SealedReason | undefined> {
    if (p.basis === AccessBasisCode.SUBJECT) return undefined;
    const [labels, ...perBlock] = await Promise.all([
      labelsOf(p.subject, p.recordId),
      ...p.blocks.map((b) => bindingDenies(p.reader, p.subject, p.purpose, b)),
    ]);
    const denies = new Map<string, SealedTermsOpening | undefined>();
    for (const ids of perBlock) for (const id of ids) denies.set(id, termsOf(p.subject, id));
    const verdict = evaluateSealed({
      basis: p.basis,
      category: p.category,
      labels: labels,
      permit: p.permitId === undefined ? undefined : termsOf(p.subject, p.permitId),
      denies: [...denies.values()],
    });
    return verdict.allowed ? undefined : verdict.reason;
  }

  /** The record's custodian keyholder (policy.ts) in the current set. */
  async function custodianOf(custodianOrg: number): Promise<KeyholderMember | undefined> {
    const set = await currentSet();
    const id = custodianKeyholderId(set.members, custodianOrg);
    return set.members.find((m) => m.id === id);
  }

  function issueToken(r: KeyReleaseRequest, me: number): SignedPolicyToken {
    const token = {
      keyholderId: me,
      reader: r.reader,
      subject: r.subject,
      recordId: r.recordId,
      accessTx: r.accessTx,
      expiry: nowSeconds() + config.policyTokenLifetimeSeconds,
    };
    const signature = signingKey.sign(typedDigest(domain, POLICY_TOKEN_TYPES, token)).serialized as Hex;
    return { token, signature };
  }

  /** 14 (other keyholders). The custodian keyholder's token for exactly this release, unexpired. */
  function checkToken(t: SignedPolicyToken | undefined, r: KeyReleaseRequest, custodian: KeyholderMember | undefined) {
    if (t === undefined) refuse("TOKEN_MISSING", "A policy token from the record's custodian keyholder is required");
    const k = t.token;
    if (custodian === undefined || k.keyholderId !== custodian.id)
      refuse("TOKEN_INVALID", "The token is not from the record's custodian keyholder");
    if (
      lower(k.reader) !== lower(r.reader) ||
      k.subject !== r.subject ||
      k.recordId !== r.recordId ||
      k.accessTx !== r.accessTx
    ) {
      refuse("TOKEN_INVALID", "The token is for another release");
    }
    const t0 = nowSeconds();
    if (k.expiry < t0) refuse("TOKEN_EXPIRED", "The policy token has expired", `expiry ${k.expiry}, now ${t0}`);
    if (k.expiry > t0 + config.policyTokenLifetimeSeconds + config.maxClockSkewSeconds)
      refuse("TOKEN_INVALID", "The token's expiry is too far ahead");
    try {
      checkSignature(domain, POLICY_TOKEN_TYPES, { ...k }, t.signature, custodian.account);
    } catch {
      refuse("TOKEN_INVALID", "The token is not signed by the custodian keyholder's registered account");
    }
  }

  /** An active AUDITOR of a REGULATOR organization or of this keyholder's own organization; its key. */
  async function requireAuditor(auditor: string): Promise<RegisteredKey> {
    const block = await onChain("latest", () => chain.latest());
    const s = await onChain("accessorStatus", () => chain.accessorStatus(auditor, block.number));
    if (s.status !== AccessorStatusCode.ACTIVE || (s.roles & ROLE_AUDITOR) === 0) {
      refuse("NOT_AUDITOR", "Only an active auditor may export");
    }
    const own = await keyholderAccount(keyholderId);
    if (s.orgId !== own?.orgId) {
      const kind = await onChain("organization", () => chain.organizationKind(s.orgId, block.number));
      if (kind !== ORG_KIND_REGULATOR)
        refuse("NOT_AUDITOR", "Only auditors of a regulator or of this keyholder's organization may export");
    }
    const key = await onChain("practitionerKey", () => chain.practitionerKey(auditor, block.number));
    if (key === undefined || lower(key.key) === ZERO32) refuse("NO_READER_KEY", "The auditor has no registered key");
    return key;
  }

  function auditGrant(auditor: string, key: RegisteredKey): AuditKeyGrant {
    const slot = sealPayload({
      kind: OpeningKind.SECRET,
      payload: auditKey,
      recipientPublicKey: getBytes(key.key),
      recipientKeyVersion: key.version,
      binding: secretBinding({
        chainId: chain.chainId,
        keyholderRegistry: chain.keyholderRegistry,
        account: auditor,
        recipient: 0,
      }),
    });
    return { slot: hexlify(slot) as Hex, keyVersion: key.version };
  }

  /** The permits a consent read could be logged under: the unhinted choice first, then the reader's listed permits that allow it. */
  async function preflightPermits(
    reader: string,
    subject: Hex,
    category: number,
    purpose: number,
    unhinted: Hex,
    block: BlockRef,
  ): Promise<Hex[]> {
    const s = await onChain("accessorStatus", () => chain.accessorStatus(reader, block.number));
    const lists: [number, number][] = [[GranteeKindCode.ORG_ROLE, 0]];
    if (s.practitionerId !== 0) lists.unshift([GranteeKindCode.PRACTITIONER, s.practitionerId]);
    if (s.orgId !== 0) lists.splice(1, 0, [GranteeKindCode.ORG_ROLE, s.orgId]);
    const listed = await Promise.all(
      lists.map(([kind, grantee]) =>
        onChain("listedConsents", () => chain.listedConsents(subject, EffectCode.PERMIT, kind, grantee, block.number)),
      ),
    );
    const others = [...new Set(listed.flat())].filter((id) => id !== unhinted);
    const decisions = await Promise.all(
      others.map((id) =>
        onChain("check", () => chain.checkWithHint(reader, subject, category, purpose, ACTION_READ, id, block.number)),
      ),
    );
    return [unhinted, ...others.filter((id, i) => decisions[i]!.allowed && lower(decisions[i]!.consentId) === id)];
  }

  const core: KeyholderCore = {
    get keyholderId() {
      return keyholderId;
    },
    account,
    domain,
    get log() {
      return log;
    },

    async refreshIdentity() {
      const failing: string[] = [];
      if (!store.isOpen()) failing.push("database closed");
      try {
        const id = await chain.keyholderOf(account);
        if (id === 0) failing.push(`account ${account} is not a keyholder in KeyholderRegistry`);
        else {
          const me = await chain.keyholder(id);
          if (me === undefined || !me.active) failing.push(`keyholder ${id} is not active`);
          else if (
            lower(me.encryptionKey) !== lower(hexlify(identity.x25519.publicKey)) ||
            me.keyVersion !== identity.keyVersion
          ) {
            failing.push(`keyholder ${id}'s registered X25519 key (version ${me.keyVersion}) is not the keystore's`);
          }
          if (keyholderId !== id) {
            keyholderId = id;
            store.setMeta("keyholderId", String(id));
            log = new ReleaseLog(
              store,
              auditKeys,
              genesisHead(auditKeys.macKey, chain.chainId, chain.keyholderRegistry, id),
            );
          }
        }
      } catch (err) {
        failing.push(`RPC unreachable: ${String((err as Error).message).slice(0, 120)}`);
      }
      return failing;
    },

    async info() {
      const set = await currentSet();
      return {
        keyholderId: ready(),
        account,
        chainId: Number(chain.chainId),
        keyholderRegistry: chain.keyholderRegistry,
        epoch: set.epoch.toString(),
        keyVersion: identity.keyVersion,
      };
    },

    async deposit(body) {
      const me = ready();
      const { manifest, slot, labelOpening } = parseDeposit(body);
      const { origin } = manifest;
      const writer = manifestWriter(domain, manifest);
      try {
        if (lower(origin.recordRegistry) !== lower(chain.recordRegistry))
          refuse("BAD_REQUEST", "Wrong record registry");
        if (
          manifest.current.epoch !== origin.epoch ||
          JSON.stringify(manifest.current.shares) !== JSON.stringify(origin.shares)
        ) {
          refuse("BAD_REQUEST", "A deposit's current shares must be the writer's own");
        }
        const entry = origin.shares.find((s) => s.keyholderId === me);
        if (entry === undefined) refuse("WRONG_KEYHOLDER", "The manifest gives this keyholder no share");
        const set = await currentSet();
        const ids = set.members.map((m) => m.id);
        const listed = origin.shares.map((s) => s.keyholderId);
        if (
          origin.epoch !== set.epoch.toString() ||
          origin.threshold !== set.threshold ||
          listed.length !== ids.length ||
          !listed.every((id, i) => id === ids[i]) ||
          new Set(origin.shares.map((s) => s.x)).size !== listed.length
        ) {
          refuse(
            "STALE_EPOCH",
            "The manifest does not match the registry's current keyholder set",
            `epoch ${set.epoch}`,
          );
        }
        const block = await onChain("latest", () => chain.latest());
        const status = await onChain("accessorStatus", () => chain.accessorStatus(writer, block.number));
        if (
          status.status !== AccessorStatusCode.ACTIVE &&
          !(await onChain("actsFor", () => chain.actsFor(origin.subject, writer, POWER_ACCESS, block.number)))
        ) {
          refuse("NOT_WRITER", "The writer may not anchor records for this subject");
        }
        const state = await onChain("record", () => chain.record(origin.subject, origin.recordId, block.number));
        if (state !== undefined) {
          if (state.erasedAt !== 0) refuse("ERASED", "The record was erased");
          const by = await anchoredByOf(origin.subject, origin.recordId);
          if (lower(by) !== lower(writer)) refuse("ANCHORED_BY_OTHER", "Another account anchored this record");
        }
        const slotBytes = getBytes(slot);
        if (shareSlotKeyVersion(slotBytes) !== identity.keyVersion) {
          refuse("BAD_SHARE", "The share is sealed to another key version of this keyholder");
        }
        const ctx = shareContext(origin.subject, origin.recordId, me, origin.epoch, entry.x);
        let share: Uint8Array;
        try {
          share = openShare({ slot: slotBytes, recipientPrivateKey: identity.x25519.privateKey, context: ctx });
        } catch {
          return refuse("BAD_SHARE", "The share does not open with this keyholder's key");
        }
        const commitment = shareCommitment(ctx, share);
        share.fill(0);
        if (commitment !== lower(entry.commitment)) refuse("BAD_SHARE", "The share does not match its commitment");
        if (labelOpening !== undefined) {
          // The custodian keyholder's copy of the record's labels: checked against the anchor now if
          // the record is anchored, else at its first preflight or release.
          const payload = openIncoming(OpeningKind.LABELS, origin.subject, origin.recordId, labelOpening);
          const opening = decodeLabelPayload(payload, origin.subject, origin.recordId);
          let verified = false;
          if (state !== undefined) {
            const anchored = await onChain("labelCommitment", () =>
              chain.labelCommitment(origin.subject, origin.recordId),
            );
            if (anchored === undefined || !labelOpeningMatches(opening, origin.subject, origin.recordId, anchored))
              refuse("OPENING_MISMATCH", "The label opening does not open the record's anchored commitment");
            verified = true;
          }
          putOpening(OpeningKind.LABELS, origin.subject, origin.recordId, payload, verified);
        }
        const existing = store.shareAt(origin.subject, origin.recordId, origin.epoch);
        if (existing !== undefined) {
          const previous = store.manifest(origin.subject, origin.recordId, origin.epoch);
          if (previous !== undefined && lower(previous.writer) !== lower(writer)) {
            refuse("CONFLICT", "Another writer deposited shares for this record");
          }
          if (existing.commitment === commitment) return { keyholderId: me, commitment };
          if (existing.state === "active") refuse("CONFLICT", "The record's shares are already active");
        }
        store.putShare({
          subject: origin.subject,
          recordId: origin.recordId,
          epoch: origin.epoch,
          x: entry.x,
          keyVersion: identity.keyVersion,
          slot: slotBytes,
          commitment,
          state: state === undefined ? "pending" : "active",
          createdAt: nowSeconds(),
        });
        store.putManifest(origin.subject, origin.recordId, origin.epoch, writer, JSON.stringify(manifest));
        await log.append({
          kind: "deposit",
          reader: writer,
          subject: origin.subject,
          recordId: origin.recordId,
          epoch: origin.epoch,
        });
        return { keyholderId: me, commitment };
      } catch (err) {
        return logRefusal(err, { reader: writer, subject: origin.subject, recordId: origin.recordId });
      }
    },

    async preflight(body) {
      const me = ready();
      const { request: r, signature } = parseSigned(body, parsePreflight);
      let reader: string | undefined;
      let detail: SealedReason | undefined;
      try {
        if (!r.keyholderIds.includes(me)) refuse("WRONG_KEYHOLDER", "The request is not addressed to this keyholder");
        checkExpiry(r.expiry);
        checkSignature(domain, KEY_PREFLIGHT_TYPES, { ...r }, signature, r.reader);
        reader = r.reader;
        rateLimit(reader);
        const share = store.latestShare(r.subject, r.recordId);
        if (share === undefined) refuse("UNKNOWN_RECORD", "This keyholder holds no share of the record");
        // A record anchored a moment ago may postdate the cached latest block: read it anew then.
        let block = await onChain("latest", () => chain.latest());
        if ((await onChain("record", () => chain.record(r.subject, r.recordId, block.number))) === undefined)
          block = await onChain("latest", () => chain.latest(true));
        const state = await checkRecord(share, block);
        const { category } = state;
        let basis: number = AccessBasisCode.CONSENT;
        let unhinted: Hex | undefined;
        if (await onChain("actsFor", () => chain.actsFor(r.subject, reader!, POWER_ACCESS, block.number))) {
          basis = AccessBasisCode.SUBJECT;
        } else {
          const d = await onChain("check", () =>
            chain.checkWithHint(reader!, r.subject, category, r.purpose, ACTION_READ, ZERO32, block.number),
          );
          if (d.allowed) unhinted = lower(d.consentId) as Hex;
          else {
            const emergency = r.purpose === PURPOSE_ETREAT || r.purpose === PURPOSE_BTG;
            if (!emergency || d.reason === 9 /* DENIED_BY_SUBJECT */)
              refuse(decisionRefusal(d.reason), "The read would not be allowed");
            const s = await requireActive(reader, block.number);
            if ((s.roles & ROLE_EMERGENCY_RESPONDER) === 0)
              refuse("NOT_PERMITTED", "The reader is not an emergency responder");
            if (await onChain("optOut", () => chain.breakGlassOptedOut(r.subject, block.number))) {
              refuse("OPTED_OUT", "The subject has opted out of break-glass access");
            }
            const deny = await onChain("findDeny", () =>
              chain.findDeny(reader!, r.subject, 1 << category, r.purpose, ACTION_READ, block.number),
            );
            if (lower(deny) !== ZERO32) refuse("DENIED", "A deny of the subject names the reader");
            basis = AccessBasisCode.EMERGENCY;
          }
        }
        await readerKey(reader, r.subject, basis, block.number);
        // The sealed rule: only the record's custodian keyholder holds its label opening.
        if ((await custodianOf(state.custodian))?.id !== me) return { ok: true, keyholderId: me, custodian: false };
        const ask = (permitId?: Hex) =>
          sealedReason({
            reader: reader!,
            subject: r.subject,
            recordId: r.recordId,
            category,
            basis,
            ...(permitId === undefined ? {} : { permitId }),
            purpose: r.purpose,
            blocks: [block],
          });
        if (basis !== AccessBasisCode.CONSENT) {
          detail = await ask();
          if (detail !== undefined) refuse("SEALED_DENIED", SEALED_MESSAGE);
          return { ok: true, keyholderId: me, custodian: true };
        }
        // A consent read: the permit the contract would pick, then the reader's other listed permits
        // that allow it publicly; every candidate is evaluated (no early exit on the labels).
        const permits = await preflightPermits(reader, r.subject, category, r.purpose, unhinted!, block);
        const reasons = await Promise.all(permits.map((id) => ask(id)));
        const passing = permits.findIndex((_, i) => reasons[i] === undefined);
        if (passing < 0) {
          detail = reasons[0] ?? "PERMIT_OPENING_MISSING";
          refuse("SEALED_DENIED", SEALED_MESSAGE);
        }
        return { ok: true, keyholderId: me, custodian: true, consentHint: permits[passing]! };
      } catch (err) {
        if (reader === undefined || !(err instanceof KeyholderRefusal)) throw err;
        return logRefusal(err, {
          reader,
          subject: r.subject,
          recordId: r.recordId,
          ...(detail === undefined ? {} : { detail }),
        });
      }
    },

    async release(body) {
      const me = ready();
      // 1. shape
      const { request: r, signature, token: presented } = parseReleaseBody(body);
      let reader: string | undefined;
      let nonceKey: string | undefined;
      let nonceWrite: ((w: DurableWriter) => void) | undefined;
      let detail: SealedReason | undefined;
      let decidedAt: number | undefined;
      try {
        // 2. this keyholder; 3. expiry; 4. signature; 5. rate limit
        if (!r.keyholderIds.includes(me)) refuse("WRONG_KEYHOLDER", "The request is not addressed to this keyholder");
        checkExpiry(r.expiry);
        checkSignature(domain, KEY_RELEASE_TYPES, { ...r }, signature, r.reader);
        reader = r.reader;
        rateLimit(reader);
        // 6. nonce: new; held in memory now, stored with the answer's log entry in one commit
        nonceKey = `${lower(reader)}:${r.nonce}`;
        if (noncesInFlight.has(nonceKey) || store.nonceUsed(reader, r.nonce)) {
          nonceKey = undefined;
          refuse("REPLAYED", "The nonce was used before");
        }
        noncesInFlight.add(nonceKey);
        const readerAddress = reader;
        nonceWrite = (w) => w.insertNonce(readerAddress, r.nonce, r.expiry);
        // 7. a share of the record
        const share = store.latestShare(r.subject, r.recordId);
        if (share === undefined) refuse("UNKNOWN_RECORD", "This keyholder holds no share of the record");
        // 8. the access transaction, confirmed
        const [receipt, cached] = await Promise.all([
          onChain("receipt", () => chain.accessReceipt(r.accessTx)),
          onChain("latest", () => chain.latest()),
        ]);
        if (receipt === null || receipt.status !== 1) refuse("NO_ACCESS_EVENT", "No successful access transaction");
        // An access mined after the cached latest block: read the latest block anew.
        const block = receipt.blockNumber > cached.number ? await onChain("latest", () => chain.latest(true)) : cached;
        if (block.number - receipt.blockNumber + 1 < config.confirmations) {
          refuse("NOT_CONFIRMED", "The access transaction lacks confirmations", `needs ${config.confirmations}`);
        }
        // 9. the access event for this subject, record and reader
        const forRecord = receipt.accesses.filter(
          (a) => lower(a.subject) === r.subject && lower(a.recordId) === r.recordId,
        );
        if (forRecord.length === 0) refuse("NO_ACCESS_EVENT", "The transaction logs no access to this record");
        const access = forRecord.find((a) => lower(a.accessor) === lower(reader!));
        if (access === undefined) refuse("ACCESS_NOT_YOURS", "The transaction logs another reader's access");
        // 10. recent by the chain's clock and by ours
        const accessTime = await onChain("block", () => chain.blockTimestamp(receipt.blockNumber));
        const age = Math.max(block.timestamp, nowSeconds()) - accessTime;
        if (age > config.maxAccessAgeSeconds || accessTime > nowSeconds() + config.maxClockSkewSeconds) {
          refuse(
            "STALE_ACCESS",
            "The access is too old",
            `access at ${accessTime}, age ${age}s, max ${config.maxAccessAgeSeconds}s`,
          );
        }
        decidedAt = block.number;
        // 11. the record now; 12. the basis now; 13. the reader's key now
        const state = await checkRecord(share, block);
        const { category } = state;
        await checkBasis(reader, r.subject, category, access, block);
        const key = await readerKey(reader, r.subject, access.basis, block.number);
        // 14. the sealed rule: the custodian keyholder checks it at the access block and now, and
        // signs a policy token; every other keyholder requires that token.
        const custodian = await custodianOf(state.custodian);
        let token: SignedPolicyToken;
        if (custodian?.id === me) {
          detail = await sealedReason({
            reader,
            subject: r.subject,
            recordId: r.recordId,
            category,
            basis: access.basis,
            ...(access.basis === AccessBasisCode.CONSENT ? { permitId: lower(access.basisId) as Hex } : {}),
            purpose: access.purpose,
            blocks: [{ number: receipt.blockNumber, timestamp: accessTime }, block],
          });
          if (detail !== undefined) refuse("SEALED_DENIED", SEALED_MESSAGE);
          token = issueToken(r, me);
        } else {
          checkToken(presented, r, custodian);
          token = presented!;
        }
        const logged: LoggedToken = {
          keyholderId: token.token.keyholderId,
          expiry: token.token.expiry,
          signature: token.signature,
        };
        // 15. re-wrap, log, answer
        const own = openOwn(share);
        const ctx = shareContext(r.subject, r.recordId, me, share.epoch, share.x);
        const slot = sealShare({
          share: own,
          recipientPublicKey: getBytes(key.key),
          recipientKeyVersion: key.version,
          context: ctx,
          release: { reader, nonce: r.nonce },
        });
        own.fill(0);
        await store.commit([
          nonceWrite,
          log.prepare({
            kind: "release",
            reader,
            subject: r.subject,
            recordId: r.recordId,
            accessTx: r.accessTx,
            nonce: r.nonce,
            epoch: share.epoch,
            block: block.number,
            token: logged,
          }),
        ]);
        const answer: ReleaseResult = {
          keyholderId: me,
          x: share.x,
          slot: hexlify(slot) as Hex,
          readerKeyVersion: key.version,
          epoch: share.epoch,
          manifest: storedManifest(share),
        };
        if (custodian?.id === me) answer.policyToken = token;
        return answer;
      } catch (err) {
        if (reader === undefined || !(err instanceof KeyholderRefusal)) {
          if (err instanceof KeyholderRefusal) return logRefusal(err, {});
          throw err;
        }
        return logRefusal(
          err,
          {
            reader,
            subject: r.subject,
            recordId: r.recordId,
            accessTx: r.accessTx,
            nonce: r.nonce,
            ...(detail === undefined ? {} : { detail }),
            ...(decidedAt === undefined ? {} : { block: decidedAt }),
          },
          nonceWrite === undefined ? [] : [nonceWrite],
        );
      } finally {
        if (nonceKey !== undefined) noncesInFlight.delete(nonceKey);
      }
    },

    async erase(body) {
      ready();
      const { subject, recordId } = parseErase(body);
      const block = await onChain("latest", () => chain.latest());
      const state = await onChain("record", () => chain.record(subject, recordId, block.number));
      if (state === undefined || state.erasedAt === 0)
        refuse("NOT_ERASED", "The chain shows no tombstone for this record");
      const deleted = store.deleteRecord(subject, recordId);
      if (deleted > 0) await log.append({ kind: "erase", subject, recordId });
      return { deleted };
    },

    async retire(body) {
      const me = ready();
      const { request: r, signature } = parseSigned(body, parseRetire);
      if (r.keyholderId !== me) refuse("WRONG_KEYHOLDER", "The request is for another keyholder");
      checkExpiry(r.expiry);
      const signer = recoverTypedSigner(domain, KEY_RETIRE_TYPES, { ...r }, signature);
      rateLimit(signer);
      const share = store.latestShare(r.subject, r.recordId);
      if (share === undefined) return { deleted: 0 };
      const block = await onChain("latest", () => chain.latest());
      const writer = store.manifest(r.subject, r.recordId, share.epoch)?.writer;
      const allowed =
        (writer !== undefined && lower(writer) === lower(signer)) ||
        (await onChain("actsFor", () => chain.actsFor(r.subject, signer, POWER_ACCESS, block.number)));
      if (!allowed) refuse("NOT_WRITER", "Only the record's writer or the subject may retire its shares");
      const state = await onChain("record", () => chain.record(r.subject, r.recordId, block.number));
      if (state === undefined || !state.superseded)
        refuse("NOT_SUPERSEDED", "The chain shows no newer version of this record");
      const deleted = store.deleteRecord(r.subject, r.recordId);
      await log.append({ kind: "retire", reader: signer, subject: r.subject, recordId: r.recordId });
      return { deleted };
    },

    async reshareDeal(body) {
      const me = ready();
      const { request: deal, signature } = parseSigned(body, parseDeal);
      checkExpiry(deal.expiry);
      const coordinator = recoverTypedSigner(domain, RESHARE_DEAL_TYPES, dealValue(deal), signature);
      const set = await currentSet();
      requireMember(set, coordinator);
      checkPlan(deal, set);
      if (!deal.quorumIds.includes(me)) refuse("RESHARE_INVALID", "This keyholder is not in the quorum");
      const share = store.shareAt(deal.subject, deal.recordId, deal.fromEpoch);
      if (share === undefined || share.state !== "active") refuse("UNKNOWN_RECORD", "No active share of that epoch");
      const manifest = storedManifest(share);
      if (
        deal.quorumIds.length !== manifest.current.threshold ||
        new Set(deal.quorumIds).size !== deal.quorumIds.length
      ) {
        refuse("RESHARE_INVALID", "The quorum must be exactly k distinct holders");
      }
      const xs = deal.quorumIds.map((id) => {
        const e = manifest.current.shares.find((s) => s.keyholderId === id);
        if (e === undefined) refuse("RESHARE_INVALID", `Keyholder ${id} holds no share of that epoch`);
        return e.x;
      });
      const own = openOwn(share);
      const weighted = gfScale(own.subarray(0, 32), lagrangeAtZero(xs, deal.quorumIds.indexOf(me)));
      own.fill(0);
      const subShares = shareAt(weighted, deal.newXs, deal.newThreshold, (n) => randomBytes(n));
      weighted.fill(0);
      const planHash = typedHash(domain, RESHARE_DEAL_TYPES, dealValue(deal));
      const slots = deal.newIds.map((id, j) => {
        const member = set.members.find((m) => m.id === id)!;
        const slot = sealShare({
          share: subShares[j]!,
          recipientPublicKey: getBytes(member.encryptionKey),
          recipientKeyVersion: member.keyVersion,
          context: shareContext(deal.subject, deal.recordId, id, deal.toEpoch, deal.newXs[j]!),
          release: { reader: account, nonce: planHash },
        });
        subShares[j]!.fill(0);
        return hexlify(slot) as Hex;
      });
      const slotsHash = keccak256(concat(...slots.map((s) => getBytes(s)))) as Hex;
      const sig = (await wallet.signTypedData(domain, RESHARE_SUBSHARES_TYPES, {
        dealerId: me,
        planHash,
        slotsHash,
      })) as Hex;
      await log.append({
        kind: "reshare",
        subject: deal.subject,
        recordId: deal.recordId,
        epoch: deal.toEpoch,
        code: "DEAL",
      });
      return { dealerId: me, slots, signature: sig };
    },

    async reshareAccept(body) {
      const me = ready();
      const { deal: signedDeal, manifest, dealers } = parseAccept(body);
      const deal = signedDeal.request;
      checkExpiry(deal.expiry);
      const coordinator = recoverTypedSigner(domain, RESHARE_DEAL_TYPES, dealValue(deal), signedDeal.signature);
      const set = await currentSet();
      requireMember(set, coordinator);
      checkPlan(deal, set);
      const myIndex = deal.newIds.indexOf(me);
      if (myIndex < 0) refuse("RESHARE_INVALID", "This keyholder is not in the new set");
      if (lower(manifest.origin.subject) !== deal.subject || lower(manifest.origin.recordId) !== deal.recordId) {
        refuse("RESHARE_INVALID", "The manifest is for another record");
      }
      if (manifest.current.epoch !== deal.fromEpoch)
        refuse("RESHARE_INVALID", "The manifest is not of the plan's fromEpoch");
      const accounts = await accountMap(manifest);
      const trusted = trustedShares(domain, manifest, {
        anchoredBy: await anchoredByOf(deal.subject, deal.recordId),
        accountOf: (id) => accounts.get(id),
      });
      if (deal.quorumIds.length !== trusted.threshold || deal.quorumIds.some((id) => !trusted.entries.has(id))) {
        refuse("RESHARE_INVALID", "The quorum is not k trusted holders of the manifest");
      }
      const planHash = typedHash(domain, RESHARE_DEAL_TYPES, dealValue(deal));
      const x = deal.newXs[myIndex]!;
      const ctx = shareContext(deal.subject, deal.recordId, me, deal.toEpoch, x);
      let sum: Uint8Array = new Uint8Array(32);
      const seen = new Set<number>();
      for (const d of dealers) {
        if (!deal.quorumIds.includes(d.dealerId) || seen.has(d.dealerId))
          refuse("RESHARE_INVALID", "Unexpected dealer");
        seen.add(d.dealerId);
        if (d.slots.length !== deal.newIds.length)
          refuse("RESHARE_INVALID", "A dealer's slots do not match the new set");
        const dealerAccount = (await keyholderAccount(d.dealerId))?.account;
        const slotsHash = keccak256(concat(...d.slots.map((s) => getBytes(s))));
        const signer = recoverTypedSigner(
          domain,
          RESHARE_SUBSHARES_TYPES,
          { dealerId: d.dealerId, planHash, slotsHash },
          d.signature,
        );
        if (dealerAccount === undefined || lower(signer) !== lower(dealerAccount)) {
          refuse("RESHARE_INVALID", `Dealer ${d.dealerId}'s signature does not verify`);
        }
        let sub: Uint8Array;
        try {
          sub = openShare({
            slot: getBytes(d.slots[myIndex]!),
            recipientPrivateKey: identity.x25519.privateKey,
            context: ctx,
            release: { reader: dealerAccount, nonce: planHash },
          });
        } catch {
          return refuse("RESHARE_INVALID", `Dealer ${d.dealerId}'s sub-share does not open`);
        }
        sum = gfAdd(sum, sub.subarray(0, 32));
        sub.fill(0);
      }
      if (seen.size !== deal.quorumIds.length)
        refuse("RESHARE_INVALID", "Sub-shares from every quorum member are needed");
      const share = concat(sum, Uint8Array.of(x));
      sum.fill(0);
      const commitment = shareCommitment(ctx, share);
      const slot = sealShare({
        share,
        recipientPublicKey: identity.x25519.publicKey,
        recipientKeyVersion: identity.keyVersion,
        context: ctx,
      });
      share.fill(0);
      store.putShare({
        subject: deal.subject,
        recordId: deal.recordId,
        epoch: deal.toEpoch,
        x,
        keyVersion: identity.keyVersion,
        slot,
        commitment,
        state: "pending",
        createdAt: nowSeconds(),
      });
      store.putManifest(deal.subject, deal.recordId, deal.toEpoch, trusted.writer, JSON.stringify(manifest));
      const entry = { keyholderId: me, x, commitment };
      const attestation = await signAttestation(wallet, domain, manifest, deal.toEpoch, deal.newThreshold, entry);
      await log.append({
        kind: "reshare",
        subject: deal.subject,
        recordId: deal.recordId,
        epoch: deal.toEpoch,
        code: "ACCEPT",
      });
      return { ...entry, attestation };
    },

    async reshareFinalize(body) {
      const me = ready();
      const { manifest } = parseFinalize(body);
      const { subject, recordId } = manifest.origin;
      const set = await currentSet();
      if (manifest.current.epoch !== set.epoch.toString() || manifest.current.epoch === manifest.origin.epoch) {
        refuse("STALE_EPOCH", "The manifest is not a resharing to the current epoch");
      }
      const accounts = await accountMap(manifest);
      const trusted = trustedShares(domain, manifest, {
        anchoredBy: await anchoredByOf(subject, recordId),
        accountOf: (id) => (set.members.some((m) => m.id === id) ? accounts.get(id) : undefined),
      });
      if (trusted.entries.size < manifest.current.threshold || manifest.current.threshold !== set.threshold) {
        refuse("RESHARE_INVALID", "The new manifest lacks k attested shares of the current set");
      }
      let activated = false;
      const mine = trusted.entries.get(me);
      const pending = store.shareAt(subject, recordId, manifest.current.epoch);
      if (mine !== undefined && pending !== undefined && pending.commitment === lower(mine.commitment)) {
        store.putManifest(subject, recordId, manifest.current.epoch, trusted.writer, JSON.stringify(manifest));
        store.activate(subject, recordId, manifest.current.epoch);
        activated = true;
      }
      const deleted = activated
        ? store.deleteOtherEpochs(subject, recordId, manifest.current.epoch)
        : store.deleteRecord(subject, recordId);
      await log.append({ kind: "reshare", subject, recordId, epoch: manifest.current.epoch, code: "FINALIZE" });
      return { deleted, activated };
    },

    async reshareList(body) {
      ready();
      const { request: q, signature } = parseSigned(body, parseReshareList);
      checkExpiry(q.expiry);
      const signer = recoverTypedSigner(domain, RESHARE_LIST_TYPES, { ...q, toEpoch: BigInt(q.toEpoch) }, signature);
      requireMember(await currentSet(), signer);
      return { manifests: store.sharesBelowEpoch(q.toEpoch, q.limit).map((s) => storedManifest(s)) };
    },

    async logHead() {
      const anchors = store.anchors();
      const last = anchors.at(-1);
      return {
        seq: log.seq,
        head: log.head,
        lastAnchor: last === undefined ? null : { seq: last.seq, head: last.head, txHash: last.txHash },
      };
    },

    async logEntries(body) {
      const me = ready();
      const { request: q, signature } = parseSigned(body, parseLogQuery);
      if (q.keyholderId !== me) refuse("WRONG_KEYHOLDER", "The request is for another keyholder");
      checkExpiry(q.expiry);
      const auditor = recoverTypedSigner(domain, LOG_QUERY_TYPES, { ...q }, signature);
      rateLimit(auditor);
      const key = await requireAuditor(auditor);
      const entries = store.logRange(q.fromSeq, q.limit);
      await log.append({ kind: "export", reader: auditor, code: "LOG" });
      return { entries, auditKey: auditGrant(auditor, key) };
    },

    async openingsExport(body) {
      const me = ready();
      const { request: q, signature } = parseSigned(body, parseOpeningsQuery);
      if (q.keyholderId !== me) refuse("WRONG_KEYHOLDER", "The request is for another keyholder");
      checkExpiry(q.expiry);
      const auditor = recoverTypedSigner(domain, OPENINGS_QUERY_TYPES, { ...q }, signature);
      rateLimit(auditor);
      const key = await requireAuditor(auditor);
      const openings = store
        .openingsRange(q.fromRow, q.limit)
        .map((o): ExportedOpening => ({ row: o.row, kind: o.kind, subject: o.subject, id: o.id, sealed: o.sealed }));
      await log.append({ kind: "export", reader: auditor, code: "OPENINGS" });
      return { openings, auditKey: auditGrant(auditor, key) };
    },

    async openings(body) {
      const me = ready();
      const { request: r, signature, slot } = parseOpenings(body);
      const index = r.keyholderIds.indexOf(me);
      if (index < 0) refuse("WRONG_KEYHOLDER", "The request is not addressed to this keyholder");
      checkExpiry(r.expiry);
      const signer = recoverTypedSigner(domain, SEALED_OPENINGS_TYPES, { ...r }, signature);
      rateLimit(signer);
      const kind = r.kind as 1 | 2;
      const where = kind === OpeningKind.LABELS ? { recordId: r.id } : { consentId: r.id };
      try {
        if (keccak256(slot) !== r.slotHashes[index]) refuse("BAD_OPENING", "The slot is not the one signed for");
        const block = await onChain("latest", () => chain.latest());
        const acts = (power: number) => onChain("actsFor", () => chain.actsFor(r.subject, signer, power, block.number));
        let allowed: boolean;
        if (kind === OpeningKind.TERMS) allowed = (await acts(POWER_GRANT)) || (await acts(POWER_REVOKE));
        else {
          const by = await onChain("anchor", () => chain.anchoredBy(r.subject, r.id));
          allowed = (by !== undefined && lower(by) === lower(signer)) || (await acts(POWER_ACCESS));
        }
        if (!allowed)
          refuse(
            "NOT_AUTHORIZED",
            "Only the subject's controller or guardian (or a record's writer) may deliver openings",
          );
        const payload = openIncoming(kind, r.subject, r.id, slot);
        let commitment: Hex | undefined;
        if (kind === OpeningKind.TERMS) {
          commitment = await onChain("sealedTerms", () => chain.sealedTerms(r.subject, r.id));
          if (commitment === undefined) refuse("UNKNOWN_CONSENT", "No ConsentGranted event for this consent");
          if (!termsOpeningMatches(decodeTermsPayload(payload, r.subject), r.subject, commitment))
            refuse("OPENING_MISMATCH", "The opening does not open the consent's sealed-terms commitment");
        } else {
          commitment = await onChain("labelCommitment", () => chain.labelCommitment(r.subject, r.id));
          if (commitment === undefined) refuse("UNKNOWN_RECORD", "The record is not anchored");
          if (!labelOpeningMatches(decodeLabelPayload(payload, r.subject, r.id), r.subject, r.id, commitment))
            refuse("OPENING_MISMATCH", "The opening does not open the record's label commitment");
        }
        putOpening(kind, r.subject, r.id, payload, true);
        await log.append({ kind: "opening", reader: signer, subject: r.subject, ...where, code: String(kind) });
        return { keyholderId: me, kind, id: r.id, commitment };
      } catch (err) {
        return logRefusal(err, { reader: signer, subject: r.subject, ...where });
      }
    },

    async sweepPending() {
      const stale = store.pendingOlderThan(nowSeconds() - config.pendingTtlSeconds, 500);
      let deleted = 0;
      for (const s of stale) {
        const by = await chain.anchoredBy(s.subject, s.recordId);
        const writer = store.manifest(s.subject, s.recordId, s.epoch)?.writer;
        if (by !== undefined && writer !== undefined && lower(by) === lower(writer))
          store.activate(s.subject, s.recordId, s.epoch);
        else deleted += store.deleteRecord(s.subject, s.recordId);
      }
      return deleted;
    },

    async watchErasures() {
      const latest = await chain.latest();
      const from = Number(store.getMeta("eraseWatchBlock") ?? "-1") + 1;
      if (from > latest.number) return 0;
      let deleted = 0;
      for (const e of await chain.erasures(from, latest.number)) {
        const n = store.deleteRecord(lower(e.subject) as Hex, lower(e.recordId) as Hex);
        if (n > 0) {
          deleted += n;
          await log.append({ kind: "erase", subject: e.subject, recordId: e.recordId });
        }
      }
      store.setMeta("eraseWatchBlock", String(latest.number));
      return deleted;
    },

    async prepareAnchor(padQuantum) {
      const writes = [log.prepare({ kind: "tick" })];
      while (log.seq % Math.max(1, padQuantum) !== 0) writes.push(log.prepare({ kind: "pad" }));
      await store.commit(writes);
      return { seq: log.seq, head: log.head };
    },

    pruneNonces: () => store.pruneNonces(nowSeconds() - 60),
    close: () => store.close(),
  };
  return core;
}
