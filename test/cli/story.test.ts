/**
 * The `medledger` CLI as users run it: the BUILT command (`node dist/sdk/cli/index.js …`, what
 * `npm run build` makes) against an anvil process on loopback, with the CLI's default provider
 * options. Every step of the story is a CLI call, and so is every keyholder:
 *
 * keys new → deploy → org admit → keyholder add ×2 / threshold → keyholder start ×2 → member enroll
 * → patient register → consent grant → record put → record get → record verify/history → consent
 * list/check → index sync → audit accesses --summary (who saw my data) → audit export CSV and FHIR
 * (validated against the R4 schema) → index check.
 *
 * Then the misuse cases, each with its exit code and its one-line message: an unknown command
 * (with the suggestion), a misspelled option, a missing option, a wrong passphrase, no passphrase,
 * a bad address, and a read without consent (refused before anything is logged).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { Wallet } from "ethers";

import { validateFhir } from "../../sdk/fhir/validate.js";
import { parseCsv } from "../../sdk/exports/csv.js";
import { BUILT_CLI, ensureBuilt } from "../../fixtures/build.js";
import { freePort, startAnvil } from "../../fixtures/nodes.js";
import type { RunningNode } from "../../fixtures/nodes.js";

const PASSPHRASE = "correct horse battery staple";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Keys {
  keystore: string;
  address: string;
  x25519PublicKey: string;
}

describe("medledger CLI: the story, end to end (built CLI, anvil)", function () {
  this.timeout(900_000);
  let node: RunningNode;
  let dir: string;
  let env: Record<string, string>;
  const keyholders: ChildProcess[] = [];
  const keys = {} as Record<"gov" | "admin" | "doctor" | "nurse" | "patient" | "kh1" | "kh2", Keys>;
  let subject = "";
  let recordId = "";

  /** Runs the built CLI in `dir` with the story's environment (and `extra`). */
  const cli = (args: string[], extra: Record<string, string | undefined> = {}): Promise<Run> => {
    const child = spawn(process.execPath, [BUILT_CLI, ...args], {
      cwd: dir,
      env: { ...process.env, ...env, ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
  };

  /** Runs and expects exit 0; returns the parsed --json output. */
  const ok = async <T = Record<string, unknown>>(args: string[], extra: Record<string, string> = {}): Promise<T> => {
    const r = await cli(args, extra);
    expect(r.code, `medledger ${args.join(" ")}\n${r.stderr}${r.stdout}`).to.equal(0);
    return JSON.parse(r.stdout) as T;
  };

  const as = (who: keyof typeof keys) => ["--keystore", keys[who].keystore];

  before(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), "medledger-cli-story-"));
    node = await startAnvil({ blockTime: 0 });
    env = {
      MEDLEDGER_RPC_URL: node.url,
      MEDLEDGER_DEPLOYMENT: join(dir, "deployments", "story.json"),
      MEDLEDGER_STORAGE: join(dir, "blobs"),
      MEDLEDGER_INDEX: join(dir, "index.sqlite"),
      MEDLEDGER_PASSPHRASE: PASSPHRASE,
    };
  });

  after(async () => {
    await Promise.all(
      keyholders.map(async (k) => {
        if (k.exitCode !== null) return;
        const exited = new Promise((r) => k.once("exit", r));
        k.kill("SIGTERM");
        const timer = setTimeout(() => k.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("keys new: one keystore per participant (the passphrase from the environment)", async () => {
    for (const who of ["gov", "admin", "doctor", "nurse", "patient", "kh1", "kh2"] as const) {
      const out = await ok<Keys>(["keys", "new", "--out", `${who}.json`, "--scrypt-n", "1024", "--json"]);
      expect(out.address).to.match(/^0x[0-9a-fA-F]{40}$/);
      keys[who] = { ...out, keystore: join(dir, `${who}.json`) };
      await node.provider.send("anvil_setBalance", [out.address, "0x56bc75e2d63100000"]);
    }
    const shown = await ok<Keys>(["keys", "show", ...as("doctor"), "--json"], { MEDLEDGER_PASSPHRASE: "" });
    expect(shown.x25519PublicKey).to.equal(keys.doctor.x25519PublicKey);
  });

  it("deploy, org admit, keyholder add/threshold/start, member enroll, patient register", async () => {
    const deployer = Wallet.createRandom();
    await node.provider.send("anvil_setBalance", [deployer.address, "0x56bc75e2d63100000"]);
    const deployed = await cli(
      [
        "deploy",
        "--rpc",
        node.url,
        "--network",
        "story",
        "--out",
        join(dir, "deployments"),
        "--development",
        "--governance",
        keys.gov.address,
      ],
      { MEDLEDGER_DEPLOYER_KEY: deployer.privateKey },
    );
    expect(deployed.code, deployed.stderr + deployed.stdout).to.equal(0);

    const org = await ok<{ orgId: number }>([
      "org",
      "admit",
      "--kind",
      "HOSPITAL",
      "--admin",
      keys.admin.address,
      "--encryption-key",
      keys.admin.x25519PublicKey,
      ...as("gov"),
      "--json",
    ]);
    expect(org.orgId).to.equal(1);

    for (const kh of ["kh1", "kh2"] as const) {
      const port = await freePort();
      const added = await ok<{ keyholderId: number }>([
        "keyholder",
        "add",
        "--org",
        "1",
        "--account",
        keys[kh].address,
        "--encryption-key",
        keys[kh].x25519PublicKey,
        "--endpoint",
        `http://127.0.0.1:${port}`,
        ...as("gov"),
        "--json",
      ]);
      expect(added.keyholderId).to.be.a("number");
      const config = join(dir, `${kh}.config.json`);
      await writeFile(
        config,
        JSON.stringify({
          listen: { host: "127.0.0.1", port },
          rpcUrl: node.url,
          addressBook: env.MEDLEDGER_DEPLOYMENT,
          keystore: keys[kh].keystore,
          passphraseEnv: "MEDLEDGER_PASSPHRASE",
          dataDir: join(dir, `${kh}-data`),
          confirmations: 1,
          anchorIntervalSeconds: 0,
          eraseWatchIntervalSeconds: 1,
          blockCacheMs: 100,
          logLevel: "warn",
        }),
      );
      const child = spawn(process.execPath, [BUILT_CLI, "keyholder", "start", "--config", config], {
        cwd: dir,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let log = "";
      child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
      child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
      keyholders.push(child);
      for (let i = 0; ; i++) {
        if (child.exitCode !== null) throw new Error(`keyholder ${kh} exited (${child.exitCode}):\n${log}`);
        const ready = await fetch(`http://127.0.0.1:${port}/ready`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ready) break;
        if (i > 600) throw new Error(`keyholder ${kh} not ready:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await ok(["keyholder", "threshold", "--k", "2", ...as("gov"), "--json"]);

    for (const who of ["doctor", "nurse"] as const)
      await ok([
        "member",
        "enroll",
        "--org",
        "1",
        "--account",
        keys[who].address,
        "--roles",
        "CLINICIAN",
        "--valid-until",
        "2099-01-01",
        "--encryption-key",
        keys[who].x25519PublicKey,
        ...as("admin"),
        "--json",
      ]);

    const registered = await ok<{ subject: string; salt: string }>(["patient", "register", ...as("patient"), "--json"]);
    expect(registered.subject).to.match(/^0x[0-9a-f]{64}$/);
    subject = registered.subject;
  });

  it("consent grant, record put and get: the doctor reads the note under the patient's consent", async () => {
    const granted = await ok<{ consentId: string; delivered: boolean }>([
      "consent",
      "grant",
      "--subject",
      subject,
      "--practitioner",
      keys.doctor.address,
      "--categories",
      "NOTES",
      "--purposes",
      "TREAT",
      "--actions",
      "READ,APPEND",
      ...as("patient"),
      "--json",
    ]);
    expect(granted.delivered).to.equal(true);
    const list = await ok<{ items: { consentId: string }[] }>(["consent", "list", "--subject", subject, "--json"]);
    expect(list.items.map((c) => c.consentId)).to.deep.equal([granted.consentId]);
    const check = await ok<{ allowed: boolean; consentId: string }>([
      "consent",
      "check",
      "--subject",
      subject,
      "--accessor",
      keys.doctor.address,
      "--category",
      "NOTES",
      "--purpose",
      "TREAT",
      ...as("patient"),
      "--json",
    ]);
    expect(check).to.include({ allowed: true, consentId: granted.consentId });

    await writeFile(join(dir, "note.txt"), "Blood pressure 120/80; no change to medication.\n");
    const put = await ok<{ recordId: string }>([
      "record",
      "put",
      "--subject",
      subject,
      "--category",
      "NOTES",
      "--media-type",
      "text/plain",
      "--file",
      "note.txt",
      ...as("doctor"),
      "--json",
    ]);
    recordId = put.recordId;
    const got = await ok<{ accessTx: string; mediaType: string }>([
      "record",
      "get",
      "--subject",
      subject,
      "--record",
      recordId,
      "--purpose",
      "TREAT",
      "--out",
      "read.txt",
      ...as("doctor"),
      "--json",
    ]);
    expect(got.mediaType).to.equal("text/plain");
    expect(await readFile(join(dir, "read.txt"), "utf8")).to.equal(await readFile(join(dir, "note.txt"), "utf8"));

    const verified = await ok<{ intact: boolean }>([
      "record",
      "verify",
      "--subject",
      subject,
      "--record",
      recordId,
      ...as("patient"),
      "--json",
    ]);
    expect(verified.intact).to.equal(true);
    const history = await ok<{ versions: { recordId: string }[] }>([
      "record",
      "history",
      "--subject",
      subject,
      "--record",
      recordId,
      ...as("patient"),
      "--json",
    ]);
    expect(history.versions.map((v) => v.recordId)).to.deep.equal([recordId]);
  });

  it("index sync, then the patient sees who saw their data; exports CSV and FHIR; index check", async () => {
    const synced = await ok<{ events: number }>(["index", "sync", "--json"]);
    expect(synced.events).to.be.greaterThan(0);
    const who = await ok<{ items: { accessor: string; accesses: number; purposes: string[] }[] }>([
      "audit",
      "accesses",
      "--subject",
      subject,
      "--summary",
      "--json",
    ]);
    expect(who.items).to.have.length(1);
    expect(who.items[0]!.accessor).to.equal(keys.doctor.address.toLowerCase());
    expect(who.items[0]!).to.include({ accesses: 1 });
    expect(who.items[0]!.purposes).to.deep.equal(["TREAT"]);
    // The chain answers the same without the index.
    const fromChain = await ok(["audit", "accesses", "--subject", subject, "--summary", "--json", "--source", "chain"]);
    expect(fromChain).to.deep.equal(who);

    const csv = await cli(["audit", "export", "--kind", "accesses", "--subject", subject, "--format", "csv"]);
    expect(csv.code, csv.stderr).to.equal(0);
    const rows = parseCsv(csv.stdout);
    expect(rows).to.have.length(1);
    expect(rows[0]!.accessor).to.equal(keys.doctor.address.toLowerCase());
    expect(rows[0]!.recordId).to.equal(recordId);

    const fhir = await cli([
      "audit",
      "export",
      "--kind",
      "accesses",
      "--subject",
      subject,
      "--format",
      "fhir",
      "--out",
      "audit.fhir.json",
    ]);
    expect(fhir.code, fhir.stderr).to.equal(0);
    const bundle = JSON.parse(await readFile(join(dir, "audit.fhir.json"), "utf8")) as {
      resourceType: string;
      entry: { resource: { resourceType: string } }[];
    };
    expect(bundle.resourceType).to.equal("Bundle");
    expect(bundle.entry.map((e) => e.resource.resourceType)).to.deep.equal(["AuditEvent"]);
    expect(validateFhir(bundle)).to.deep.equal({ valid: true });

    const consents = await cli(["audit", "export", "--kind", "consents", "--subject", subject, "--format", "fhir"]);
    expect(consents.code, consents.stderr).to.equal(0);
    expect(validateFhir(JSON.parse(consents.stdout))).to.deep.equal({ valid: true });

    const checked = await ok<{ ok: boolean }>(["index", "check", "--json"]);
    expect(checked.ok).to.equal(true);
  });

  describe("misuse: exit codes and one-line messages", () => {
    it("an unknown command exits 2 and suggests the right one", async () => {
      const r = await cli(["recrod", "get"]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/unknown command 'recrod' \(Did you mean record\?\)/);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
    });

    it("a misspelled option exits 2 and suggests the right one", async () => {
      const r = await cli(["consent", "list", "--subjct", subject]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/unknown option '--subjct' \(Did you mean --subject\?\)/);
    });

    it("a missing option exits 2 and names it, before anything is sent", async () => {
      const r = await cli(["record", "get", "--subject", subject, "--purpose", "TREAT", ...as("doctor")]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^medledger record get: --record <id> is required/);
    });

    it("a wrong passphrase exits 2 and says what to check; no passphrase at all without a terminal, too", async () => {
      const wrong = await cli(["consent", "list", "--subject", subject, ...as("patient")], {
        MEDLEDGER_PASSPHRASE: "not the passphrase",
      });
      expect(wrong.code).to.equal(2);
      expect(wrong.stderr).to.match(/wrong passphrase for keystore .*patient\.json — check MEDLEDGER_PASSPHRASE/);
      expect(wrong.stderr).to.match(/\[ML_WRONG_PASSPHRASE\]/);
      const none = await cli(["consent", "list", "--subject", subject, ...as("patient")], { MEDLEDGER_PASSPHRASE: "" });
      expect(none.code).to.equal(2);
      expect(none.stderr).to.match(/no passphrase for the keystore — set MEDLEDGER_PASSPHRASE/);
    });

    it("a bad address exits 2 and says what an address looks like", async () => {
      const r = await cli([
        "member",
        "enroll",
        "--org",
        "1",
        "--account",
        "0x1234",
        "--roles",
        "CLINICIAN",
        "--encryption-key",
        keys.nurse.x25519PublicKey,
        ...as("admin"),
      ]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/'--account <address>' argument '0x1234' is invalid\. Expected an address/);
    });

    it("an unknown code name exits 2 and lists the allowed ones", async () => {
      const r = await cli(["consent", "check", "--subject", subject, "--category", "NOTE"]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/unknown category NOTE \(one of DEMOGRAPHICS, .*NOTES/);
    });

    it("a read without consent is refused (exit 1) and leaves no access on chain", async () => {
      const r = await cli([
        "record",
        "get",
        "--subject",
        subject,
        "--record",
        recordId,
        "--purpose",
        "TREAT",
        ...as("nurse"),
      ]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
      await ok(["index", "sync", "--json"]);
      const who = await ok<{ items: unknown[] }>(["audit", "accesses", "--subject", subject, "--json"]);
      expect(who.items).to.have.length(1);
    });
  });

  describe("the patient's housekeeping: FHIR round trip, revoke, integrity, key rotation, erasure", () => {
    it("consent export (FHIR) then consent import grants the same terms; audit consents lists both in force", async () => {
      const exported = await cli(["audit", "export", "--kind", "consents", "--subject", subject, "--format", "fhir"]);
      expect(exported.code, exported.stderr).to.equal(0);
      const resource = (JSON.parse(exported.stdout) as { entry: { resource: unknown }[] }).entry[0]!.resource;
      await writeFile(join(dir, "consent.fhir.json"), JSON.stringify(resource));
      const imported = await ok<{ consentId: string; delivered: boolean }>([
        "consent",
        "import",
        "--subject",
        subject,
        "--file",
        "consent.fhir.json",
        ...as("patient"),
        "--json",
      ]);
      expect(imported.delivered).to.equal(true);
      await ok(["index", "sync", "--json"]);
      const inForce = await ok<{ items: { consentId: string; categories: string[]; purposes: string[] }[] }>([
        "audit",
        "consents",
        "--subject",
        subject,
        "--json",
      ]);
      expect(inForce.items).to.have.length(2);
      const [a, b] = inForce.items;
      expect([a!.categories, a!.purposes]).to.deep.equal([b!.categories, b!.purposes]);
      expect(inForce.items.map((c) => c.consentId)).to.include(imported.consentId);

      await ok([
        "consent",
        "revoke",
        "--subject",
        subject,
        "--consent",
        imported.consentId,
        ...as("patient"),
        "--json",
      ]);
      const list = await ok<{ items: { consentId: string; revokedAt: number }[] }>([
        "consent",
        "list",
        "--subject",
        subject,
        "--json",
      ]);
      expect(list.items.find((c) => c.consentId === imported.consentId)!.revokedAt).to.be.greaterThan(0);
    });

    it("audit integrity verifies every version against the blob store (exit 0)", async () => {
      const report = await ok<{ ok: boolean; summary: { versions: number; passed: number } }>([
        "audit",
        "integrity",
        "--subject",
        subject,
        "--blobs",
        env.MEDLEDGER_STORAGE!,
        "--json",
      ]);
      expect(report.ok).to.equal(true);
      expect(report.summary).to.include({ versions: 1, passed: 1 });
    });

    it("keys rotate: the new key is registered, the old keystore kept; the patient still erases the record", async () => {
      const rotated = await ok<{ keyVersion: number; previous: string }>([
        "keys",
        "rotate",
        "--subject",
        subject,
        ...as("patient"),
        "--json",
      ]);
      expect(rotated.keyVersion).to.equal(2);
      const shown = await ok<{ keyVersion: number }>(["keys", "show", ...as("patient"), "--json"]);
      expect(shown.keyVersion).to.equal(2);
      expect((await ok<Keys>(["keys", "show", "--keystore", rotated.previous, "--json"])).x25519PublicKey).to.equal(
        keys.patient.x25519PublicKey,
      );

      const erased = await ok<{ transaction: string | null }>([
        "record",
        "erase",
        "--subject",
        subject,
        "--record",
        recordId,
        ...as("patient"),
        "--json",
      ]);
      expect(erased.transaction).to.match(/^0x/);
      const verify = await cli(["record", "verify", "--subject", subject, "--record", recordId, "--json"]);
      expect(verify.code, verify.stderr).to.equal(1);
      expect(JSON.parse(verify.stdout)).to.include({ intact: false, erased: true });
    });
  });
});
