/**
 * The auditor's console: accesses with filters and exports, break-glass reviews, and per-record
 * version history with integrity badges. A privacy officer sees its organization's reviews only.
 */
import { ApiError, get, href } from "./api.js";
import { h, replace, uid } from "./dom.js";
import type { Child } from "./dom.js";
import type { ViewContext } from "./patient.js";
import type { AccessEntry, BreakGlassSession, IntegrityReport, Page, VersionCheck } from "./types.js";
import {
  CATEGORY_WORDS,
  OUTCOME_WORDS,
  PURPOSE_WORDS,
  category,
  orgName,
  personName,
  purpose,
  shortHex,
  when,
} from "./words.js";

type Filters = Record<string, string | undefined>;

function field(label: string, input: HTMLElement & { id: string }): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input);
}

function cell(label: string, ...content: Child[]): HTMLTableCellElement {
  return h("td", { "data-label": label }, h("div", null, ...content));
}

export function auditorView(main: HTMLElement, v: ViewContext): () => void {
  const p = v.principal;
  if (p.kind === "patient") throw new Error("not an auditor session");
  const pinned = p.kind === "auditor" ? undefined : p.organization;
  const source = p.kind === "privacy-officer" ? undefined : new EventSource("/api/feed");
  const sections: HTMLElement[] = [];

  // ── accesses ──
  if (p.kind !== "privacy-officer") {
    const subject = h("input", {
      id: uid("f-subject"),
      name: "subject",
      placeholder: "0x… (64 hex digits)",
      autocomplete: "off",
    });
    const accessor = h("input", {
      id: uid("f-accessor"),
      name: "accessor",
      placeholder: "0x… (40 hex digits)",
      autocomplete: "off",
    });
    const organization = h(
      "select",
      { id: uid("f-org"), name: "organization", disabled: pinned !== undefined },
      pinned !== undefined
        ? h("option", { value: String(pinned) }, orgName(v.names, pinned))
        : [
            h("option", { value: "" }, "Any"),
            h("option", { value: "0" }, "None (the patient or a guardian)"),
            Object.entries(v.names.organizations).map(([id, name]) => h("option", { value: id }, `${name} (#${id})`)),
          ],
    );
    const purposeSel = h(
      "select",
      { id: uid("f-purpose"), name: "purpose" },
      h("option", { value: "" }, "Any"),
      Object.entries(PURPOSE_WORDS).map(([code, words]) => h("option", { value: code }, `${words} (${code})`)),
    );
    const basisSel = h(
      "select",
      { id: uid("f-basis"), name: "basis" },
      h("option", { value: "" }, "Any"),
      h("option", { value: "CONSENT" }, "A consent"),
      h("option", { value: "EMERGENCY" }, "Emergency (break the glass)"),
      h("option", { value: "SUBJECT" }, "The patient or a guardian"),
    );
    const emergency = h("input", { id: uid("f-emergency"), type: "checkbox", name: "emergencyOnly" });
    const from = h("input", { id: uid("f-from"), type: "date", name: "from" });
    const to = h("input", { id: uid("f-to"), type: "date", name: "to" });
    const status = h("p", { class: "status", role: "status" });
    const rows = h("tbody");
    const more = h("div");
    const exports = h("div", { class: "actions exports" });
    let filters: Filters = {};
    let cursor: string | null = null;
    let reviewsBySession = new Map<number, BreakGlassSession>();

    const read = (): Filters => ({
      subject: subject.value.trim(),
      accessor: accessor.value.trim(),
      organization: pinned !== undefined ? String(pinned) : organization.value,
      purpose: purposeSel.value,
      basis: basisSel.value,
      emergencyOnly: emergency.checked ? "true" : undefined,
      from: from.value === "" ? undefined : new Date(`${from.value}T00:00:00`).toISOString(),
      // "to" is exclusive: the end of the chosen day.
      to: to.value === "" ? undefined : new Date(new Date(`${to.value}T00:00:00`).getTime() + 86_400_000).toISOString(),
    });

    const row = (a: AccessEntry): HTMLTableRowElement => {
      const review = a.sessionId === null ? undefined : reviewsBySession.get(a.sessionId);
      const outcome = review?.outcome ?? "PENDING";
      return h(
        "tr",
        { "data-basis": a.basis },
        cell("When", h("time", { datetime: a.time }, when(a.timestamp))),
        cell(
          "Who",
          personName(v.names, a.accessor),
          h("br"),
          h("small", null, a.organization === 0 ? "patient or guardian" : orgName(v.names, a.organization)),
        ),
        cell("Patient", h("span", { class: "mono" }, shortHex(a.subject))),
        cell("Record", category(a.category), h("br"), h("small", { class: "mono" }, shortHex(a.recordId))),
        cell("Purpose", purpose(a.purpose)),
        cell(
          "Basis",
          a.basis === "EMERGENCY"
            ? [
                h("span", { class: "badge emergency" }, "EMERGENCY"),
                " ",
                h("span", { class: `badge review-${outcome.toLowerCase()}` }, OUTCOME_WORDS[outcome] ?? outcome),
              ]
            : a.basis === "CONSENT"
              ? h("span", { class: "badge consent" }, "consent")
              : h("span", { class: "badge subject" }, "patient"),
        ),
      );
    };

    const renderExports = (): void => {
      const formats: [string, string][] = [
        ["csv", "Export CSV"],
        ["json", "Export JSON"],
        ["fhir", "Export FHIR AuditEvent"],
      ];
      replace(
        exports,
        formats.map(([format, label]) =>
          h(
            "a",
            {
              class: "button",
              href: href("/api/audit/export", { kind: "accesses", format, ...filters }),
              download: "",
            },
            label,
          ),
        ),
      );
    };

    const load = async (append: boolean): Promise<void> => {
      status.textContent = "Loading…";
      try {
        const [page, reviews] = await Promise.all([
          get<Page<AccessEntry>>("/api/audit/accesses", {
            ...filters,
            limit: "50",
            cursor: append ? (cursor ?? undefined) : undefined,
          }),
          get<Page<BreakGlassSession>>("/api/audit/reviews", { status: "all", limit: "1000" }),
        ]);
        reviewsBySession = new Map(reviews.items.map((s) => [s.sessionId, s]));
        if (!append) replace(rows);
        rows.append(...page.items.map(row));
        cursor = page.nextCursor;
        replace(
          more,
          cursor === null ? null : h("button", { type: "button", onclick: () => void load(true) }, "Show more"),
        );
        const count = rows.children.length;
        status.textContent =
          count === 0
            ? "No access matches these filters."
            : `${count} access${count === 1 ? "" : "es"} shown${cursor === null ? "" : " (more available)"}.`;
      } catch (err) {
        status.textContent = `Could not load: ${err instanceof ApiError ? err.message : String(err)}`;
      }
    };

    const apply = (e?: Event): void => {
      e?.preventDefault();
      filters = read();
      renderExports();
      void load(false);
    };
    const clear = (): void => {
      for (const i of [subject, accessor, from, to]) i.value = "";
      if (pinned === undefined) organization.value = "";
      purposeSel.value = "";
      basisSel.value = "";
      emergency.checked = false;
      apply();
    };

    sections.push(
      h(
        "section",
        { class: "card", "aria-labelledby": "a-title" },
        h("h2", { id: "a-title" }, "Accesses"),
        h(
          "form",
          { class: "filters", onsubmit: apply, "aria-label": "Filter accesses" },
          field("Patient (subject id)", subject),
          field("Accessor (address)", accessor),
          field("Organization", organization),
          field("Purpose", purposeSel),
          field("Basis", basisSel),
          field("From (date)", from),
          field("To (date, inclusive)", to),
          h("div", { class: "field check" }, emergency, h("label", { for: emergency.id }, "Emergency accesses only")),
          h(
            "div",
            { class: "actions" },
            h("button", { type: "submit", class: "primary" }, "Apply filters"),
            h("button", { type: "button", onclick: clear }, "Clear"),
          ),
        ),
        exports,
        status,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "accesses" },
            h("caption", { class: "visually-hidden" }, "Accesses, newest first"),
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ["When", "Who", "Patient", "Record", "Purpose", "Basis"].map((t) => h("th", { scope: "col" }, t)),
              ),
            ),
            rows,
          ),
        ),
        more,
      ),
    );
    source?.addEventListener("access", () => void load(false));
    apply();
  }

  // ── reviews ──
  const pending = h("ul", { class: "reviews" });
  const closed = h("ul", { class: "reviews" });
  const reviewItem = (s: BreakGlassSession): HTMLLIElement =>
    h(
      "li",
      { class: `review ${s.outcome.toLowerCase()}`, "data-session": String(s.sessionId) },
      h(
        "p",
        { class: "lead" },
        h("span", { class: "badge emergency" }, "EMERGENCY"),
        " ",
        h("span", { class: `badge review-${s.outcome.toLowerCase()}` }, OUTCOME_WORDS[s.outcome] ?? s.outcome),
        ` Session #${s.sessionId}: ${personName(v.names, s.responder)} at ${orgName(v.names, s.organization)} broke the glass for ${purpose(s.purpose)}`,
      ),
      h(
        "p",
        { class: "meta" },
        "patient ",
        h("span", { class: "mono" }, shortHex(s.subject)),
        ` · declared ${when(s.timestamp)}`,
        s.reviewer === null
          ? ""
          : ` · reviewed by ${personName(v.names, s.reviewer)} (${orgName(v.names, s.reviewerOrganization ?? 0)}) on ${when(s.reviewedAt ?? 0)}`,
      ),
    );
  const loadReviews = async (): Promise<void> => {
    const [open, done] = await Promise.all([
      get<Page<BreakGlassSession>>("/api/audit/reviews", { status: "pending", limit: "200" }),
      get<Page<BreakGlassSession>>("/api/audit/reviews", { status: "closed", limit: "200" }),
    ]);
    replace(
      pending,
      open.items.length === 0 ? h("li", { class: "empty" }, "No review is pending.") : open.items.map(reviewItem),
    );
    replace(
      closed,
      done.items.length === 0 ? h("li", { class: "empty" }, "No review is closed yet.") : done.items.map(reviewItem),
    );
  };
  sections.push(
    h(
      "section",
      { class: "card", "aria-labelledby": "r-title" },
      h(
        "h2",
        { id: "r-title" },
        pinned === undefined ? "Break-glass reviews" : `Break-glass reviews: ${orgName(v.names, pinned)}`,
      ),
      h("h3", null, "Pending"),
      pending,
      h("h3", null, "Closed"),
      closed,
    ),
  );
  void loadReviews();
  source?.addEventListener("access", () => void loadReviews());

  // ── integrity ──
  if (p.kind === "auditor") {
    const subject = h("input", { id: uid("i-subject"), placeholder: "0x… (64 hex digits)", autocomplete: "off" });
    const result = h("div", { class: "integrity" });
    const status = h("p", { class: "status", role: "status" });
    const badges = (c: VersionCheck): Node[] => {
      const out: Node[] = [];
      const badge = (ok: boolean | null, text: string, problem?: string) =>
        out.push(
          h("span", { class: `badge ${ok === null ? "neutral" : ok ? "ok" : "fail"}`, title: problem ?? "" }, text),
        );
      badge(
        c.anchorState.status === "pass" ? true : c.anchorState.status === "fail" ? false : null,
        c.anchorState.status === "fail" ? "anchor differs" : "anchored",
        c.anchorState.problem,
      );
      if (c.batch !== null)
        badge(
          c.batch.proof === "pass",
          c.batch.proof === "pass" ? "in batch: proof valid" : "batch proof fails",
          c.batch.problem,
        );
      if (c.erasedAt !== null) badge(null, `tombstoned ${when(c.erasedAt)}`);
      else if (c.envelope.status === "pass") badge(true, "digest verified");
      else if (c.envelope.status === "fail") badge(false, "digest NOT verified", c.envelope.problem);
      return out;
    };
    const render = (r: IntegrityReport): void => {
      // Version chains: start at versions with no previous, follow supersededBy.
      const byId = new Map(r.versions.map((c) => [c.recordId, c]));
      const chains: VersionCheck[][] = [];
      for (const c of r.versions) {
        if (c.previous !== null && byId.has(c.previous)) continue;
        const chain = [c];
        for (let next = c.supersededBy; next !== null && byId.has(next); next = byId.get(next)!.supersededBy)
          chain.push(byId.get(next)!);
        chains.push(chain);
      }
      replace(
        result,
        h(
          "p",
          { class: r.ok ? "summary ok" : "summary fail" },
          r.ok ? "Every version verifies. " : "Something does not verify. ",
          `${r.summary.versions} versions: ${r.summary.passed} verified, ${r.summary.failed} failed, ${r.summary.erased} tombstoned, ${r.summary.batchMembers} in batches.`,
        ),
        h(
          "ol",
          { class: "records" },
          chains.map((chain) =>
            h(
              "li",
              { class: "record" },
              h(
                "h3",
                null,
                `${CATEGORY_WORDS[chain[0]!.category] ?? chain[0]!.category} · record ${shortHex(chain[chain.length - 1]!.recordId)}`,
              ),
              h(
                "ol",
                { class: "versions" },
                chain.map((c, i) =>
                  h(
                    "li",
                    { class: c.ok ? "version ok" : "version fail", "data-record": c.recordId },
                    h(
                      "p",
                      null,
                      `Version ${i + 1} `,
                      h("span", { class: "mono" }, shortHex(c.recordId)),
                      ` · ${c.anchor} anchor · ${when(c.anchoredAt)}`,
                    ),
                    h("p", { class: "badges" }, ...badges(c)),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    };
    const check = async (e: Event): Promise<void> => {
      e.preventDefault();
      status.textContent = "Checking every version…";
      try {
        const report = await get<IntegrityReport>("/api/audit/integrity", { subject: subject.value.trim() });
        status.textContent = "";
        render(report);
      } catch (err) {
        status.textContent = `Could not check: ${err instanceof ApiError ? err.message : String(err)}`;
      }
    };
    sections.push(
      h(
        "section",
        { class: "card", "aria-labelledby": "i-title" },
        h("h2", { id: "i-title" }, "Record integrity"),
        h(
          "form",
          { class: "filters", onsubmit: (e) => void check(e) },
          field("Patient (subject id)", subject),
          h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Check records")),
        ),
        status,
        result,
      ),
    );
  }

  replace(main, h("h1", null, p.kind === "privacy-officer" ? "Privacy office" : "Audit console"), ...sections);
  return () => source?.close();
}
