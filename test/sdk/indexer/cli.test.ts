/**
 * The `index` and `audit` commands end to end, in process (commander program, captured output),
 * against anvil: `--json` outputs parsed and checked, exit codes, typed errors with what to do,
 * help with examples, exports validated (FHIR R4 schema, CSV rows), integrity and check failing
 * after tampering, and the live feed.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { Command } from "commander";

import { validateFhir } from "../../../sdk/fhir/validate.js";
import { parseCsv } from "../../../sdk/exports/index.js";
import {
  IndexSource,
  openSqliteStore,
  registerAuditCommands,
  registerIndexCommands,
} from "../../../sdk/indexer/index.js";
import type { AccessEntry, CliIo, Page } from "../../../sdk/indexer/index.js";
import { filesystem } from "../../../sdk/storage/filesystem.js";
import { deployLedger, mined, startTestAnvil } from "../../../fixtures/anvil-ledger.js";
import type { TestNode } from "../../../fixtures/anvil-ledger.js";
import { createDatabase, databaseUrl, dropDatabase } from "./helpers/postgres.js";
import { READ, TREAT, buildWorld, fresh, runScenario } from "./helpers/scenario.js";
import type { World } from "./helpers/scenario.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe("CLI: medledger index … and medledger audit …", function () {
  this.timeout(600_000);
  let node: TestNode;
  let world: World;
  let dir: string;
  let env: Record<string, string>;

  const cli = async (
    args: string[],
    opts: { signal?: AbortSignal; onOutput?: (text: string) => void } = {},
  ): Promise<Run> => {
    const out: Run = { code: -1, stdout: "", stderr: "" };
    const io: CliIo = {
      stdout: {
        write: (s: string) => {
          out.stdout += s;
          opts.onOutput?.(out.stdout);
        },
      },
      stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
      env,
      setExitCode: (code) => (out.code = code),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const program = new Command("medledger").exitOverride().configureOutput({
      writeOut: (s) => (out.stdout += s),
      writeErr: (s) => (out.stderr += s),
    });
    registerIndexCommands(program, io);
    registerAuditCommands(program, io);
    try {
      await program.parseAsync(args, { from: "user" });
    } catch (err) {
      const code = (err as { exitCode?: number }).exitCode;
      out.code = (err as { code?: string }).code === "commander.helpDisplayed" ? 0 : (code ?? 99);
    }
    return out;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "medledger-cli-"));
    node = await startTestAnvil();
    const ledger = await deployLedger(node);
    world = await buildWorld(node, ledger, { patients: 3 });
    world.blobs = filesystem({ dir: join(dir, "blobs") });
    await runScenario(world, 400, 7);
    const { addresses, startBlock } = ledger.deployment;
    const entry = (address: string) => ({ address, blockNumber: startBlock, version: "1.1.0" });
    const book = {
      format: 1,
      network: "localhost",
      chainId: node.chainId,
      contracts: {
        ParticipantDirectory: entry(addresses.directory),
        ConsentRegistry: entry(addresses.consents),
        RecordRegistry: entry(addresses.records),
        KeyholderRegistry: entry(addresses.keyholders!),
      },
      abiHash: "0x",
    };
    await writeFile(join(dir, "localhost.json"), JSON.stringify(book));
    env = {
      MEDLEDGER_RPC_URL: node.url,
      MEDLEDGER_DEPLOYMENT: join(dir, "localhost.json"),
      MEDLEDGER_INDEX: join(dir, "index.sqlite"),
    };
  });

  after(async () => {
    await world?.blobs?.close();
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("--help shows examples for every command", async () => {
    for (const args of [
      ["index", "--help"],
      ["audit", "--help"],
      ["audit", "export", "--help"],
      ["index", "check", "--help"],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).to.equal(0);
      expect(r.stdout).to.match(/Example/);
    }
  });

  it("an empty index: --source index says to run `index sync` (exit 2); auto answers from the chain", async () => {
    const r = await cli(["audit", "accesses", "--subject", world.patients[0]!.subject, "--source", "index"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/medledger index sync/);
    const auto = await cli(["audit", "accesses", "--subject", world.patients[0]!.subject, "--json"]);
    expect(auto.code, auto.stderr).to.equal(0);
    expect(auto.stderr).to.match(/answering from the chain.*medledger index sync/);
    expect((JSON.parse(auto.stdout) as { items: unknown[] }).items.length).to.be.greaterThan(0);
  });

  it("index sync --json catches up and reports what it indexed", async () => {
    const r = await cli(["index", "sync", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout) as { toBlock: number; events: number; reorgs: unknown[] };
    expect(summary.toBlock).to.equal(await node.provider.getBlockNumber());
    expect(summary.events).to.be.greaterThan(100);
    expect((await cli(["index", "sync", "--json"])).code).to.equal(0);
  });

  it("audit accesses --json prints the query API's page, equal from the index and from the chain", async () => {
    const subject = world.patients[0]!.subject;
    const r = await cli(["audit", "accesses", "--subject", subject, "--limit", "5", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const page = JSON.parse(r.stdout) as Page<AccessEntry>;
    expect(page.items.length).to.be.within(1, 5);
    for (const a of page.items) expect(a.subject).to.equal(subject);
    const chain = await cli(["audit", "accesses", "--subject", subject, "--limit", "5", "--json", "--source", "chain"]);
    expect(JSON.parse(chain.stdout)).to.deep.equal(page);
    const store = await openSqliteStore({ path: env.MEDLEDGER_INDEX! });
    expect(
      JSON.parse(JSON.stringify(await new IndexSource(store).accesses({ subject, limit: 5, order: "desc" }))),
    ).to.deep.equal(page);
    await store.close();
    if (page.nextCursor !== null) {
      const next = JSON.parse(
        (await cli(["audit", "accesses", "--subject", subject, "--limit", "5", "--json", "--cursor", page.nextCursor]))
          .stdout,
      ) as Page<AccessEntry>;
      expect(next.items[0]!.blockNumber).to.be.at.most(page.items[4]!.blockNumber);
    }
    const table = await cli(["audit", "accesses", "--subject", subject, "--limit", "5"]);
    expect(table.stdout).to.match(/TIME\s+SUBJECT\s+RECORD/);
  });

  it("audit accesses --summary, consents (in force and history) and reviews print JSON documents", async () => {
    const subject = world.patients[1]!.subject;
    const summary = JSON.parse(
      (await cli(["audit", "accesses", "--subject", subject, "--summary", "--json"])).stdout,
    ) as { items: { accesses: number }[] };
    expect(summary.items.length).to.be.greaterThan(0);
    const consents = JSON.parse((await cli(["audit", "consents", "--subject", subject, "--json"])).stdout) as Page<{
      status: string;
    }>;
    for (const c of consents.items) expect(c.status).to.equal("active");
    const history = JSON.parse(
      (await cli(["audit", "consents", "--subject", subject, "--history", "--json", "--limit", "1000"])).stdout,
    ) as Page<{ event: string }>;
    expect(history.items.some((e) => e.event === "granted")).to.equal(true);
    const reviews = await cli(["audit", "reviews", "--status", "all", "--json"]);
    expect(reviews.code).to.equal(0);
    expect((JSON.parse(reviews.stdout) as Page<unknown>).items.length).to.be.greaterThan(0);
  });

  it("audit export writes CSV and FHIR R4 (AuditEvent and Consent Bundles valid against the schema)", async () => {
    const subject = world.patients[0]!.subject;
    const csvFile = join(dir, "out", "accesses.csv");
    const r = await cli([
      "audit",
      "export",
      "--kind",
      "accesses",
      "--subject",
      subject,
      "--format",
      "csv",
      "--out",
      csvFile,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const rows = parseCsv(await readFile(csvFile, "utf8"));
    const all = JSON.parse(
      (await cli(["audit", "accesses", "--subject", subject, "--limit", "10000", "--json"])).stdout,
    ) as Page<AccessEntry>;
    expect(rows.length).to.equal(all.items.length);
    expect(rows.map((x) => x.recordId).sort()).to.deep.equal(all.items.map((a) => a.recordId).sort());
    const fhir = await cli(["audit", "export", "--kind", "accesses", "--subject", subject, "--format", "fhir"]);
    const bundle = JSON.parse(fhir.stdout) as { entry: unknown[] };
    expect(bundle.entry.length).to.equal(all.items.length);
    expect(validateFhir(bundle)).to.deep.equal({ valid: true });
    const consents = JSON.parse(
      (await cli(["audit", "export", "--kind", "consents", "--subject", subject, "--format", "fhir"])).stdout,
    ) as object;
    expect(validateFhir(consents)).to.deep.equal({ valid: true });
  });

  it("audit integrity verifies every version (exit 0) and fails on a tampered envelope (exit 1)", async () => {
    const subject = world.patients[0]!.subject;
    const blobs = join(dir, "blobs");
    const ok = await cli(["audit", "integrity", "--subject", subject, "--blobs", blobs, "--json"]);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    const report = JSON.parse(ok.stdout) as { ok: boolean; summary: { versions: number; batchMembers: number } };
    expect(report.ok).to.equal(true);
    expect(report.summary.versions).to.be.greaterThan(0);
    // Tamper with every stored object: the content-addressed store refuses bytes that do not match.
    for (const file of await listFiles(blobs)) await writeFile(file, "tampered");
    const bad = await cli(["audit", "integrity", "--subject", subject, "--blobs", blobs]);
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.match(/FAIL/);
  });

  it("audit follow --json streams an access as mined and as confirmed", async () => {
    const p = world.patients[2]!;
    const doctor = world.doctors[0]!;
    const controller = new AbortController();
    let seen = "";
    const done = cli(["audit", "follow", "--subject", p.subject, "--json", "--poll", "50", "--confirmations", "1"], {
      signal: controller.signal,
      onOutput: (text) => {
        seen = text;
        if (text.includes('"confirmed"')) controller.abort();
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    const { consents, records } = world.ledger;
    const category = 2;
    const id = fresh("record");
    await mined(
      node,
      records.connect(p.signer).anchorRecord(p.subject, id, category, fresh("d"), fresh("l"), ZERO, "sha256:x", ZERO),
    );
    const grant = await consents.connect(p.signer).grant(p.subject, {
      effect: 0,
      granteeKind: 0,
      granteeAccount: doctor.address,
      granteeOrg: 0,
      granteeRoles: 0,
      categories: 1 << category,
      purposes: 1 << TREAT,
      actions: READ,
      validFrom: 0,
      validUntil: 0,
      sealedTerms: fresh("s"),
    });
    await mined(node, grant);
    const consentId = await consents.consentIdAt(p.subject, await consents.consentCount(p.subject));
    await mined(node, records.connect(doctor.signer).access(p.subject, id, TREAT, consentId));
    for (let i = 0; i < 200 && !seen.includes('"mined"'); i++) await new Promise((r) => setTimeout(r, 50));
    await node.rpc("evm_mine");
    const r = await done;
    expect(r.code, r.stderr).to.equal(0);
    const notices = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { status: string; access: AccessEntry });
    expect(notices.map((n) => n.status)).to.deep.equal(["mined", "confirmed"]);
    expect(notices[0]!.access).to.include({
      recordId: id,
      accessor: doctor.address,
      purpose: "TREAT",
      basis: "CONSENT",
    });
  });

  it("index follow --json prints one JSON line per pass and stops when interrupted", async () => {
    const controller = new AbortController();
    const r = await cli(["index", "follow", "--json", "--poll", "50"], {
      signal: controller.signal,
      onOutput: (text) => {
        if (text.includes("\n")) controller.abort();
      },
    });
    expect(r.code, r.stderr).to.equal(0);
    const first = JSON.parse(r.stdout.trim().split("\n")[0]!) as { toBlock: number };
    expect(first.toBlock).to.equal(await node.provider.getBlockNumber());
  });

  it("the same commands on a PostgreSQL index print the same JSON", async function () {
    const name = await createDatabase("cli");
    if (name === undefined) return this.skip();
    const url = databaseUrl(name);
    try {
      expect((await cli(["index", "sync", "--index", url, "--json"])).code).to.equal(0);
      expect((await cli(["index", "sync", "--json"])).code).to.equal(0);
      for (const args of [
        ["audit", "accesses", "--subject", world.patients[1]!.subject, "--limit", "20", "--json"],
        ["audit", "accesses", "--emergency", "--json"],
        ["audit", "consents", "--subject", world.patients[0]!.subject, "--history", "--json", "--order", "asc"],
        ["audit", "reviews", "--status", "all", "--json"],
      ]) {
        const fromPostgres = await cli([...args, "--index", url]);
        expect(fromPostgres.code, fromPostgres.stderr).to.equal(0);
        expect(JSON.parse(fromPostgres.stdout), args.join(" ")).to.deep.equal(JSON.parse((await cli(args)).stdout));
      }
      const check = await cli(["index", "check", "--index", url, "--json"]);
      expect(check.code).to.equal(0);
    } finally {
      await dropDatabase(name);
    }
  });

  it("index check passes (exit 0), then fails on a tampered row (exit 1) and names the difference", async () => {
    expect((await cli(["index", "sync"])).code).to.equal(0);
    const ok = await cli(["index", "check", "--json"]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect((JSON.parse(ok.stdout) as { ok: boolean }).ok).to.equal(true);
    const store = await openSqliteStore({ path: env.MEDLEDGER_INDEX! });
    await store.run("UPDATE accesses SET purpose = 5 WHERE pos = (SELECT min(pos) FROM accesses)");
    await store.run("DELETE FROM consents WHERE pos = (SELECT max(pos) FROM consents)");
    await store.close();
    const bad = await cli(["index", "check", "--json"]);
    expect(bad.code).to.equal(1);
    const report = JSON.parse(bad.stdout) as { differences: { table: string; kind: string }[] };
    expect(report.differences.some((d) => d.table === "accesses" && d.kind === "different")).to.equal(true);
    expect(report.differences.some((d) => d.table === "consents" && d.kind === "missing")).to.equal(true);
  });

  it("typed errors: bad input exits 2, an unreachable node exits 3, each with what to do", async () => {
    const bad = await cli(["audit", "accesses", "--subject", "0x1234"]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/Invalid subject/);
    const down = await cli(["index", "sync", "--rpc", "http://127.0.0.1:9", "--index", join(dir, "other.sqlite")]);
    expect(down.code).to.equal(3);
    expect(down.stderr).to.match(/what to do: /);
    const wrong = await cli(["audit", "accesses", "--deployment", join(dir, "missing.json")]);
    expect(wrong.code).to.equal(2);
  });
});

const ZERO = `0x${"00".repeat(32)}`;

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}
