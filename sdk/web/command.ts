/**
 * `medledger web --config <file>`: a commander-compatible registration ({@link registerWebCommand})
 * and the function behind it ({@link runWeb}), which the standalone entry `main.ts` also calls.
 * The relayer keystore's passphrase comes from the environment variable the config names — never
 * from an argument.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerWebCommand } from "medledger/web";
 * await registerWebCommand(new Command("medledger")).parseAsync();
 * ```
 */
import type { MedLedgerError } from "../errors.js";
import { readWebConfig } from "./config.js";
import { startWebServer } from "./server.js";
import type { RunningWeb } from "./server.js";

/** The part of commander's `Command` this module uses. */
export interface CommandLike {
  command(name: string): CommandLike;
  description(text: string): CommandLike;
  requiredOption(flags: string, description: string): CommandLike;
  addHelpText(position: "after", text: string): CommandLike;
  action(fn: (options: { config: string }) => Promise<void> | void): CommandLike;
}

/** Adds `web --config <file>` to a commander program; returns the program. */
export function registerWebCommand<T extends CommandLike>(program: T): T {
  program
    .command("web")
    .description("serve the patients' and auditors' web view (127.0.0.1 by default)")
    .requiredOption("--config <file>", "the web view's JSON configuration file (docs/web.md)")
    .addHelpText(
      "after",
      `
Examples:
  $ medledger web --config web.json
  $ MEDLEDGER_RELAYER_PASSPHRASE=… medledger web --config /etc/medledger/web.json`,
    )
    .action(async (options) => {
      process.exitCode = await runWeb(options.config);
    });
  return program;
}

/** Starts the server and waits for SIGINT/SIGTERM; returns the exit code (0 after a clean stop, 1 when it cannot start). */
export async function runWeb(
  configPath: string,
  out: (line: string) => void = (l) => process.stderr.write(l),
): Promise<number> {
  let running: RunningWeb;
  try {
    running = await startWebServer(await readWebConfig(configPath));
  } catch (err) {
    const e = err as MedLedgerError;
    out(
      `medledger web: could not start: ${e.shortMessage ?? e.message}${e.details === undefined ? "" : ` (${e.details})`}\n`,
    );
    return 1;
  }
  out(`MedLedger web view on ${running.url} (Ctrl-C stops it)\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await running.close();
  return 0;
}
