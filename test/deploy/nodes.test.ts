/**
 * The deploy as users run it, on real nodes: anvil with instant mining, anvil with 1-second
 * blocks, and `hardhat node` (automine, EIP-1559 fees).
 *
 * - The library with a plain `new JsonRpcProvider(url)` (ethers' default options). On main this
 *   failed with "nonce too low": ethers served the nonce from its 250 ms request cache.
 * - The BUILT command (`node dist/sdk/cli/index.js deploy`), killed right after its first
 *   contract, then run again: every address in the book must hold the expected contract, wired
 *   to the others, with governance handed to the timelock. On main the re-run adopted whatever
 *   code sat at a planned address (ConsentRegistry got the directory's address).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";

import { ChainClient, deployMedLedger, verifyDeployment } from "../../sdk/index.js";
import type { AddressBook } from "../../sdk/index.js";
import { readAddressBook } from "../../sdk/node.js";
import {
  KeyholderRegistry__factory,
  MedLedgerTimelock__factory,
  ParticipantDirectory__factory,
} from "../../types/typechain/index.js";
import { BUILT_CLI, ensureBuilt } from "../../fixtures/build.js";
import { startAnvil, startHardhatNode } from "../../fixtures/nodes.js";
import type { RunningNode } from "../../fixtures/nodes.js";

/** The public development mnemonic of anvil and Hardhat: funded on both, never a real key. */
const DEV = Wallet.fromPhrase("test test test test test test test test test test test junk");
const MULTISIG = "0x000000000000000000000000000000000000bEEF";

const NODES: { name: string; start: () => Promise<RunningNode> }[] = [
  { name: "anvil, instant mining", start: () => startAnvil({ blockTime: 0 }) },
  { name: "anvil, 1 s blocks", start: () => startAnvil({ blockTime: 1 }) },
  { name: "hardhat node (automine, EIP-1559 fees)", start: () => startHardhatNode({ mining: "auto" }) },
];

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; `killWhen` kills it (SIGKILL) as soon as its output matches. */
function cli(args: string[], opts: { key?: string; killWhen?: RegExp } = {}): Promise<CliRun> {
  const env = { ...process.env, MEDLEDGER_DEPLOYER_KEY: opts.key ?? DEV.privateKey };
  const child = spawn(process.execPath, [BUILT_CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    if (opts.killWhen?.test(stdout) === true) child.kill("SIGKILL");
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

/** Every address of the book holds its contract, wired right; governance is the timelock. */
async function checkOnChain(node: RunningNode, book: AddressBook, minDelay: number): Promise<void> {
  const provider = new JsonRpcProvider(node.url);
  try {
    const versions = await verifyDeployment(provider, book);
    expect(Object.keys(versions)).to.have.members([
      "ParticipantDirectory",
      "ConsentRegistry",
      "RecordRegistry",
      "KeyholderRegistry",
      "StudyRegistry",
      "TimelockController",
    ]);
    expect(new Set(Object.values(versions))).to.deep.equal(new Set(["1.1.0"]));
    const addresses = Object.values(book.contracts).map((c) => c.address.toLowerCase());
    expect(new Set(addresses).size).to.equal(addresses.length);
    const timelock = MedLedgerTimelock__factory.connect(book.contracts.TimelockController!.address, provider);
    expect(book.governance).to.equal(book.contracts.TimelockController!.address);
    expect(await timelock.getMinDelay()).to.equal(BigInt(minDelay));
    expect(await timelock.hasRole(await timelock.PROPOSER_ROLE(), MULTISIG)).to.equal(true);
    const directory = ParticipantDirectory__factory.connect(book.contracts.ParticipantDirectory.address, provider);
    const role = await directory.GOVERNANCE_ROLE();
    expect(await directory.hasRole(role, book.governance!)).to.equal(true);
    expect(await directory.hasRole(role, DEV.address)).to.equal(false);
    expect(await directory.hasRole(await directory.DEFAULT_ADMIN_ROLE(), DEV.address)).to.equal(false);
    // The keyholder set is governed by the timelock too; the migration was sealed before the hand-off.
    const keyholders = KeyholderRegistry__factory.connect(book.contracts.KeyholderRegistry.address, provider);
    expect(await keyholders.hasRole(await keyholders.GOVERNANCE_ROLE(), book.governance!)).to.equal(true);
    expect(await keyholders.hasRole(await keyholders.GOVERNANCE_ROLE(), DEV.address)).to.equal(false);
    expect(await keyholders.hasRole(await keyholders.DEFAULT_ADMIN_ROLE(), DEV.address)).to.equal(false);
    expect(await directory.migrationSealed()).to.equal(true);
  } finally {
    provider.destroy();
  }
}

describe("deploy on real nodes: a default JsonRpcProvider, and the built CLI killed half-way", function () {
  this.timeout(300_000);
  before(async function () {
    this.timeout(120_000);
    await ensureBuilt();
  });

  for (const { name, start } of NODES) {
    describe(name, () => {
      let node: RunningNode;
      let dir: string;
      before(async () => {
        node = await start();
        dir = await mkdtemp(join(tmpdir(), "medledger-deploy-"));
      });
      after(async () => {
        await node?.stop();
        await rm(dir, { recursive: true, force: true });
      });

      it("deployMedLedger with new JsonRpcProvider(url): distinct, verified addresses", async () => {
        const provider = new JsonRpcProvider(node.url);
        try {
          const book = await deployMedLedger(DEV.connect(provider), {
            network: "library",
            governance: { timelock: { minDelay: 60, proposers: [MULTISIG] } },
          });
          await checkOnChain(node, book, 60);
          await ChainClient.create({ signer: DEV.connect(provider), addressBook: book });
        } finally {
          provider.destroy();
        }
      });

      it("the built CLI: killed after its first contract, run again, every address checks out; a third run changes nothing", async () => {
        const args = [
          "deploy",
          "--rpc",
          node.url,
          "--network",
          "cli",
          "--out",
          dir,
          "--proposers",
          MULTISIG,
          "--timelock-delay",
          "120",
        ];
        const killed = await cli(args, { killWhen: /ParticipantDirectory: deployed at/ });
        expect(killed.code, killed.stderr).to.equal(null); // killed
        const partial = JSON.parse(await readFile(join(dir, "cli.json"), "utf8")) as { contracts: object };
        expect(Object.keys(partial.contracts)).to.include("ParticipantDirectory");

        const resumed = await cli(args);
        expect(resumed.code, resumed.stderr + resumed.stdout).to.equal(0);
        expect(resumed.stdout).to.contain("ParticipantDirectory: kept at");
        const book = await readAddressBook(join(dir, "cli.json"));
        await checkOnChain(node, book, 120);

        const provider = new JsonRpcProvider(node.url);
        const nonce = await provider.getTransactionCount(DEV.address);
        const again = await cli(args);
        expect(again.code, again.stderr).to.equal(0);
        expect(await provider.getTransactionCount(DEV.address)).to.equal(nonce);
        expect((await readAddressBook(join(dir, "cli.json"))).contracts).to.deep.equal(book.contracts);
        provider.destroy();
      });
    });
  }
});

describe("medledger CLI: help, usage errors and input checks (built CLI)", function () {
  this.timeout(120_000);
  let node: RunningNode;
  let dir: string;
  before(async function () {
    this.timeout(120_000);
    await ensureBuilt();
    node = await startAnvil({ blockTime: 0 });
    dir = await mkdtemp(join(tmpdir(), "medledger-cli-"));
  });
  after(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** One line on stderr, no stack trace. */
  const oneLine = (r: CliRun) => {
    expect(r.stderr.trimEnd().split("\n"), r.stderr).to.have.length(1);
    expect(r.stderr).to.not.match(/\n\s+at /);
  };

  it("every command has --help on stdout with examples, exit 0", async () => {
    for (const args of [["--help"], ["deploy", "--help"], ["help", "deploy"]]) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).to.equal(0);
      expect(r.stdout).to.contain("Examples:");
      expect(r.stderr).to.equal("");
    }
  });

  it("an unknown option or command names it and hints, exit 2", async () => {
    const typo = await cli(["deploy", "--rcp", node.url, "--network", "x"]);
    expect(typo.code).to.equal(2);
    oneLine(typo);
    expect(typo.stderr).to.contain("'--rcp'").and.contain("--rpc").and.contain("--help");
    const unknown = await cli(["depoly"]);
    expect(unknown.code).to.equal(2);
    oneLine(unknown);
    expect(unknown.stderr).to.contain("depoly");
  });

  it("bad values are refused with exit 2 before the node is contacted (fails on main: after three contracts)", async () => {
    const base = ["deploy", "--rpc", node.url, "--network", "bad", "--out", dir];
    const provider = new JsonRpcProvider(node.url);
    const nonce = await provider.getTransactionCount(DEV.address);
    const cases: [string[], string][] = [
      [["--timelock-delay", "1.5", "--proposers", MULTISIG], "whole seconds"],
      [["--timelock-delay", "86400000", "--proposers", MULTISIG], "milliseconds"],
      [["--proposers", "0x12"], "0x12"],
      [["--proposers", "multisig.eth"], "multisig.eth"],
      [["--governance", MULTISIG, "--proposers", MULTISIG], "cannot be used with"],
      [["--timelock-delay", "3600"], "explicit proposers"],
      [["--proposers", DEV.address], "deployer is a proposer"],
      [["--proposers", MULTISIG, "--timelock-delay", "0"], "delay is 0"],
      [["--network"], "argument missing"],
    ];
    for (const [extra, message] of cases) {
      const r = await cli([...base, ...extra]);
      expect(r.code, `${extra.join(" ")}: ${r.stderr}`).to.equal(2);
      oneLine(r);
      expect(r.stderr).to.contain(message);
    }
    const noKey = await cli([...base, "--proposers", MULTISIG], { key: "" });
    expect(noKey.code).to.equal(2);
    expect(noKey.stderr).to.contain("MEDLEDGER_DEPLOYER_KEY");
    expect(await provider.getTransactionCount(DEV.address)).to.equal(nonce);
    provider.destroy();
  });

  it("an unreachable node is named, with a hint (exit 1); --debug adds the stack", async () => {
    const down = await cli(["deploy", "--rpc", "http://127.0.0.1:9", "--network", "x", "--proposers", MULTISIG]);
    expect(down.code).to.equal(1);
    oneLine(down);
    expect(down.stderr).to.contain("http://127.0.0.1:9").and.contain("node is running");
    const debug = await cli([
      "deploy",
      "--rpc",
      "http://127.0.0.1:9",
      "--network",
      "x",
      "--proposers",
      MULTISIG,
      "--debug",
    ]);
    expect(debug.stderr).to.match(/\n\s+at /);
  });

  it("a malformed deployment file is named with the parse error (exit 2)", async () => {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "broken.json"), '{ "format": 1, "contracts": { ');
    const r = await cli(["deploy", "--rpc", node.url, "--network", "broken", "--out", dir, "--proposers", MULTISIG]);
    expect(r.code).to.equal(2);
    oneLine(r);
    expect(r.stderr).to.contain(join(dir, "broken.json")).and.contain("not valid JSON");
  });

  it("--development allows the deployer to keep power, and warns on every run", async () => {
    const args = ["deploy", "--rpc", node.url, "--network", "dev", "--out", dir, "--development"];
    for (let run = 0; run < 2; run++) {
      const r = await cli([...args, "--proposers", DEV.address, "--timelock-delay", "0"]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.contain("WARNING: development deployment");
    }
  });
});
