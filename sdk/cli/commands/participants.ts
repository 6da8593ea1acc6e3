/**
 * `medledger org admit|suspend`, `member enroll|suspend`, `patient register`: the directory, each a
 * thin layer over sdk/directory. Governance calls (`org …`) go through the deployment's timelock
 * when governance was handed to one, else straight from the --keystore account (a multisig's
 * signer, or the deployer on a development chain).
 *
 * @internal
 */
import type { Command } from "commander";
import type { ContractTransaction } from "ethers";

import type { ChainClient, Sent } from "../../chain/client.js";
import { OrgKind, Role } from "../../codes.js";
import type { OrgKindName, RoleName } from "../../codes.js";
import * as directory from "../../directory/index.js";
import { govern } from "../../directory/governance.js";
import { admitOrganizationCall, admittedOrgId } from "../../directory/actions.js";
import { UsageError } from "../errors.js";
import type { CliIo } from "../io.js";
import { CONNECTION_HELP, connectionOptions, flagsOf, print, withConnection } from "../connect.js";
import { address, bytes32, date, nameOf, namesOf, positive } from "../parse.js";

const YEAR = 365 * 24 * 3600;

/** Sends a governance call: through the timelock when governance went to one, else directly. */
export async function governed(
  chain: ChainClient,
  call: Promise<ContractTransaction>,
  io: CliIo,
): Promise<Sent & { via: "timelock" | "direct" }> {
  const timelock = chain.addressBook.contracts.TimelockController?.address;
  if (timelock !== undefined && chain.addressBook.governance?.toLowerCase() === timelock.toLowerCase()) {
    const done = await govern(chain, call, {
      waitForDelay: async (seconds) => {
        io.err(`waiting ${seconds} s for the timelock's delay…\n`);
        await new Promise((r) => setTimeout(r, seconds * 1000 + 1000));
      },
    });
    return { events: done.value, receipt: done.receipt, via: "timelock" };
  }
  return { ...(await chain.send(call)), via: "direct" };
}

/** A 32-byte X25519 public key (0x + 64 hex digits). */
const publicKey = (value: string): string => bytes32(value);

function required<T>(value: T | undefined, flag: string, hint?: string): T {
  if (value === undefined) throw new UsageError(`${flag} is required`, hint);
  return value;
}

export function registerOrg(program: Command, io: CliIo): void {
  const org = connectionOptions(
    program
      .command("org")
      .summary("organizations: admit, suspend (governance)")
      .description("Admits and suspends organizations. Governance only: through the timelock if it holds governance."),
    io,
  ).addHelpText(
    "after",
    `${CONNECTION_HELP}

Examples:
  medledger org admit --kind HOSPITAL --admin 0xAdmin --encryption-key 0x<x25519 public key> --keystore gov.json
  medledger org suspend --org 3 --keystore gov.json --json`,
  );

  org
    .command("admit")
    .description("admit an organization; prints its id")
    .option("--kind <kind>", `what it is (${Object.keys(OrgKind).join(", ")})`, nameOf(OrgKind, "organization kind"))
    .option("--admin <address>", "the account that enrolls its members", address("--admin"))
    .option("--encryption-key <key>", "its X25519 public key, 0x + 64 hex (its keyholder's)", publicKey)
    .addHelpText(
      "after",
      "\nExample:\n  medledger org admit --kind HOSPITAL --admin 0x… --encryption-key 0x… --keystore gov.json",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ kind?: OrgKindName; admin?: string; encryptionKey?: string }>(cmd);
      const params = {
        kind: required(f.kind, "--kind <kind>", Object.keys(OrgKind).join(", ")),
        admin: required(f.admin, "--admin <address>", "the organization's admin account"),
        encryptionKey: required(f.encryptionKey, "--encryption-key <key>", "`medledger keys show` prints one"),
      };
      const out = await withConnection(f, io, async ({ ctx }) => {
        const sent = await governed(ctx.chain, admitOrganizationCall(ctx.chain, params), io);
        return { orgId: admittedOrgId(sent), via: sent.via, transaction: sent.receipt.hash };
      });
      print(
        io,
        f.json,
        { ...out, kind: params.kind, admin: params.admin },
        () =>
          `Admitted organization ${out.orgId} (${params.kind}, admin ${params.admin}) ${out.via === "timelock" ? "through the timelock" : ""}\n`,
      );
    });

  org
    .command("suspend")
    .description("suspend an organization: its members can no longer read")
    .option("--org <id>", "the organization id", positive)
    .addHelpText("after", "\nExample:\n  medledger org suspend --org 3 --keystore gov.json")
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ org?: number }>(cmd);
      const orgId = required(f.org, "--org <id>");
      const out = await withConnection(f, io, async ({ ctx }) => {
        const sent = await governed(ctx.chain, ctx.chain.directory.suspendOrganization.populateTransaction(orgId), io);
        return { orgId, via: sent.via, transaction: sent.receipt.hash };
      });
      print(io, f.json, out, () => `Suspended organization ${orgId}\n`);
    });
}

export function registerMember(program: Command, io: CliIo): void {
  const member = connectionOptions(
    program
      .command("member")
      .summary("practitioners: enroll, suspend (an organization's admin)")
      .description("Enrolls and suspends an organization's practitioners; the --keystore is the organization's admin."),
    io,
  ).addHelpText(
    "after",
    `${CONNECTION_HELP}

Examples:
  medledger member enroll --org 1 --account 0xDoctor --roles CLINICIAN --encryption-key 0x… --keystore admin.json
  medledger member suspend --account 0xDoctor --keystore admin.json`,
  );

  member
    .command("enroll")
    .description("enroll a practitioner with roles, a credential expiry and an X25519 key")
    .option("--org <id>", "the organization", positive)
    .option("--account <address>", "the practitioner's account", address("--account"))
    .option("--roles <roles>", `comma-separated (${Object.keys(Role).join(", ")})`, namesOf(Role, "role"))
    .option("--valid-until <date>", "the credential's expiry (date or unix seconds; default one year)", date)
    .option("--encryption-key <key>", "the practitioner's X25519 public key (`medledger keys show`)", publicKey)
    .addHelpText(
      "after",
      "\nExample:\n  medledger member enroll --org 1 --account 0x… --roles CLINICIAN,EMERGENCY_RESPONDER --valid-until 2027-12-31 --encryption-key 0x…",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{
        org?: number;
        account?: string;
        roles?: RoleName[];
        validUntil?: number;
        encryptionKey?: string;
      }>(cmd);
      const params = {
        orgId: required(f.org, "--org <id>"),
        account: required(f.account, "--account <address>"),
        roles: required(f.roles, "--roles <roles>", Object.keys(Role).join(", ")),
        credentialValidUntil: f.validUntil ?? Math.floor(Date.now() / 1000) + YEAR,
        encryptionKey: required(f.encryptionKey, "--encryption-key <key>", "`medledger keys show` prints one"),
      };
      const { receipt } = await withConnection(f, io, ({ ctx }) => directory.enrollPractitioner(ctx, params));
      print(
        io,
        f.json,
        { ...params, transaction: receipt.hash },
        () => `Enrolled ${params.account} in organization ${params.orgId} as ${params.roles.join(", ")}\n`,
      );
    });

  member
    .command("suspend")
    .description("suspend a practitioner of your organization")
    .option("--account <address>", "the practitioner's account", address("--account"))
    .addHelpText("after", "\nExample:\n  medledger member suspend --account 0x… --keystore admin.json")
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ account?: string }>(cmd);
      const account = required(f.account, "--account <address>");
      const { receipt } = await withConnection(f, io, ({ ctx }) => directory.suspendPractitioner(ctx, { account }));
      print(io, f.json, { account, transaction: receipt.hash }, () => `Suspended ${account}\n`);
    });
}

export function registerPatient(program: Command, io: CliIo): void {
  const patient = connectionOptions(
    program
      .command("patient")
      .summary("patients: register")
      .description("Registers a patient (a subject id) with a controller and an X25519 key."),
    io,
  ).addHelpText(
    "after",
    `${CONNECTION_HELP}

Examples:
  MEDLEDGER_PASSPHRASE=… medledger patient register --keystore patient.json --json
  medledger patient register --keystore admin.json --controller 0xPatient --encryption-key 0x…   # by a hospital admin`,
  );

  patient
    .command("register")
    .description("register a patient; prints the subject id and the salt that derived it (keep both)")
    .option(
      "--controller <address>",
      "the patient's controlling account (default: the --keystore account)",
      address("--controller"),
    )
    .option("--encryption-key <key>", "the patient's X25519 public key (default: the --keystore's)", publicKey)
    .option(
      "--salt <bytes32>",
      "derive the subject id from this salt (a retry with the same salt is idempotent)",
      bytes32,
    )
    .addHelpText(
      "after",
      "\nExample:\n  medledger patient register --keystore patient.json --json   # { subject, salt, … }",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ controller?: string; encryptionKey?: string; salt?: string }>(cmd);
      const out = await withConnection(f, io, async ({ ctx, identity }) => {
        const r = await directory.registerPatient(ctx, {
          controller: f.controller ?? identity.address,
          encryptionKey: f.encryptionKey ?? identity.x25519.publicKey,
          ...(f.salt === undefined ? {} : { salt: f.salt }),
        });
        return {
          subject: r.value,
          salt: r.salt,
          controller: f.controller ?? identity.address,
          transaction: r.receipt?.hash ?? null,
        };
      });
      print(
        io,
        f.json,
        out,
        () =>
          `Registered subject ${out.subject}${out.transaction === null ? " (already registered)" : ""}\n  salt ${out.salt} (keep it: it re-derives the subject id)\n`,
      );
    });
}
