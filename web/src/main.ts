/**
 * The MedLedger web view: sign in, then the patient's view or the auditor's console. Same JSON
 * API as the CLI's --json; live updates by server-sent events.
 */
import { get, post, setCsrf } from "./api.js";
import { h, replace } from "./dom.js";
import { forget } from "./identity.js";
import { auditorView } from "./auditor.js";
import { patientView } from "./patient.js";
import { signInView } from "./signin.js";
import type { SignedIn } from "./signin.js";
import type { Config, Names, Principal } from "./types.js";
import { orgName, shortHex, personName } from "./words.js";

const ROLE_WORDS: Record<Principal["kind"], string> = {
  patient: "patient",
  auditor: "auditor (whole consortium)",
  "org-auditor": "auditor",
  "privacy-officer": "privacy officer",
};

let teardown: (() => void) | undefined;

async function start(): Promise<void> {
  const main = document.getElementById("main")!;
  const who = document.getElementById("who")!;
  teardown?.();
  teardown = undefined;
  const config = await get<Config>("/api/config");
  let session: SignedIn | undefined;
  if (config.signedIn) {
    try {
      session = await get<SignedIn>("/api/session");
      setCsrf(session.csrfToken);
    } catch {
      session = undefined;
    }
  }
  if (session === undefined) {
    replace(who);
    signInView(main, () => void start());
    return;
  }
  const names = await get<Names>("/api/names");
  const p = session.principal;
  replace(
    who,
    h(
      "span",
      null,
      p.kind === "patient" ? "Signed in: " : `Signed in as ${ROLE_WORDS[p.kind]}: `,
      h(
        "span",
        { class: "mono" },
        personName(names, p.address) === shortHex(p.address) ? shortHex(p.address) : personName(names, p.address),
      ),
      p.kind === "patient" ? "" : ` · ${orgName(names, p.organization)}`,
    ),
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () =>
          void post("/api/auth/logout", {}).finally(() => {
            forget();
            setCsrf(undefined);
            void start();
          }),
      },
      "Sign out",
    ),
  );
  teardown =
    p.kind === "patient"
      ? patientView(main, { config, names, principal: p })
      : auditorView(main, { config, names, principal: p });
  main.focus();
}

window.addEventListener("DOMContentLoaded", () => void start());
