/**
 * Consent actions over a {@link LedgerContext}: grant and revoke (directly, or signed by the
 * patient with EIP-712 and relayed by anyone), list, check, break-glass opt-out.
 *
 * Every consent carries a salted commitment to its sealed terms (the sensitive labels a permit
 * lets through or a deny refuses). `grant` and `signGrant` return its opening next to the result:
 * the patient's app keeps it (it never goes on chain, and a relayer never needs it). When the key
 * custody is the keyholder network, `grant` hands the opening (sealed to each keyholder) to every
 * keyholder once the grant is mined; after a relayed grant the patient's app does so with
 * `deliverOpening`. Until then the permit releases nothing and the deny refuses what it binds.
 *
 * `revoke(…, { rekey: true })` then re-keys every record the chain logged a read of under the
 * revoked consent (records/rekey.ts): the grantee's keys open nothing new.
 *
 * Contract calls built here: ConsentRegistry.grant, revoke, grantBySig, revokeBySig,
 * setBreakGlassOptOut; reads check, nonces, consentCount, consentIdAt, getConsent.
 *
 * @example
 * ```ts
 * import { consent } from "medledger";
 * const { value: consentId, opening } = await consent.grant(ctx, {
 *   subject,
 *   consent: { grantee: { practitioner: doctor }, categories: ["OBSERVATIONS"], purposes: ["TREAT"] },
 * });
 * ```
 */
import type { Write } from "../chain/client.js";
import { eventOf } from "../chain/client.js";
import { consentDomain, GRANT_TYPES, REVOKE_TYPES } from "../chain/eip712.js";
import type {
  AccessBasisName,
  ActionName,
  CategoryName,
  ConsentTerms,
  DenyReasonName,
  PurposeName,
  StoredConsentTerms,
} from "../codes.js";
import {
  Action,
  accessBasisName,
  categoryCode,
  CONSENT_TERMS_FIELDS,
  denyReasonName,
  purposeCode,
  toConsentTerms,
} from "../codes.js";
import type { LedgerContext } from "../context.js";
import { ErrorCodes, InvalidInputError, MedLedgerError } from "../errors.js";
import { accessedUnder, locate } from "../records/locate.js";
import { rekey } from "../records/rekey.js";
import type { RekeyResult } from "../records/rekey.js";
import type { SealedTermsOpening } from "../sealed/commitments.js";
import { asConsentId, asSubjectId, ZERO_BYTES32 } from "../types.js";
import type { ConsentId, Hex, SubjectId } from "../types.js";
import { address, bool, bytes32, integer, nameIn, object, uint, unixSeconds } from "../validate.js";
import { consentTerms } from "./terms.js";
import type { ConsentInput } from "./terms.js";

/** A consent signed off chain by the subject (or a guardian), ready for anyone to relay. */
export interface SignedGrant {
  kind: "grant";
  subject: SubjectId;
  terms: ConsentTerms;
  signer: string;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

/** A revocation signed off chain, ready for anyone to relay. */
export interface SignedRevoke {
  kind: "revoke";
  subject: SubjectId;
  consentId: ConsentId;
  signer: string;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

/** The answer of a consent check, with names. */
export interface ConsentDecision {
  allowed: boolean;
  reason: DenyReasonName | `UNKNOWN_${number}`;
  basis: AccessBasisName;
  consentId: ConsentId | null;
}

/** A signed grant and the opening of its sealed terms: relay `signed`, keep `opening`. */
export interface SignedGrantWithOpening {
  /** What a relayer needs (and sees): the terms with the commitment, the signature. */
  signed: SignedGrant;
  /** The sealed terms and their salt: the patient's app keeps this; it is never sent on chain. */
  opening: SealedTermsOpening;
}

/** One consent of a subject, as stored (the sealed-terms commitment is emitted, not stored). */
export interface ConsentRecord {
  consentId: ConsentId;
  terms: StoredConsentTerms;
  /** Unix seconds; 0 while not revoked. */
  revokedAt: number;
  /** Its sequence number within the subject (1, 2, …). */
  sequence: number;
  /** Whether a guardian (rather than the controller) granted it. */
  byGuardian: boolean;
}

export interface SignOptions {
  /** Unix seconds after which the signature is void (default: one hour after the latest block). */
  deadline?: number | Date;
  /** The signer's ConsentRegistry nonce (default: read from the chain). */
  nonce?: bigint;
}

/**
 * The grant is on chain but its sealed-terms opening did not reach every keyholder: until it does,
 * the permit releases nothing (a deny refuses what it binds). Retry with `deliverOpening` and
 * the same `opening`.
 */
export class OpeningNotDeliveredError extends MedLedgerError {
  override name = "OpeningNotDeliveredError";
  readonly consentId: ConsentId;
  readonly opening: SealedTermsOpening;
  constructor(consentId: ConsentId, opening: SealedTermsOpening, cause: unknown) {
    super(
      ErrorCodes.KEY_UNAVAILABLE,
      `Consent ${consentId} is granted, but its sealed-terms opening did not reach every keyholder`,
      {
        details: `${cause instanceof MedLedgerError ? (cause.details ?? cause.shortMessage) : String(cause)}; retry with consent.deliverOpening and the same opening`,
        cause,
      },
    );
    this.consentId = consentId;
    this.opening = opening;
  }
}

function domain(ctx: LedgerContext) {
  return consentDomain({
    chainId: ctx.chain.chainId,
    verifyingContract: ctx.chain.addressBook.contracts.ConsentRegistry.address,
  });
}

/** Signs `message` (EIP-712 `types`) with a deadline and nonce (given or defaults). */
async function sign<M extends object>(
  ctx: LedgerContext,
  types: typeof GRANT_TYPES,
  message: M,
  opts: SignOptions,
): Promise<M & { signer: string; nonce: bigint; deadline: bigint; signature: Hex }> {
  // Default: one hour of the chain's time (its clock, not this machine's, decides expiry).
  const deadline =
    opts.deadline === undefined
      ? BigInt((await ctx.chain.rpc.latestBlock()).timestamp + 3600)
      : unixSeconds(opts.deadline, "options.deadline");
  const nonce =
    opts.nonce === undefined
      ? await ctx.chain.consents.nonces(ctx.chain.account)
      : integer(opts.nonce, "options.nonce", 0n, (1n << 256n) - 1n);
  const signer = ctx.chain.account;
  const signature = (await ctx.chain.signer.signTypedData(domain(ctx), types, {
    ...message,
    signer,
    nonce,
    deadline,
  })) as Hex;
  return { ...message, signer, nonce, deadline, signature };
}

function checkTerms(value: unknown, field: string): ConsentTerms {
  const t = object(value, field);
  for (const { name, type } of CONSENT_TERMS_FIELDS) {
    const f = `${field}.${name}`;
    if (type === "address") address(t[name], f);
    else if (type === "bytes32") bytes32(t[name], f);
    else if (type === "uint64") integer(t[name], f, 0n, (1n << 64n) - 1n);
    else uint(t[name], f, type === "uint8" ? 8 : 16);
  }
  return toConsentTerms(t);
}

/**
 * Grants a consent directly (the caller is the subject's controller or a guardian with GRANT for
 * a permit, REVOKE for a deny). The value is the consent id; `opening` is the opening of its
 * sealed-terms commitment, for the patient's app to keep.
 */
export async function grant(
  ctx: LedgerContext,
  params: { subject: SubjectId; consent: ConsentInput },
): Promise<Write<ConsentId> & { opening: SealedTermsOpening }> {
  object(params, "params");
  const subject = asSubjectId(params.subject);
  const { terms, opening } = consentTerms(params.consent, subject);
  const sent = await ctx.chain.send(ctx.chain.consents.grant.populateTransaction(subject, terms));
  const consentId = asConsentId(eventOf(sent, "ConsentGranted").args.consentId as string);
  try {
    await deliverOpening(ctx, { subject, consentId, opening });
  } catch (err) {
    throw new OpeningNotDeliveredError(consentId, opening, err);
  }
  return { value: consentId, receipt: sent.receipt, opening };
}

/**
 * Hands a mined consent's sealed-terms opening to every keyholder (each checks it against the
 * ConsentGranted commitment). The caller is the subject's controller or a guardian with GRANT or
 * REVOKE. Nothing to do when the key custody enforces no sealed rule (in-process slot custody).
 */
export async function deliverOpening(
  ctx: LedgerContext,
  params: { subject: SubjectId; consentId: ConsentId; opening: SealedTermsOpening },
): Promise<void> {
  object(params, "params");
  const subject = asSubjectId(params.subject);
  const consentId = asConsentId(params.consentId);
  object(params.opening, "opening");
  await ctx.custody.depositTermsOpening?.({ by: ctx.chain.signer, subject, consentId, opening: params.opening });
}

/**
 * Revokes a consent directly. With `rekey: true`, then re-keys every record the chain logged a
 * read of under this consent (`rekeyed`); the caller must be able to read and append them (the
 * subject or an ACCESS guardian). A retry re-keys only what is left (re-keyed versions are
 * superseded).
 */
export async function revoke(
  ctx: LedgerContext,
  params: { subject: SubjectId; consentId: ConsentId; rekey?: boolean },
): Promise<Write<ConsentId> & { rekeyed: RekeyResult[] }> {
  object(params, "params");
  const subject = asSubjectId(params.subject);
  const consentId = asConsentId(params.consentId);
  const again = params.rekey === undefined ? false : bool(params.rekey, "rekey");
  const sent = await ctx.chain.send(ctx.chain.consents.revoke.populateTransaction(subject, consentId));
  const rekeyed = again ? await rekeyOpened(ctx, { subject, consentId }) : [];
  return { value: consentId, receipt: sent.receipt, rekeyed };
}

/**
 * Re-keys every record of `subject` read under `consentId` (the RecordAccessed log), skipping
 * versions since superseded or erased: a reader of a revoked consent then holds no key that
 * opens any current version. Sequential; a failure stops it, and a retry finishes the rest.
 */
export async function rekeyOpened(
  ctx: LedgerContext,
  params: { subject: SubjectId; consentId: ConsentId },
): Promise<RekeyResult[]> {
  object(params, "params");
  const subject = asSubjectId(params.subject);
  const consentId = asConsentId(params.consentId);
  const out: RekeyResult[] = [];
  for (const recordId of await accessedUnder(ctx, subject, consentId)) {
    const { state } = await locate(ctx, subject, recordId);
    if (state.erasedAt !== 0 || state.superseded) continue;
    out.push(await rekey(ctx, { subject, recordId }));
  }
  return out;
}

/**
 * Signs a grant (EIP-712) for anyone to relay; the patient pays no gas. Relay `signed`; keep
 * `opening` (the sealed terms: the relayer does not need them).
 */
export async function signGrant(
  ctx: LedgerContext,
  params: { subject: SubjectId; consent: ConsentInput } & SignOptions,
): Promise<SignedGrantWithOpening> {
  object(params, "params");
  const subject = asSubjectId(params.subject);
  const { terms, opening } = consentTerms(params.consent, subject);
  const signed: SignedGrant = { kind: "grant", ...(await sign(ctx, GRANT_TYPES, { subject, terms }, params)) };
  return { signed, opening };
}

/** Signs a revocation (EIP-712) for anyone to relay. */
export async function signRevoke(
  ctx: LedgerContext,
  params: { subject: SubjectId; consentId: ConsentId } & SignOptions,
): Promise<SignedRevoke> {
  object(params, "params");
  const message = { subject: asSubjectId(params.subject), consentId: asConsentId(params.consentId) };
  return { kind: "revoke", ...(await sign(ctx, REVOKE_TYPES, message, params)) };
}

/** Relays a signed grant or revocation (this participant pays the gas); the value is the consent id. */
export async function relay(ctx: LedgerContext, signed: SignedGrant | SignedRevoke): Promise<Write<ConsentId>> {
  const s = object(signed, "signed");
  const kind = nameIn({ grant: 0, revoke: 1 }, s.kind, "signed.kind");
  const subject = asSubjectId(s.subject as string, "signed.subject");
  const signer = address(s.signer, "signed.signer");
  const deadline = integer(s.deadline, "signed.deadline", 0n, (1n << 256n) - 1n);
  if (typeof s.signature !== "string" || !/^0x[0-9a-fA-F]+$/.test(s.signature))
    throw new InvalidInputError("signed.signature must be 0x-prefixed hex", { field: "signed.signature" });
  if (kind === "grant") {
    const terms = checkTerms(s.terms, "signed.terms");
    const sent = await ctx.chain.send(
      ctx.chain.consents.grantBySig.populateTransaction(subject, terms, signer, deadline, s.signature),
    );
    return { value: asConsentId(eventOf(sent, "ConsentGranted").args.consentId as string), receipt: sent.receipt };
  }
  const consentId = asConsentId(s.consentId as string, "signed.consentId");
  const sent = await ctx.chain.send(
    ctx.chain.consents.revokeBySig.populateTransaction(subject, consentId, signer, deadline, s.signature),
  );
  return { value: consentId, receipt: sent.receipt };
}

/** Every consent of a subject (permits and denies, revoked ones included), oldest first. */
export async function list(ctx: LedgerContext, params: { subject: SubjectId }): Promise<ConsentRecord[]> {
  const subject = asSubjectId(object(params, "params").subject as string);
  const c = ctx.chain.consents;
  const count = Number(await c.consentCount(subject));
  const sequences = Array.from({ length: count }, (_, i) => i + 1);
  const ids = await Promise.all(sequences.map(async (seq) => asConsentId(await c.consentIdAt(subject, seq))));
  return Promise.all(
    ids.map(async (consentId): Promise<ConsentRecord> => {
      const s = await c.getConsent(subject, consentId);
      return {
        consentId,
        terms: toConsentTerms(s as unknown as Readonly<Record<string, unknown>>),
        revokedAt: Number(s.revokedAt),
        sequence: Number(s.sequence),
        byGuardian: s.byGuardian,
      };
    }),
  );
}

/** May `accessor` do `action` on `category` of `subject` for `purpose` now, and under which consent? */
export async function check(
  ctx: LedgerContext,
  q: { accessor: string; subject: SubjectId; category: CategoryName; purpose: PurposeName; action?: ActionName },
): Promise<ConsentDecision> {
  object(q, "query");
  const accessor = address(q.accessor, "accessor");
  const subject = asSubjectId(q.subject);
  const category = categoryCode(q.category);
  const purpose = purposeCode(q.purpose);
  const action = Action[nameIn(Action, q.action ?? "READ", "action")];
  const d = await ctx.chain.consents.check(accessor, subject, category, purpose, action);
  return {
    allowed: d.allowed,
    reason: denyReasonName(d.reason),
    basis: accessBasisName(d.basis),
    consentId: d.consentId === ZERO_BYTES32 ? null : asConsentId(d.consentId),
  };
}

/** Opts the subject out of (or back in to) break-glass access. */
export async function setBreakGlassOptOut(
  ctx: LedgerContext,
  params: { subject: SubjectId; optedOut: boolean },
): Promise<Write<boolean>> {
  object(params, "params");
  const subject = asSubjectId(params.subject);
  const optedOut = bool(params.optedOut, "optedOut");
  const sent = await ctx.chain.send(ctx.chain.consents.setBreakGlassOptOut.populateTransaction(subject, optedOut));
  return { value: optedOut, receipt: sent.receipt };
}
