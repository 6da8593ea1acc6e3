/**
 * Codes in plain words, and names from the names file. The page shows metadata only: people,
 * organizations, categories, purposes, times and results, never record contents.
 */
import type { Names } from "./types.js";

export const PURPOSE_WORDS: Record<string, string> = {
  TREAT: "treatment",
  ETREAT: "emergency treatment",
  HPAYMT: "payment",
  HOPERAT: "running the hospital",
  HRESCH: "health research",
  CLINTRCH: "clinical trial research",
  PUBHLTH: "public health",
  PATRQT: "your own request",
  COC: "coordinating your care",
  BTG: "an emergency (break the glass)",
};

export const CATEGORY_WORDS: Record<string, string> = {
  DEMOGRAPHICS: "personal details",
  ENCOUNTERS: "visits",
  OBSERVATIONS: "lab results",
  IMAGING: "scans and imaging",
  MEDICATIONS: "medications",
  IMMUNIZATIONS: "vaccinations",
  PROCEDURES: "procedures",
  CONDITIONS: "conditions",
  NOTES: "clinical notes",
  ALLERGIES: "allergies",
  CARE_PLANS: "care plans",
  FINANCIAL: "billing and insurance",
  DIAGNOSTIC_REPORTS: "diagnostic reports",
  DOCUMENTS: "documents",
  REQUESTS: "orders and referrals",
  OTHER: "other records",
};

export const ROLE_WORDS: Record<string, string> = {
  CLINICIAN: "clinicians",
  EMERGENCY_RESPONDER: "emergency responders",
  RESEARCHER: "researchers",
  PAYER: "insurance staff",
  AUDITOR: "auditors",
  PRIVACY_OFFICER: "privacy officers",
};

export const POWER_WORDS: Record<string, string> = {
  GRANT: "give consents",
  REVOKE: "revoke consents",
  ERASE: "erase records",
  RECOVER: "help recover your account",
  ACCESS: "see and add to your records",
};

export const OUTCOME_WORDS: Record<string, string> = {
  PENDING: "independent review pending",
  JUSTIFIED: "reviewed: justified",
  UNJUSTIFIED: "reviewed: NOT justified",
};

export const purpose = (code: string): string => PURPOSE_WORDS[code] ?? code.toLowerCase();
export const category = (code: string | null): string =>
  code === null ? "a record" : (CATEGORY_WORDS[code] ?? code.toLowerCase());

/** "a, b and c" */
export function list(words: string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

export function shortHex(v: string): string {
  return v.length > 14 ? `${v.slice(0, 6)}…${v.slice(-4)}` : v;
}

export function personName(names: Names, address: string): string {
  return names.people[address.toLowerCase()] ?? shortHex(address);
}

export function orgName(names: Names, id: number): string {
  return id === 0 ? "any organization" : (names.organizations[String(id)] ?? `organization #${id}`);
}

const DATE: Intl.DateTimeFormatOptions = { day: "numeric", month: "long", year: "numeric" };
const TIME: Intl.DateTimeFormatOptions = { ...DATE, hour: "2-digit", minute: "2-digit" };

export const day = (unix: number): string => new Date(unix * 1000).toLocaleDateString("en-GB", DATE);
export const when = (unix: number): string => new Date(unix * 1000).toLocaleString("en-GB", TIME);
