#!/usr/bin/env node
/**
 * The `medledger` command line (see ./program.ts for the commands, `medledger --help`).
 *
 * Exit codes (./io.ts): 0 success; 1 the operation or a check failed (node unreachable, a
 * transaction failed, a record not intact); 2 the command line or an input was wrong (unknown
 * command or option, missing or bad value, wrong passphrase, malformed file); 3 the node or the
 * index store is unavailable (index, audit). A failure is one line on stderr naming the problem
 * and a hint; `--debug` adds stacks and causes.
 *
 * @example
 * ```sh
 * MEDLEDGER_DEPLOYER_KEY=0x… medledger deploy --rpc http://127.0.0.1:8545 --network consortium --proposers 0xMultisig
 * ```
 */
import { CommanderError } from "commander";
import type { Command } from "commander";

import { report } from "./errors.js";
import { ExitCode, processIo } from "./io.js";
import type { CliIo } from "./io.js";
import { createProgram } from "./program.js";

export type { CliIo } from "./io.js";

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  // A command that finishes without throwing may still end with a failure status (a failed check).
  let status: number = ExitCode.OK;
  const before = process.exitCode;
  const program = createProgram({
    ...io,
    setExitCode: (code) => {
      status = Math.max(status, code);
      io.setExitCode?.(code);
    },
  });
  const debug = argv.includes("--debug");
  try {
    await program.parseAsync([...argv], { from: "user" });
    // `keyholder start` and `web` report through process.exitCode.
    const fromProcess = process.exitCode !== before && typeof process.exitCode === "number" ? process.exitCode : 0;
    return Math.max(status, fromProcess);
  } catch (err) {
    // --help and --version end the parse by "throwing" with exit code 0.
    if (err instanceof CommanderError && err.exitCode === 0) return ExitCode.OK;
    return report(err, io, { command: commandOf(program, argv), debug });
  }
}

/** "medledger group sub" as far as `argv` names known commands (for error lines). */
function commandOf(program: Command, argv: readonly string[]): string {
  const names = ["medledger"];
  let cmd: Command = program;
  for (const arg of argv) {
    if (arg.startsWith("-")) continue;
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) break;
    names.push(sub.name());
    cmd = sub;
  }
  return names.join(" ");
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
