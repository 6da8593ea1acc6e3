/**
 * deployMedLedger (the one deploy behind `medledger deploy` and `npm run deploy`) on the
 * in-process chain: governance, repeatability, resume, and what it refuses. The same deploy on
 * real nodes, through the built CLI and a default `JsonRpcProvider`, is test/deploy/nodes.test.ts.
 */
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import { network } from "hardhat";

import {
  ChainClient,
  DeploymentMismatchError,
  InvalidInputError,
  MedLedger,
  deployMedLedger,
  governance,
  memory,
} from "../../sdk/index.js";
import type { AddressBook, PartialAddressBook } from "../../sdk/index.js";
import {
  KeyholderRegistry__factory,
  MedLedgerTimelock__factory,
  ParticipantDirectory__factory,
} from "../../types/typechain/index.js";
import { fakeKey } from "../../fixtures/world.js";

const conn = await network.create();
const { ethers, networkHelpers } = conn;

/** Saves deep copies, as a file would; can be told to crash at the n-th save. */
function recorder(crashAt?: number) {
  const saves: PartialAddressBook[] = [];
  return {
    saves,
    last: () => saves.at(-1),
    onProgress: (book: PartialAddressBook) => {
      if (crashAt !== undefined && saves.length + 1 === crashAt) throw new Error("simulated crash");
      saves.push(JSON.parse(JSON.stringify(book)) as PartialAddressBook);
    },
  };
}

const dev = { governance: "deployer" as const, development: true, warn: () => undefined };

describe("deploy: governance handed over, repeatable, resumable", () => {
  async function deployed() {
    const [deployer, proposer, outsider] = await ethers.getSigners();
    const rec = recorder();
    const book = await deployMedLedger(deployer!, {
      network: "test",
      governance: { timelock: { minDelay: 3600, proposers: [proposer!.address] } },
      onProgress: rec.onProgress,
    });
    return { deployer: deployer!, proposer: proposer!, outsider: outsider!, book, rec };
  }

  it("writes an address book: chain id, distinct addresses, blocks, versions, ABI hash, governance", async () => {
    const { book } = await networkHelpers.loadFixture(deployed);
    expect(book.chainId).to.equal(31337);
    const names = [
      "ParticipantDirectory",
      "ConsentRegistry",
      "RecordRegistry",
      "KeyholderRegistry",
      "TimelockController",
    ] as const;
    for (const name of names) {
      const entry = book.contracts[name]!;
      expect(await ethers.provider.getCode(entry.address)).to.not.equal("0x");
      expect(entry.version).to.equal("1.1.0");
      expect(entry.blockNumber).to.be.greaterThan(0);
    }
    expect(new Set(names.map((n) => book.contracts[n]!.address)).size).to.equal(names.length);
    expect(book.governance).to.equal(book.contracts.TimelockController!.address);
    expect(book.abiHash).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("the deployer keeps no power; the timelock admits organizations after its delay", async () => {
    const { deployer, proposer, outsider, book } = await networkHelpers.loadFixture(deployed);
    const directory = ParticipantDirectory__factory.connect(book.contracts.ParticipantDirectory.address, deployer);
    const governanceRole = await directory.GOVERNANCE_ROLE();
    await expect(directory.admitOrganization(1, outsider.address, fakeKey("h")))
      .to.be.revertedWithCustomError(directory, "AccessControlUnauthorizedAccount")
      .withArgs(deployer.address, governanceRole);
    await expect(directory.grantRole(governanceRole, deployer.address)).to.be.revertedWithCustomError(
      directory,
      "AccessControlUnauthorizedAccount",
    );
    expect(await directory.hasRole(await directory.DEFAULT_ADMIN_ROLE(), deployer.address)).to.equal(false);

    const timelock = MedLedgerTimelock__factory.connect(book.contracts.TimelockController!.address, proposer);
    const data = directory.interface.encodeFunctionData("admitOrganization", [1, outsider.address, fakeKey("h")]);
    const salt = ethersLib.id("admit hospital");
    await (await timelock.schedule(directory, 0, data, ethersLib.ZeroHash, salt, 3600)).wait();
    await expect(timelock.execute(directory, 0, data, ethersLib.ZeroHash, salt)).to.be.revertedWithCustomError(
      timelock,
      "TimelockUnexpectedOperationState",
    );
    await networkHelpers.time.increase(3600);
    await expect(timelock.execute(directory, 0, data, ethersLib.ZeroHash, salt))
      .to.emit(directory, "OrganizationAdmitted")
      .withArgs(1, 1, outsider.address, fakeKey("h"), 1);
    // Only proposers schedule.
    await expect(
      timelock.connect(outsider).schedule(directory, 0, data, ethersLib.ZeroHash, ethersLib.id("x"), 3600),
    ).to.be.revertedWithCustomError(timelock, "AccessControlUnauthorizedAccount");
  });

  it("the package's governance helper schedules, waits out the delay and executes a directory call", async () => {
    const { proposer, outsider, book } = await networkHelpers.loadFixture(deployed);
    const chain = await ChainClient.create({ signer: proposer, addressBook: book });
    let waited = 0;
    const admitted = await governance.admitOrganization(
      chain,
      { kind: "LAB", admin: outsider.address, encryptionKey: fakeKey("lab") },
      {
        waitForDelay: async (seconds) => {
          waited = seconds;
          await networkHelpers.time.increase(seconds);
        },
      },
    );
    expect(admitted.value).to.equal(1);
    expect(waited).to.be.within(3590, 3600);
    const ml = await MedLedger.create({
      signer: outsider,
      addressBook: book,
      storage: memory(),
      keyholders: new Map(),
    });
    expect((await ml.chain.directory.getOrganization(1)).admin).to.equal(outsider.address);
  });

  it("re-running on a complete deployment checks it and changes nothing", async () => {
    const { deployer, proposer, book, rec } = await networkHelpers.loadFixture(deployed);
    const block = await ethers.provider.getBlockNumber();
    const nonce = await ethers.provider.getTransactionCount(deployer.address);
    const again = await deployMedLedger(deployer, {
      network: "test",
      previous: rec.last(),
      governance: { timelock: { minDelay: 3600, proposers: [proposer.address] } },
    });
    expect(await ethers.provider.getBlockNumber()).to.equal(block);
    expect(await ethers.provider.getTransactionCount(deployer.address)).to.equal(nonce);
    expect(again.contracts).to.deep.equal(book.contracts);
  });

  it("a run that crashed after sending a deployment adopts it instead of deploying twice", async () => {
    const [deployer] = await ethers.getSigners();
    // Saves: 1 pending directory, 2 its hash, 3 directory recorded, 4 pending consents, 5 its hash, 6 recorded (crash).
    const crashed = recorder(6);
    const crash = await deployMedLedger(deployer!, { network: "test", ...dev, onProgress: crashed.onProgress }).catch(
      (e: unknown) => e,
    );
    expect(crash).to.be.instanceOf(Error).with.property("message", "simulated crash");
    const partial = crashed.last()!;
    expect(partial.contracts.ConsentRegistry).to.equal(undefined);
    const pending = partial.pending!.ConsentRegistry!;
    expect(pending.hash).to.match(/^0x[0-9a-f]{64}$/);
    expect(await ethers.provider.getCode(pending.address)).to.not.equal("0x");

    const nonceBefore = await ethers.provider.getTransactionCount(deployer!.address);
    const book = await deployMedLedger(deployer!, { network: "test", ...dev, previous: partial });
    expect(book.contracts.ParticipantDirectory.address).to.equal(partial.contracts.ParticipantDirectory!.address);
    expect(book.contracts.ConsentRegistry.address).to.equal(pending.address);
    expect(book.contracts.ConsentRegistry.blockNumber).to.be.greaterThan(0);
    // On resume: the record, keyholder and study registries deployed, the study registry connected
    // to the record registry, and the three migratable contracts sealed (sealMigration) before
    // governance is handed over; the consent registry not again.
    expect(await ethers.provider.getTransactionCount(deployer!.address)).to.equal(nonceBefore + 3 + 1 + 3);
  });

  it("a pending address holding another contract is not adopted (fails on main: it adopted any code)", async () => {
    const [deployer] = await ethers.getSigners();
    const crashed = recorder(4); // crash when about to deploy the consent registry (nothing sent)
    await deployMedLedger(deployer!, { network: "test", ...dev, onProgress: crashed.onProgress }).catch(
      () => undefined,
    );
    const partial = crashed.last()!;
    // A stale nonce planned the consent registry at the directory's address (what a cached nonce did).
    const directory = partial.contracts.ParticipantDirectory!.address;
    const directoryNonce = (await ethers.provider.getTransactionCount(deployer!.address)) - 1;
    partial.pending = { ConsentRegistry: { address: directory, nonce: directoryNonce } };
    const lines: string[] = [];
    const book = await deployMedLedger(deployer!, {
      network: "test",
      ...dev,
      previous: partial,
      log: (l) => lines.push(l),
    });
    expect(book.contracts.ConsentRegistry.address).to.not.equal(directory);
    expect(lines.join("\n")).to.contain("holds something else");
    const addresses = Object.values(book.contracts).map((e) => e.address);
    expect(new Set(addresses).size).to.equal(addresses.length);
    await ChainClient.create({ signer: deployer!, addressBook: book }); // verifies code and wiring
  });

  it("an address book entry holding the wrong contract is refused, naming the contract", async () => {
    const { deployer, proposer, rec } = await networkHelpers.loadFixture(deployed);
    const previous = rec.last()!;
    const wrong = {
      ...previous,
      contracts: { ...previous.contracts, ConsentRegistry: previous.contracts.RecordRegistry },
    };
    const err = await deployMedLedger(deployer, {
      network: "test",
      previous: wrong,
      governance: { timelock: { minDelay: 3600, proposers: [proposer.address] } },
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DeploymentMismatchError);
    expect((err as DeploymentMismatchError).contract).to.equal("ConsentRegistry");
    expect((err as Error).message).to.contain("RecordRegistry's");
  });

  it("refuses governance that leaves the deployer in control, before sending anything (fails on main)", async () => {
    const [deployer, proposer, multisig] = await ethers.getSigners();
    const nonce = await ethers.provider.getTransactionCount(deployer!.address);
    const cases: [unknown, string][] = [
      [{ timelock: { minDelay: 3600 } }, "explicit proposers"],
      [{ timelock: { minDelay: 3600, proposers: [] } }, "explicit proposers"],
      [{ timelock: { minDelay: 0, proposers: [proposer!.address] } }, "delay is 0"],
      [{ timelock: { minDelay: 3600, proposers: [deployer!.address] } }, "deployer is a proposer"],
      [{ timelock: { minDelay: 86_400_000, proposers: [proposer!.address] } }, "SECONDS"],
      [{ timelock: { minDelay: 3600, proposers: ["multisig.eth"] } }, "multisig.eth"],
      [{ multisig: deployer!.address }, "multisig is the deployer"],
      ["deployer", "keeps governance"],
      [false, "keeps governance"],
      [undefined, "governance must be"],
    ];
    for (const [g, message] of cases) {
      const err = await deployMedLedger(deployer!, { network: "test", governance: g as never }).catch(
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(g)).to.be.instanceOf(InvalidInputError);
      expect((err as Error).message).to.contain(message);
    }
    expect(await ethers.provider.getTransactionCount(deployer!.address)).to.equal(nonce);
    // The multisig case the right way round works.
    const ok = await deployMedLedger(deployer!, { network: "test", governance: { multisig: multisig!.address } });
    expect(ok.governance).to.equal(multisig!.address);
  });

  it("the development flag allows it, and warns on every run", async () => {
    const [deployer] = await ethers.getSigners();
    const warnings: string[] = [];
    const opts = {
      network: "test",
      governance: { timelock: { minDelay: 0, proposers: [deployer!.address] } },
      development: true,
      warn: (l: string) => warnings.push(l),
    };
    const rec = recorder();
    await deployMedLedger(deployer!, { ...opts, onProgress: rec.onProgress });
    await deployMedLedger(deployer!, { ...opts, previous: rec.last() });
    expect(warnings).to.have.length(2);
    expect(warnings[0]).to.match(
      /WARNING: development deployment: the timelock delay is 0; the deployer is a proposer/,
    );
  });

  it("refuses an address book of another chain", async () => {
    const [deployer] = await ethers.getSigners();
    const refused = await deployMedLedger(deployer!, {
      network: "test",
      ...dev,
      previous: { chainId: 1, contracts: {} },
    }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(InvalidInputError);
  });

  it("hands governance to a multisig when one is configured", async () => {
    const [deployer, , , multisig] = await ethers.getSigners();
    const book = await deployMedLedger(deployer!, { network: "test", governance: { multisig: multisig!.address } });
    const directory = ParticipantDirectory__factory.connect(book.contracts.ParticipantDirectory.address, multisig);
    expect(book.governance).to.equal(multisig!.address);
    expect(book.contracts.TimelockController).to.equal(undefined);
    // The keyholder set is governed too: the multisig holds its roles, the deployer none.
    const keyholders = KeyholderRegistry__factory.connect(book.contracts.KeyholderRegistry.address, multisig);
    for (const role of [await keyholders.GOVERNANCE_ROLE(), await keyholders.DEFAULT_ADMIN_ROLE()]) {
      expect(await keyholders.hasRole(role, multisig!.address)).to.equal(true);
      expect(await keyholders.hasRole(role, deployer!.address)).to.equal(false);
    }
    await expect(directory.admitOrganization(2, deployer!.address, fakeKey("lab"))).to.emit(
      directory,
      "OrganizationAdmitted",
    );
    await expect(
      directory.connect(deployer).admitOrganization(2, multisig!.address, fakeKey("lab2")),
    ).to.be.revertedWithCustomError(directory, "AccessControlUnauthorizedAccount");
  });
});

describe("MedLedger.create / ChainClient.create check the deployment (fails on main: any code passed)", () => {
  async function two(): Promise<{ a: AddressBook; b: AddressBook }> {
    const [deployer] = await ethers.getSigners();
    const a = await deployMedLedger(deployer!, { network: "a", ...dev });
    const b = await deployMedLedger(deployer!, { network: "b", ...dev });
    return { a, b };
  }

  const refusal = async (book: AddressBook) => {
    const [signer] = await ethers.getSigners();
    const err = await MedLedger.create({
      signer: signer!,
      addressBook: book,
      storage: memory(),
      keyholders: new Map(),
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DeploymentMismatchError);
    return err as DeploymentMismatchError;
  };

  it("another contract's code at an address", async () => {
    const { a } = await networkHelpers.loadFixture(two);
    const swapped = structuredClone(a);
    swapped.contracts.ConsentRegistry.address = a.contracts.RecordRegistry.address;
    swapped.contracts.RecordRegistry.address = a.contracts.ConsentRegistry.address;
    const err = await refusal(swapped);
    expect(err.contract).to.be.oneOf(["ConsentRegistry", "RecordRegistry"]);
    expect(err.message).to.match(/code at 0x[0-9a-fA-F]{40} is (ConsentRegistry|RecordRegistry)'s/);
  });

  it("no code at an address", async () => {
    const { a } = await networkHelpers.loadFixture(two);
    const empty = structuredClone(a);
    empty.contracts.RecordRegistry.address = "0x000000000000000000000000000000000000dEaD";
    const err = await refusal(empty);
    expect(err.contract).to.equal("RecordRegistry");
    expect(err.message).to.contain("no contract at");
  });

  it("contracts of two deployments mixed: the wiring names the contract", async () => {
    const { a, b } = await networkHelpers.loadFixture(two);
    for (const name of ["ConsentRegistry", "KeyholderRegistry"] as const) {
      const mixed = structuredClone(a);
      mixed.contracts[name] = b.contracts[name];
      const err = await refusal(mixed);
      expect(err.contract).to.equal(name);
      expect(err.message).to.contain("its directory is");
    }
  });

  it("the keyholder registry at another registry's address is refused", async () => {
    const { a } = await networkHelpers.loadFixture(two);
    const moved = structuredClone(a);
    moved.contracts.KeyholderRegistry.address = a.contracts.ConsentRegistry.address;
    moved.contracts.ConsentRegistry.address = a.contracts.KeyholderRegistry.address;
    expect((await refusal(moved)).contract).to.be.oneOf(["ConsentRegistry", "KeyholderRegistry"]);
  });

  it("the same address twice", async () => {
    const { a } = await networkHelpers.loadFixture(two);
    const twice = structuredClone(a);
    twice.contracts.RecordRegistry.address = a.contracts.ConsentRegistry.address;
    const [signer] = await ethers.getSigners();
    const err = await ChainClient.create({ signer: signer!, addressBook: twice }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(InvalidInputError);
    expect((err as Error).message).to.contain("ConsentRegistry's address");
  });
});
