import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import { network } from "hardhat";

import { deployMedLedger } from "../../sdk/deploy.js";
import { InvalidInputError } from "../../sdk/errors.js";
import type { PartialAddressBook } from "../../sdk/deploy.js";
import { MedLedgerTimelock__factory, ParticipantDirectory__factory } from "../../types/typechain/index.js";
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

describe("deploy: repeatable, resumable, governance handed to a timelock", () => {
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

  it("writes an address book: chain id, addresses, blocks, versions, ABI hash, governance", async () => {
    const { book } = await networkHelpers.loadFixture(deployed);
    expect(book.chainId).to.equal(31337);
    for (const name of ["ParticipantDirectory", "ConsentRegistry", "RecordRegistry", "TimelockController"] as const) {
      const entry = book.contracts[name]!;
      expect(await ethers.provider.getCode(entry.address)).to.not.equal("0x");
      expect(entry.version).to.equal("1.0.0");
      expect(entry.blockNumber).to.be.greaterThan(0);
    }
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

  it("re-running on a complete deployment changes nothing", async () => {
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
    // Saves: 1 pending directory, 2 directory recorded, 3 pending consents, 4 consents recorded (crash).
    const crashed = recorder(4);
    const crash = await deployMedLedger(deployer!, {
      network: "test",
      governance: false,
      onProgress: crashed.onProgress,
    }).catch((e: unknown) => e);
    expect(crash).to.be.instanceOf(Error).with.property("message", "simulated crash");
    const partial = crashed.last()!;
    expect(partial.contracts.ConsentRegistry).to.equal(undefined);
    const pending = partial.pending!.ConsentRegistry!;
    expect(await ethers.provider.getCode(pending.address)).to.not.equal("0x");

    const nonceBefore = await ethers.provider.getTransactionCount(deployer!.address);
    const resumed = recorder();
    const book = await deployMedLedger(deployer!, {
      network: "test",
      previous: partial,
      governance: false,
      onProgress: resumed.onProgress,
    });
    expect(book.contracts.ParticipantDirectory.address).to.equal(partial.contracts.ParticipantDirectory!.address);
    expect(book.contracts.ConsentRegistry.address).to.equal(pending.address);
    expect(book.contracts.ConsentRegistry.blockNumber).to.be.greaterThan(0);
    // Only the record registry was deployed on resume.
    expect(await ethers.provider.getTransactionCount(deployer!.address)).to.equal(nonceBefore + 1);
  });

  it("refuses an address book of another chain", async () => {
    const [deployer] = await ethers.getSigners();
    const refused = await deployMedLedger(deployer!, {
      network: "test",
      previous: { chainId: 1, contracts: {} },
      governance: false,
    }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(InvalidInputError);
  });

  it("hands governance to a multisig when one is configured", async () => {
    const [deployer, , , multisig] = await ethers.getSigners();
    const book = await deployMedLedger(deployer!, { network: "test", governance: { multisig: multisig!.address } });
    const directory = ParticipantDirectory__factory.connect(book.contracts.ParticipantDirectory.address, multisig);
    expect(book.governance).to.equal(multisig!.address);
    expect(book.contracts.TimelockController).to.equal(undefined);
    await expect(directory.admitOrganization(2, deployer!.address, fakeKey("lab"))).to.emit(
      directory,
      "OrganizationAdmitted",
    );
    await expect(
      directory.connect(deployer).admitOrganization(2, multisig!.address, fakeKey("lab2")),
    ).to.be.revertedWithCustomError(directory, "AccessControlUnauthorizedAccount");
  });
});
