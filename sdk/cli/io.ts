/**
 * What a CLI command writes to and reads from, so commands run the same in the `medledger`
 * binary and in tests.
 *
 * @internal
 */
import { createInterface } from "node:readline";

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal (progress bars only then). */
  errIsTTY?: boolean;
  /** Asks for a secret on the terminal without echo; undefined when there is no terminal. */
  prompt?: ((question: string) => Promise<string>) | undefined;
  /** Stops long-running commands (`follow`); default SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Commands that finish with a status other than success (a failed check) set it here. */
  setExitCode?: (code: number) => void;
}

/** Reads one line from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput?: (s: string) => void };
  process.stderr.write(question);
  muted._writeToOutput = () => undefined;
  try {
    return await new Promise<string>((resolve) => rl.question("", resolve));
  } finally {
    process.stderr.write("\n");
    rl.close();
  }
}

/** The process's own streams and environment. */
export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
  errIsTTY: process.stderr.isTTY === true,
  prompt: process.stdin.isTTY === true ? promptHidden : undefined,
};

/**
 * Exit codes: 0 success; 1 the operation failed (a transaction reverted, a check or verification
 * failed, a node refused); 2 the command line or an input was wrong (unknown command or option,
 * bad value, missing option, wrong passphrase, malformed file); 3 the index's node or store is
 * unavailable (index and audit commands); 70 an internal error (index and audit commands).
 */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2, UNAVAILABLE: 3, INTERNAL: 70 } as const;
