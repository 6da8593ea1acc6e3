/**
 * CSV (RFC 4180) and JSON exports of any audit query result. Nested values are flattened into
 * dotted columns (`grantee.kind`), lists joined with `;`. Cells that a spreadsheet would run as a
 * formula (starting with `=`, `+`, `@`, or `-` followed by a non-digit) are prefixed with `'`.
 *
 * @example
 * ```ts
 * import { toCsv } from "medledger/exports";
 * const csv = toCsv(page.items);
 * ```
 */

function scalar(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return value.toString();
  return "";
}

/** Flattens one result into column → cell text. */
export function flatten(value: unknown, prefix = "", out: Record<string, string> = {}): Record<string, string> {
  if (value === null || value === undefined) {
    if (prefix !== "") out[prefix] = "";
  } else if (Array.isArray(value)) {
    out[prefix] = value.map((v) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))).join(";");
  } else if (typeof value === "object") {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === "" ? k : `${prefix}.${k}`, out);
  } else {
    out[prefix] = scalar(value);
  }
  return out;
}

function cell(text: string): string {
  const safe = /^[=+@\t\r]/.test(text) || /^-[^0-9]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The header line and the lines of `rows`; columns are the union of the rows' keys in first-seen order. */
export function toCsv(rows: readonly unknown[], columns?: readonly string[]): string {
  const flat = rows.map((r) => flatten(r));
  const cols = columns ?? [...new Set(flat.flatMap((r) => Object.keys(r)))];
  const lines = [cols.map(cell).join(",")];
  for (const r of flat) lines.push(cols.map((c) => cell(r[c] ?? "")).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/**
 * Parses CSV produced by {@link toCsv} (for tests and round trips): rows of column → text.
 *
 * @example
 * ```ts
 * import { parseCsv, toCsv } from "medledger/exports";
 * parseCsv(toCsv([{ a: 1 }])); // [{ a: "1" }]
 * ```
 */
export function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || (ch === "\r" && text[i + 1] === "\n")) {
      if (ch === "\r") i++;
      row.push(field);
      records.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    records.push(row);
  }
  const [header, ...data] = records;
  if (header === undefined) return [];
  return data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
}
