/**
 * What the participant commands (org, member, patient, keys, consent, record) share: the
 * connection options (the same names and environment defaults as `index` and `audit`), the
 * identity from a keystore file whose passphrase comes from MEDLEDGER_PASSPHRASE or a prompt
 * (never an argument), and the participant's context over the keyholder network.
 *
 * @internal
 */
import { Option } from "commander";
import type { Command } from "commander";
import { Wallet, hexlify } from "ethers";
import type { JsonRpcProvider } from "ethers";

import type { AddressBook } from "../chain/addressBook.js";
import { connectRpc } from "../chain/provider.js";
import { createLedgerContext } from "../context.js";
import type { LedgerContext } from "../context.js";
import { loadKeystore } from "../crypto/keystore-file.js";
import { createIdentity } from "../crypto/keystore.js";
import type { Identity } from "../crypto/keystore.js";
import { MedLedgerError, WrongPassphraseError } from "../errors.js";
import { contractChainView } from "../keyholder/chainContracts.js";
import { KeyholderNetwork } from "../keyholder/client.js";
import { readAddressBook } from "../node.js";
import { lazyCustody, networkCustody } from "../records/custody.js";
import { filesystem } from "../storage/filesystem.js";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";
import { httpUrl } from "./parse.js";

/** The connection options every participant command takes (on its group: `medledger consent …`). */
export interface ConnectionFlags {
  rpc: string;
  deployment: string;
  keystore?: string;
  storage: string;
  json?: boolean;
}

/** Adds --rpc, --deployment, --keystore, --storage and --json (defaults from the environment). */
export function connectionOptions(cmd: Command, io: CliIo): Command {
  return cmd
    .addOption(
      new Option("--rpc <url>", "JSON-RPC URL of a node of the chain")
        .argParser(httpUrl)
        .default(io.env.MEDLEDGER_RPC_URL ?? "http://127.0.0.1:8545", "$MEDLEDGER_RPC_URL or http://127.0.0.1:8545"),
    )
    .addOption(
      new Option("--deployment <file>", "the deployment's address book").default(
        io.env.MEDLEDGER_DEPLOYMENT ?? "deployments/localhost.json",
        "$MEDLEDGER_DEPLOYMENT or deployments/localhost.json",
      ),
    )
    .addOption(
      new Option(
        "--keystore <file>",
        "your identity's keystore file, for writes (passphrase: $MEDLEDGER_PASSPHRASE or a prompt)",
      ).default(io.env.MEDLEDGER_KEYSTORE, "$MEDLEDGER_KEYSTORE"),
    )
    .addOption(
      new Option("--storage <dir>", "where sealed envelopes are stored (a filesystem blob store)").default(
        io.env.MEDLEDGER_STORAGE ?? ".medledger/blobs",
        "$MEDLEDGER_STORAGE or .medledger/blobs",
      ),
    )
    .option("--json", "print one JSON document instead of text");
}

export const CONNECTION_HELP = `
Connection (on every subcommand; the environment gives the defaults):
  --rpc <url>          $MEDLEDGER_RPC_URL     a node of the chain (default http://127.0.0.1:8545)
  --deployment <file>  $MEDLEDGER_DEPLOYMENT  the address book (default deployments/localhost.json)
  --keystore <file>    $MEDLEDGER_KEYSTORE    your identity; its passphrase from $MEDLEDGER_PASSPHRASE,
                                              else a prompt on a terminal (never an argument)
  --storage <dir>      $MEDLEDGER_STORAGE     the blob store of sealed envelopes (default .medledger/blobs)`;

/** The flags of `cmd` and its groups (connection options live on the group). */
export function flagsOf<T extends object>(cmd: Command): ConnectionFlags & T {
  return cmd.optsWithGlobals<ConnectionFlags & T>();
}

/** The keystore's passphrase: MEDLEDGER_PASSPHRASE, else a prompt on a terminal, else a usage error. */
export async function passphraseFor(io: CliIo, keystore: string, opts: { confirm?: boolean } = {}): Promise<string> {
  const fromEnv = io.env.MEDLEDGER_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (io.prompt === undefined)
    throw new UsageError(
      "no passphrase for the keystore",
      "set MEDLEDGER_PASSPHRASE, or run on a terminal to be asked (a passphrase is never an argument)",
    );
  const first = await io.prompt(`Passphrase for ${keystore}: `);
  if (first === "") throw new UsageError("the passphrase is empty");
  if (opts.confirm === true && (await io.prompt("Repeat it: ")) !== first)
    throw new UsageError("the two passphrases differ");
  return first;
}

/** The identity of the --keystore file (decrypted with its passphrase). */
export async function openIdentity(flags: { keystore?: string }, io: CliIo): Promise<Identity> {
  if (flags.keystore === undefined || flags.keystore === "")
    throw new UsageError(
      "--keystore <file> is required",
      "your identity's keystore (make one with `medledger keys new`)",
    );
  const passphrase = await passphraseFor(io, flags.keystore);
  try {
    return await loadKeystore(flags.keystore, passphrase);
  } catch (err) {
    if (err instanceof WrongPassphraseError)
      throw new WrongPassphraseError(`wrong passphrase for keystore ${flags.keystore}`, {
        details: "check MEDLEDGER_PASSPHRASE (or what you typed); the keystore is unchanged",
      });
    throw err;
  }
}

export async function openAddressBook(path: string): Promise<AddressBook> {
  try {
    return await readAddressBook(path);
  } catch (err) {
    if (err instanceof MedLedgerError) throw err;
    throw new UsageError(
      `cannot read the deployment ${path}`,
      "give --deployment <file> (the address book `medledger deploy` wrote)",
    );
  }
}

/** A participant connected to the chain: its context, identity and provider. */
export interface Connected {
  ctx: LedgerContext;
  identity: Identity;
  addressBook: AddressBook;
  provider: JsonRpcProvider;
  /** The keyholder network (created on first use: commands that keep no keys never contact it). */
  keyholders(): Promise<KeyholderNetwork>;
  close(): void;
}

/**
 * Connects the --keystore identity to the node with the deployment's address book. Record keys go
 * to the keyholder network the deployment's KeyholderRegistry lists.
 */
export async function connect(
  flags: ConnectionFlags,
  io: CliIo,
  opts: { readOnly?: boolean } = {},
): Promise<Connected> {
  // Reads need no identity: without --keystore, a throwaway account that never signs.
  const identity =
    opts.readOnly === true && (flags.keystore === undefined || flags.keystore === "")
      ? createIdentity()
      : await openIdentity(flags, io);
  const addressBook = await openAddressBook(flags.deployment);
  const provider = await connectRpc(flags.rpc);
  try {
    const signer = new Wallet(hexlify(identity.signingKey), provider);
    let network: Promise<KeyholderNetwork> | undefined;
    const keyholders = () =>
      (network ??= (async () =>
        KeyholderNetwork.create({ chain: await contractChainView({ provider, addressBook }) }))());
    // The custody seam, reaching the keyholder network only when a record command needs it.
    const custody = networkCustody(lazyCustody(keyholders));
    const ctx = await createLedgerContext({
      signer,
      encryptionKey: { privateKey: identity.x25519.privateKey, keyVersion: identity.keyVersion },
      addressBook,
      storage: filesystem({ dir: flags.storage }),
      custody,
    });
    return { ctx, identity, addressBook, provider, keyholders, close: () => provider.destroy() };
  } catch (err) {
    provider.destroy();
    throw err;
  }
}

/** Runs `fn` connected, and always disconnects (`readOnly`: --keystore optional). */
export async function withConnection<T>(
  flags: ConnectionFlags,
  io: CliIo,
  fn: (c: Connected) => Promise<T>,
  opts: { readOnly?: boolean } = {},
): Promise<T> {
  const c = await connect(flags, io, opts);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

const jsonReplacer = (_key: string, value: unknown): unknown => (typeof value === "bigint" ? value.toString() : value);

/** Prints `value` as JSON with --json, else the text. */
export function print(io: CliIo, json: boolean | undefined, value: unknown, text: () => string): void {
  io.out(json === true ? `${JSON.stringify(value, jsonReplacer, 2)}\n` : text());
}
