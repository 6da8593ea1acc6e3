/**
 * Finding 9 (governance defaults), at the contract level: after a deployment through the SDK's deploy
 * hands governance over, the deployer holds no role anywhere — not in the directory, not in the
 * keyholder registry, not in the timelock — and its migrator power is sealed. Role holders are
 * computed from every RoleGranted/RoleRevoked event, so a role granted anywhere cannot hide.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";

import { deployMedLedger } from "../../sdk/deploy.js";
import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  MedLedgerTimelock__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";

const conn = await network.create();
const { ethers } = conn;

type Book = Awaited<ReturnType<typeof deployMedLedger>>;
const addressOf = (book: Book, name: string): string =>
  (book.contracts as unknown as Record<string, { address: string }>)[name]!.address;

/** Every (contract, role, account) that holds a role now, from the contracts' role events. */
async function roleHolders(addresses: string[]): Promise<Set<string>> {
  const iface = ParticipantDirectory__factory.createInterface();
  const holders = new Set<string>();
  const logs = await ethers.provider.getLogs({ address: addresses, fromBlock: 0 });
  for (const log of logs) {
    const parsed = (() => {
      try {
        return iface.parseLog(log);
      } catch {
        return null;
      }
    })();
    if (parsed === null || (parsed.name !== "RoleGranted" && parsed.name !== "RoleRevoked")) continue;
    const key = `${log.address.toLowerCase()}:${String(parsed.args.role)}:${String(parsed.args.account).toLowerCase()}`;
    if (parsed.name === "RoleGranted") holders.add(key);
    else holders.delete(key);
  }
  return holders;
}

async function expectNoRole(book: Book, deployer: HardhatEthersSigner): Promise<void> {
  const governed = ["ParticipantDirectory", "KeyholderRegistry", "TimelockController"]
    .filter((n) => (book.contracts as unknown as Record<string, unknown>)[n] !== undefined)
    .map((n) => addressOf(book, n));
  const holders = await roleHolders(governed);
  expect(holders.size, "some role is held").to.be.greaterThan(0);
  for (const h of holders) expect(h.endsWith(deployer.address.toLowerCase()), `deployer holds ${h}`).to.equal(false);
  // The views agree for every role the contracts define.
  const directory = ParticipantDirectory__factory.connect(addressOf(book, "ParticipantDirectory"), deployer);
  const keyholders = KeyholderRegistry__factory.connect(addressOf(book, "KeyholderRegistry"), deployer);
  for (const role of [
    await directory.DEFAULT_ADMIN_ROLE(),
    await directory.GOVERNANCE_ROLE(),
    await directory.SECURITY_COUNCIL_ROLE(),
  ]) {
    expect(await directory.hasRole(role, deployer.address)).to.equal(false);
    expect(await keyholders.hasRole(role, deployer.address)).to.equal(false);
  }
  // The migrator (the deployer) can no longer import anything.
  for (const m of [
    directory,
    ConsentRegistry__factory.connect(addressOf(book, "ConsentRegistry"), deployer),
    RecordRegistry__factory.connect(addressOf(book, "RecordRegistry"), deployer),
  ]) {
    expect(await m.migrator()).to.equal(deployer.address);
    expect(await m.migrationSealed()).to.equal(true);
    await expect(m.sealMigration()).to.be.revertedWithCustomError(m, "MigrationClosed").withArgs(deployer.address);
  }
}

describe("deployment: governance defaults (finding 9)", () => {
  it("a default deployment to a timelock leaves the deployer no role anywhere (directory, keyholders, timelock, migrator)", async () => {
    const [deployer, multisig] = await ethers.getSigners();
    const book = await deployMedLedger(deployer!, {
      network: "roles-timelock",
      governance: { timelock: { minDelay: 86_400, proposers: [multisig!.address] } },
    });
    await expectNoRole(book, deployer!);
    const timelock = MedLedgerTimelock__factory.connect(addressOf(book, "TimelockController"), deployer);
    for (const role of [
      await timelock.DEFAULT_ADMIN_ROLE(),
      await timelock.PROPOSER_ROLE(),
      await timelock.CANCELLER_ROLE(),
      await timelock.EXECUTOR_ROLE(),
    ]) {
      expect(await timelock.hasRole(role, deployer!.address)).to.equal(false);
    }
    // The timelock administers itself; the multisig proposes and cancels; anyone executes.
    expect(await timelock.hasRole(await timelock.DEFAULT_ADMIN_ROLE(), await timelock.getAddress())).to.equal(true);
    expect(await timelock.hasRole(await timelock.PROPOSER_ROLE(), multisig!.address)).to.equal(true);
    expect(await timelock.hasRole(await timelock.EXECUTOR_ROLE(), ethers.ZeroAddress)).to.equal(true);
    expect(await timelock.getMinDelay()).to.equal(86_400n);
    expect(await timelock.version()).to.equal("1.1.0");
    const directory = ParticipantDirectory__factory.connect(addressOf(book, "ParticipantDirectory"), deployer);
    expect(await directory.hasRole(await directory.GOVERNANCE_ROLE(), await timelock.getAddress())).to.equal(true);
  });

  it("a deployment handed to a multisig leaves the deployer no role anywhere either", async () => {
    const [deployer, , multisig] = await ethers.getSigners();
    const book = await deployMedLedger(deployer!, {
      network: "roles-multisig",
      governance: { multisig: multisig!.address },
    });
    await expectNoRole(book, deployer!);
    const keyholders = KeyholderRegistry__factory.connect(addressOf(book, "KeyholderRegistry"), deployer);
    expect(await keyholders.hasRole(await keyholders.GOVERNANCE_ROLE(), multisig!.address)).to.equal(true);
    expect(await keyholders.hasRole(await keyholders.DEFAULT_ADMIN_ROLE(), multisig!.address)).to.equal(true);
  });

  it("the constructors grant roles to the named governance only, never to the deploying account", async () => {
    const [deployer, governance] = await ethers.getSigners();
    const directory = await new ParticipantDirectory__factory(deployer).deploy(governance!.address, deployer!.address);
    const keyholders = await new KeyholderRegistry__factory(deployer).deploy(
      governance!.address,
      await directory.getAddress(),
    );
    for (const c of [directory, keyholders]) {
      const holders = await roleHolders([await c.getAddress()]);
      for (const h of holders) expect(h.endsWith(governance!.address.toLowerCase())).to.equal(true);
      expect(holders.size).to.equal(2);
    }
  });
});
