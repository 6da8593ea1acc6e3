/**
 * The SDK proven on two independent EVM implementations over real JSON-RPC: `hardhat node` and
 * anvil, each on 127.0.0.1 on a free port, mining a block every second at zero gas price (like a
 * QBFT consortium network). Deployment goes through the deploy command; then the full scenario;
 * then fault cases against anvil (restart mid-write, dropped transaction, 50 concurrent writers).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { Wallet, hexlify } from "ethers";

import { MedLedger } from "../../sdk/index.js";
import type { AddressBook, BlobStore, Journal, RecordId, SubjectId } from "../../sdk/index.js";
import { filesystemJournal, readAddressBook } from "../../sdk/node.js";
import { setUpConsortium } from "../../fixtures/consortium.js";
import type { Consortium } from "../../fixtures/consortium.js";
import { runSdkScenario } from "../../fixtures/sdk-scenario.js";
import type { ScenarioSummary } from "../../fixtures/sdk-scenario.js";
import { startAnvil, startHardhatNode } from "../../fixtures/nodes.js";
import type { RunningNode } from "../../fixtures/nodes.js";

/**
 * Runs the project's deploy script against the node (a development deployment: the node's first
 * account is the timelock's proposer, delay 0, so the set-up can admit organizations at once);
 * returns the address book it wrote.
 */
async function deployWithCommand(node: RunningNode, dir: string): Promise<AddressBook> {
  const proposer = await (await node.provider.getSigner(0)).getAddress();
  const child = spawn("npx", ["hardhat", "run", "scripts/deploy.ts", "--network", "localhost"], {
    env: {
      ...process.env,
      LOCALHOST_RPC_URL: node.url,
      MEDLEDGER_DEPLOYMENTS_DIR: dir,
      MEDLEDGER_TIMELOCK_DELAY: "0",
      MEDLEDGER_PROPOSERS: proposer,
      MEDLEDGER_DEVELOPMENT: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`deploy command failed (${code}):\n${out}`);
  return readAddressBook(join(dir, "localhost.json"));
}

async function bundle(): Promise<unknown> {
  return JSON.parse(await readFile(new URL("../../fixtures/data/demo-bundle.json", import.meta.url), "utf8"));
}

async function consortiumOn(node: RunningNode, dir: string): Promise<Consortium> {
  const addressBook = await deployWithCommand(node, dir);
  expect(addressBook.chainId).to.equal(node.chainId);
  const funder = await node.provider.getSigner(0);
  return setUpConsortium({ provider: node.provider, funder, addressBook, funding: 0n });
}

async function anchorsOf(
  node: RunningNode,
  book: AddressBook,
  subject: SubjectId,
  recordId: RecordId,
): Promise<number> {
  const { RecordRegistry__factory } = await import("../../types/typechain/index.js");
  const records = RecordRegistry__factory.connect(book.contracts.RecordRegistry.address, node.provider);
  return (await records.queryFilter(records.filters.RecordAnchored(subject, recordId), 0)).length;
}

describe("compatibility: the SDK on hardhat node and anvil over JSON-RPC", function () {
  this.timeout(600_000);
  const summaries: Partial<Record<RunningNode["kind"], ScenarioSummary>> = {};

  for (const start of [startHardhatNode, startAnvil]) {
    it(`runs the full scenario on ${start === startAnvil ? "anvil" : "hardhat node"}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "medledger-node-"));
      const node = await start();
      try {
        const c = await consortiumOn(node, dir);
        const summary = await runSdkScenario(c, await bundle());
        expect(summary.payerRefusal).to.equal("NO_CONSENT");
        expect(summary.afterRevocation).to.equal("CONSENT_REVOKED");
        expect(summary.afterErasure).to.equal("RECORD_ERASED");
        expect(summary.history.map((h) => h.basis)).to.deep.equal(["CONSENT", "EMERGENCY"]);
        summaries[node.kind] = summary;
      } finally {
        await node.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it("gives the same results on both nodes", function () {
    if (summaries.hardhat === undefined || summaries.anvil === undefined) this.skip();
    expect(summaries.anvil).to.deep.equal(summaries.hardhat);
  });

  describe("faults against a real node (anvil)", () => {
    let dir: string;
    let node: RunningNode;
    let c: Consortium;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "medledger-faults-"));
      node = await startAnvil({ stateFile: join(dir, "state.json") });
      c = await consortiumOn(node, dir);
      await c.patient.ml.consent.grant(c.subject, {
        grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
        categories: ["OBSERVATIONS", "NOTES"],
        purposes: ["TREAT"],
        actions: ["APPEND", "READ"],
      });
    });

    after(async () => {
      await node.stop();
      await rm(dir, { recursive: true, force: true });
    });

    /** The doctor's SDK as a fresh process would build it: same journal directory and storage. */
    async function doctorOn(n: RunningNode, journal: Journal, storage: BlobStore = c.storage): Promise<MedLedger> {
      return MedLedger.create({
        ...c.doctor.ml.options,
        signer: new Wallet(hexlify(c.doctor.identity.signingKey), n.provider),
        storage,
        journal,
        chain: { dropCheckMs: 1500 },
      });
    }

    it("node stopped in the middle of records.put, restarted with its state: the retry completes, one anchor", async () => {
      const journalDir = join(dir, "journal");
      // Kill the node right after the envelope and key slots are stored, before the anchor is sent.
      const base = await filesystemJournal({ dir: journalDir });
      let killed = false;
      const killing: Journal = {
        ...base,
        put: async (key, entry) => {
          await base.put(key, entry);
          if (!killed && entry.stage === "stored") {
            killed = true;
            await node.stop();
          }
        },
      };
      const before = await doctorOn(node, killing);
      const content = `note written during an outage ${Date.now()}`;
      const opts = { category: "NOTES" as const, mediaType: "text/plain" };
      const failed = await before.records.put(c.subject, content, opts).then(
        () => "completed",
        () => "failed",
      );
      expect(failed).to.equal("failed");

      // Restart with the dumped state, on the same port, and retry from a "new process".
      node = await startAnvil({ stateFile: join(dir, "state.json"), port: node.port });
      const after = await doctorOn(node, await filesystemJournal({ dir: journalDir }));
      const recordId = await after.records.put(c.subject, content, opts);
      expect(await anchorsOf(node, c.addressBook, c.subject, recordId)).to.equal(1);
      // A third attempt is a no-op.
      expect(await after.records.put(c.subject, content, opts)).to.equal(recordId);
      expect(await anchorsOf(node, c.addressBook, c.subject, recordId)).to.equal(1);
    });

    it("a transaction dropped from the pool is re-sent", async () => {
      const doctor = await doctorOn(node, await filesystemJournal({ dir: join(dir, "journal-drop") }));
      let dropped = 0;
      const dropper = (async () => {
        for (let i = 0; i < 200 && dropped === 0; i++) {
          const status = (await node.provider.send("txpool_status", [])) as { pending: string };
          if (Number(status.pending) > 0) {
            await node.provider.send("anvil_dropAllTransactions", []);
            dropped++;
          }
          await new Promise((r) => setTimeout(r, 25));
        }
      })();
      const recordId = await doctor.records.put(c.subject, `dropped once ${Date.now()}`, {
        category: "NOTES",
        mediaType: "text/plain",
      });
      await dropper;
      expect(dropped).to.equal(1);
      expect(await anchorsOf(node, c.addressBook, c.subject, recordId)).to.equal(1);
    });

    it("50 concurrent writers from one hospital account: no nonce collision, all anchored", async () => {
      const doctor = await doctorOn(node, await filesystemJournal({ dir: join(dir, "journal-50") }));
      const ids = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          doctor.records.put(c.subject, `concurrent observation ${i}`, {
            category: "OBSERVATIONS",
            mediaType: "text/plain",
          }),
        ),
      );
      expect(new Set(ids).size).to.equal(50);
      for (const id of ids) expect(await anchorsOf(node, c.addressBook, c.subject, id)).to.equal(1);
    });
  });
});
