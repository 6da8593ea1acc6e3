/**
 * Who may see what, over HTTP, for EVERY route of the web view's one route table (sdk/web/routes.ts):
 * 401 without a session, 403 to each principal a route does not allow, 403 to writes without the
 * CSRF token, from another origin or not as JSON; patients pinned to their subjects; an
 * organization's auditor and privacy officer pinned to their organization. Also: sign-in challenges
 * (single use, signed by their address, only for someone who acts for a patient), the same JSON as
 * the CLI's --json, and the page's security headers.
 */
import { join } from "node:path";

import { expect } from "chai";
import { Command } from "commander";
import { Wallet } from "ethers";

import { registerAuditCommands } from "../../sdk/indexer/index.js";
import type { CliIo } from "../../sdk/indexer/index.js";
import { ROUTES } from "../../sdk/web/index.js";
import type { PrincipalKind } from "../../sdk/web/index.js";
import { api, signIn, startHarness } from "./helpers/harness.js";
import type { ApiSession, Harness } from "./helpers/harness.js";

const KINDS: PrincipalKind[] = ["patient", "auditor", "org-auditor", "privacy-officer"];

describe("web view: every route answers only whom it should", function () {
  this.timeout(300_000);
  let h: Harness;
  const sessions = {} as Record<PrincipalKind | "patientB", ApiSession>;

  before(async () => {
    h = await startHarness();
    const w = h.world;
    sessions.patient = await signIn(h.web, w.patientA, "patient");
    sessions.patientB = await signIn(h.web, w.patientB, "patient");
    sessions.auditor = await signIn(h.web, w.regulatorAuditor, "auditor");
    sessions["org-auditor"] = await signIn(h.web, w.hospitalAuditor, "auditor");
    sessions["privacy-officer"] = await signIn(h.web, w.labOfficer, "auditor");
  });
  after(async () => h?.stop());

  it("the route table is the server's: every route answers (none is 404)", async () => {
    for (const route of ROUTES) {
      const r = await api(h.web, route.method, route.url);
      expect(r.status, `${route.method} ${route.url}`).to.not.equal(404);
    }
    expect((await api(h.web, "GET", "/api/nothing")).status).to.equal(404);
  });

  it("every non-public route answers 401 without a session (and with an unknown one)", async () => {
    const protectedRoutes = ROUTES.filter((r) => r.allow !== "public");
    expect(protectedRoutes.length).to.be.greaterThan(10);
    for (const route of protectedRoutes) {
      const none = await api(h.web, route.method, route.url, { csrf: null });
      expect(none.status, `${route.method} ${route.url} without a session`).to.equal(401);
      const forged = await api(h.web, route.method, route.url, {
        session: { cookie: "medledger_session=forged", csrf: "x" },
      });
      expect(forged.status, `${route.method} ${route.url} with a forged session`).to.equal(401);
    }
  });

  it("every route answers 403 to each principal it does not allow", async () => {
    let checked = 0;
    for (const route of ROUTES) {
      if (route.allow === "public") continue;
      for (const kind of KINDS) {
        if (route.allow.includes(kind)) continue;
        const r = await api(h.web, route.method, route.url, { session: sessions[kind] });
        expect(r.status, `${route.method} ${route.url} as ${kind}: ${r.text}`).to.equal(403);
        checked++;
      }
    }
    expect(checked).to.be.greaterThan(15);
  });

  it("every write needs the session's CSRF token, JSON, and this origin", async () => {
    for (const route of ROUTES.filter((r) => r.method === "POST" && r.allow !== "public")) {
      const kind = (route.allow as readonly PrincipalKind[])[0]!;
      const s = sessions[kind];
      const missing = await api(h.web, "POST", route.url, { session: s, csrf: null });
      expect(missing.status, `${route.url} without a token`).to.equal(403);
      expect((missing.body as { error: string }).error).to.equal("CSRF");
      const wrong = await api(h.web, "POST", route.url, { session: s, csrf: `${s.csrf.slice(0, -2)}xx` });
      expect(wrong.status, `${route.url} with a wrong token`).to.equal(403);
      // Another session's token is that session's: it must not pass here.
      const crossed = await api(h.web, "POST", route.url, {
        session: { cookie: s.cookie, csrf: sessions.patientB.csrf },
      });
      expect(crossed.status, `${route.url} with another session's token`).to.equal(403);
      const foreign = await api(h.web, "POST", route.url, { session: s, headers: { origin: "https://evil.example" } });
      expect(foreign.status, `${route.url} cross-origin`).to.equal(403);
      const form = await api(h.web, "POST", route.url, {
        session: s,
        headers: { "content-type": "text/plain" },
      });
      expect(form.status, `${route.url} as text/plain`).to.equal(415);
    }
    for (const url of ["/api/auth/challenge", "/api/auth/verify"]) {
      const foreign = await api(h.web, "POST", url, { headers: { origin: "https://evil.example" } });
      expect(foreign.status, `${url} cross-origin`).to.equal(403);
    }
  });

  it("a second patient cannot see the first one's data through the API", async () => {
    const A = h.world.patientA.subject;
    const B = sessions.patientB;
    for (const path of ["accesses", "consents", "reviews", "profile"]) {
      const r = await api(h.web, "GET", `/api/patient/${path}?subject=${A}`, { session: B });
      expect(r.status, `${path} of A as B`).to.equal(403);
      const own = await api(h.web, "GET", `/api/patient/${path}`, { session: B });
      expect(own.status).to.equal(200);
      expect(own.text).to.not.include(A.slice(2));
    }
    const revoke = await api(h.web, "POST", "/api/patient/revoke", {
      session: B,
      body: {
        subject: A,
        consentId: h.world.patientA.consents.doctor,
        deadline: Math.floor(Date.now() / 1000) + 300,
        signature: `0x${"11".repeat(65)}`,
      },
    });
    expect(revoke.status).to.equal(403);
  });

  it("a patient's live feed carries only that patient's reads", async () => {
    const events: string[] = [];
    const controller = new AbortController();
    const res = await fetch(`${h.web.url}/api/feed`, {
      headers: { cookie: sessions.patientB.cookie },
      signal: controller.signal,
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const pump = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          events.push(new TextDecoder().decode(value));
        }
      } catch {
        // aborted
      }
    })();
    await new Promise((r) => setTimeout(r, 700));
    const w = h.world;
    await w.doctorReads(w.patientA, w.patientA.records.labV2!, w.patientA.consents.doctor!);
    await w.doctorReads(w.patientB, w.patientB.records.lab!, w.patientB.consents.doctor!);
    const deadline = Date.now() + 10_000;
    while (!events.join("").includes(w.patientB.subject) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    await pump;
    const text = events.join("");
    expect(text).to.include(w.patientB.subject);
    expect(text).to.not.include(w.patientA.subject);
  });

  it("an organization's auditor and privacy officer see their own organization only", async () => {
    const { hospital, lab } = h.world.orgs;
    const org = sessions["org-auditor"];
    const own = await api(h.web, "GET", "/api/audit/accesses?limit=1000", { session: org });
    expect(own.status).to.equal(200);
    const items = (own.body as { items: { organization: number }[] }).items;
    expect(items.length).to.be.greaterThan(0);
    expect(items.every((a) => a.organization === hospital)).to.equal(true);
    expect((await api(h.web, "GET", `/api/audit/accesses?organization=${lab}`, { session: org })).status).to.equal(403);
    const subject = h.world.patientA.subject;
    expect((await api(h.web, "GET", `/api/audit/integrity?subject=${subject}`, { session: org })).status).to.equal(403);
    expect(
      (await api(h.web, "GET", `/api/audit/export?kind=consents&subject=${subject}`, { session: org })).status,
    ).to.equal(403);
    const officer = sessions["privacy-officer"];
    const reviews = await api(h.web, "GET", "/api/audit/reviews", { session: officer });
    expect(reviews.status).to.equal(200);
    expect((reviews.body as { items: unknown[] }).items).to.deep.equal([]);
    expect(
      (await api(h.web, "GET", `/api/audit/reviews?organization=${hospital}`, { session: officer })).status,
    ).to.equal(403);
    const regulator = await api(h.web, "GET", "/api/audit/reviews", { session: sessions.auditor });
    expect((regulator.body as { items: { outcome: string }[] }).items.map((s) => s.outcome).sort()).to.deep.equal([
      "JUSTIFIED",
      "PENDING",
    ]);
  });

  it("serves exactly the JSON the CLI prints with --json", async () => {
    const subject = h.world.patientA.subject;
    let stdout = "";
    const io: CliIo = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => true, isTTY: false },
      env: {
        MEDLEDGER_RPC_URL: h.node.url,
        MEDLEDGER_DEPLOYMENT: join(h.world.dir, "deployment.json"),
        MEDLEDGER_INDEX: join(h.world.dir, "index.sqlite"),
      },
      setExitCode: () => undefined,
    };
    const program = new Command("medledger").exitOverride();
    registerAuditCommands(program, io);
    await program.parseAsync(
      ["audit", "accesses", "--subject", subject, "--json", "--limit", "50", "--order", "desc"],
      {
        from: "user",
      },
    );
    const page = await api(h.web, "GET", "/api/patient/accesses?limit=50", { session: sessions.patient });
    expect(page.body).to.deep.equal(JSON.parse(stdout));
    stdout = "";
    const audit = new Command("medledger").exitOverride();
    registerAuditCommands(audit, io);
    await audit.parseAsync(["audit", "accesses", "--emergency", "--json", "--limit", "50"], { from: "user" });
    const emergency = await api(h.web, "GET", "/api/audit/accesses?emergencyOnly=true&limit=50", {
      session: sessions.auditor,
    });
    expect(emergency.body).to.deep.equal(JSON.parse(stdout));
  });

  it("sign-in: challenges are single use, bound to their address, and only for a patient's controller or guardian", async () => {
    const w = h.world;
    const challenge = async (address: string, role: string) =>
      api(h.web, "POST", "/api/auth/challenge", { body: { address, role } });
    const verify = async (message: string, signature: string) =>
      api(h.web, "POST", "/api/auth/verify", { body: { message, signature } });
    // A stranger's key and the doctor's key are no patient's.
    expect((await challenge(Wallet.createRandom().address, "patient")).status).to.equal(403);
    expect((await challenge(w.doctor.address, "patient")).status).to.equal(403);
    // The doctor holds neither AUDITOR nor PRIVACY_OFFICER.
    const doctorChallenge = await challenge(w.doctor.address, "auditor");
    const doctorMessage = (doctorChallenge.body as { message: string }).message;
    expect((await verify(doctorMessage, await w.doctor.wallet.signMessage(doctorMessage))).status).to.equal(403);
    // The guardian (ACCESS power) signs in for patient A.
    const g = await challenge(w.guardian.address, "patient");
    expect(g.status).to.equal(200);
    const message = (g.body as { message: string }).message;
    expect(message).to.include(`urn:medledger:subject:${w.patientA.subject}`);
    expect(message).to.include(`${new URL(h.web.url).host} wants you to sign in with your Ethereum account:`);
    expect(message).to.match(/\nNonce: [0-9a-f]{32}\n/);
    // Signed by someone else: refused, and the challenge is spent.
    expect((await verify(message, await w.doctor.wallet.signMessage(message))).status).to.equal(401);
    expect((await verify(message, await w.guardian.wallet.signMessage(message))).status).to.equal(401);
    // A fresh one, altered after issue: refused.
    const g2 = (await challenge(w.guardian.address, "patient")).body as { message: string };
    const altered = g2.message.replace("Sign in to MedLedger", "Sign in to MedLedger!");
    expect((await verify(altered, await w.guardian.wallet.signMessage(altered))).status).to.equal(401);
    // A fresh one, signed correctly: a session with a HttpOnly, SameSite=Strict cookie.
    const g3 = (await challenge(w.guardian.address, "patient")).body as { message: string };
    const ok = await fetch(`${h.web.url}/api/auth/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: g3.message, signature: await w.guardian.wallet.signMessage(g3.message) }),
    });
    expect(ok.status).to.equal(200);
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).to.match(/HttpOnly/);
    expect(cookie).to.match(/SameSite=Strict/);
    const body = (await ok.json()) as { principal: { kind: string; subjects: string[] }; csrfToken: string };
    expect(body.principal).to.deep.include({ kind: "patient", subjects: [w.patientA.subject] });
    // Logging out ends it.
    const session = { cookie: cookie.split(";")[0]!, csrf: body.csrfToken };
    expect((await api(h.web, "GET", "/api/session", { session })).status).to.equal(200);
    expect((await api(h.web, "POST", "/api/auth/logout", { session })).status).to.equal(200);
    expect((await api(h.web, "GET", "/api/session", { session })).status).to.equal(401);
  });

  it("a revocation signed by someone else is refused by the registry before anything is sent", async () => {
    const w = h.world;
    const r = await api(h.web, "POST", "/api/patient/revoke", {
      session: sessions.patient,
      body: {
        consentId: w.patientA.consents.doctor,
        deadline: Math.floor(Date.now() / 1000) + 300,
        signature: await w.doctor.wallet.signMessage("not a revocation"),
      },
    });
    expect(r.status, r.text).to.equal(409);
    expect((r.body as { error: string }).error).to.equal("ConsentInvalidSignature");
  });

  it("serves the page and its assets itself, with a strict Content-Security-Policy", async () => {
    const page = await api(h.web, "GET", "/");
    expect(page.status).to.equal(200);
    expect(page.headers.get("content-security-policy")).to.match(/default-src 'none'; script-src 'self'/);
    expect(page.headers.get("x-content-type-options")).to.equal("nosniff");
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(
      // Same origin only (an inline `data:` icon keeps the browser from asking for /favicon.ico).
      refs.every((u) => u!.startsWith("/") || u!.startsWith("#") || u!.startsWith("data:")),
      refs.join(" "),
    ).to.equal(true);
    for (const asset of ["/assets/app.js", "/assets/app.css"]) {
      const r = await api(h.web, "GET", asset);
      expect(r.status, asset).to.equal(200);
    }
    const config = await api(h.web, "GET", "/api/config");
    expect(config.body).to.deep.include({ chainId: h.node.chainId, canRelay: true });
    expect(config.headers.get("cache-control")).to.equal("no-store");
  });
});
