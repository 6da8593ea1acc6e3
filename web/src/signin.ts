/**
 * Sign-in: choose your identity file, type its passphrase; the page decrypts it here, asks the
 * server for an EIP-4361 challenge, checks that the challenge is for this site, signs it and
 * sends back only the signature.
 */
import { parseSiweMessage } from "../../sdk/web/siwe.js";
import { ApiError, post, setCsrf } from "./api.js";
import { h, replace, uid } from "./dom.js";
import { signMessage, unlock, forget } from "./identity.js";
import type { Principal } from "./types.js";

export interface SignedIn {
  principal: Principal;
  csrfToken: string;
}

/** Reads a chosen file as text. */
export function readFileText(file: File): Promise<string> {
  return file.text();
}

/** The sign-in form; calls `done` once a session is open. */
export function signInView(main: HTMLElement, done: (s: SignedIn) => void): void {
  const fileId = uid("keystore");
  const passId = uid("passphrase");
  const status = h("p", { class: "status", role: "alert", "aria-live": "assertive" });
  const file = h("input", { id: fileId, type: "file", accept: ".json,application/json", required: true });
  const pass = h("input", { id: passId, type: "password", autocomplete: "current-password", required: true });
  const patient = h("input", { type: "radio", name: "role", value: "patient", checked: true, id: uid("role") });
  const auditor = h("input", { type: "radio", name: "role", value: "auditor", id: uid("role") });
  const button = h("button", { type: "submit", class: "primary" }, "Unlock and sign in");

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const chosen = file.files?.[0];
    if (chosen === undefined) {
      status.textContent = "Choose your identity file first.";
      file.focus();
      return;
    }
    button.disabled = true;
    status.textContent = "Opening your identity file on this device…";
    try {
      const address = await unlock(await readFileText(chosen), pass.value);
      pass.value = "";
      status.textContent = "Signing in…";
      const role = auditor.checked ? "auditor" : "patient";
      const { message } = await post<{ message: string }>("/api/auth/challenge", { address, role });
      const fields = parseSiweMessage(message);
      if (fields === undefined || fields.domain !== location.host || fields.address.toLowerCase() !== address) {
        throw new Error("The sign-in request is not for this site; nothing was signed.");
      }
      const signed = await post<SignedIn>("/api/auth/verify", { message, signature: signMessage(message) });
      setCsrf(signed.csrfToken);
      done(signed);
    } catch (err) {
      forget();
      const text =
        err instanceof ApiError
          ? err.message
          : err instanceof Error && /passphrase/i.test(err.message)
            ? "That passphrase does not open this identity file."
            : err instanceof Error
              ? err.message
              : String(err);
      status.textContent = `Could not sign in: ${text}`;
      button.disabled = false;
    }
  };

  replace(
    main,
    h(
      "section",
      { class: "card signin", "aria-labelledby": "signin-title" },
      h("h1", { id: "signin-title" }, "Sign in"),
      h(
        "p",
        null,
        "Open your MedLedger identity file to see who read your records and to manage your consents. ",
        h(
          "strong",
          null,
          "The file is opened here, on this device: it is never uploaded, and your key never leaves this page.",
        ),
      ),
      h(
        "form",
        { onsubmit: (e) => void submit(e) },
        h(
          "fieldset",
          null,
          h("legend", null, "I am"),
          h("label", { class: "choice" }, patient, " a patient, or a patient's guardian"),
          h("label", { class: "choice" }, auditor, " an auditor or a privacy officer"),
        ),
        h("label", { for: fileId }, "Identity file (keystore)"),
        file,
        h("label", { for: passId }, "Passphrase"),
        pass,
        button,
        status,
      ),
    ),
  );
}
