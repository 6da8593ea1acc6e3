/**
 * Renders the classifier's tables (sdk/fhir/terminology.ts) and the Synthea counts as the
 * markdown section of docs/fhir.md between the GENERATED markers, formatted by prettier as the
 * repository's format check wants it. The docs test compares; `MEDLEDGER_UPDATE_DOCS=1` rewrites.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

import * as prettier from "prettier";

import {
  EXCLUSIONS,
  LABEL_NAMES,
  LABEL_VALUE_SETS,
  RESOURCE_TYPE_RULES,
  SECURITY_LABEL_RULES,
  SOURCES,
  classifyBundle,
} from "../../../sdk/fhir/index.js";
import type { SourceId, ValueSetEntry } from "../../../sdk/fhir/index.js";
import { loadSynthea, projectRoot, syntheaFiles } from "./helpers.js";

export const DOC = resolve(projectRoot, "docs/fhir.md");
export const BEGIN = "<!-- BEGIN GENERATED: npm test regenerates this section with MEDLEDGER_UPDATE_DOCS=1 -->";
export const END = "<!-- END GENERATED -->";

const SYSTEMS: Record<string, string> = {
  "http://snomed.info/sct": "SNOMED CT",
  "http://loinc.org": "LOINC",
  "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
  "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
  "http://hl7.org/fhir/sid/cvx": "CVX",
  "http://terminology.hl7.org/CodeSystem/v3-ActCode": "v3-ActCode",
  "http://terminology.hl7.org/CodeSystem/v3-Confidentiality": "v3-Confidentiality",
  "http://terminology.hl7.org/CodeSystem/observation-category": "observation-category",
  "http://terminology.hl7.org/CodeSystem/v2-0074": "v2-0074",
};
const sys = (s: string): string => SYSTEMS[s] ?? s;
const cell = (s: string | undefined): string => (s ?? "").replace(/\|/g, "\\|");
const what = (e: { code?: string; range?: readonly [string, string] }): string =>
  e.code !== undefined
    ? `\`${e.code}\``
    : e.range![0] === e.range![1]
      ? `\`${e.range![0]}\``
      : `\`${e.range![0]}\`–\`${e.range![1]}\``;
const src = (id: SourceId): string => `[${id}](#sources)`;

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

/** The Synthea counts after classification: resource type → category (anchored in clear), labels (sealed). */
export function syntheaCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const file of syntheaFiles()) {
    for (const e of classifyBundle(loadSynthea(file))) {
      const c = e.classification;
      const key = [
        e.resource.resourceType,
        c.skip === undefined ? c.category : `skipped (${c.skip})`,
        c.labels.join(", ") || "—",
      ].join(" | ");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

export async function renderSection(): Promise<string> {
  const parts: string[] = [];
  parts.push("### Security labels (step 1)\n");
  parts.push(
    table(
      ["system", "code", "display", "labels", "source", "note"],
      SECURITY_LABEL_RULES.map((r) => [
        sys(r.system),
        `\`${r.code}\``,
        r.display,
        r.labels.join(", ") || (r.review === true ? "none (review)" : "none"),
        src(r.source),
        r.note ?? "",
      ]),
    ),
  );
  for (const label of LABEL_NAMES) {
    parts.push(`\n### ${label} (step 2)\n`);
    parts.push(
      table(
        ["system", "code or range", "display", "source", "note"],
        LABEL_VALUE_SETS[label].map((e: ValueSetEntry) => [
          sys(e.system),
          what(e),
          e.display,
          src(e.source),
          e.note ?? "",
        ]),
      ),
    );
  }
  parts.push("\n### Reviewed and not labelled (exclusions)\n");
  parts.push(
    table(
      ["system", "code or range", "display", "not labelled", "why", "source"],
      EXCLUSIONS.map((x) => [sys(x.system), what(x), x.display, x.labels.join(", "), x.reason, src(x.source)]),
    ),
  );
  parts.push("\n### Resource types\n");
  const byCategory = new Map<string, string[]>();
  for (const [type, rule] of Object.entries(RESOURCE_TYPE_RULES)) {
    const key =
      "skip" in rule
        ? `not stored: ${rule.skip}`
        : `${rule.category}${rule.labels === undefined ? "" : ` + label ${rule.labels.join(", ")}`}`;
    byCategory.set(key, [...(byCategory.get(key) ?? []), type]);
  }
  parts.push(
    table(
      ["category", "resource types"],
      [...byCategory].map(([k, types]) => [k, [...types].sort().join(", ")]),
    ),
  );
  parts.push("\n### Sources\n");
  parts.push(
    table(
      ["key", "source", "link"],
      Object.entries(SOURCES).map(([k, s]) => [`\`${k}\``, s.title, s.url]),
    ),
  );
  parts.push("\n### The ten Synthea bundles after classification\n");
  parts.push(
    table(
      ["resource type", "category (on chain)", "labels (sealed)", "resources"],
      [...syntheaCounts()].map(([k, n]) => [...k.split(" | "), String(n)]),
    ),
  );
  const md = parts.join("\n") + "\n";
  return (await prettier.format(md, { parser: "markdown", printWidth: 120 })).trim();
}

/** The section as docs/fhir.md has it now. */
export function currentSection(): string {
  const doc = readFileSync(DOC, "utf8");
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) return "";
  return doc.slice(a + BEGIN.length, b).trim();
}

export function writeSection(section: string): void {
  const doc = readFileSync(DOC, "utf8");
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/fhir.md has no ${BEGIN} … ${END} markers`);
  writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n\n${section}\n\n${doc.slice(b)}`);
}
