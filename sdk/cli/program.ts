/**
 * The `medledger` command line, built on commander: one module per command group under
 * ./commands (each exports `register…(program, io)`), registered here. Every command has --help
 * with examples; --debug shows stacks.
 *
 * @internal
 */
import { Command } from "commander";

import { registerDeploy } from "./commands/deploy.js";
import type { CliIo } from "./io.js";

/** The command groups, in help order. Add a module under ./commands and list it here. */
const COMMANDS: ((program: Command, io: CliIo) => void)[] = [registerDeploy];

export function createProgram(io: CliIo): Command {
  const program = new Command("medledger")
    .description("MedLedger: patient-controlled health records on EVM chains")
    .option("--debug", "show stack traces and causes on failure")
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      `
Examples:
  medledger deploy --help
  MEDLEDGER_DEPLOYER_KEY=0x… medledger deploy --rpc http://127.0.0.1:8545 --network consortium --proposers 0xMultisig`,
    );
  for (const register of COMMANDS) register(program, io);
  // Commander writes help to stdout (exit 0) and errors through outputError; the caller reports
  // errors as one line (./errors.ts), so commander itself stays silent about them.
  const configure = (cmd: Command) => {
    cmd.exitOverride();
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
