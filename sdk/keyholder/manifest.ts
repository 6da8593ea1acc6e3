/**
 * Share manifests: which keyholder holds which share of a record version, with each share's
 * commitment and the key check value, authenticated by the writer (checked against the anchor's
 * `anchoredBy`) and, after resharing, by each share's holder (checked against its account in the
 * KeyholderRegistry). See docs/keyholders.md ("Share manifest").
 *
 * @example
 * ```ts
 * import { buildManifest, trustedShares } from "medledger/keyholder";
 * const manifest = await buildManifest({ signer: writer, domain, origin });
 * const { entries } = trustedShares(domain, manifest, { anchoredBy, accountOf });
 * ```
 */
import type { Signer, TypedDataDomain } from "ethers";

import { IntegrityError } from "../errors.js";
import type { Hex } from "../types.js";
import {
  SHARE_ATTESTATION_TYPES,
  SHARE_MANIFEST_TYPES,
  originTypedValue,
  recoverTypedSigner,
  typedHash,
} from "./protocol.js";
import type { CurrentShareEntry, ManifestOrigin, ShareEntry, ShareManifest } from "./protocol.js";

/** Signs a manifest origin and returns a manifest whose current epoch is the origin's. */
export async function buildManifest(p: {
  signer: Pick<Signer, "signTypedData">;
  domain: TypedDataDomain;
  origin: ManifestOrigin;
}): Promise<ShareManifest> {
  const writerSignature = (await p.signer.signTypedData(
    p.domain,
    SHARE_MANIFEST_TYPES,
    originTypedValue(p.origin),
  )) as Hex;
  return {
    version: 1,
    origin: p.origin,
    writerSignature,
    current: { epoch: p.origin.epoch, threshold: p.origin.threshold, shares: p.origin.shares.map((s) => ({ ...s })) },
  };
}

/** The account that signed the manifest's origin. */
export function manifestWriter(domain: TypedDataDomain, manifest: ShareManifest): string {
  return recoverTypedSigner(domain, SHARE_MANIFEST_TYPES, originTypedValue(manifest.origin), manifest.writerSignature);
}

/** A stable id of a manifest origin (its EIP-712 hash). */
export function manifestOriginHash(domain: TypedDataDomain, origin: ManifestOrigin): Hex {
  return typedHash(domain, SHARE_MANIFEST_TYPES, originTypedValue(origin));
}

/** The EIP-712 value a holder signs to vouch for its reshared share. */
export function attestationValue(
  manifest: Pick<ShareManifest, "origin">,
  epoch: string,
  threshold: number,
  entry: ShareEntry,
): Record<string, unknown> {
  return {
    subject: manifest.origin.subject,
    recordId: manifest.origin.recordId,
    epoch: BigInt(epoch),
    threshold,
    keyholderId: entry.keyholderId,
    x: entry.x,
    commitment: entry.commitment,
  };
}

/** Signs an attestation (a keyholder, after resharing). */
export async function signAttestation(
  signer: Pick<Signer, "signTypedData">,
  domain: TypedDataDomain,
  manifest: Pick<ShareManifest, "origin">,
  epoch: string,
  threshold: number,
  entry: ShareEntry,
): Promise<Hex> {
  return (await signer.signTypedData(
    domain,
    SHARE_ATTESTATION_TYPES,
    attestationValue(manifest, epoch, threshold, entry),
  )) as Hex;
}

/** Recovers an attestation's signer; undefined when it is malformed. */
export function attestationSigner(
  domain: TypedDataDomain,
  manifest: ShareManifest,
  entry: CurrentShareEntry,
): string | undefined {
  if (entry.attestation === undefined) return undefined;
  try {
    return recoverTypedSigner(
      domain,
      SHARE_ATTESTATION_TYPES,
      attestationValue(manifest, manifest.current.epoch, manifest.current.threshold, entry),
      entry.attestation,
    );
  } catch {
    return undefined;
  }
}

/** The shares of a manifest that a reader may trust, with the epoch and threshold they belong to. */
export interface TrustedShares {
  writer: string;
  epoch: string;
  threshold: number;
  keyCheck: Hex;
  entries: Map<number, ShareEntry>;
}

const sameEntry = (a: ShareEntry, b: ShareEntry) =>
  a.keyholderId === b.keyholderId && a.x === b.x && a.commitment.toLowerCase() === b.commitment.toLowerCase();

/**
 * Checks a manifest: the origin must be signed by `anchoredBy` (the account that anchored the record
 * on chain); current entries count if they are the writer's own (same epoch) or attested by their
 * holder's current account (`accountOf`). Throws IntegrityError when the writer is not `anchoredBy`.
 */
export function trustedShares(
  domain: TypedDataDomain,
  manifest: ShareManifest,
  opts: { anchoredBy: string; accountOf: (keyholderId: number) => string | undefined },
): TrustedShares {
  const writer = manifestWriter(domain, manifest);
  if (writer.toLowerCase() !== opts.anchoredBy.toLowerCase()) {
    throw new IntegrityError("The share manifest is not signed by the account that anchored the record", {
      details: `signed by ${writer}, anchored by ${opts.anchoredBy}`,
    });
  }
  const entries = new Map<number, ShareEntry>();
  const sameEpoch = manifest.current.epoch === manifest.origin.epoch;
  for (const entry of manifest.current.shares) {
    if (entries.has(entry.keyholderId)) continue;
    const own = sameEpoch && manifest.origin.shares.some((o) => sameEntry(o, entry));
    const account = opts.accountOf(entry.keyholderId);
    const attested =
      !own &&
      account !== undefined &&
      attestationSigner(domain, manifest, entry)?.toLowerCase() === account.toLowerCase();
    if (own || attested) {
      entries.set(entry.keyholderId, { keyholderId: entry.keyholderId, x: entry.x, commitment: entry.commitment });
    }
  }
  return {
    writer,
    epoch: manifest.current.epoch,
    threshold: sameEpoch ? manifest.origin.threshold : manifest.current.threshold,
    keyCheck: manifest.origin.keyCheck,
    entries,
  };
}
