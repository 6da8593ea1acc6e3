/**
 * The `medledger` command line, built on commander: one module per command group under
 * ./commands (each exports `register…(program, io)`), registered here in help order. Every
 * command has --help with examples; --debug shows stacks; a misspelled command or option gets a
 * suggestion.
 *
 * @internal
 */
import { Command } from "commander";

import { registerKeyholderCommand } from "../keyholder/service/command.js";
import { registerWebCommand } from "../web/command.js";
import { registerAuditCommands, registerIndexCommands } from "./commands/audit.js";
import type { CliIo as IndexerIo } from "./commands/audit.js";
import { registerConsent } from "./commands/consent.js";
import { registerDeploy } from "./commands/deploy.js";
import { registerKeyholderAdmin } from "./commands/keyholders.js";
import { registerKeys } from "./commands/keys.js";
import { registerMember, registerOrg, registerPatient } from "./commands/participants.js";
import { registerRecord } from "./commands/record.js";
import { registerStudyCommand } from "./commands/study.js";
import type { CliIo } from "./io.js";

/** The index and audit modules' io (streams) over the CLI's. */
function indexerIo(io: CliIo): IndexerIo {
  return {
    stdout: { write: (text: string) => io.out(text) },
    stderr: { write: (text: string) => io.err(text), isTTY: io.errIsTTY === true },
    env: { ...io.env },
    ...(io.signal === undefined ? {} : { signal: io.signal }),
    setExitCode: (code) => io.setExitCode?.(code),
  };
}

/** The command groups, in help order. Add a module under ./commands and list it here. */
const COMMANDS: ((program: Command, io: CliIo) => void)[] = [
  registerDeploy,
  registerOrg,
  registerMember,
  registerPatient,
  registerKeys,
  registerConsent,
  registerRecord,
  (program, io) => registerIndexCommands(program, indexerIo(io)),
  (program, io) => registerAuditCommands(program, indexerIo(io)),
  (program) => registerKeyholderCommand(program),
  registerKeyholderAdmin,
  (program, io) => registerStudyCommand(program, io),
  (program) => registerWebCommand(program),
];

export function createProgram(io: CliIo): Command {
  const program = new Command("medledger")
    .description("MedLedger: patient-controlled health records on EVM chains")
    .option("--debug", "show stack traces and causes on failure")
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      `
Identity: --keystore <file> (or $MEDLEDGER_KEYSTORE); its passphrase from $MEDLEDGER_PASSPHRASE or a
prompt, never an argument. Node and deployment: --rpc (or $MEDLEDGER_RPC_URL), --deployment (or
$MEDLEDGER_DEPLOYMENT). Every query takes --json.

Exit codes: 0 ok; 1 the operation or a check failed; 2 wrong command line or input (also a wrong
passphrase); 3 node or index store unavailable (index, audit).

Examples:
  # the whole story (docs/cli.md)
  MEDLEDGER_DEPLOYER_KEY=0x… medledger deploy --rpc http://127.0.0.1:8545 --network localhost --development --governance 0xGov
  medledger keys new --out doctor.json
  medledger org admit --kind HOSPITAL --admin 0xAdmin --encryption-key 0x… --keystore gov.json
  medledger member enroll --org 1 --account 0xDoctor --roles CLINICIAN --encryption-key 0x… --keystore admin.json
  medledger patient register --keystore patient.json
  medledger consent grant --subject 0x… --practitioner 0xDoctor --categories NOTES --purposes TREAT --keystore patient.json
  medledger record put --subject 0x… --category NOTES --media-type text/plain --file note.txt --keystore doctor.json
  medledger record get --subject 0x… --record 0x… --purpose TREAT --keystore doctor.json
  medledger index sync && medledger audit accesses --subject 0x… --summary     # who saw my data
  medledger audit export --kind accesses --subject 0x… --format fhir --out audit.json`,
    );
  for (const register of COMMANDS) register(program, io);
  // Commander writes help to stdout (exit 0) and errors through outputError; the caller reports
  // errors as one line (./errors.ts), so commander itself stays silent about them.
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    cmd.showSuggestionAfterError(true);
    cmd.configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: () => undefined,
    });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(program);
  return program;
}
