/**
 * How the CLI reports a failure: ONE line naming the problem and a hint, and an exit code (2 for
 * a wrong command line or input, 1 for an operation that failed). The stack and the causes only
 * with --debug.
 *
 * @internal
 */
import { CommanderError } from "commander";

import { InvalidInputError, MedLedgerError, RpcError, WrongPassphraseError } from "../errors.js";
import { ExitCode } from "./io.js";
import type { CliIo } from "./io.js";

/** A wrong command line or input, detected by the CLI itself (exit 2). */
export class UsageError extends InvalidInputError {
  override name = "UsageError";
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message, { details: hint });
    this.hint = hint;
  }
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();

function causes(err: unknown): string {
  const out: string[] = [];
  for (let e = err, i = 0; e !== undefined && e !== null && i < 8; e = (e as { cause?: unknown }).cause, i++)
    out.push(
      e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : typeof e === "string" ? e : JSON.stringify(e),
    );
  return out.join("\n--- caused by ---\n");
}

/** Writes the report of `err` and returns the exit code. */
export function report(err: unknown, io: CliIo, opts: { command: string; debug: boolean }): number {
  let code: number = ExitCode.FAILED;
  let line: string;
  if (err instanceof CommanderError) {
    code = ExitCode.USAGE;
    line = `${oneLine(err.message.replace(/^error: /, ""))} (see: ${opts.command} --help)`;
  } else if (err instanceof MedLedgerError) {
    if (err instanceof InvalidInputError || err instanceof WrongPassphraseError) code = ExitCode.USAGE;
    const hint =
      err instanceof UsageError
        ? err.hint
        : err instanceof RpcError
          ? (err.details ?? "check that the node is running and that the URL is right")
          : err.details;
    line = `${err.shortMessage}${hint === undefined ? "" : ` — ${oneLine(hint)}`} [${err.code}]`;
  } else {
    line = `unexpected failure: ${err instanceof Error ? err.message : String(err)} (run again with --debug for details)`;
  }
  io.err(`${opts.command}: ${oneLine(line)}\n`);
  if (opts.debug) io.err(`${causes(err)}\n`);
  return code;
}
