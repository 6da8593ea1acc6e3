/**
 * The SDK side of the keyholder network: {@link KeyCustody}, the interface `records.put/get/erase/
 * rekey` and `consent.grant` call, and {@link KeyholderNetwork}, which implements it over any
 * transports (HTTP services, or in-process cores as the embedded default). It reads the keyholder
 * set, k and the epoch from KeyholderRegistry (the trust anchor). A release asks the record's
 * custodian keyholder first (it checks the sealed rule and returns its share with a policy token),
 * then every other keyholder in parallel with that token; it checks each released share against
 * the manifest's commitments (the manifest itself against the anchor's `anchoredBy` and the holders'
 * registered accounts), combines the first k valid shares and checks the result against the
 * writer's key check value, trying other k-subsets if a holder lied.
 *
 * @example
 * ```ts
 * import { KeyholderNetwork, contractChainView } from "medledger/keyholder";
 * const network = await KeyholderNetwork.create({ chain: await contractChainView({ provider, addressBook }) });
 * const { consentHint } = await network.preflight({ reader, subject, recordId, purpose: 0 }); // before the access
 * const dataKey = await network.release({ reader, readerKeys, subject, recordId, accessTx });
 * ```
 */
import { getBytes, hexlify, keccak256, randomBytes } from "ethers";
import type { Signer, TypedDataDomain } from "ethers";

import { ErrorCodes, InvalidInputError, MedLedgerError } from "../errors.js";
import { sealLabels, sealTerms } from "../sealed/commitments.js";
import type { LabelOpening, SealedTermsOpening } from "../sealed/commitments.js";
import { OpeningKind, sealLabelOpening, sealTermsOpening } from "../sealed/openings.js";
import type { Hex } from "../types.js";
import type { ChainView, KeyholderMember, KeyholderSet } from "./chainView.js";
import type { KeyholderApi } from "./core.js";
import { buildManifest, trustedShares } from "./manifest.js";
import type { TrustedShares } from "./manifest.js";
import { custodianKeyholderId } from "./policy.js";
import {
  KEY_PREFLIGHT_TYPES,
  KEY_RELEASE_TYPES,
  KEY_RETIRE_TYPES,
  KeyholderRefusal,
  SEALED_OPENINGS_TYPES,
  keyholderDomain,
} from "./protocol.js";
import type { ReleaseResult, ShareEntry, ShareManifest, SignedPolicyToken } from "./protocol.js";
import { combineShares, keyCheckValue, openShare, sealShare, shareCommitment, shareX, splitDataKey } from "./shares.js";
import type { RecordRef, ShareContext } from "./shares.js";
import { httpKeyholder, KeyholderUnreachable } from "./transport.js";

/** Why one keyholder did not contribute a share. */
export interface KeyholderFailure {
  keyholderId: number;
  /** A refusal code of the keyholder, or UNREACHABLE, TIMEOUT, INVALID_SHARE, INVALID_MANIFEST. */
  code: string;
  message: string;
}

/** Fewer than k keyholders released a valid share (or accepted a deposit); `failures` says who and why. */
export class KeyReleaseRefusedError extends MedLedgerError {
  override name = "KeyReleaseRefusedError";
  readonly failures: KeyholderFailure[];
  constructor(shortMessage: string, failures: KeyholderFailure[]) {
    super(ErrorCodes.KEY_UNAVAILABLE, shortMessage, {
      details: failures.map((f) => `keyholder ${f.keyholderId}: ${f.code} (${f.message})`).join("; "),
    });
    this.failures = failures;
  }
  /** The refusal codes, by keyholder id. */
  codes(): Record<number, string> {
    return Object.fromEntries(this.failures.map((f) => [f.keyholderId, f.code]));
  }
}

/** A signer with an address (ethers Wallet, or any Signer). */
export type AccountSigner = Pick<Signer, "signTypedData" | "getAddress">;

/** The reader's X25519 private keys by registered version (current and earlier). */
export type ReaderKeys = ReadonlyMap<number, Uint8Array> | ((version: number) => Uint8Array | undefined);

/** What a preflight found: log the access with `consentHint` (zero for subject and emergency reads). */
export interface PreflightAnswer {
  /** The permit the custodian keyholder's sealed check passed under (zero when none applies). */
  consentHint: Hex;
  /** The record's custodian keyholder. */
  custodianKeyholderId: number;
}

/** What `records.*` and `consent.*` need from whatever keeps the data keys (the keyholder network, or a test double). */
export interface KeyCustody {
  /**
   * Splits `dataKey` over the keyholders and hands the record's label opening (sealed) to its
   * custodian keyholder; call BEFORE anchoring (shares stay pending until the anchor).
   * `custodian` is the organization the anchor will name: the writer's organization when a
   * practitioner anchors, 0 when the subject or an ACCESS guardian does.
   */
  deposit(p: {
    writer: AccountSigner;
    subject: Hex;
    recordId: Hex;
    dataKey: Uint8Array;
    labels: LabelOpening;
    custodian: number;
  }): Promise<void>;
  /**
   * Delivers a consent's sealed-terms opening to every active keyholder, AFTER the grant is mined
   * (each checks it against the ConsentGranted commitment). `by`: the controller or a guardian.
   */
  depositTermsOpening(p: {
    by: AccountSigner;
    subject: Hex;
    consentId: Hex;
    opening: SealedTermsOpening;
  }): Promise<void>;
  /**
   * Re-delivers a record's label opening to its current custodian keyholder (after the keyholder
   * set changed, or a lost deposit), AFTER the anchor. `by`: the writer, the controller or an ACCESS guardian.
   */
  depositLabelOpening(p: { by: AccountSigner; opening: LabelOpening }): Promise<void>;
  /**
   * Would a read be released (the public rule at every keyholder, the sealed rule at the custodian
   * keyholder)? Throws KeyReleaseRefusedError; call BEFORE logging the access, and log it with the
   * answer's `consentHint`.
   */
  preflight(p: { reader: AccountSigner; subject: Hex; recordId: Hex; purpose: number }): Promise<PreflightAnswer>;
  /** The data key, after the access logged in `accessTx`. Throws KeyReleaseRefusedError. */
  release(p: {
    reader: AccountSigner;
    readerKeys: ReaderKeys;
    subject: Hex;
    recordId: Hex;
    accessTx: Hex;
  }): Promise<Uint8Array>;
  /** After the tombstone is on chain: every keyholder deletes the record's shares. */
  erase(p: { subject: Hex; recordId: Hex }): Promise<void>;
  /** After a re-key anchored the successor: destroy the old version's shares. */
  retire(p: { by: AccountSigner; subject: Hex; recordId: Hex }): Promise<void>;
}

export interface KeyholderNetworkOptions {
  chain: ChainView;
  /** How to reach a keyholder; default HTTP to its registered endpoint. */
  transport?: (member: KeyholderMember) => KeyholderApi;
  /** Per-keyholder timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Lifetime of signed requests in seconds (default 60). */
  requestLifetimeSeconds?: number;
  /** Deposits must reach this many keyholders (default: all of them). */
  minDeposits?: number;
}

function failureOf(keyholderId: number, err: unknown): KeyholderFailure {
  if (err instanceof KeyholderRefusal) return { keyholderId, code: err.refusal, message: err.shortMessage };
  if (err instanceof KeyholderUnreachable) {
    return { keyholderId, code: err.timedOut ? "TIMEOUT" : "UNREACHABLE", message: err.message };
  }
  if (err instanceof MedLedgerError) return { keyholderId, code: "INVALID_SHARE", message: err.shortMessage };
  return { keyholderId, code: "INTERNAL", message: String((err as Error)?.message ?? err).slice(0, 200) };
}

function withTimeout<T>(p: Promise<T>, ms: number, endpoint: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KeyholderUnreachable(endpoint, true, undefined)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function* subsets<T>(items: readonly T[], k: number, start = 0, prefix: T[] = []): Generator<T[]> {
  if (prefix.length === k) {
    yield prefix;
    return;
  }
  for (let i = start; i < items.length; i++) yield* subsets(items, k, i + 1, [...prefix, items[i]!]);
}

export class KeyholderNetwork implements KeyCustody {
  readonly chain: ChainView;
  readonly domain: TypedDataDomain;
  readonly #transport: (m: KeyholderMember) => KeyholderApi;
  readonly #transports = new Map<string, KeyholderApi>();
  readonly #timeoutMs: number;
  readonly #lifetime: number;
  readonly #minDeposits: number | undefined;
  /** Manifests already checked (signature recovery is the costly part of a release). */
  readonly #trusted = new Map<string, TrustedShares>();

  private constructor(opts: KeyholderNetworkOptions) {
    this.chain = opts.chain;
    this.domain = keyholderDomain(opts.chain.chainId, opts.chain.keyholderRegistry);
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#lifetime = opts.requestLifetimeSeconds ?? 60;
    this.#minDeposits = opts.minDeposits;
    this.#transport = opts.transport ?? ((m) => httpKeyholder(m.endpoint, { timeoutMs: this.#timeoutMs }));
  }

  /** Reads the set once to check the deployment has a usable threshold (k ≥ 2, n ≥ k). */
  static async create(opts: KeyholderNetworkOptions): Promise<KeyholderNetwork> {
    const network = new KeyholderNetwork(opts);
    const set = await opts.chain.keyholderSet();
    if (set.threshold < 2 || set.members.length < set.threshold) {
      throw new InvalidInputError("The keyholder set cannot hold threshold shares", {
        details: `k = ${set.threshold}, n = ${set.members.length} (need 2 ≤ k ≤ n)`,
      });
    }
    return network;
  }

  /** The transport for one keyholder (cached per id and endpoint). */
  api(member: KeyholderMember): KeyholderApi {
    const key = `${member.id}@${member.endpoint}`;
    let t = this.#transports.get(key);
    if (t === undefined) this.#transports.set(key, (t = this.#transport(member)));
    return t;
  }

  #ref(subject: Hex, recordId: Hex): RecordRef {
    return {
      chainId: this.chain.chainId,
      keyholderRegistry: this.chain.keyholderRegistry,
      recordRegistry: this.chain.recordRegistry,
      subject: subject.toLowerCase() as Hex,
      recordId: recordId.toLowerCase() as Hex,
    };
  }

  #expiry(): number {
    return Math.floor(Date.now() / 1000) + this.#lifetime;
  }

  async #all<T>(set: KeyholderSet, call: (api: KeyholderApi, m: KeyholderMember) => Promise<T>) {
    return Promise.all(
      set.members.map(async (m) => {
        try {
          return { member: m, value: await withTimeout(call(this.api(m), m), this.#timeoutMs, m.endpoint) };
        } catch (err) {
          return { member: m, failure: failureOf(m.id, err) };
        }
      }),
    );
  }

  /** The record's custodian keyholder (policy.ts) for a custodian organization. */
  custodianOf(set: KeyholderSet, custodianOrg: number): KeyholderMember {
    const id = custodianKeyholderId(set.members, custodianOrg);
    const member = set.members.find((m) => m.id === id);
    if (member === undefined) throw new InvalidInputError("The keyholder set is empty");
    return member;
  }

  #binding(member: KeyholderMember, registry: string) {
    return {
      chainId: this.chain.chainId,
      keyholderRegistry: this.chain.keyholderRegistry,
      registry,
      recipient: member.id,
    };
  }

  async deposit(p: {
    writer: AccountSigner;
    subject: Hex;
    recordId: Hex;
    dataKey: Uint8Array;
    labels: LabelOpening;
    custodian: number;
  }): Promise<void> {
    const set = await this.chain.keyholderSet();
    const ref = this.#ref(p.subject, p.recordId);
    const labels = sealLabels(p.labels ?? ({} as LabelOpening));
    if (labels.subject !== ref.subject || labels.recordId !== ref.recordId) {
      throw new InvalidInputError("The label opening is for another record", { field: "labels" });
    }
    if (!Number.isInteger(p.custodian) || p.custodian < 0 || p.custodian > 0xffff_ffff)
      throw new InvalidInputError("custodian must be an organization id (0: subject-held)", { field: "custodian" });
    const custodian = this.custodianOf(set, p.custodian);
    const labelOpening = hexlify(
      sealLabelOpening({
        opening: labels,
        recipientPublicKey: getBytes(custodian.encryptionKey),
        recipientKeyVersion: custodian.keyVersion,
        binding: this.#binding(custodian, this.chain.recordRegistry),
      }),
    ) as Hex;
    const shares = await splitDataKey(p.dataKey, set.members.length, set.threshold);
    const slots: Hex[] = [];
    const entries: ShareEntry[] = set.members.map((m, i) => {
      const share = shares[i]!;
      const ctx: ShareContext = { ...ref, keyholderId: m.id, epoch: set.epoch, x: shareX(share) };
      slots.push(
        hexlify(
          sealShare({
            share,
            recipientPublicKey: getBytes(m.encryptionKey),
            recipientKeyVersion: m.keyVersion,
            context: ctx,
          }),
        ) as Hex,
      );
      const commitment = shareCommitment(ctx, share);
      share.fill(0);
      return { keyholderId: m.id, x: ctx.x, commitment };
    });
    const manifest = await buildManifest({
      signer: p.writer,
      domain: this.domain,
      origin: {
        subject: ref.subject,
        recordId: ref.recordId,
        recordRegistry: this.chain.recordRegistry,
        epoch: set.epoch.toString(),
        threshold: set.threshold,
        keyCheck: keyCheckValue(ref, p.dataKey),
        shares: entries,
      },
    });
    const results = await this.#all(set, (api, m) =>
      api.deposit({
        manifest,
        slot: slots[set.members.indexOf(m)]!,
        ...(m.id === custodian.id ? { labelOpening } : {}),
      }),
    );
    const failures = results.flatMap((r) => (r.failure === undefined ? [] : [r.failure]));
    const needed = this.#minDeposits ?? set.members.length;
    if (results.length - failures.length < needed) {
      throw new KeyReleaseRefusedError(
        `Only ${results.length - failures.length} of ${needed} keyholders took their share`,
        failures,
      );
    }
  }

  /** Signs one SealedOpenings message for `members` and posts each its own slot; all must accept. */
  async #deliver(
    set: KeyholderSet,
    members: KeyholderMember[],
    p: { by: AccountSigner; subject: Hex; kind: number; id: Hex; slots: Hex[] },
  ): Promise<void> {
    const request = {
      keyholderIds: members.map((m) => m.id),
      subject: p.subject,
      kind: p.kind,
      id: p.id,
      slotHashes: p.slots.map((s) => keccak256(s) as Hex),
      expiry: this.#expiry(),
    };
    const signature = (await p.by.signTypedData(this.domain, SEALED_OPENINGS_TYPES, request)) as Hex;
    const only = { ...set, members };
    const results = await this.#all(only, (api, m) =>
      api.openings({ request, signature, slot: p.slots[members.indexOf(m)]! }),
    );
    const failures = results.flatMap((r) => (r.failure === undefined ? [] : [r.failure]));
    if (failures.length > 0) throw new KeyReleaseRefusedError("Some keyholders did not take the opening", failures);
  }

  async depositTermsOpening(p: {
    by: AccountSigner;
    subject: Hex;
    consentId: Hex;
    opening: SealedTermsOpening;
  }): Promise<void> {
    const opening = sealTerms(p.opening ?? ({} as SealedTermsOpening));
    const subject = p.subject.toLowerCase() as Hex;
    if (opening.subject !== subject)
      throw new InvalidInputError("The opening is for another subject", { field: "opening" });
    const consentId = hexlify(getBytes(p.consentId)).toLowerCase() as Hex;
    const set = await this.chain.keyholderSet();
    const slots = set.members.map(
      (m) =>
        hexlify(
          sealTermsOpening({
            opening,
            consentId,
            recipientPublicKey: getBytes(m.encryptionKey),
            recipientKeyVersion: m.keyVersion,
            binding: this.#binding(m, this.chain.consentRegistry),
          }),
        ) as Hex,
    );
    await this.#deliver(set, set.members, { by: p.by, subject, kind: OpeningKind.TERMS, id: consentId, slots });
  }

  async depositLabelOpening(p: { by: AccountSigner; opening: LabelOpening }): Promise<void> {
    const opening = sealLabels(p.opening ?? ({} as LabelOpening));
    const set = await this.chain.keyholderSet();
    let state = await this.chain.record(opening.subject, opening.recordId, (await this.chain.latest()).number);
    // Anchored a moment ago: the cached latest block may predate it.
    if (state === undefined)
      state = await this.chain.record(opening.subject, opening.recordId, (await this.chain.latest(true)).number);
    if (state === undefined) {
      throw new KeyReleaseRefusedError("The record is not anchored", [
        { keyholderId: 0, code: "UNKNOWN_RECORD", message: "no anchor" },
      ]);
    }
    const custodian = this.custodianOf(set, state.custodian);
    const slot = hexlify(
      sealLabelOpening({
        opening,
        recipientPublicKey: getBytes(custodian.encryptionKey),
        recipientKeyVersion: custodian.keyVersion,
        binding: this.#binding(custodian, this.chain.recordRegistry),
      }),
    ) as Hex;
    await this.#deliver(set, [custodian], {
      by: p.by,
      subject: opening.subject,
      kind: OpeningKind.LABELS,
      id: opening.recordId,
      slots: [slot],
    });
  }

  async preflight(p: {
    reader: AccountSigner;
    subject: Hex;
    recordId: Hex;
    purpose: number;
  }): Promise<PreflightAnswer> {
    const set = await this.chain.keyholderSet();
    const expiry = this.#expiry();
    const reader = await p.reader.getAddress();
    // One signature serves every keyholder: the message lists them all.
    const request = {
      keyholderIds: set.members.map((m) => m.id),
      reader,
      subject: p.subject.toLowerCase(),
      recordId: p.recordId.toLowerCase(),
      purpose: p.purpose,
      expiry,
    };
    const signature = await p.reader.signTypedData(this.domain, KEY_PREFLIGHT_TYPES, request);
    const [results, custodianId] = await Promise.all([
      this.#all(set, (api) => api.preflight({ request, signature })),
      this.#custodianId(set, p.subject, p.recordId).catch(() => undefined),
    ]);
    const failures = results.flatMap((r) => (r.failure === undefined ? [] : [r.failure]));
    if (custodianId === undefined) {
      throw new KeyReleaseRefusedError(
        "The record is not anchored",
        failures.length > 0 ? failures : [{ keyholderId: 0, code: "UNKNOWN_RECORD", message: "no anchor" }],
      );
    }
    // The sealed answer counts only from the keyholder the custodian rule names (computed here).
    const custodian = results.find((r) => r.member.id === custodianId && r.value?.custodian === true);
    if (custodian === undefined) {
      throw new KeyReleaseRefusedError("The record's custodian keyholder would not release the key", failures);
    }
    if (results.length - failures.length < set.threshold) {
      throw new KeyReleaseRefusedError(`Fewer than ${set.threshold} keyholders would release the key`, failures);
    }
    return {
      consentHint: custodian.value?.consentHint ?? `0x${"00".repeat(32)}`,
      custodianKeyholderId: custodian.member.id,
    };
  }

  async #custodianId(set: KeyholderSet, subject: Hex, recordId: Hex): Promise<number> {
    const s = subject.toLowerCase() as Hex;
    const r = recordId.toLowerCase() as Hex;
    // A record anchored (or a batch member proven) a moment ago may postdate the cached latest block.
    let state = await this.chain.record(s, r, (await this.chain.latest()).number);
    if (state === undefined) state = await this.chain.record(s, r, (await this.chain.latest(true)).number);
    if (state === undefined) {
      throw new KeyReleaseRefusedError("The record is not anchored", [
        { keyholderId: 0, code: "UNKNOWN_RECORD", message: "no anchor" },
      ]);
    }
    return this.custodianOf(set, state.custodian).id;
  }

  async release(p: {
    reader: AccountSigner;
    readerKeys: ReaderKeys;
    subject: Hex;
    recordId: Hex;
    accessTx: Hex;
  }): Promise<Uint8Array> {
    const set = await this.chain.keyholderSet();
    const [anchoredBy, readerAddress, custodianId] = await Promise.all([
      this.chain.anchoredBy(p.subject, p.recordId),
      p.reader.getAddress(),
      this.#custodianId(set, p.subject, p.recordId),
    ]);
    if (anchoredBy === undefined) {
      throw new KeyReleaseRefusedError("The record is not anchored", [
        { keyholderId: 0, code: "UNKNOWN_RECORD", message: "no anchor" },
      ]);
    }
    const ref = this.#ref(p.subject, p.recordId);
    const keyFor = (v: number) => (typeof p.readerKeys === "function" ? p.readerKeys(v) : p.readerKeys.get(v));
    const expiry = this.#expiry();
    const accounts = new Map<number, string>();
    for (const m of set.members) accounts.set(m.id, m.account);
    const trustedCache = this.#trusted;
    const trust = async (manifest: ShareManifest): Promise<TrustedShares> => {
      // The verdict depends on the manifest, the anchoring account and the registry's accounts (epoch).
      const key = `${set.epoch}:${anchoredBy}:${JSON.stringify(manifest)}`;
      let t = trustedCache.get(key);
      if (t === undefined) {
        for (const e of manifest.current.shares) {
          if (!accounts.has(e.keyholderId)) {
            const k = await this.chain.keyholder(e.keyholderId);
            if (k !== undefined) accounts.set(e.keyholderId, k.account);
          }
        }
        t = trustedShares(this.domain, manifest, { anchoredBy, accountOf: (id) => accounts.get(id) });
        if (manifest.origin.subject !== ref.subject || manifest.origin.recordId !== ref.recordId) {
          throw new KeyholderRefusal("MANIFEST_MISMATCH", "The manifest is for another record");
        }
        if (trustedCache.size >= 10_000) trustedCache.delete(trustedCache.keys().next().value as string);
        trustedCache.set(key, t);
      }
      return t;
    };

    const failures: KeyholderFailure[] = [];
    const valid = new Map<string, { shares: Map<number, Uint8Array>; trusted: TrustedShares }>();
    let done = false;
    let key: Uint8Array | undefined;
    const tried = new Set<string>();

    const tryCombine = async (epoch: string): Promise<void> => {
      const group = valid.get(epoch);
      if (group === undefined || key !== undefined || group.shares.size < group.trusted.threshold) return;
      const ids = [...group.shares.keys()].sort((a, b) => a - b);
      for (const subset of subsets(ids, group.trusted.threshold)) {
        const label = `${epoch}:${subset.join(",")}`;
        if (tried.has(label)) continue;
        tried.add(label);
        const candidate = await combineShares(subset.map((id) => group.shares.get(id)!));
        if (keyCheckValue(ref, candidate) === group.trusted.keyCheck.toLowerCase()) {
          key = candidate;
          return;
        }
        candidate.fill(0);
      }
    };

    const handle = async (m: KeyholderMember, r: ReleaseResult) => {
      const trusted = await trust(r.manifest);
      const entry = trusted.entries.get(m.id);
      if (entry === undefined || entry.x !== r.x || trusted.epoch !== r.epoch) {
        throw new KeyholderRefusal("MANIFEST_MISMATCH", "The keyholder's share is not in the trusted manifest");
      }
      const privateKey = keyFor(r.readerKeyVersion);
      if (privateKey === undefined) throw new InvalidInputError(`No reader key of version ${r.readerKeyVersion}`);
      const ctx: ShareContext = { ...ref, keyholderId: m.id, epoch: BigInt(r.epoch), x: r.x };
      const share = openShare({
        slot: getBytes(r.slot),
        recipientPrivateKey: privateKey,
        context: ctx,
        release: { reader: readerAddress, nonce: request.nonce },
      });
      if (shareCommitment(ctx, share) !== entry.commitment.toLowerCase()) {
        throw new MedLedgerError(ErrorCodes.INTEGRITY_FAILED, "The released share does not match its commitment");
      }
      let group = valid.get(r.epoch);
      if (group === undefined) valid.set(r.epoch, (group = { shares: new Map(), trusted }));
      group.shares.set(m.id, share);
      await tryCombine(r.epoch);
    };

    // One request, one signature and one nonce for every keyholder (each keeps the nonce for itself).
    const request = {
      keyholderIds: set.members.map((m) => m.id),
      reader: readerAddress,
      subject: ref.subject,
      recordId: ref.recordId,
      accessTx: p.accessTx.toLowerCase() as Hex,
      nonce: hexlify(randomBytes(32)) as Hex,
      expiry,
    };
    const signature = (await p.reader.signTypedData(this.domain, KEY_RELEASE_TYPES, request)) as Hex;
    // The custodian keyholder first: it checks the sealed rule and returns its share with a policy
    // token; without the token no other keyholder releases anything.
    const custodian = set.members.find((m) => m.id === custodianId)!;
    let token: SignedPolicyToken | undefined;
    try {
      const r = await withTimeout(
        this.api(custodian).release({ request, signature }),
        this.#timeoutMs,
        custodian.endpoint,
      );
      token = r.policyToken;
      if (token === undefined)
        throw new KeyholderRefusal("TOKEN_MISSING", "The custodian keyholder issued no policy token");
      await handle(custodian, r);
    } catch (err) {
      failures.push(failureOf(custodian.id, err));
    }
    if (token === undefined) {
      throw new KeyReleaseRefusedError("The record's custodian keyholder did not release the key", failures);
    }
    const others = set.members.filter((m) => m.id !== custodianId);
    await new Promise<void>((resolve) => {
      let pending = others.length;
      const settle = () => {
        pending--;
        if ((key !== undefined || pending <= 0) && !done) {
          done = true;
          resolve();
        }
      };
      if (others.length === 0 || key !== undefined) settle();
      for (const m of others) {
        (async () => {
          const r = await withTimeout(this.api(m).release({ request, signature, token }), this.#timeoutMs, m.endpoint);
          if (!done) await handle(m, r);
        })()
          .catch((err: unknown) => failures.push(failureOf(m.id, err)))
          .finally(settle);
      }
    });
    for (const group of valid.values()) for (const s of group.shares.values()) s.fill(0);
    if (key === undefined) {
      const have = [...valid.values()].reduce((n, g) => Math.max(n, g.shares.size), 0);
      const reason =
        have >= set.threshold
          ? "the valid shares do not reconstruct the key"
          : `${have} valid shares, ${set.threshold} needed`;
      throw new KeyReleaseRefusedError(`The keyholders did not release the key: ${reason}`, failures);
    }
    return key;
  }

  async erase(p: { subject: Hex; recordId: Hex }): Promise<void> {
    const set = await this.chain.keyholderSet();
    const results = await this.#all(set, (api) =>
      api.erase({ subject: p.subject.toLowerCase(), recordId: p.recordId.toLowerCase() }),
    );
    const failures = results.flatMap((r) => (r.failure === undefined ? [] : [r.failure]));
    if (failures.length > 0) throw new KeyReleaseRefusedError("Some keyholders did not confirm the erasure", failures);
  }

  async retire(p: { by: AccountSigner; subject: Hex; recordId: Hex }): Promise<void> {
    const set = await this.chain.keyholderSet();
    const expiry = this.#expiry();
    const results = await this.#all(set, async (api, m) => {
      const request = {
        keyholderId: m.id,
        subject: p.subject.toLowerCase(),
        recordId: p.recordId.toLowerCase(),
        expiry,
      };
      return api.retire({ request, signature: await p.by.signTypedData(this.domain, KEY_RETIRE_TYPES, request) });
    });
    const failures = results.flatMap((r) => (r.failure === undefined ? [] : [r.failure]));
    if (failures.length > 0)
      throw new KeyReleaseRefusedError("Some keyholders did not retire the old shares", failures);
  }
}
