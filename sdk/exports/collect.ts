/**
 * Streaming exports of whole query results: every page of a query, written as CSV, JSON, JSON
 * lines or FHIR (AuditEvent Bundle for accesses, a Bundle of Consents for consents) without
 * holding the result in memory.
 *
 * @example
 * ```ts
 * import { createWriteStream } from "node:fs";
 * import { exportQuery } from "medledger/exports";
 * const out = createWriteStream("accesses.csv");
 * await exportQuery({ source: audit, kind: "accesses", query: { subject }, format: "csv", write: (s) => void out.write(s) });
 * ```
 */
import { InvalidInputError } from "../errors.js";
import type { AccessEntry, AuditSource, ConsentEntry, Page, PageQuery } from "../indexer/queries.js";
import { flatten } from "./csv.js";
import { accessToAuditEvent, URN } from "./fhir-audit.js";
import type { AuditExportOptions } from "./fhir-audit.js";
import { consentToFhir } from "./fhir-consent.js";

export const EXPORT_KINDS = ["accesses", "consents", "consent-history", "reviews"] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];
export const EXPORT_FORMATS = ["csv", "json", "jsonl", "fhir"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** CSV columns per kind (fixed, so a stream needs no look-ahead). */
export const CSV_COLUMNS: Record<ExportKind, string[]> = {
  accesses: [
    "time",
    "timestamp",
    "blockNumber",
    "logIndex",
    "transactionHash",
    "subject",
    "recordId",
    "category",
    "accessor",
    "organization",
    "purpose",
    "basis",
    "consentId",
    "sessionId",
  ],
  consents: [
    "time",
    "timestamp",
    "blockNumber",
    "logIndex",
    "transactionHash",
    "consentId",
    "subject",
    "sequence",
    "effect",
    "status",
    "grantee.kind",
    "grantee.account",
    "grantee.organization",
    "grantee.roles",
    "categories",
    "purposes",
    "actions",
    "validFrom",
    "validUntil",
    "revokedAt",
    "revokedBy",
    "grantedBy",
    "bySignature",
    "sealedTerms",
  ],
  "consent-history": [
    "time",
    "timestamp",
    "blockNumber",
    "logIndex",
    "transactionHash",
    "event",
    "consentId",
    "by",
    "bySignature",
    "consent.effect",
    "consent.status",
    "consent.grantee.kind",
    "consent.grantee.account",
    "consent.grantee.organization",
    "consent.categories",
    "consent.purposes",
  ],
  reviews: [
    "time",
    "timestamp",
    "blockNumber",
    "transactionHash",
    "sessionId",
    "subject",
    "responder",
    "organization",
    "purpose",
    "reasonCode",
    "expiresAt",
    "outcome",
    "reviewer",
    "reviewerOrganization",
    "reviewedAt",
  ],
};

/**
 * Every item of a paged query, page after page.
 *
 * @example
 * ```ts
 * for await (const a of allItems((q) => audit.accesses({ ...q, subject }))) console.log(a.time);
 * ```
 */
export async function* allItems<T>(fetch: (q: PageQuery) => Promise<Page<T>>, pageSize = 1000): AsyncGenerator<T> {
  let cursor: string | null = null;
  for (;;) {
    const page: Page<T> = await fetch({ limit: pageSize, cursor });
    yield* page.items;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

function csvCell(text: string): string {
  const safe = /^[=+@\t\r]/.test(text) || /^-[^0-9]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export interface ExportOptions {
  source: AuditSource;
  kind: ExportKind;
  /** The query's filters (as for the source's method; `subject` is required for consents). */
  query: Record<string, unknown>;
  format: ExportFormat;
  write: (chunk: string) => unknown;
  /** Required for FHIR: the chain and registry the events come from. */
  fhir?: AuditExportOptions;
  onItem?: (count: number) => void;
}

/**
 * Writes every item of a query in a format. Resolves to the number of items.
 *
 * @example
 * ```ts
 * const n = await exportQuery({ source, kind: "consents", query: { subject }, format: "fhir", write, fhir });
 * ```
 */
export async function exportQuery(opts: ExportOptions): Promise<number> {
  const { source, kind, query, format, write } = opts;
  const items = allItems<unknown>((q) => {
    const merged = { ...query, ...q } as never;
    if (kind === "accesses") return source.accesses(merged);
    if (kind === "consents") return source.consentsInForce(merged);
    if (kind === "consent-history") return source.consentHistory(merged);
    return source.reviews(merged);
  });
  if (format === "fhir" && kind !== "accesses" && kind !== "consents") {
    throw new InvalidInputError(`No FHIR export for ${kind}`, {
      details: "FHIR exports: accesses (AuditEvent), consents (Consent)",
    });
  }
  if (format === "fhir" && opts.fhir === undefined)
    throw new InvalidInputError("A FHIR export needs the chain id and registry");
  let count = 0;
  if (format === "csv") write(`${CSV_COLUMNS[kind].map(csvCell).join(",")}\r\n`);
  if (format === "json") write("[");
  if (format === "fhir")
    write(`{"resourceType":"Bundle","type":"collection","timestamp":"${new Date().toISOString()}","entry":[`);
  for await (const item of items) {
    if (format === "csv") {
      const flat = flatten(item);
      write(`${CSV_COLUMNS[kind].map((c) => csvCell(flat[c] ?? "")).join(",")}\r\n`);
    } else if (format === "json") {
      write(`${count === 0 ? "\n" : ",\n"}${JSON.stringify(item)}`);
    } else if (format === "jsonl") {
      write(`${JSON.stringify(item)}\n`);
    } else {
      const resource =
        kind === "accesses" ? accessToAuditEvent(item as AccessEntry, opts.fhir!) : consentToFhir(item as ConsentEntry);
      const fullUrl =
        kind === "accesses"
          ? `${URN.chain}:${opts.fhir!.chainId}:access:${(item as AccessEntry).blockNumber}:${(item as AccessEntry).logIndex}`
          : `${URN.consent}:${(item as ConsentEntry).consentId}`;
      write(`${count === 0 ? "" : ","}${JSON.stringify({ fullUrl, resource })}`);
    }
    count++;
    opts.onItem?.(count);
  }
  if (format === "json") write("\n]\n");
  if (format === "fhir") write("]}\n");
  return count;
}
