/**
 * `medledger keyholder add|remove|threshold`: governance of the keyholder set in the deployment's
 * KeyholderRegistry (the trust anchor writers wrap shares to). `keyholder start` (running one) is
 * sdk/keyholder/service/command.ts; these subcommands join the same `keyholder` group.
 *
 * @internal
 */
import type { Command } from "commander";

import { UsageError } from "../errors.js";
import type { CliIo } from "../io.js";
import { CONNECTION_HELP, connectionOptions, flagsOf, print, withConnection } from "../connect.js";
import { address, bytes32, httpUrl, positive } from "../parse.js";
import { governed } from "./participants.js";

function required<T>(value: T | undefined, flag: string, hint?: string): T {
  if (value === undefined) throw new UsageError(`${flag} is required`, hint);
  return value;
}

/** Adds the governance subcommands to the `keyholder` group (created if missing). */
export function registerKeyholderAdmin(program: Command, io: CliIo): void {
  const group =
    program.commands.find((c) => c.name() === "keyholder") ??
    program.command("keyholder").description("the MedLedger keyholder network");
  group.summary("keyholders: start one; add, remove, threshold (governance)").addHelpText(
    "after",
    `
Examples:
  MEDLEDGER_KEYHOLDER_PASSPHRASE=… medledger keyholder start --config kh1.json
  medledger keyholder add --org 1 --account 0xKh --encryption-key 0x… --endpoint https://kh1.example:8710 --keystore gov.json
  medledger keyholder threshold --k 2 --keystore gov.json
  medledger keyholder remove --id 3 --keystore gov.json`,
  );

  connectionOptions(group.command("add"), io)
    .description("admit a keyholder: its organization, signing account, X25519 key and endpoint (governance)")
    .option("--org <id>", "the organization that runs it", positive)
    .option("--account <address>", "the keyholder's signing account (its keystore's)", address("--account"))
    .option("--encryption-key <key>", "its X25519 public key (`medledger keys show`)", bytes32)
    .option("--endpoint <url>", "where readers reach it", httpUrl)
    .addHelpText(
      "after",
      `${CONNECTION_HELP}\n\nExample:\n  medledger keyholder add --org 1 --account 0x… --encryption-key 0x… --endpoint http://127.0.0.1:8710 --json`,
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ org?: number; account?: string; encryptionKey?: string; endpoint?: string }>(cmd);
      const org = required(f.org, "--org <id>");
      const account = required(f.account, "--account <address>");
      const key = required(f.encryptionKey, "--encryption-key <key>");
      const endpoint = required(f.endpoint, "--endpoint <url>");
      const out = await withConnection(f, io, async ({ ctx }) => {
        const sent = await governed(
          ctx.chain,
          ctx.chain.keyholders.addKeyholder.populateTransaction(org, account, key, endpoint),
          io,
        );
        const added = sent.events.find((e) => e.name === "KeyholderAdded");
        return {
          keyholderId: added === undefined ? null : Number(added.args.keyholderId),
          transaction: sent.receipt.hash,
        };
      });
      print(io, f.json, { ...out, org, account, endpoint }, () => `Added keyholder ${out.keyholderId} (${endpoint})\n`);
    });

  connectionOptions(group.command("threshold"), io)
    .description("set k: how many keyholders must release a record's key (governance)")
    .option("--k <k>", "the threshold (2 ≤ k ≤ active keyholders)", positive)
    .addHelpText("after", `${CONNECTION_HELP}\n\nExample:\n  medledger keyholder threshold --k 2 --keystore gov.json`)
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ k?: number }>(cmd);
      const k = required(f.k, "--k <k>");
      const out = await withConnection(f, io, async ({ ctx }) => {
        const sent = await governed(ctx.chain, ctx.chain.keyholders.setThreshold.populateTransaction(k), io);
        return { threshold: k, transaction: sent.receipt.hash };
      });
      print(io, f.json, out, () => `Threshold set to ${k}\n`);
    });

  connectionOptions(group.command("remove"), io)
    .description("remove a keyholder from the set (governance; reshare afterwards)")
    .option("--id <id>", "the keyholder id", positive)
    .addHelpText("after", `${CONNECTION_HELP}\n\nExample:\n  medledger keyholder remove --id 3 --keystore gov.json`)
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ id?: number }>(cmd);
      const id = required(f.id, "--id <id>");
      const out = await withConnection(f, io, async ({ ctx }) => {
        const sent = await governed(ctx.chain, ctx.chain.keyholders.removeKeyholder.populateTransaction(id), io);
        return { keyholderId: id, transaction: sent.receipt.hash };
      });
      print(io, f.json, out, () => `Removed keyholder ${id}\n`);
    });
}
