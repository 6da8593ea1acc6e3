/**
 * KeyholderRegistry: the governance-admitted keyholder set (organization, signing account, X25519
 * key with version, endpoint), the threshold k (1 ≤ k ≤ active n), the membership epoch, and the
 * release-log anchors each keyholder's own account makes. Every function, guard, error and event.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { ZeroAddress, ZeroHash, id as keccakString } from "ethers";
import { network } from "hardhat";

import { buildWorld, fakeKey, randomId } from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";
import { KeyholderRegistry__factory } from "../../types/typechain/index.js";

const conn = await network.create();
const { networkHelpers } = conn;

const GOVERNANCE_ROLE = keccakString("GOVERNANCE_ROLE");
const DEFAULT_ADMIN_ROLE = ZeroHash;

interface Ctx extends World {
  kh: HardhatEthersSigner[];
}

describe("KeyholderRegistry", () => {
  async function registryWorld(): Promise<Ctx> {
    const w = await buildWorld(conn);
    return { ...w, kh: [w.signers[13]!, w.signers[14]!, w.signers[15]!, w.signers[16]!] };
  }

  /** Admits three keyholders (hospital, lab, payer) and sets k = 2. */
  async function threeKeyholders(): Promise<Ctx> {
    const c = await registryWorld();
    const orgs = [c.hospital, c.lab, c.payer];
    for (let i = 0; i < 3; i++) {
      await (
        await c.keyholders.addKeyholder(orgs[i]!, c.kh[i]!.address, fakeKey(`kh${i}`), `https://kh${i}.test`)
      ).wait();
    }
    await (await c.keyholders.setThreshold(2)).wait();
    return c;
  }

  describe("deployment and views", () => {
    it("governance holds GOVERNANCE_ROLE and DEFAULT_ADMIN_ROLE; empty set, k 0, epoch 0, version 1.1.0", async () => {
      const c = await networkHelpers.loadFixture(registryWorld);
      expect(await c.keyholders.hasRole(GOVERNANCE_ROLE, c.governance.address)).to.equal(true);
      expect(await c.keyholders.hasRole(DEFAULT_ADMIN_ROLE, c.governance.address)).to.equal(true);
      expect(await c.keyholders.getRoleAdmin(GOVERNANCE_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await c.keyholders.directory()).to.equal(await c.directory.getAddress());
      expect([
        await c.keyholders.threshold(),
        await c.keyholders.epoch(),
        await c.keyholders.keyholderCount(),
      ]).to.deep.equal([0n, 0n, 0n]);
      expect(await c.keyholders.activeKeyholders()).to.deep.equal([]);
      expect(await c.keyholders.version()).to.equal("1.1.0");
      expect(await c.keyholders.MAX_KEYHOLDERS()).to.equal(32n);
      expect(await c.keyholders.MAX_ENDPOINT_LENGTH()).to.equal(256n);
      await expect(c.keyholders.getKeyholder(1))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderUnknown")
        .withArgs(1);
      expect(await c.keyholders.lastReleaseLog(1)).to.deep.equal([0n, ZeroHash, 0n]);
    });

    it("the constructor refuses a zero governance and a directory that is not a contract", async () => {
      const c = await networkHelpers.loadFixture(registryWorld);
      const f = new KeyholderRegistry__factory(c.governance);
      await expect(f.deploy(ZeroAddress, await c.directory.getAddress()))
        .to.be.revertedWithCustomError(f, "KeyholderZeroValue")
        .withArgs("governance");
      await expect(f.deploy(c.governance.address, c.stranger.address))
        .to.be.revertedWithCustomError(f, "KeyholderZeroValue")
        .withArgs("directory");
    });
  });

  describe("addKeyholder", () => {
    it("admits keyholders with sequential ids; every join moves the epoch", async () => {
      const c = await networkHelpers.loadFixture(registryWorld);
      expect(
        await c.keyholders.addKeyholder.staticCall(c.hospital, c.kh[0]!.address, fakeKey("a"), "https://a"),
      ).to.equal(1n);
      await expect(c.keyholders.addKeyholder(c.hospital, c.kh[0]!.address, fakeKey("a"), "https://a"))
        .to.emit(c.keyholders, "KeyholderAdded")
        .withArgs(1, c.hospital, c.kh[0]!.address, fakeKey("a"), 1, "https://a", 1);
      await expect(c.keyholders.addKeyholder(c.lab, c.kh[1]!.address, fakeKey("b"), "https://b"))
        .to.emit(c.keyholders, "KeyholderAdded")
        .withArgs(2, c.lab, c.kh[1]!.address, fakeKey("b"), 1, "https://b", 2);
      expect(await c.keyholders.getKeyholder(2)).to.deep.equal([
        BigInt(c.lab),
        c.kh[1]!.address,
        fakeKey("b"),
        1n,
        true,
        "https://b",
      ]);
      expect(await c.keyholders.keyholderOf(c.kh[1]!.address)).to.equal(2n);
      expect(await c.keyholders.activeKeyholders()).to.deep.equal([1n, 2n]);
      expect(await c.keyholders.epoch()).to.equal(2n);
    });

    it("only governance admits", async () => {
      const c = await networkHelpers.loadFixture(registryWorld);
      for (const s of [c.hospitalAdmin, c.stranger, c.kh[0]!]) {
        await expect(c.keyholders.connect(s).addKeyholder(c.hospital, s.address, fakeKey("x"), "https://x"))
          .to.be.revertedWithCustomError(c.keyholders, "AccessControlUnauthorizedAccount")
          .withArgs(s.address, GOVERNANCE_ROLE);
      }
    });

    it("refuses an unknown organization, a zero or used account, a zero key, an empty or too long endpoint", async () => {
      const c = await networkHelpers.loadFixture(threeKeyholders);
      const k = c.keyholders;
      for (const org of [0, 4]) {
        await expect(k.addKeyholder(org, c.kh[3]!.address, fakeKey("x"), "https://x"))
          .to.be.revertedWithCustomError(k, "KeyholderUnknownOrganization")
          .withArgs(org);
      }
      await expect(k.addKeyholder(c.lab, ZeroAddress, fakeKey("x"), "https://x"))
        .to.be.revertedWithCustomError(k, "KeyholderZeroValue")
        .withArgs("account");
      await expect(k.addKeyholder(c.lab, c.kh[0]!.address, fakeKey("x"), "https://x"))
        .to.be.revertedWithCustomError(k, "KeyholderAccountInUse")
        .withArgs(c.kh[0]!.address, 1);
      await expect(k.addKeyholder(c.lab, c.kh[3]!.address, ZeroHash, "https://x"))
        .to.be.revertedWithCustomError(k, "KeyholderZeroValue")
        .withArgs("encryptionKey");
      await expect(k.addKeyholder(c.lab, c.kh[3]!.address, fakeKey("x"), ""))
        .to.be.revertedWithCustomError(k, "KeyholderZeroValue")
        .withArgs("endpoint");
      await expect(k.addKeyholder(c.lab, c.kh[3]!.address, fakeKey("x"), "x".repeat(257)))
        .to.be.revertedWithCustomError(k, "KeyholderEndpointTooLong")
        .withArgs(257);
      await expect(k.addKeyholder(c.lab, c.kh[3]!.address, fakeKey("x"), "x".repeat(256))).to.emit(k, "KeyholderAdded");
    });

    it("holds at most MAX_KEYHOLDERS active keyholders (KeyholderSetFull)", async () => {
      const c = await networkHelpers.loadFixture(registryWorld);
      for (let i = 0; i < 32; i++) {
        await (await c.keyholders.addKeyholder(c.lab, ethersAddress(i), fakeKey(`k${i}`), "https://k")).wait();
      }
      await expect(c.keyholders.addKeyholder(c.lab, ethersAddress(99), fakeKey("k"), "https://k"))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderSetFull")
        .withArgs(32);
      // A removal makes room again.
      await (await c.keyholders.removeKeyholder(5)).wait();
      await expect(c.keyholders.addKeyholder(c.lab, ethersAddress(99), fakeKey("k"), "https://k")).to.emit(
        c.keyholders,
        "KeyholderAdded",
      );
      expect(await c.keyholders.activeKeyholders()).to.have.length(32);
    });
  });

  describe("threshold", () => {
    it("1 ≤ k ≤ active n; every change moves the epoch", async () => {
      const c = await networkHelpers.loadFixture(threeKeyholders);
      expect(await c.keyholders.threshold()).to.equal(2n);
      const epoch = await c.keyholders.epoch();
      await expect(c.keyholders.setThreshold(3))
        .to.emit(c.keyholders, "ThresholdSet")
        .withArgs(3, epoch + 1n);
      for (const k of [0, 4]) {
        await expect(c.keyholders.setThreshold(k))
          .to.be.revertedWithCustomError(c.keyholders, "KeyholderInvalidThreshold")
          .withArgs(k, 3);
      }
      await expect(c.keyholders.connect(c.stranger).setThreshold(1))
        .to.be.revertedWithCustomError(c.keyholders, "AccessControlUnauthorizedAccount")
        .withArgs(c.stranger.address, GOVERNANCE_ROLE);
    });

    it("a removal that would leave fewer keyholders than k is refused; lower k first", async () => {
      const c = await networkHelpers.loadFixture(threeKeyholders);
      await (await c.keyholders.setThreshold(3)).wait();
      await expect(c.keyholders.removeKeyholder(2))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderInvalidThreshold")
        .withArgs(3, 2);
      await (await c.keyholders.setThreshold(2)).wait();
      const epoch = await c.keyholders.epoch();
      await expect(c.keyholders.removeKeyholder(2))
        .to.emit(c.keyholders, "KeyholderRemoved")
        .withArgs(2, epoch + 1n);
      expect(await c.keyholders.activeKeyholders()).to.deep.equal([1n, 3n]);
      expect((await c.keyholders.getKeyholder(2)).active).to.equal(false);
      expect(await c.keyholders.keyholderOf(c.kh[1]!.address)).to.equal(0n);
    });
  });

  describe("removeKeyholder, rotateKeyholderKey, setKeyholderAccount", () => {
    it("a removed keyholder is gone for ever: no key, account, endpoint change nor log anchor; its account is free", async () => {
      const c = await networkHelpers.loadFixture(threeKeyholders);
      await (await c.keyholders.removeKeyholder(1)).wait();
      await expect(c.keyholders.removeKeyholder(1))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderInactive")
        .withArgs(1);
      await expect(c.keyholders.rotateKeyholderKey(1, fakeKey("n")))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderInactive")
        .withArgs(1);
      await expect(c.keyholders.setKeyholderAccount(1, c.kh[3]!.address))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderInactive")
        .withArgs(1);
      await expect(c.keyholders.connect(c.kh[0]).setKeyholderEndpoint(1, "https://n"))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderInactive")
        .withArgs(1);
      await expect(c.keyholders.connect(c.kh[0]).anchorReleaseLog(1, 1, randomId()))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderInactive")
        .withArgs(1);
      await expect(c.keyholders.removeKeyholder(9))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderUnknown")
        .withArgs(9);
      // Rejoining is a new keyholder.
      await expect(c.keyholders.addKeyholder(c.hospital, c.kh[0]!.address, fakeKey("again"), "https://again"))
        .to.emit(c.keyholders, "KeyholderAdded")
        .withArgs(
          4,
          c.hospital,
          c.kh[0]!.address,
          fakeKey("again"),
          1,
          "https://again",
          (await c.keyholders.epoch()) + 1n,
        );
    });

    it("governance rotates a keyholder's key (version + 1, epoch moves); zero key refused; others cannot", async () => {
      const c = await networkHelpers.loadFixture(threeKeyholders);
      const epoch = await c.keyholders.epoch();
      await expect(c.keyholders.rotateKeyholderKey(2, fakeKey("kh1-v2")))
        .to.emit(c.keyholders, "KeyholderKeyRotated")
        .withArgs(2, fakeKey("kh1-v2"), 2, epoch + 1n);
      expect((await c.keyholders.getKeyholder(2)).encryptionKey).to.equal(fakeKey("kh1-v2"));
      await expect(c.keyholders.rotateKeyholderKey(2, ZeroHash))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderZeroValue")
        .withArgs("encryptionKey");
      for (const s of [c.kh[1]!, c.stranger]) {
        await expect(c.keyholders.connect(s).rotateKeyholderKey(2, fakeKey("x")))
          .to.be.revertedWithCustomError(c.keyholders, "AccessControlUnauthorizedAccount")
          .withArgs(s.address, GOVERNANCE_ROLE);
      }
    });

    it("governance moves a keyholder to a new signing account (epoch moves); the old account loses its powers", async () => {
      const c = await networkHelpers.loadFixture(threeKeyholders);
      const epoch = await c.keyholders.epoch();
      await expect(c.keyholders.setKeyholderAccount(1, c.kh[3]!.address))
        .to.emit(c.keyholders, "KeyholderAccountChanged")
        .withArgs(1, c.kh[0]!.address, c.kh[3]!.address, epoch + 1n);
      expect(await c.keyholders.keyholderOf(c.kh[0]!.address)).to.equal(0n);
      expect(await c.keyholders.keyholderOf(c.kh[3]!.address)).to.equal(1n);
      await expect(c.keyholders.connect(c.kh[0]).anchorReleaseLog(1, 1, randomId()))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderUnauthorized")
        .withArgs(1, c.kh[0]!.address);
      await expect(c.keyholders.setKeyholderAccount(1, c.kh[1]!.address))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderAccountInUse")
        .withArgs(c.kh[1]!.address, 2);
      await expect(c.keyholders.setKeyholderAccount(1, ZeroAddress))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderZeroValue")
        .withArgs("account");
      await expect(c.keyholders.connect(c.kh[3]).setKeyholderAccount(1, c.kh[0]!.address))
        .to.be.revertedWithCustomError(c.keyholders, "AccessControlUnauthorizedAccount")
        .withArgs(c.kh[3]!.address, GOVERNANCE_ROLE);
    });
  });

  describe("setKeyholderEndpoint", () => {
    it("the keyholder's account or governance changes the endpoint (the epoch does not move); others cannot", async () => {
      const c = await networkHelpers.loadFixture(threeKeyholders);
      const epoch = await c.keyholders.epoch();
      await expect(c.keyholders.connect(c.kh[0]).setKeyholderEndpoint(1, "https://kh0.test/v2"))
        .to.emit(c.keyholders, "KeyholderEndpointChanged")
        .withArgs(1, "https://kh0.test/v2");
      await expect(c.keyholders.setKeyholderEndpoint(1, "https://kh0.test/v3"))
        .to.emit(c.keyholders, "KeyholderEndpointChanged")
        .withArgs(1, "https://kh0.test/v3");
      expect(await c.keyholders.epoch()).to.equal(epoch);
      expect((await c.keyholders.getKeyholder(1)).endpoint).to.equal("https://kh0.test/v3");
      for (const s of [c.kh[1]!, c.stranger, c.hospitalAdmin]) {
        await expect(c.keyholders.connect(s).setKeyholderEndpoint(1, "https://evil"))
          .to.be.revertedWithCustomError(c.keyholders, "KeyholderUnauthorized")
          .withArgs(1, s.address);
      }
      await expect(c.keyholders.connect(c.kh[0]).setKeyholderEndpoint(1, ""))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderZeroValue")
        .withArgs("endpoint");
    });
  });

  describe("anchorReleaseLog", () => {
    it("the keyholder's own account anchors its log head; sequences strictly increase; the last anchor is readable", async () => {
      const c = await networkHelpers.loadFixture(threeKeyholders);
      const head = randomId();
      await expect(c.keyholders.connect(c.kh[0]).anchorReleaseLog(1, 10, head))
        .to.emit(c.keyholders, "ReleaseLogAnchored")
        .withArgs(1, 10, head);
      const [sequence, stored, at] = await c.keyholders.lastReleaseLog(1);
      expect([sequence, stored, at]).to.deep.equal([10n, head, BigInt(await c.now())]);
      for (const s of [10, 9, 0]) {
        await expect(c.keyholders.connect(c.kh[0]).anchorReleaseLog(1, s, randomId()))
          .to.be.revertedWithCustomError(c.keyholders, "KeyholderSequenceNotIncreasing")
          .withArgs(1, s, 10);
      }
      await expect(c.keyholders.connect(c.kh[0]).anchorReleaseLog(1, 11, ZeroHash))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderZeroLogHead")
        .withArgs(1);
      // Another keyholder's log is its own.
      await expect(c.keyholders.connect(c.kh[1]).anchorReleaseLog(2, 1, randomId())).to.emit(
        c.keyholders,
        "ReleaseLogAnchored",
      );
    });

    it("nobody else anchors for a keyholder: not another keyholder, not governance", async () => {
      const c = await networkHelpers.loadFixture(threeKeyholders);
      for (const s of [c.kh[1]!, c.governance, c.stranger]) {
        await expect(c.keyholders.connect(s).anchorReleaseLog(1, 1, randomId()))
          .to.be.revertedWithCustomError(c.keyholders, "KeyholderUnauthorized")
          .withArgs(1, s.address);
      }
      await expect(c.keyholders.connect(c.kh[0]).anchorReleaseLog(7, 1, randomId()))
        .to.be.revertedWithCustomError(c.keyholders, "KeyholderUnknown")
        .withArgs(7);
    });
  });
});

function ethersAddress(i: number): string {
  return `0x${(0x1000 + i).toString(16).padStart(40, "0")}`;
}
