/**
 * What a CLI command writes to and reads from, so commands run the same in the `medledger`
 * binary and in tests.
 *
 * @internal
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

/** The process's own streams and environment. */
export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
};

/** Exit codes: 0 success, 1 the operation failed, 2 the command line or an input was wrong. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;
