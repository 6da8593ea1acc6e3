/**
 * The web view in a real browser (Debian's Chromium, headless, driven by playwright-core) against
 * a running demo-like deployment: anvil, the web server and its indexer following live. Each test
 * leaves a screenshot in reports/web/ — what a patient or an auditor sees.
 *
 * Without Chromium the suite is skipped locally with a message saying how to install it; in CI
 * (CI=true) it fails instead.
 */
import { readFile } from "node:fs/promises";

import { expect } from "chai";
import type { Page } from "playwright-core";

import { AccessDeniedError, decodeContractError } from "../../sdk/chain/errors.js";
import { parseCsv } from "../../sdk/exports/index.js";
import type { Person } from "../../fixtures/web-world.js";
import { HOW_TO_INSTALL, chromiumAvailable, openBrowser, screenshot } from "./helpers/chromium.js";
import type { Browser } from "./helpers/chromium.js";
import { PASSPHRASE, startHarness } from "./helpers/harness.js";
import type { Harness } from "./helpers/harness.js";

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

async function signInWithPage(
  page: Page,
  url: string,
  who: Person,
  role: "patient" | "auditor",
  heading: string | RegExp = role === "patient" ? "Your records" : /Audit console|Privacy office/,
): Promise<void> {
  await page.goto(url);
  if (role === "auditor") await page.getByRole("radio", { name: /auditor or a privacy officer/ }).check();
  await page.getByLabel("Identity file (keystore)").setInputFiles(who.keystore);
  await page.getByLabel("Passphrase").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Unlock and sign in" }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor({ timeout: 20_000 });
}

/** No horizontal scrolling at this width. */
async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/**
 * Presses Tab until focus comes round again; returns the controls it reached and those it did not
 * (a radio group counts once: Tab enters the group, arrows move inside it). Also returns controls
 * without an accessible name.
 */
async function tabThrough(page: Page): Promise<{ missed: string[]; unlabelled: string[]; stops: number }> {
  const controls = await page.evaluate(() => {
    const list = [
      ...document.querySelectorAll<HTMLElement>(
        'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])',
      ),
    ].filter((el) => !(el as HTMLButtonElement).disabled && el.getClientRects().length > 0 && !el.closest("[hidden]"));
    const unlabelled: string[] = [];
    const keys = list.map((el, i) => {
      const input = el as HTMLInputElement;
      const key = input.type === "radio" ? `radio:${input.name}` : `kb${i}`;
      el.dataset.kb = key;
      const name =
        el.getAttribute("aria-label") ??
        (input.labels !== null && input.labels !== undefined && input.labels.length > 0
          ? [...input.labels].map((l) => l.textContent).join(" ")
          : el.textContent);
      if (name === null || name.trim() === "") unlabelled.push(el.outerHTML.slice(0, 80));
      return `${key} ${el.tagName.toLowerCase()} ${(name ?? "").trim().slice(0, 40)}`;
    });
    (document.activeElement as HTMLElement | null)?.blur();
    return { keys: [...new Set(keys.map((k) => k.split(" ")[0]!))], described: keys, unlabelled };
  });
  const reached = new Set<string>();
  let stops = 0;
  for (let i = 0; i < controls.keys.length * 2 + 10; i++) {
    await page.keyboard.press("Tab");
    stops++;
    const key = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.kb ?? "");
    if (key !== "") reached.add(key);
    if (reached.size === controls.keys.length) break;
  }
  const missed = controls.keys
    .filter((k) => !reached.has(k))
    .map((k) => controls.described.find((d) => d.startsWith(`${k} `)) ?? k);
  return { missed, unlabelled: controls.unlabelled, stops };
}

describe("web view in a real browser (Chromium)", function () {
  this.timeout(600_000);
  let h: Harness;
  let patient: Browser | undefined;

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(`      (browser tests skipped: no Chromium; ${HOW_TO_INSTALL})`);
      this.skip();
    }
    h = await startHarness();
  });
  after(async () => {
    await patient?.close();
    await h?.stop();
  });

  it("a patient signs in with their identity file and sees the doctor's read appear live", async () => {
    const w = h.world;
    patient = await openBrowser(PHONE);
    const { page } = patient;
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => (m.type() === "error" ? errors.push(m.text()) : undefined));
    await page.goto(h.web.url);
    await screenshot(page, "01-sign-in-phone");
    await signInWithPage(page, h.web.url, w.patientA, "patient");
    await page.locator("#live-state", { hasText: "Live:" }).waitFor({ timeout: 15_000 });
    const timeline = page.locator("ol.timeline li.access");
    await timeline.first().waitFor();
    const before = await timeline.count();
    expect(before).to.equal(4);
    expect(await page.locator("ol.timeline").innerText()).to.match(/EMERGENCY/);
    // The doctor reads a lab result now; the page shows it without a reload.
    await w.doctorReads(w.patientA, w.patientA.records.panel1!, w.patientA.consents.doctor!);
    const fresh = page.locator("ol.timeline li.access.new");
    await fresh.waitFor({ timeout: 15_000 });
    expect(await timeline.count()).to.equal(before + 1);
    const text = await fresh.innerText();
    expect(text).to.include("Dr Xavier Lee");
    expect(text).to.include("Hospital Y");
    expect(text).to.include("lab results");
    expect(text).to.include("treatment");
    expect(text).to.match(/with your consent #2/);
    expect(await fitsWidth(page), "no sideways scrolling at phone width").to.equal(true);
    // The two emergency reads carry their review outcomes.
    const all = await page.locator("ol.timeline").innerText();
    expect(all).to.include("reviewed: justified");
    expect(all).to.include("review pending");
    await screenshot(page, "02-patient-live-read-phone");
    expect(errors, errors.join("\n")).to.deep.equal([]);
  });

  it("revokes a consent from the page (signed in the browser, relayed); the doctor's next read is refused", async () => {
    const w = h.world;
    const { page } = patient!;
    const consentId = w.patientA.consents.doctor!;
    const item = page.locator(`li.consent[data-consent="${consentId}"]`);
    expect(await item.innerText()).to.match(
      /Dr Xavier Lee at Hospital Y may read and add to your lab results and medications for treatment until/,
    );
    await item.getByRole("button", { name: /^Revoke/ }).click();
    await screenshot(page, "03-patient-revoke-confirm-phone");
    await item.getByRole("button", { name: "Sign and revoke" }).click();
    await page
      .locator(`li.consent.revoked[data-consent="${consentId}"]`)
      .waitFor({ timeout: 20_000 })
      .catch(async (err: unknown) => {
        throw new Error(`not revoked; the page says: ${await item.innerText()}`, { cause: err });
      });
    // On chain: revoked by the patient's own signature (relayed), and the doctor is refused.
    const state = await w.ledger.consents.getConsent(w.patientA.subject, consentId);
    expect(Number(state.revokedAt)).to.be.greaterThan(0);
    const revokedEvents = await w.ledger.consents.queryFilter(
      w.ledger.consents.filters.ConsentRevoked(w.patientA.subject, consentId),
    );
    expect(revokedEvents.map((e) => [e.args.by.toLowerCase(), e.args.bySignature])).to.deep.equal([
      [w.patientA.address, true],
    ]);
    let refusal: unknown;
    try {
      await w.ledger.records
        .connect(w.doctor.wallet)
        .access.staticCall(w.patientA.subject, w.patientA.records.labV2!, 0, consentId);
    } catch (err) {
      refusal = decodeContractError(err);
    }
    expect(refusal).to.be.instanceOf(AccessDeniedError);
    // The revoked consent left the doctor's list; the registry explains the refusal by the first
    // permit still listed for the doctor (the expired imaging consent) or finds none.
    expect((refusal as AccessDeniedError).reason).to.be.oneOf(["CONSENT_REVOKED", "NO_CONSENT", "CONSENT_EXPIRED"]);
    let sent: unknown;
    try {
      await w.doctorReads(w.patientA, w.patientA.records.labV2!, consentId);
    } catch (err) {
      sent = err;
    }
    expect(sent, "the contract refuses the doctor's read").to.not.equal(undefined);
    await page.getByRole("heading", { name: "Your consents" }).scrollIntoViewIfNeeded();
    await screenshot(page, "04-patient-revoked-phone");
  });

  it("an auditor filters to emergency accesses, sees the review badges and exports CSV", async () => {
    const w = h.world;
    const auditor = await openBrowser(DESKTOP);
    try {
      const { page } = auditor;
      await signInWithPage(page, h.web.url, w.regulatorAuditor, "auditor");
      await page.getByRole("status").filter({ hasText: /shown/ }).first().waitFor();
      await page.getByLabel("Emergency accesses only").check();
      await page.getByRole("button", { name: "Apply filters" }).click();
      await page.getByText("2 accesses shown.").waitFor({ timeout: 10_000 });
      const rows = page.locator("table.accesses tbody tr");
      expect(await rows.count()).to.equal(2);
      expect(await page.locator('table.accesses tbody tr[data-basis="EMERGENCY"]').count()).to.equal(2);
      const table = await page.locator("table.accesses").innerText();
      expect(table).to.include("reviewed: justified");
      expect(table).to.include("independent review pending");
      expect(table).to.include("Dr Rosa Rivera");
      const reviews = await page.locator("section", { hasText: "Break-glass reviews" }).innerText();
      expect(reviews).to.match(/Pending[\s\S]*Session #2[\s\S]*Closed[\s\S]*Session #1[\s\S]*Pat Okafor/);
      await screenshot(page, "05-auditor-emergency-desktop");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("link", { name: "Export CSV" }).click(),
      ]);
      expect(download.suggestedFilename()).to.equal("medledger-accesses.csv");
      const csv = parseCsv(await readFile(await download.path(), "utf8"));
      expect(csv).to.have.length(2);
      expect(csv.map((r) => r.basis)).to.deep.equal(["EMERGENCY", "EMERGENCY"]);
      expect(csv.map((r) => r.subject)).to.deep.equal([w.patientA.subject, w.patientA.subject]);
      expect(csv.map((r) => r.accessor)).to.deep.equal([w.responder.address, w.responder.address]);
      expect(csv.map((r) => r.sessionId)).to.deep.equal(["1", "2"]);
      expect(csv.map((r) => r.purpose)).to.deep.equal(["ETREAT", "ETREAT"]);
      // Integrity: every version of patient A's records, with its badge.
      await page.getByLabel("Patient (subject id)").last().fill(w.patientA.subject);
      await page.getByRole("button", { name: "Check records" }).click();
      await page.getByText("Every version verifies.").waitFor({ timeout: 20_000 });
      const integrity = page.locator(".integrity");
      expect(await integrity.locator(".badge", { hasText: "in batch: proof valid" }).count()).to.equal(2);
      expect(await integrity.locator(".badge", { hasText: "tombstoned" }).count()).to.equal(1);
      expect(await integrity.locator(".badge", { hasText: "digest verified" }).count()).to.equal(5);
      expect(await integrity.locator(".badge", { hasText: "anchored" }).count()).to.equal(6);
      expect(await integrity.innerText()).to.match(/Version 1[\s\S]*Version 2/);
      await integrity.scrollIntoViewIfNeeded();
      await screenshot(page, "06-auditor-integrity-desktop");
      await page.setViewportSize(PHONE);
      expect(await fitsWidth(page), "the console fits a phone too").to.equal(true);
      await screenshot(page, "07-auditor-phone");
    } finally {
      await auditor.close();
    }
  });

  it("a second patient cannot see the first one's data through the page or the API", async () => {
    const w = h.world;
    const other = await openBrowser(PHONE);
    try {
      const { page } = other;
      await signInWithPage(page, h.web.url, w.patientB, "patient");
      await page.locator("ol.timeline li.access").first().waitFor();
      expect(await page.locator("ol.timeline li.access").count()).to.equal(1);
      const html = await page.content();
      for (const secret of [
        w.patientA.subject,
        ...Object.values(w.patientA.records),
        ...Object.values(w.patientA.consents),
      ]) {
        expect(html).to.not.include(secret.slice(2, 12));
      }
      expect(html).to.not.include("Maria Garcia");
      const statuses = await page.evaluate(async (subject) => {
        const out: number[] = [];
        for (const path of ["accesses", "consents", "reviews", "profile"]) {
          out.push((await fetch(`/api/patient/${path}?subject=${subject}`)).status);
        }
        out.push((await fetch(`/api/audit/accesses?subject=${subject}`)).status);
        return out;
      }, w.patientA.subject);
      expect(statuses).to.deep.equal([403, 403, 403, 403, 403]);
      await screenshot(page, "08-second-patient-phone");
    } finally {
      await other.close();
    }
  });

  it("a guardian with the ACCESS power sees the patient's page, named as the patient's", async () => {
    const w = h.world;
    const g = await openBrowser(PHONE);
    try {
      const { page } = g;
      await signInWithPage(page, h.web.url, w.guardian, "patient", "Maria Garcia's records");
      await page.locator("ol.timeline li.access").first().waitFor();
      expect(await page.locator("main").innerText()).to.include("You are signed in as Maria Garcia's guardian");
      expect(await page.locator("ol.timeline").innerText()).to.include("read Maria Garcia's lab results");
      expect(await page.locator("#who").innerText()).to.include("Sam Doe");
      await screenshot(page, "11-guardian-phone");
    } finally {
      await g.close();
    }
  });

  it("keyboard only: every control is reachable and labelled (sign-in, patient view, auditor console)", async () => {
    const w = h.world;
    const kb = await openBrowser(PHONE);
    try {
      const { page } = kb;
      await page.goto(h.web.url);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      const signIn = await tabThrough(page);
      expect(signIn.missed, "sign-in controls not reached").to.deep.equal([]);
      expect(signIn.unlabelled).to.deep.equal([]);
      // Sign in with the keyboard alone: the file chooser opens from the keyboard too.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      let guard = 0;
      while ((await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type)) !== "file") {
        await page.keyboard.press("Tab");
        if (++guard > 20) throw new Error("the file input is not reachable by Tab");
      }
      const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Space")]);
      await chooser.setFiles(w.patientA.keystore);
      await page.keyboard.press("Tab");
      await page.keyboard.type(PASSPHRASE);
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { level: 1, name: "Your records" }).waitFor({ timeout: 20_000 });
      await page.locator("ol.timeline li.access").first().waitFor();
      await page.locator("li.consent").first().waitFor();
      const patientView = await tabThrough(page);
      expect(patientView.missed, "patient controls not reached").to.deep.equal([]);
      expect(patientView.unlabelled).to.deep.equal([]);
      // Open and close the refusal's confirmation with the keyboard; focus comes back.
      const lift = page.getByRole("button", { name: /^Lift this refusal/ });
      await lift.focus();
      await page.keyboard.press("Enter");
      expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal("Sign and lift");
      await screenshot(page, "09-keyboard-confirm-phone");
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter");
      expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).to.match(
        /^Lift this refusal/,
      );
      await page.getByRole("button", { name: "Sign out" }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      // The auditor's console.
      await signInWithPage(page, h.web.url, w.regulatorAuditor, "auditor");
      await page.getByRole("status").filter({ hasText: /shown/ }).first().waitFor();
      const console_ = await tabThrough(page);
      expect(console_.missed, "console controls not reached").to.deep.equal([]);
      expect(console_.unlabelled).to.deep.equal([]);
      await page.getByLabel("Purpose").focus();
      await screenshot(page, "10-keyboard-auditor-phone");
    } finally {
      await kb.close();
    }
  });
});
