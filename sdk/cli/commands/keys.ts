/**
 * `medledger keys new|show|rotate`: identity keystore files (sdk/crypto/keystore.ts). A keystore
 * holds an Ethereum signing key and an X25519 key, encrypted under a passphrase that comes from
 * MEDLEDGER_PASSPHRASE or a prompt (never an argument).
 *
 * @internal
 */
import { readFile, rename } from "node:fs/promises";

import { Option } from "commander";
import type { Command } from "commander";
import { hexlify } from "ethers";

import { createIdentity, identityFromKeys, MAX_SCRYPT_N, MIN_SCRYPT_N } from "../../crypto/keystore.js";
import { saveKeystore } from "../../crypto/keystore-file.js";
import { generateX25519KeyPair } from "../../crypto/keyslot.js";
import * as directory from "../../directory/index.js";
import type { SubjectId } from "../../types.js";
import { UsageError } from "../errors.js";
import type { CliIo } from "../io.js";
import {
  CONNECTION_HELP,
  connectionOptions,
  flagsOf,
  openIdentity,
  passphraseFor,
  print,
  withConnection,
} from "../connect.js";
import { bytes32 } from "../parse.js";

interface PublicPart {
  address: string;
  x25519PublicKey: string;
  keyVersion: number;
  scryptN: number | undefined;
}

/** The public part of a keystore file (readable without the passphrase; authenticated by it). */
async function publicPart(path: string): Promise<PublicPart> {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch {
    throw new UsageError(
      `cannot read the keystore ${path}`,
      "give --keystore <file> (make one with `medledger keys new`)",
    );
  }
  if (doc.kind !== "medledger-identity" || typeof doc.address !== "string")
    throw new UsageError(`${path} is not a MedLedger identity keystore`);
  const kdf = doc.kdf as { N?: unknown } | undefined;
  return {
    address: doc.address,
    x25519PublicKey: String(doc.x25519PublicKey),
    keyVersion: Number(doc.keyVersion),
    scryptN: typeof kdf?.N === "number" ? kdf.N : undefined,
  };
}

const scryptN = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < MIN_SCRYPT_N || n > MAX_SCRYPT_N || (n & (n - 1)) !== 0)
    throw new UsageError(`--scrypt-n must be a power of two in [${MIN_SCRYPT_N}, ${MAX_SCRYPT_N}]`);
  return n;
};

export function registerKeys(program: Command, io: CliIo): void {
  const keys = connectionOptions(
    program
      .command("keys")
      .summary("identity keystores: new, show, rotate")
      .description(
        "Creates, shows and rotates identity keystores: an Ethereum account and an X25519 key (its public half is registered on chain), encrypted under a passphrase from MEDLEDGER_PASSPHRASE or a prompt.",
      ),
    io,
  ).addHelpText(
    "after",
    `${CONNECTION_HELP}

Examples:
  medledger keys new --out doctor.json                      # asks for the passphrase twice
  MEDLEDGER_PASSPHRASE=… medledger keys new --out patient.json --json
  medledger keys show --keystore doctor.json
  medledger keys rotate --keystore patient.json --subject 0x…   # a patient's key
  medledger keys rotate --keystore doctor.json                 # a practitioner's key`,
  );

  keys
    .command("new")
    .description("create a keystore file with a new account and X25519 key")
    .option("--out <file>", "the keystore file to write (never overwritten)")
    .addOption(new Option("--scrypt-n <n>", "scrypt cost (tests only)").argParser(scryptN).hideHelp())
    .addHelpText(
      "after",
      "\nExample:\n  medledger keys new --out doctor.json --json   # { address, x25519PublicKey, keyVersion }",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ out?: string; scryptN?: number }>(cmd);
      if (f.out === undefined) throw new UsageError("--out <file> is required", "where to write the keystore");
      const passphrase = await passphraseFor(io, f.out, { confirm: true });
      const identity = createIdentity();
      await saveKeystore(f.out, identity, passphrase, f.scryptN === undefined ? {} : { scrypt: { N: f.scryptN } });
      const out = {
        keystore: f.out,
        address: identity.address,
        x25519PublicKey: hexlify(identity.x25519.publicKey),
        keyVersion: identity.keyVersion,
      };
      print(
        io,
        f.json,
        out,
        () =>
          `Wrote ${f.out}\n  account         ${out.address}\n  encryption key  ${out.x25519PublicKey} (version ${out.keyVersion})\n`,
      );
    });

  keys
    .command("show")
    .description("print a keystore's account and X25519 public key (no passphrase needed)")
    .addHelpText("after", "\nExample:\n  medledger keys show --keystore doctor.json --json")
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf(cmd);
      if (f.keystore === undefined) throw new UsageError("--keystore <file> is required");
      const p = await publicPart(f.keystore);
      const out = {
        keystore: f.keystore,
        address: p.address,
        x25519PublicKey: p.x25519PublicKey,
        keyVersion: p.keyVersion,
      };
      print(
        io,
        f.json,
        out,
        () =>
          `${f.keystore}\n  account         ${p.address}\n  encryption key  ${p.x25519PublicKey} (version ${p.keyVersion})\n`,
      );
    });

  keys
    .command("rotate")
    .description("register a new X25519 key on chain and keep the old keystore as <file>.v<version>")
    .option(
      "--subject <id>",
      "rotate this patient's key (you are its controller); default: your practitioner key",
      bytes32,
    )
    .option("--account-key", "rotate your own account key (a guardian's) instead")
    .addHelpText(
      "after",
      `
The new keystore is written to <file>.next first, then the key is registered, then the files are
swapped (the old one stays as <file>.v<old version>): a crash never loses a registered key.

Examples:
  medledger keys rotate --keystore patient.json --subject 0x…
  medledger keys rotate --keystore doctor.json
  medledger keys rotate --keystore guardian.json --account-key`,
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ subject?: string; accountKey?: boolean }>(cmd);
      if (f.keystore === undefined) throw new UsageError("--keystore <file> is required");
      if (f.subject !== undefined && f.accountKey === true)
        throw new UsageError("give --subject or --account-key, not both");
      const file = f.keystore;
      const before = await publicPart(file);
      const identity = await openIdentity(f, io);
      const passphrase = await passphraseFor(io, file);
      const next = generateX25519KeyPair();
      const result = await withConnection(f, io, async ({ ctx }) => {
        // The version the chain will assign is read back from the receipt; the staged file uses a
        // placeholder version and is rewritten with the real one.
        const staged = `${file}.next`;
        const stage = (keyVersion: number) =>
          saveKeystore(
            staged,
            identityFromKeys({ signingKey: identity.signingKey, x25519PrivateKey: next.privateKey, keyVersion }),
            passphrase,
            { overwrite: true, ...(before.scryptN === undefined ? {} : { scrypt: { N: before.scryptN } }) },
          );
        await stage(identity.keyVersion + 1);
        const w =
          f.subject !== undefined
            ? await directory.rotatePatientKey(ctx, { subject: f.subject as SubjectId, encryptionKey: next.publicKey })
            : f.accountKey === true
              ? await directory.registerAccountKey(ctx, { encryptionKey: next.publicKey })
              : await directory.rotatePractitionerKey(ctx, { encryptionKey: next.publicKey });
        if (w.value !== identity.keyVersion + 1) await stage(w.value);
        await rename(file, `${file}.v${identity.keyVersion}`);
        await rename(staged, file);
        return { keyVersion: w.value, transaction: w.receipt.hash };
      });
      const out = {
        keystore: file,
        previous: `${file}.v${identity.keyVersion}`,
        address: identity.address,
        x25519PublicKey: hexlify(next.publicKey),
        ...result,
      };
      print(
        io,
        f.json,
        out,
        () =>
          `Rotated: encryption key ${out.x25519PublicKey} is version ${out.keyVersion}; the old keystore is ${out.previous}\n`,
      );
    });
}
