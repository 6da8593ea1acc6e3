import { expect } from "chai";
import { TypedDataEncoder, Wallet, hexlify, randomBytes } from "ethers";
import fc from "fast-check";
import { combine, split } from "shamir-secret-sharing";

import { generateX25519KeyPair, x25519PublicKey, x25519SharedSecret } from "../../../sdk/crypto/keyslot.js";
import { ephemeralAgreement, publicKeyOf, sharedSecret } from "../../../sdk/keyholder/x25519.js";
import { DecryptionError, IntegrityError } from "../../../sdk/errors.js";
import { gfAdd, gfInv, gfMul, gfScale, lagrangeAtZero, shareAt } from "../../../sdk/keyholder/gf256.js";
import { buildManifest, signAttestation, trustedShares } from "../../../sdk/keyholder/manifest.js";
import { KEY_PREFLIGHT_TYPES, KEY_RELEASE_TYPES, keyholderDomain } from "../../../sdk/keyholder/protocol.js";
import { signatureChecker, typedDigest } from "../../../sdk/keyholder/signatures.js";
import {
  combineShares,
  keyCheckValue,
  openShare,
  sealShare,
  shareCommitment,
  shareX,
  splitDataKey,
} from "../../../sdk/keyholder/shares.js";
import type { ShareContext } from "../../../sdk/keyholder/shares.js";
import type { Hex } from "../../../sdk/types.js";

const hex32 = () => hexlify(randomBytes(32)) as Hex;
const ref = {
  chainId: 31337n,
  keyholderRegistry: "0x" + "11".repeat(20),
  recordRegistry: "0x" + "22".repeat(20),
  subject: hex32(),
  recordId: hex32(),
};

describe("keyholder shares: field, split, seal, commitments, manifests", () => {
  it("GF(2^8) agrees with the package: shares made by shareAt combine with its combine, and λ-scaled sums reconstruct", async () => {
    expect(gfMul(0x57, 0x83)).to.equal(0xc1); // FIPS-197 example
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInv(a))).to.equal(1);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 2, max: 5 }),
        async (secret, k) => {
          const xs = [...new Set([...randomBytes(16)].filter((x) => x !== 0))].slice(0, k + 1);
          fc.pre(xs.length >= k);
          const shares = shareAt(secret, xs, k, (n) => randomBytes(n));
          expect(await combine(shares.slice(0, k))).to.deep.equal(secret);
          // The package's shares, combined by hand with Lagrange coefficients, give the secret too.
          const theirs = (await split(secret, k + 1, k)).slice(0, k);
          const theirXs = theirs.map((s) => s[32]!);
          let sum: Uint8Array = new Uint8Array(32);
          theirs.forEach((s, i) => (sum = gfAdd(sum, gfScale(s.subarray(0, 32), lagrangeAtZero(theirXs, i)))));
          expect(sum).to.deep.equal(secret);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("splits 2-of-3: any two shares recover the key, one share alone is uniform noise", async () => {
    const key = randomBytes(32);
    const shares = await splitDataKey(key, 3, 2);
    expect(shares).to.have.length(3);
    for (const pair of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      expect(await combineShares([shares[pair[0]]!, shares[pair[1]]!])).to.deep.equal(key);
    }
    await splitDataKey(key, 3, 1).then(
      () => expect.fail("k = 1 accepted"),
      (e: unknown) => expect(String(e)).to.match(/threshold/),
    );
  });

  it("seals a share to one keyholder, bound to record, keyholder, epoch and x; a release is bound to reader and nonce", async () => {
    const [share] = await splitDataKey(randomBytes(32), 3, 2);
    const holder = generateX25519KeyPair();
    const ctx: ShareContext = { ...ref, keyholderId: 1, epoch: 3n, x: shareX(share!) };
    const slot = sealShare({
      share: share!,
      recipientPublicKey: holder.publicKey,
      recipientKeyVersion: 2,
      context: ctx,
    });
    expect(slot).to.have.length(86);
    expect(openShare({ slot, recipientPrivateKey: holder.privateKey, context: ctx })).to.deep.equal(share);
    for (const other of [
      { ...ctx, keyholderId: 2 },
      { ...ctx, epoch: 4n },
      { ...ctx, recordId: hex32() },
    ]) {
      expect(() => openShare({ slot, recipientPrivateKey: holder.privateKey, context: other })).to.throw(
        DecryptionError,
      );
    }
    const flipped = slot.slice();
    flipped[50]! ^= 1;
    expect(() => openShare({ slot: flipped, recipientPrivateKey: holder.privateKey, context: ctx })).to.throw(
      DecryptionError,
    );
    const release = { reader: Wallet.createRandom().address, nonce: hex32() };
    const released = sealShare({
      share: share!,
      recipientPublicKey: holder.publicKey,
      recipientKeyVersion: 1,
      context: ctx,
      release,
    });
    expect(openShare({ slot: released, recipientPrivateKey: holder.privateKey, context: ctx, release })).to.deep.equal(
      share,
    );
    expect(() => openShare({ slot: released, recipientPrivateKey: holder.privateKey, context: ctx })).to.throw(
      DecryptionError,
    );
    expect(() =>
      openShare({
        slot: released,
        recipientPrivateKey: holder.privateKey,
        context: ctx,
        release: { ...release, nonce: hex32() },
      }),
    ).to.throw(DecryptionError);
    expect(shareCommitment(ctx, share!)).to.match(/^0x[0-9a-f]{64}$/);
    expect(keyCheckValue(ref, randomBytes(32))).to.not.equal(keyCheckValue(ref, randomBytes(32)));
  });

  it("a manifest is trusted only when signed by the anchoring account; reshared entries need their holder's attestation", async () => {
    const writer = Wallet.createRandom();
    const holder = Wallet.createRandom();
    const domain = keyholderDomain(ref.chainId, ref.keyholderRegistry);
    const origin = {
      subject: ref.subject,
      recordId: ref.recordId,
      recordRegistry: ref.recordRegistry,
      epoch: "1",
      threshold: 2,
      keyCheck: hex32(),
      shares: [1, 2, 3].map((id) => ({ keyholderId: id, x: id * 10, commitment: hex32() })),
    };
    const manifest = await buildManifest({ signer: writer, domain, origin });
    const accountOf = (id: number) => (id === 2 ? holder.address : undefined);
    expect(trustedShares(domain, manifest, { anchoredBy: writer.address, accountOf }).entries.size).to.equal(3);
    expect(() => trustedShares(domain, manifest, { anchoredBy: holder.address, accountOf })).to.throw(IntegrityError);

    const reshared = {
      ...manifest,
      current: { epoch: "2", threshold: 2, shares: [] as typeof manifest.current.shares },
    };
    const entry = { keyholderId: 2, x: 77, commitment: hex32() };
    reshared.current.shares = [
      { ...entry, attestation: await signAttestation(holder, domain, manifest, "2", 2, entry) },
      { keyholderId: 1, x: 10, commitment: origin.shares[0]!.commitment }, // epoch moved: needs an attestation
      {
        keyholderId: 3,
        x: 5,
        commitment: hex32(),
        attestation: await signAttestation(writer, domain, manifest, "2", 2, entry),
      },
    ];
    const trusted = trustedShares(domain, reshared, { anchoredBy: writer.address, accountOf });
    expect([...trusted.entries.keys()]).to.deep.equal([2]);
  });

  it("the fast EIP-712 digest equals ethers'; the signature checker accepts the named signer only, cached or not", async () => {
    const domain = keyholderDomain(31337n, ref.keyholderRegistry);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 0xffff_ffff }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 255 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        async (ids, purpose, expiry) => {
          const reader = Wallet.createRandom().address;
          const release = {
            keyholderIds: ids,
            reader,
            subject: hex32(),
            recordId: hex32(),
            accessTx: hex32(),
            nonce: hex32(),
            expiry,
          };
          expect(hexlify(typedDigest(domain, KEY_RELEASE_TYPES, release))).to.equal(
            TypedDataEncoder.hash(domain, KEY_RELEASE_TYPES, release),
          );
          const preflight = { keyholderIds: ids, reader, subject: hex32(), recordId: hex32(), purpose, expiry };
          expect(hexlify(typedDigest(domain, KEY_PREFLIGHT_TYPES, preflight))).to.equal(
            TypedDataEncoder.hash(domain, KEY_PREFLIGHT_TYPES, preflight),
          );
        },
      ),
      { numRuns: 50 },
    );
    const check = signatureChecker();
    const alice = Wallet.createRandom();
    const bob = Wallet.createRandom();
    const request = {
      keyholderIds: [1, 2],
      reader: alice.address,
      subject: hex32(),
      recordId: hex32(),
      accessTx: hex32(),
      nonce: hex32(),
      expiry: 5,
    };
    const signature = await alice.signTypedData(domain, KEY_RELEASE_TYPES, request);
    for (let i = 0; i < 2; i++) check(domain, KEY_RELEASE_TYPES, request, signature, alice.address); // recovered, then cached
    expect(() => check(domain, KEY_RELEASE_TYPES, { ...request, expiry: 6 }, signature, alice.address)).to.throw(
      /not signed/,
    );
    const bobs = await bob.signTypedData(domain, KEY_RELEASE_TYPES, request);
    expect(() => check(domain, KEY_RELEASE_TYPES, request, bobs, alice.address)).to.throw(/not signed/);
    expect(() => check(domain, KEY_RELEASE_TYPES, request, "0x1234", alice.address)).to.throw();
  });

  it("the cached X25519 agrees with the SDK's key-slot X25519 and refuses low-order points", () => {
    for (let i = 0; i < 20; i++) {
      const a = generateX25519KeyPair();
      const b = generateX25519KeyPair();
      expect(publicKeyOf(a.privateKey)).to.deep.equal(x25519PublicKey(a.privateKey));
      expect(sharedSecret(a.privateKey, b.publicKey, true)).to.deep.equal(
        x25519SharedSecret(a.privateKey, b.publicKey),
      );
      const { ephemeralPublicKey, shared } = ephemeralAgreement(b.publicKey);
      expect(x25519SharedSecret(b.privateKey, ephemeralPublicKey)).to.deep.equal(shared);
    }
    expect(() => sharedSecret(generateX25519KeyPair().privateKey, new Uint8Array(32))).to.throw(/low-order/);
    expect(() => ephemeralAgreement(new Uint8Array(32))).to.throw(/low-order/);
  });
});
