#!/usr/bin/env node
/**
 * The `medledger` command line (see ./program.ts for the commands, `medledger --help`).
 *
 * Exit codes: 0 success; 1 the operation failed (node unreachable, a transaction failed); 2 the
 * command line or an input was wrong (unknown option, bad value, malformed file). A failure is
 * one line on stderr naming the problem and a hint; `--debug` adds stacks and causes.
 *
 * @example
 * ```sh
 * MEDLEDGER_DEPLOYER_KEY=0x… medledger deploy --rpc http://127.0.0.1:8545 --network consortium --proposers 0xMultisig
 * ```
 */
import { CommanderError } from "commander";

import { report } from "./errors.js";
import { ExitCode, processIo } from "./io.js";
import type { CliIo } from "./io.js";
import { createProgram } from "./program.js";

export type { CliIo } from "./io.js";

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = createProgram(io);
  const debug = argv.includes("--debug");
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ExitCode.OK;
  } catch (err) {
    // --help and --version end the parse by "throwing" with exit code 0.
    if (err instanceof CommanderError && err.exitCode === 0) return ExitCode.OK;
    const command = ["medledger", ...argv.filter((a) => program.commands.some((c) => c.name() === a)).slice(0, 1)].join(
      " ",
    );
    return report(err, io, { command, debug });
  }
}

const entry = process.argv[1] ?? "";
if (/medledger$|cli[/\\]index\.[jt]s$/.test(entry)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`medledger: unexpected failure: ${String(err)}\n`);
      process.exitCode = ExitCode.FAILED;
    },
  );
}
