/** The JSON documents the page reads (the audit query results of sdk/indexer/queries.ts). */
export type {
  AccessEntry,
  BreakGlassSession,
  ConsentEntry,
  ConsentHistoryEntry,
  Page,
} from "../../sdk/indexer/queries.js";
export type { AccessNotice } from "../../sdk/indexer/watch.js";
export type { IntegrityReport, VersionCheck } from "../../sdk/exports/integrity.js";
export type { Names } from "../../sdk/web/names.js";
export type { Principal } from "../../sdk/web/auth.js";

export interface Profile {
  subject: string;
  subjects: string[];
  controller: string;
  you: { address: string; as: "controller" | "guardian" };
  guardians: { address: string; powers: string[]; validUntil: number | null; active: boolean }[];
  breakGlassOptedOut: boolean;
}

export interface Config {
  chainId: number;
  consentRegistry: string;
  signInDomain: string;
  canRelay: boolean;
  signedIn: boolean;
}
