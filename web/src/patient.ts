/**
 * The patient's view: every access to my records (live), my consents in plain words with a
 * revoke action (signed here, relayed by the server), my guardians and my break-glass choice.
 */
import { revokeTypedData } from "../../sdk/web/revoke.js";
import { ApiError, get, post } from "./api.js";
import { announce, h, replace, uid } from "./dom.js";
import { signTypedData, unlock, unlockedAddress } from "./identity.js";
import type {
  AccessEntry,
  AccessNotice,
  BreakGlassSession,
  Config,
  ConsentEntry,
  ConsentHistoryEntry,
  Names,
  Page,
  Principal,
  Profile,
} from "./types.js";
import {
  OUTCOME_WORDS,
  POWER_WORDS,
  ROLE_WORDS,
  category,
  day,
  list,
  orgName,
  personName,
  purpose,
  shortHex,
  when,
} from "./words.js";

export interface ViewContext {
  config: Config;
  names: Names & { affiliations?: Record<string, number> };
  principal: Principal;
}

const keyOf = (a: { blockNumber: number; logIndex: number }): string => `${a.blockNumber}:${a.logIndex}`;

export function patientView(main: HTMLElement, v: ViewContext): () => void {
  const p = v.principal;
  if (p.kind !== "patient") throw new Error("not a patient session");
  let subject = p.subjects[0]!;
  let profile: Profile | undefined;
  let accesses: AccessEntry[] = [];
  let nextCursor: string | null = null;
  let reviews = new Map<number, BreakGlassSession>();
  let consents: ConsentEntry[] = [];
  const fresh = new Set<string>();
  /** "your", or "Maria Garcia's" for a guardian. */
  let your = "your";
  const heading = h("h1", null, "Your records");
  const timelineTitle = h("h2", { id: "t-title" }, "Who read your records");
  const consentsTitle = h("h2", { id: "c-title" }, "Your consents");
  const roleNote = h("p", { class: "note" });

  const timeline = h("ol", { class: "timeline", "aria-live": "off" });
  const timelineMore = h("div");
  const consentsBox = h("div");
  const peopleBox = h("div");
  const liveState = h("p", { class: "live", id: "live-state" }, "Connecting to live updates…");

  // ── who read my records ──
  const who = (a: AccessEntry): (string | Node)[] => {
    if (a.basis === "SUBJECT") {
      if (profile !== undefined && a.accessor === profile.you.address) return [h("strong", null, "You")];
      if (profile !== undefined && a.accessor === profile.controller) return [h("strong", null, "You")];
      return ["Your guardian ", h("strong", null, personName(v.names, a.accessor))];
    }
    return [h("strong", null, personName(v.names, a.accessor)), ` at ${orgName(v.names, a.organization)}`];
  };

  const basis = (a: AccessEntry): Node[] => {
    if (a.basis === "EMERGENCY") {
      const review = a.sessionId === null ? undefined : reviews.get(a.sessionId);
      const outcome = review?.outcome ?? "PENDING";
      return [
        h("span", { class: "badge emergency" }, "EMERGENCY"),
        h("span", { class: `badge review-${outcome.toLowerCase()}` }, OUTCOME_WORDS[outcome] ?? outcome),
      ];
    }
    if (a.basis === "CONSENT") {
      const c = consents.find((x) => x.consentId === a.consentId);
      return [
        h(
          "span",
          { class: "badge consent" },
          c === undefined ? `with ${your} consent` : `with ${your} consent #${c.sequence}`,
        ),
      ];
    }
    return [h("span", { class: "badge subject" }, "on your behalf")];
  };

  const accessItem = (a: AccessEntry): HTMLLIElement =>
    h(
      "li",
      { class: fresh.has(keyOf(a)) ? "access new" : "access", "data-key": keyOf(a), "data-basis": a.basis },
      h("p", { class: "lead" }, ...who(a), ` read ${your} `, h("strong", null, category(a.category))),
      h(
        "p",
        null,
        `for ${purpose(a.purpose)} `,
        ...basis(a),
        fresh.has(keyOf(a)) ? h("span", { class: "badge new" }, "new") : null,
      ),
      h(
        "p",
        { class: "meta" },
        h("time", { datetime: a.time }, when(a.timestamp)),
        " · record ",
        h("span", { class: "mono" }, shortHex(a.recordId)),
      ),
    );

  const renderTimeline = (): void => {
    replace(
      timeline,
      accesses.length === 0
        ? h("li", { class: "empty" }, "Nobody has read your records yet.")
        : accesses.map(accessItem),
    );
    replace(
      timelineMore,
      nextCursor === null
        ? null
        : h("button", { type: "button", onclick: () => void loadAccesses(true) }, "Show older reads"),
    );
  };

  const loadAccesses = async (more = false): Promise<void> => {
    const page = await get<Page<AccessEntry>>("/api/patient/accesses", {
      subject,
      limit: "50",
      cursor: more ? (nextCursor ?? undefined) : undefined,
    });
    const known = new Set(accesses.map(keyOf));
    accesses = more ? [...accesses, ...page.items.filter((a) => !known.has(keyOf(a)))] : mergeNewest(page.items);
    nextCursor = page.nextCursor;
    renderTimeline();
  };

  /** Keeps live entries the index has not caught up with yet. */
  const mergeNewest = (items: AccessEntry[]): AccessEntry[] => {
    const keys = new Set(items.map(keyOf));
    const live = accesses.filter((a) => !keys.has(keyOf(a)) && fresh.has(keyOf(a)));
    return [...live, ...items].sort((x, y) => y.blockNumber - x.blockNumber || y.logIndex - x.logIndex);
  };

  const loadReviews = async (): Promise<void> => {
    const page = await get<Page<BreakGlassSession>>("/api/patient/reviews", { subject });
    reviews = new Map(page.items.map((s) => [s.sessionId, s]));
  };

  // ── my consents ──
  const grantee = (c: ConsentEntry): string => {
    if (c.grantee.kind === "practitioner") {
      const org = v.names.affiliations?.[c.grantee.account];
      return `${personName(v.names, c.grantee.account)}${org === undefined ? "" : ` at ${orgName(v.names, org)}`}`;
    }
    const roles = c.grantee.roles.map((r) => ROLE_WORDS[r] ?? r.toLowerCase());
    const who = roles.length === 0 ? "Everyone" : capitalise(list(roles));
    return `${who} at ${orgName(v.names, c.grantee.organization)}`;
  };

  const sentence = (c: ConsentEntry): string => {
    const verbs = c.actions.map((x) => (x === "READ" ? "read" : x === "APPEND" ? "add to" : x.toLowerCase()));
    const what =
      c.categories.length >= 16 ? `all ${your} records` : `${your} ${list(c.categories.map((x) => category(x)))}`;
    const why = c.purposes.length >= 10 ? "for any purpose" : `for ${list(c.purposes.map(purpose))}`;
    const from = c.validFrom > Date.now() / 1000 ? ` from ${day(c.validFrom)}` : "";
    const until = c.validUntil === null ? "" : ` until ${day(c.validUntil)}`;
    if (c.effect === "deny") {
      return `${grantee(c)} may never ${list(verbs)} ${c.categories.length === 0 ? "what you sealed" : what} ${why}${from}${until}.`;
    }
    return `${grantee(c)} may ${list(verbs)} ${what} ${why}${from}${until}.`;
  };

  const statusWords = (c: ConsentEntry): string => {
    if (c.status === "revoked") return `Revoked on ${day(c.revokedAt!)}`;
    if (c.status === "expired") return `Expired on ${day(c.validUntil!)}`;
    if (c.status === "not-yet-valid") return `Starts on ${day(c.validFrom)}`;
    return c.effect === "deny" ? "In force: a refusal" : "In force";
  };

  const revokePanel = (c: ConsentEntry, item: HTMLElement, button: HTMLButtonElement): void => {
    const status = h("p", { class: "status", role: "alert" });
    const needsKey = unlockedAddress() === undefined;
    const fileId = uid("rk-file");
    const passId = uid("rk-pass");
    const file = h("input", { id: fileId, type: "file", accept: ".json,application/json" });
    const pass = h("input", { id: passId, type: "password", autocomplete: "current-password" });
    const confirm = h(
      "button",
      { type: "button", class: "danger" },
      c.effect === "deny" ? "Sign and lift" : "Sign and revoke",
    );
    const cancel = h("button", { type: "button" }, "Keep it");
    const panel = h(
      "div",
      { class: "confirm", role: "group", "aria-label": "Confirm revocation" },
      h(
        "p",
        null,
        c.effect === "deny"
          ? "Lift this refusal? "
          : `Revoke this consent? ${grantee(c)} will no longer be able to read these records with it. `,
        "Your key signs the revocation here, on this device; the server only passes it to the ledger.",
      ),
      needsKey
        ? [h("label", { for: fileId }, "Identity file"), file, h("label", { for: passId }, "Passphrase"), pass]
        : null,
      h("div", { class: "actions" }, confirm, cancel),
      status,
    );
    cancel.addEventListener("click", () => {
      panel.remove();
      button.hidden = false;
      button.focus();
    });
    confirm.addEventListener("click", () => {
      void (async () => {
        confirm.disabled = true;
        try {
          if (unlockedAddress() === undefined) {
            const chosen = file.files?.[0];
            if (chosen === undefined) throw new Error("Choose your identity file first.");
            status.textContent = "Opening your identity file on this device…";
            await unlock(await chosen.text(), pass.value);
            pass.value = "";
          }
          if (unlockedAddress() !== p.address) throw new Error("This identity file is not the one you signed in with.");
          status.textContent = "Signing on this device…";
          const { nonce } = await get<{ nonce: string }>("/api/patient/nonce");
          const deadline = Math.floor(Date.now() / 1000) + 600;
          const { domain, types, message } = revokeTypedData({
            chainId: v.config.chainId,
            verifyingContract: v.config.consentRegistry,
            signer: p.address,
            subject,
            consentId: c.consentId,
            nonce,
            deadline,
          });
          const signature = signTypedData(domain, types, message);
          status.textContent = "Sending the signed revocation…";
          await post("/api/patient/revoke", { subject, consentId: c.consentId, deadline, signature });
          status.textContent = "Revoked.";
          announce(`Revoked: ${sentence(c)}`);
          await waitForStatus(c.consentId);
          item.querySelector<HTMLElement>("h3, p.sentence")?.focus();
        } catch (err) {
          status.textContent = `Not revoked: ${refusalWords(err)}`;
          confirm.disabled = false;
        }
      })();
    });
    button.hidden = true;
    item.append(panel);
    (needsKey ? file : confirm).focus();
  };

  const consentItem = (c: ConsentEntry, canRevoke: boolean): HTMLLIElement => {
    const item = h(
      "li",
      { class: `consent ${c.effect} ${c.status}`, "data-consent": c.consentId },
      h("p", { class: "sentence", tabindex: "-1" }, sentence(c)),
      h("p", { class: "meta" }, `${statusWords(c)} · consent #${c.sequence} · given on ${day(c.timestamp)}`),
    );
    if (canRevoke && (c.status === "active" || c.status === "not-yet-valid")) {
      const label = c.effect === "deny" ? "Lift this refusal" : "Revoke";
      const button = h("button", { type: "button", class: "danger", "aria-label": `${label}: ${sentence(c)}` }, label);
      button.addEventListener("click", () => revokePanel(c, item, button));
      item.append(h("div", { class: "actions" }, button));
    }
    return item;
  };

  const renderConsents = (): void => {
    const current = consents.filter((c) => c.status === "active" || c.status === "not-yet-valid");
    const past = consents.filter((c) => c.status === "expired" || c.status === "revoked");
    replace(
      consentsBox,
      v.config.canRelay
        ? null
        : h("p", { class: "note" }, "This server cannot relay revocations; use the MedLedger app."),
      h("h3", null, `In force (${current.length})`),
      h(
        "ul",
        { class: "consents" },
        current.length === 0
          ? h("li", { class: "empty" }, "No consent is in force.")
          : current.map((c) => consentItem(c, v.config.canRelay)),
      ),
      h("h3", null, `No longer in force (${past.length})`),
      h(
        "ul",
        { class: "consents" },
        past.length === 0 ? h("li", { class: "empty" }, "None.") : past.map((c) => consentItem(c, false)),
      ),
    );
  };

  const loadConsents = async (): Promise<void> => {
    const page = await get<Page<ConsentHistoryEntry>>("/api/patient/consents", { subject });
    consents = page.items.filter((e) => e.event === "granted").map((e) => e.consent);
    renderConsents();
  };

  const waitForStatus = async (consentId: string): Promise<void> => {
    for (let i = 0; i < 40; i++) {
      await loadConsents();
      if (consents.find((c) => c.consentId === consentId)?.status === "revoked") return;
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  // ── guardians and break-glass ──
  const renderPeople = (): void => {
    if (profile === undefined) return;
    const active = profile.guardians.filter((g) => g.active);
    replace(
      peopleBox,
      h("h3", null, "Guardians"),
      active.length === 0
        ? h("p", null, `Nobody else may act for ${your === "your" ? "you" : your.replace(/'s$/, "")}.`)
        : h(
            "ul",
            { class: "plain" },
            active.map((g) =>
              h(
                "li",
                null,
                h("strong", null, personName(v.names, g.address)),
                ` may ${list(g.powers.map((x) => (POWER_WORDS[x] ?? x.toLowerCase()).replace(/\byour\b/g, your)))}`,
                g.validUntil === null ? "." : ` until ${day(g.validUntil)}.`,
              ),
            ),
          ),
      h("h3", null, "Emergency access (break the glass)"),
      profile.breakGlassOptedOut
        ? h(
            "p",
            null,
            h("span", { class: "badge optout" }, "Opted out"),
            " In an emergency, no one may read your records without your consent.",
          )
        : h(
            "p",
            null,
            h("span", { class: "badge optin" }, "Allowed"),
            ` In an emergency, an emergency responder may read ${your} records without ${your} consent. Every such read shows here with an EMERGENCY badge and is checked by an independent reviewer.`,
          ),
    );
  };

  // ── live feed ──
  const source = new EventSource("/api/feed");
  source.addEventListener("open", () => (liveState.textContent = "Live: new reads appear here as they happen."));
  source.addEventListener("error", () => (liveState.textContent = "Live updates paused; reconnecting…"));
  source.addEventListener("access", (e) => {
    const n = JSON.parse((e as MessageEvent<string>).data) as AccessNotice;
    if (n.access.subject !== subject) return;
    const key = keyOf(n.access);
    if (n.status === "removed") {
      accesses = accesses.filter((a) => keyOf(a) !== key);
      renderTimeline();
      return;
    }
    if (accesses.some((a) => keyOf(a) === key)) return;
    fresh.add(key);
    accesses = [n.access, ...accesses].sort((x, y) => y.blockNumber - x.blockNumber || y.logIndex - x.logIndex);
    const text = `${n.access.basis === "EMERGENCY" ? "Emergency read: " : ""}${personName(v.names, n.access.accessor)} just read your ${category(n.access.category)}`;
    announce(text);
    void (n.access.basis === "EMERGENCY" ? loadReviews() : Promise.resolve()).then(renderTimeline);
  });

  const subjectPicker =
    p.subjects.length > 1
      ? (() => {
          const id = uid("subject");
          const select = h(
            "select",
            { id, onchange: (e) => ((subject = (e.target as HTMLSelectElement).value), void loadAll()) },
            p.subjects.map((s) => h("option", { value: s }, shortHex(s))),
          );
          return h("p", null, h("label", { for: id }, "Whose records "), select);
        })()
      : null;

  replace(
    main,
    heading,
    roleNote,
    subjectPicker,
    h(
      "p",
      { class: "intro" },
      "Every read of your records is written on the ledger. This page shows who read what, when and why — never the contents.",
    ),
    h("section", { class: "card", "aria-labelledby": "t-title" }, timelineTitle, liveState, timeline, timelineMore),
    h(
      "section",
      { class: "card", "aria-labelledby": "c-title" },
      h("h2", { id: "c-title" }, "Your consents"),
      consentsBox,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "g-title" },
      h("h2", { id: "g-title" }, "Guardians and emergencies"),
      peopleBox,
    ),
  );

  const loadAll = async (): Promise<void> => {
    profile = await get<Profile>("/api/patient/profile", { subject });
    if (profile.you.as === "guardian") {
      const named = v.names.people[profile.controller];
      your = named === undefined ? "the patient's" : `${named}'s`;
      heading.textContent = named === undefined ? "Records you look after" : `${named}'s records`;
      timelineTitle.textContent = `Who read ${your} records`;
      consentsTitle.textContent = `${capitalise(your)} consents`;
      roleNote.textContent = `You are signed in as ${named ?? "this patient"}'s guardian (${shortHex(profile.you.address)}): you see what ${named ?? "the patient"} sees, and act with the powers you were given.`;
    } else {
      your = "your";
      heading.textContent = "Your records";
      timelineTitle.textContent = "Who read your records";
      consentsTitle.textContent = "Your consents";
      roleNote.textContent = "";
    }
    await Promise.all([loadReviews(), loadConsents()]);
    await loadAccesses();
    renderPeople();
  };
  void loadAll();
  return () => source.close();
}

const REFUSALS: Record<string, string> = {
  ConsentUnauthorized: "your key may not revoke consents for this patient.",
  ConsentAlreadyRevoked: "it was already revoked.",
  ConsentSignatureExpired: "the signature expired before it reached the ledger; try again.",
  ConsentInvalidSignature: "the ledger did not accept the signature; sign in again and retry.",
  NO_RELAYER: "this server cannot pass revocations on; use the MedLedger app.",
};

function refusalWords(err: unknown): string {
  if (err instanceof ApiError) return REFUSALS[err.code] ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
