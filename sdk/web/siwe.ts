/**
 * EIP-4361 "Sign-In with Ethereum" messages: the server writes the challenge, the browser signs it
 * (EIP-191 personal message) with the participant's key, the server checks it. Browser-safe: no
 * Node import, used by the page too (to check the domain before signing).
 *
 * The server never parses a message it did not write: it looks the challenge up by its nonce and
 * requires the signed text to equal the text it issued, byte for byte. {@link parseSiweMessage}
 * serves only to find the nonce and for the page's own checks.
 *
 * @example
 * ```ts
 * import { formatSiweMessage } from "medledger/web";
 * const text = formatSiweMessage({ domain: "127.0.0.1:8720", address, uri: "http://127.0.0.1:8720",
 *   chainId: 31337, nonce, issuedAt: new Date(), expirationTime: new Date(Date.now() + 300_000),
 *   statement: "Sign in to MedLedger as a patient.", resources: ["urn:medledger:role:patient"] });
 * ```
 */

export interface SiweFields {
  /** RFC 3986 authority (host[:port]) of the site asking for the signature. */
  domain: string;
  /** EIP-55 address. */
  address: string;
  statement: string;
  uri: string;
  chainId: number;
  /** At least 8 alphanumeric characters. */
  nonce: string;
  issuedAt: Date;
  expirationTime: Date;
  resources: string[];
}

/** The EIP-4361 text of a sign-in request (version 1). */
export function formatSiweMessage(f: SiweFields): string {
  const lines = [
    `${f.domain} wants you to sign in with your Ethereum account:`,
    f.address,
    "",
    f.statement,
    "",
    `URI: ${f.uri}`,
    "Version: 1",
    `Chain ID: ${f.chainId}`,
    `Nonce: ${f.nonce}`,
    `Issued At: ${f.issuedAt.toISOString()}`,
    `Expiration Time: ${f.expirationTime.toISOString()}`,
  ];
  if (f.resources.length > 0) lines.push("Resources:", ...f.resources.map((r) => `- ${r}`));
  return lines.join("\n");
}

/** The fields of an EIP-4361 message this module wrote (undefined: not such a message). */
export function parseSiweMessage(text: string): SiweFields | undefined {
  const m =
    /^(?<domain>[^\s]+) wants you to sign in with your Ethereum account:\n(?<address>0x[0-9a-fA-F]{40})\n\n(?<statement>[^\n]*)\n\nURI: (?<uri>[^\n]+)\nVersion: 1\nChain ID: (?<chainId>\d+)\nNonce: (?<nonce>[0-9A-Za-z]{8,})\nIssued At: (?<issuedAt>[^\n]+)\nExpiration Time: (?<expirationTime>[^\n]+)(?:\nResources:(?<resources>(?:\n- [^\n]+)+))?$/.exec(
      text,
    );
  const g = m?.groups;
  if (g === undefined) return undefined;
  const issuedAt = new Date(g.issuedAt!);
  const expirationTime = new Date(g.expirationTime!);
  if (Number.isNaN(issuedAt.getTime()) || Number.isNaN(expirationTime.getTime())) return undefined;
  return {
    domain: g.domain!,
    address: g.address!,
    statement: g.statement!,
    uri: g.uri!,
    chainId: Number(g.chainId),
    nonce: g.nonce!,
    issuedAt,
    expirationTime,
    resources: (g.resources ?? "")
      .split("\n")
      .filter((l) => l.startsWith("- "))
      .map((l) => l.slice(2)),
  };
}

/** Resource URIs the challenge carries: the role asked for and the subjects it covers. */
export const SIWE_RESOURCE = {
  role: (role: string) => `urn:medledger:role:${role}`,
  subject: (subject: string) => `urn:medledger:subject:${subject}`,
} as const;
