/**
 * EIP-712 typed data for consent grants and revocations: the patient (or a guardian) signs off
 * chain, anyone relays, so patients need no gas. Mirrors ConsentRegistry's type hashes exactly
 * (contracts 1.1: domain version "2"; the signer is part of both structs, so two ERC-1271 wallets
 * of one owner cannot accept one signature twice).
 *
 * @example
 * ```ts
 * import { consentDomain, GRANT_TYPES } from "medledger";
 * const domain = consentDomain({ chainId: 31337n, verifyingContract: registryAddress });
 * const signature = await patientWallet.signTypedData(domain, GRANT_TYPES, { signer, subject, terms, nonce, deadline });
 * ```
 */
import type { TypedDataDomain, TypedDataField } from "ethers";

import { CONSENT_TERMS_FIELDS } from "../codes.js";

/** The domain name and version ConsentRegistry was deployed with. */
export const CONSENT_DOMAIN_NAME = "MedLedger ConsentRegistry";
export const CONSENT_DOMAIN_VERSION = "2";

/** The EIP-712 domain of one ConsentRegistry deployment (chain id + address prevent cross-chain replay). */
export function consentDomain(opts: { chainId: bigint | number; verifyingContract: string }): TypedDataDomain {
  return {
    name: CONSENT_DOMAIN_NAME,
    version: CONSENT_DOMAIN_VERSION,
    chainId: BigInt(opts.chainId),
    verifyingContract: opts.verifyingContract,
  };
}

/** The EIP-712 type of ConsentTerms (from the one list of its fields, sdk/codes.ts). */
export const CONSENT_TERMS_TYPE: TypedDataField[] = CONSENT_TERMS_FIELDS.map((f) => ({ name: f.name, type: f.type }));

/** Types for `Grant(address signer,bytes32 subject,ConsentTerms terms,uint256 nonce,uint256 deadline)`. */
export const GRANT_TYPES: Record<string, TypedDataField[]> = {
  Grant: [
    { name: "signer", type: "address" },
    { name: "subject", type: "bytes32" },
    { name: "terms", type: "ConsentTerms" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  ConsentTerms: CONSENT_TERMS_TYPE,
};

/** Types for `Revoke(address signer,bytes32 subject,bytes32 consentId,uint256 nonce,uint256 deadline)`. */
export const REVOKE_TYPES: Record<string, TypedDataField[]> = {
  Revoke: [
    { name: "signer", type: "address" },
    { name: "subject", type: "bytes32" },
    { name: "consentId", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};
