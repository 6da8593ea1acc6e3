/**
 * `medledger consent grant|revoke|list|check|import`: a patient's consents, each a thin layer over
 * sdk/consent. A grant's sealed terms (never on chain in clear) are delivered to the keyholders
 * and kept in the --openings directory for the patient's app.
 *
 * @internal
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import { Option } from "commander";
import type { Command } from "commander";

import { Action, Category, Label, Purpose, Role } from "../../codes.js";
import type { ActionName, CategoryName, LabelName, PurposeName, RoleName } from "../../codes.js";
import * as consent from "../../consent/index.js";
import type { ConsentInput, SealedTermsOpening } from "../../consent/index.js";
import { OpeningNotDeliveredError } from "../../consent/actions.js";
import { consentFromFhir } from "../../exports/fhir-consent.js";
import { writeJsonAtomic } from "../../util.js";
import type { ConsentId, SubjectId } from "../../types.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../io.js";
import type { CliIo } from "../io.js";
import { CONNECTION_HELP, connectionOptions, flagsOf, print, withConnection } from "../connect.js";
import type { Connected } from "../connect.js";
import { address, bytes32, date, nameOf, namesOf, positive } from "../parse.js";

interface GrantFlags {
  subject?: string;
  practitioner?: string;
  org?: number;
  roles?: RoleName[];
  categories?: CategoryName[];
  purposes?: PurposeName[];
  actions?: ActionName[];
  deny?: boolean;
  validFrom?: number;
  validUntil?: number;
  allowLabels?: LabelName[];
  denyLabels?: LabelName[];
  refinement?: CategoryName[];
  openings: string;
}

const subjectOf = (f: { subject?: string }): SubjectId => {
  if (f.subject === undefined)
    throw new UsageError("--subject <id> is required", "the patient's subject id (0x + 64 hex)");
  return f.subject as SubjectId;
};

function consentInput(f: GrantFlags): ConsentInput {
  if (f.practitioner !== undefined && (f.org !== undefined || f.roles !== undefined))
    throw new UsageError("give one grantee: --practitioner <address>, or --org <id> and/or --roles <roles>");
  if (f.practitioner === undefined && f.org === undefined && f.roles === undefined)
    throw new UsageError(
      "a grantee is required",
      "--practitioner <address>; or --org <id> (its members, optionally only --roles); or --roles alone (those roles at any organization)",
    );
  // An organization's members (all roles unless --roles), or --roles at any organization (0).
  const grantee =
    f.practitioner !== undefined
      ? { practitioner: f.practitioner }
      : { organization: f.org ?? 0, roles: f.roles ?? (Object.keys(Role) as RoleName[]) };
  const sealed = {
    ...(f.allowLabels === undefined ? {} : { allowLabels: f.allowLabels }),
    ...(f.denyLabels === undefined ? {} : { denyLabels: f.denyLabels }),
    ...(f.refinement === undefined ? {} : { refinement: f.refinement }),
  };
  return {
    grantee,
    effect: f.deny === true ? "deny" : "permit",
    ...(f.categories === undefined ? {} : { categories: f.categories }),
    ...(f.purposes === undefined ? {} : { purposes: f.purposes }),
    ...(f.actions === undefined ? {} : { actions: f.actions }),
    ...(f.validFrom === undefined ? {} : { validFrom: f.validFrom }),
    ...(f.validUntil === undefined ? {} : { validUntil: f.validUntil }),
    ...(Object.keys(sealed).length === 0 ? {} : { sealed }),
  };
}

/**
 * Grants (the SDK delivers the sealed terms' opening to the keyholders once mined) and keeps the
 * opening; a failed delivery leaves the consent on chain: the opening is kept, and exit 1.
 */
async function grantAndDeliver(
  c: Connected,
  io: CliIo,
  subject: SubjectId,
  input: ConsentInput,
  f: { openings: string },
) {
  let granted: { consentId: ConsentId; opening: SealedTermsOpening; transaction: string | null; delivered: boolean };
  try {
    const { value, receipt, opening } = await consent.grant(c.ctx, { subject, consent: input });
    granted = { consentId: value, opening, transaction: receipt.hash, delivered: true };
  } catch (err) {
    if (!(err instanceof OpeningNotDeliveredError)) throw err;
    granted = { consentId: err.consentId, opening: err.opening, transaction: null, delivered: false };
    io.err(
      `medledger consent grant: ${err.shortMessage} — reads under it are refused until it does (${err.details ?? ""})\n`,
    );
    io.setExitCode?.(ExitCode.FAILED);
  }
  await mkdir(f.openings, { recursive: true });
  const openingFile = join(f.openings, `${granted.consentId}.json`);
  await writeJsonAtomic(openingFile, { subject, consentId: granted.consentId, opening: granted.opening });
  return {
    consentId: granted.consentId,
    transaction: granted.transaction,
    opening: openingFile,
    delivered: granted.delivered,
  };
}

function grantOptions(cmd: Command): Command {
  return cmd
    .option("--practitioner <address>", "the grantee: one practitioner", address("--practitioner"))
    .option("--org <id>", "the grantee: an organization's members (with --roles)", positive)
    .option(
      "--roles <roles>",
      `members holding any of these roles (${Object.keys(Role).join(", ")}); alone: at any organization`,
      namesOf(Role, "role"),
    )
    .option(
      "--categories <list>",
      `public categories (${Object.keys(Category).join(", ")})`,
      namesOf(Category, "category"),
    )
    .option("--purposes <list>", `purposes of use (${Object.keys(Purpose).join(", ")})`, namesOf(Purpose, "purpose"))
    .option("--actions <list>", "READ, APPEND (default READ)", namesOf(Action, "action"))
    .option("--deny", "record a deny instead of a permit")
    .option("--valid-from <date>", "from (date or unix seconds)", date)
    .option("--valid-until <date>", "until (date or unix seconds; default: no expiry)", date)
    .option(
      "--allow-labels <list>",
      `sealed: sensitive labels a permit lets through (${Object.keys(Label).join(", ")})`,
      namesOf(Label, "label"),
    )
    .option("--deny-labels <list>", "sealed: sensitive labels a deny refuses", namesOf(Label, "label"))
    .option(
      "--refinement <list>",
      "sealed: the permit's labels only within these categories",
      namesOf(Category, "category"),
    )
    .addOption(
      new Option("--openings <dir>", "where the sealed terms' openings are kept (your app's copy)").default(
        ".medledger/openings",
      ),
    );
}

export function registerConsent(program: Command, io: CliIo): void {
  const group = connectionOptions(
    program
      .command("consent")
      .summary("consents: grant, revoke, list, check, import (FHIR)")
      .description(
        "A patient's consents on chain (the --keystore is the patient's controller or a guardian). Grants carry a salted commitment to their sealed terms; the opening is kept in --openings and delivered to the keyholders.",
      ),
    io,
  ).addHelpText(
    "after",
    `${CONNECTION_HELP}

Examples:
  medledger consent grant --subject 0x… --practitioner 0xDoctor --categories NOTES,OBSERVATIONS --purposes TREAT --keystore patient.json
  medledger consent grant --subject 0x… --org 2 --roles CLINICIAN --categories ALLERGIES --purposes TREAT --valid-until 2027-06-30
  medledger consent grant --subject 0x… --practitioner 0x… --deny --deny-labels MENTAL_HEALTH
  medledger consent revoke --subject 0x… --consent 0x…
  medledger consent list --subject 0x… --json
  medledger consent check --subject 0x… --accessor 0xDoctor --category NOTES --purpose TREAT
  medledger consent import --subject 0x… --file consent.fhir.json`,
  );

  grantOptions(
    group
      .command("grant")
      .description("grant a consent (permit, or --deny); prints its id")
      .option("--subject <id>", "the patient's subject id", bytes32),
  )
    .addHelpText(
      "after",
      "\nExample:\n  medledger consent grant --subject 0x… --practitioner 0x… --categories NOTES --purposes TREAT --json",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<GrantFlags>(cmd);
      const subject = subjectOf(f);
      const input = consentInput(f);
      const out = await withConnection(f, io, (c) => grantAndDeliver(c, io, subject, input, f));
      print(
        io,
        f.json,
        { subject, ...out },
        () =>
          `Granted consent ${out.consentId}\n  sealed terms kept in ${out.opening}${out.delivered === true ? ", delivered to the keyholders" : ""}\n`,
      );
    });

  group
    .command("revoke")
    .description("revoke a consent")
    .option("--subject <id>", "the patient's subject id", bytes32)
    .option("--consent <id>", "the consent id", bytes32)
    .addHelpText("after", "\nExample:\n  medledger consent revoke --subject 0x… --consent 0x… --keystore patient.json")
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ subject?: string; consent?: string }>(cmd);
      const subject = subjectOf(f);
      if (f.consent === undefined)
        throw new UsageError("--consent <id> is required", "`medledger consent list` shows the ids");
      const { receipt } = await withConnection(f, io, ({ ctx }) =>
        consent.revoke(ctx, { subject, consentId: f.consent as ConsentId }),
      );
      print(io, f.json, { subject, consentId: f.consent, transaction: receipt.hash }, () => `Revoked ${f.consent}\n`);
    });

  group
    .command("list")
    .description("every consent of a subject, revoked ones included, oldest first")
    .option("--subject <id>", "the patient's subject id", bytes32)
    .addHelpText("after", "\nExample:\n  medledger consent list --subject 0x… --json")
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{ subject?: string }>(cmd);
      const subject = subjectOf(f);
      const items = await withConnection(f, io, ({ ctx }) => consent.list(ctx, { subject }), { readOnly: true });
      print(io, f.json, { subject, items }, () =>
        items.length === 0
          ? "(no consents)\n"
          : `${items
              .map(
                (c) =>
                  `#${c.sequence} ${c.consentId} ${Number(c.terms.effect) === 1 ? "deny  " : "permit"} ${
                    Number(c.terms.granteeKind) === 0 ? c.terms.granteeAccount : `org ${c.terms.granteeOrg}`
                  }${c.revokedAt === 0 ? "" : ` revoked at ${new Date(c.revokedAt * 1000).toISOString()}`}`,
              )
              .join("\n")}\n`,
      );
    });

  group
    .command("check")
    .description("may an account read a category of a subject for a purpose now, and under which consent?")
    .option("--subject <id>", "the patient's subject id", bytes32)
    .option("--accessor <address>", "who would read", address("--accessor"))
    .option("--category <name>", "the record's public category", nameOf(Category, "category"))
    .option("--purpose <name>", "the purpose of use", nameOf(Purpose, "purpose"))
    .option("--action <name>", "READ or APPEND (default READ)", nameOf(Action, "action"))
    .addHelpText(
      "after",
      "\nExit code 0 when allowed, 1 when not.\n\nExample:\n  medledger consent check --subject 0x… --accessor 0x… --category NOTES --purpose TREAT",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{
        subject?: string;
        accessor?: string;
        category?: CategoryName;
        purpose?: PurposeName;
        action?: ActionName;
      }>(cmd);
      const subject = subjectOf(f);
      for (const [v, flag] of [
        [f.accessor, "--accessor <address>"],
        [f.category, "--category <name>"],
        [f.purpose, "--purpose <name>"],
      ] as const)
        if (v === undefined) throw new UsageError(`${flag} is required`);
      const d = await withConnection(
        f,
        io,
        ({ ctx }) =>
          consent.check(ctx, {
            subject,
            accessor: f.accessor!,
            category: f.category!,
            purpose: f.purpose!,
            ...(f.action === undefined ? {} : { action: f.action }),
          }),
        { readOnly: true },
      );
      print(io, f.json, d, () =>
        d.allowed ? `allowed (${d.basis}${d.consentId === null ? "" : ` ${d.consentId}`})\n` : `refused: ${d.reason}\n`,
      );
      if (!d.allowed) io.setExitCode?.(ExitCode.FAILED);
    });

  grantOptions(
    group
      .command("import")
      .description("grant the consent a FHIR R4 Consent resource expresses (refuses what it cannot express)")
      .option("--subject <id>", "the patient's subject id", bytes32)
      .option("--file <file>", "the FHIR R4 Consent (JSON)"),
  )
    .addHelpText(
      "after",
      "\nThe grantee, categories, purposes, actions and period come from the resource; the grant options\nabove are ignored except --openings.\n\nExample:\n  medledger consent import --subject 0x… --file consent.fhir.json --keystore patient.json",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<GrantFlags & { file?: string }>(cmd);
      const subject = subjectOf(f);
      if (f.file === undefined) throw new UsageError("--file <file> is required", "a FHIR R4 Consent in JSON");
      let resource: unknown;
      try {
        resource = JSON.parse(await readFile(f.file, "utf8")) as unknown;
      } catch {
        throw new UsageError(`cannot read ${f.file} as JSON`, "--file names a FHIR R4 Consent resource");
      }
      const input = consentFromFhir(resource) as unknown as ConsentInput;
      const out = await withConnection(f, io, (c) => grantAndDeliver(c, io, subject, input, f));
      print(io, f.json, { subject, ...out }, () => `Imported ${f.file} as consent ${out.consentId}\n`);
    });
}
