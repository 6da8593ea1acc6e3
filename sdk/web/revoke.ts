/**
 * The EIP-712 revocation a patient signs in the browser and the web server relays
 * (`ConsentRegistry.revokeBySig`): the SDK's domain and `Revoke` type (sdk/chain/eip712.ts:
 * contracts 1.1, domain version "2", the signer inside the signed struct), with the message the
 * page builds. Browser-safe: the page builds the same typed data it shows and signs.
 *
 * @example
 * ```ts
 * import { revokeTypedData } from "medledger/web";
 * const { domain, types, message } = revokeTypedData({ chainId, verifyingContract, signer, subject, consentId, nonce, deadline });
 * ```
 */
import type { TypedDataDomain, TypedDataField } from "ethers";

import { REVOKE_TYPES, consentDomain } from "../chain/eip712.js";

export interface RevokeRequest {
  chainId: number;
  verifyingContract: string;
  signer: string;
  subject: string;
  consentId: string;
  nonce: string | bigint;
  /** Unix seconds. */
  deadline: number;
}

/** The domain, types and message of a revocation signature. */
export function revokeTypedData(r: RevokeRequest): {
  domain: TypedDataDomain;
  types: Record<string, TypedDataField[]>;
  message: Record<string, unknown>;
} {
  return {
    domain: consentDomain({ chainId: r.chainId, verifyingContract: r.verifyingContract }),
    types: REVOKE_TYPES,
    message: {
      signer: r.signer,
      subject: r.subject,
      consentId: r.consentId,
      nonce: BigInt(r.nonce),
      deadline: BigInt(r.deadline),
    },
  };
}
