/**
 * The EIP-712 revocation a patient signs in the browser and the web server relays
 * (`ConsentRegistry.revokeBySig`, contracts 1.1: domain version "2", the signer inside the signed
 * struct). Browser-safe: the page builds the same typed data it shows and signs.
 *
 * @example
 * ```ts
 * import { revokeTypedData } from "medledger/web";
 * const { domain, types, message } = revokeTypedData({ chainId, verifyingContract, signer, subject, consentId, nonce, deadline });
 * ```
 */
import type { TypedDataDomain, TypedDataField } from "ethers";

/** ConsentRegistry 1.1's EIP-712 domain name and version. */
export const CONSENT_DOMAIN_NAME = "MedLedger ConsentRegistry";
export const CONSENT_DOMAIN_VERSION_1_1 = "2";

/** `Revoke(address signer,bytes32 subject,bytes32 consentId,uint256 nonce,uint256 deadline)`. */
export const REVOKE_TYPES_1_1: Record<string, TypedDataField[]> = {
  Revoke: [
    { name: "signer", type: "address" },
    { name: "subject", type: "bytes32" },
    { name: "consentId", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

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
    domain: {
      name: CONSENT_DOMAIN_NAME,
      version: CONSENT_DOMAIN_VERSION_1_1,
      chainId: r.chainId,
      verifyingContract: r.verifyingContract,
    },
    types: REVOKE_TYPES_1_1,
    message: {
      signer: r.signer,
      subject: r.subject,
      consentId: r.consentId,
      nonce: BigInt(r.nonce),
      deadline: BigInt(r.deadline),
    },
  };
}
