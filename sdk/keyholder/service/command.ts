/**
 * `medledger keyholder start --config <file>`: a commander-compatible registration
 * ({@link registerKeyholderCommand}) and the function behind it ({@link runKeyholder}), which the
 * standalone entry `service/main.ts` also calls. The keystore passphrase comes from the
 * environment variable the config names, or from a prompt on a terminal — never from an argument.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerKeyholderCommand } from "medledger/keyholder/service";
 * registerKeyholderCommand(new Command("medledger")).parseAsync();
 * ```
 */
import { createInterface } from "node:readline";

import { MedLedgerError } from "../../errors.js";
import { readKeyholderConfig } from "./config.js";
import type { KeyholderConfig } from "./config.js";
import { startKeyholderService } from "./runtime.js";
import type { RunningKeyholder } from "./runtime.js";

/** The part of commander's `Command` this module uses (so commander stays the caller's dependency). */
export interface CommandLike {
  command(name: string): CommandLike;
  description(text: string): CommandLike;
  requiredOption(flags: string, description: string): CommandLike;
  action(fn: (options: { config: string }) => Promise<void> | void): CommandLike;
}

/** Adds `keyholder start --config <file>` to a commander program; returns the program. */
export function registerKeyholderCommand<T extends CommandLike>(program: T): T {
  const keyholder = program.command("keyholder").description("run a keyholder of the MedLedger keyholder network");
  keyholder
    .command("start")
    .description("start the keyholder service (passphrase from the env var named in the config, or a prompt)")
    .requiredOption("--config <file>", "the keyholder's JSON configuration file")
    .action(async (options) => {
      process.exitCode = await runKeyholder(options.config);
    });
  return program;
}

async function promptPassphrase(prompt: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new MedLedgerError("ML_INVALID_INPUT", "No passphrase: set the environment variable named by passphraseEnv");
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput?: (s: string) => void };
  muted._writeToOutput = () => undefined;
  process.stderr.write(prompt);
  try {
    return await new Promise<string>((resolve) => rl.question("", resolve));
  } finally {
    process.stderr.write("\n");
    rl.close();
  }
}

export async function passphraseFor(config: KeyholderConfig): Promise<string> {
  const fromEnv = process.env[config.passphraseEnv];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  return promptPassphrase(`Passphrase for ${config.keystore}: `);
}

/**
 * Starts the service and waits for SIGTERM/SIGINT, then shuts down gracefully. Returns the exit
 * code (0 after a clean stop, 1 when it cannot start).
 */
export async function runKeyholder(configPath: string): Promise<number> {
  let running: RunningKeyholder;
  try {
    const config = await readKeyholderConfig(configPath);
    running = await startKeyholderService(config, { passphrase: await passphraseFor(config) });
  } catch (err) {
    const e = err as MedLedgerError;
    process.stderr.write(
      `${JSON.stringify({ level: "fatal", msg: "keyholder failed to start", code: e.code, error: e.shortMessage ?? e.message, details: e.details })}\n`,
    );
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await running.stop();
  return 0;
}
