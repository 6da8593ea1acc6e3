/**
 * CLI command modules (commander) for the indexer and the audit queries. The main CLI registers
 * them on its program:
 *
 * ```ts
 * import { Command } from "commander";
 * import { registerAuditCommands, registerIndexCommands } from "medledger/indexer";
 * const program = new Command("medledger");
 * registerIndexCommands(program);
 * registerAuditCommands(program);
 * await program.parseAsync();
 * ```
 *
 * Every command takes `--rpc`, `--deployment` and `--index` (or MEDLEDGER_RPC_URL,
 * MEDLEDGER_DEPLOYMENT, MEDLEDGER_INDEX), prints a readable table, or with `--json` one JSON
 * document (JSON lines for `follow`). Long work shows a progress bar on a terminal and stays quiet
 * otherwise. Errors print what went wrong and what to do, and set the exit code: 0 ok, 1 a check
 * or verification failed, 2 bad usage or input, 3 node or store unavailable, 70 internal error.
 */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";

import { Option } from "commander";
import type { Command } from "commander";

import { readAddressBook } from "../../node.js";
import { InvalidInputError, MedLedgerError } from "../../errors.js";
import { buildIntegrityReport } from "../../exports/integrity.js";
import { EXPORT_FORMATS, EXPORT_KINDS, exportQuery } from "../../exports/collect.js";
import type { ExportFormat, ExportKind } from "../../exports/collect.js";
import { RecordRegistry__factory } from "../../../types/typechain/index.js";
import { filesystem } from "../../storage/filesystem.js";
import { checkIndex, createAuditQueries } from "../../audit/queries.js";
import type { AuditQueries, SourcePreference } from "../../audit/queries.js";
import { ExitCode, exitCodeOf } from "../../indexer/errors.js";
import { deploymentFromAddressBook } from "../../indexer/events.js";
import type { Deployment } from "../../indexer/events.js";
import { IndexSource } from "../../indexer/index-source.js";
import { Indexer } from "../../indexer/indexer.js";
import type { SyncProgress } from "../../indexer/indexer.js";
import { openStore } from "../../indexer/store/index.js";
import type { SqlStore } from "../../indexer/store/types.js";
import type { AccessQuery, BasisName, Order } from "../../indexer/queries.js";
import { httpRpc } from "../../indexer/rpc.js";
import { JsonRpcProvider } from "ethers";
import { watch } from "../../indexer/watch.js";

/** Where the commands read and write (injectable for tests). */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Stops `follow` commands (default: SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Sets the process exit code (default: process.exitCode). */
  setExitCode?: (code: number) => void;
}

const defaultIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

interface CommonOptions {
  rpc: string;
  deployment: string;
  index: string;
  json?: boolean;
  maxBlockRange?: string;
}

function addCommonOptions(cmd: Command, io: CliIo): Command {
  return cmd
    .addOption(
      new Option("--rpc <url>", "JSON-RPC URL of a node of the chain").default(
        io.env.MEDLEDGER_RPC_URL ?? "http://127.0.0.1:8545",
        "$MEDLEDGER_RPC_URL or http://127.0.0.1:8545",
      ),
    )
    .addOption(
      new Option("--deployment <file>", "deployment address book").default(
        io.env.MEDLEDGER_DEPLOYMENT ?? "deployments/localhost.json",
        "$MEDLEDGER_DEPLOYMENT or deployments/localhost.json",
      ),
    )
    .addOption(
      new Option("--index <store>", "the index: an SQLite file, or a postgres:// URL").default(
        io.env.MEDLEDGER_INDEX ?? ".medledger/index.sqlite",
        "$MEDLEDGER_INDEX or .medledger/index.sqlite",
      ),
    )
    .option("--max-block-range <blocks>", "widest eth_getLogs block range the node accepts")
    .option("--json", "print JSON (one document; JSON lines for follow)");
}

function common(cmd: Command): CommonOptions {
  return cmd.optsWithGlobals<CommonOptions>();
}

function intOption(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new InvalidInputError(`--${name} must be a whole number`, { details: `got "${value}"` });
  return Number(value);
}

async function loadDeployment(path: string): Promise<Deployment> {
  return deploymentFromAddressBook(await readAddressBook(path));
}

function readerOptions(o: CommonOptions): { maxBlockRange?: number } {
  const max = intOption("max-block-range", o.maxBlockRange);
  return max === undefined ? {} : { maxBlockRange: max };
}

/** Opens the index for queries: it must exist, be for this deployment, and be synced. */
async function openIndexForQueries(
  o: CommonOptions,
  deployment: Deployment,
): Promise<{ store: SqlStore; cursor: number }> {
  const store = await openStore(o.index);
  try {
    return { store, cursor: await checkIndex(store, deployment) };
  } catch (err) {
    await store.close();
    throw err;
  }
}

// ───────────────────────────── output ─────────────────────────────

/** Shortens 0x-hex for tables: 0x1234…cdef. */
function short(value: unknown): string {
  if (typeof value !== "string") {
    return typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" ? value.toString() : "";
  }
  return /^0x[0-9a-f]{40,}$/i.test(value) ? `${value.slice(0, 6)}…${value.slice(-4)}` : value;
}

/** A plain fixed-width table. */
export function renderTable(rows: readonly Record<string, unknown>[], columns: readonly [string, string][]): string {
  if (rows.length === 0) return "(none)\n";
  const cells = rows.map((r) =>
    columns.map(([key]) =>
      short(key.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | null)?.[k], r)),
    ),
  );
  const widths = columns.map(([, title], i) => Math.max(title.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return `${[line(columns.map(([, t]) => t)), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n")}\n`;
}

/** A progress bar on stderr, only when stderr is a terminal and the output is not JSON. */
export class ProgressBar {
  readonly #io: CliIo;
  readonly #enabled: boolean;
  #last = 0;
  #shown = false;

  constructor(io: CliIo, enabled: boolean) {
    this.#io = io;
    this.#enabled = enabled && io.stderr.isTTY === true;
  }

  update(done: number, total: number, label: string): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#last < 100 && done < total) return;
    this.#last = now;
    const fraction = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
    const width = 30;
    const filled = Math.round(fraction * width);
    this.#io.stderr.write(
      `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${label}\x1b[K`,
    );
    this.#shown = true;
  }

  done(): void {
    if (this.#shown) this.#io.stderr.write("\r\x1b[K");
    this.#shown = false;
  }
}

function syncProgress(bar: ProgressBar): (p: SyncProgress) => void {
  return (p) =>
    bar.update(
      p.cursor - p.fromBlock + 1,
      p.targetBlock - p.fromBlock + 1,
      `block ${p.cursor}/${p.targetBlock} · ${p.events.toLocaleString("en")} events`,
    );
}

/** The command's name with its parents ("medledger audit accesses"). */
function commandPath(cmd: unknown): string {
  const names: string[] = [];
  for (let c = cmd as { name?: () => string; parent?: unknown } | null; c?.name !== undefined;) {
    names.unshift(c.name());
    c = c.parent ?? null;
  }
  return names.join(" ") || "medledger";
}

/** ONE line: what went wrong, the details, what to do, the error code. */
function printError(io: CliIo, err: unknown, command: string): void {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();
  if (err instanceof MedLedgerError) {
    const hint = (err as { hint?: string }).hint;
    io.stderr.write(
      `${command}: ${oneLine(
        `${err.shortMessage}${err.details === undefined ? "" : ` (${err.details})`}${hint === undefined ? "" : ` — what to do: ${hint}`}`,
      )} [${err.code}]\n`,
    );
  } else {
    io.stderr.write(`${command}: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

/** Wraps an action: typed errors → one line + exit code. */
function action<A extends unknown[]>(
  io: CliIo,
  fn: (...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  const setExit = io.setExitCode ?? ((code: number) => (process.exitCode = code));
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      setExit(code ?? ExitCode.OK);
    } catch (err) {
      printError(io, err, commandPath(args[args.length - 1]));
      setExit(exitCodeOf(err));
    }
  };
}

function stopSignal(io: CliIo): AbortSignal {
  if (io.signal !== undefined) return io.signal;
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return controller.signal;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

// ───────────────────────────── index ─────────────────────────────

/**
 * Registers `index sync|follow|check` on `program`.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerIndexCommands } from "medledger/indexer";
 * registerIndexCommands(new Command("medledger")).parseAsync(["index", "sync"], { from: "user" });
 * ```
 */
export function registerIndexCommands(program: Command, io: CliIo = defaultIo()): Command {
  const index = addCommonOptions(program.command("index").description("build and check the audit index"), io);
  index.addHelpText(
    "after",
    `
Examples:
  $ medledger index sync                                  # catch up and exit
  $ medledger index sync --index postgres://audit@db/medledger --confirmations 2
  $ medledger index follow --json                         # keep following; one JSON line per pass
  $ medledger index check                                 # exit 1 if the index differs from the chain`,
  );

  /** Opens the indexer the options name, runs `fn`, and always closes the store and the progress bar. */
  const withIndexer = async (
    cmd: Command,
    confirmations: number,
    fn: (indexer: Indexer, o: CommonOptions, bar: ProgressBar) => Promise<number | void>,
  ): Promise<number | void> => {
    const o = common(cmd);
    const deployment = await loadDeployment(o.deployment);
    const store = await openStore(o.index);
    let indexer: Indexer;
    try {
      indexer = await Indexer.create({
        store,
        rpc: httpRpc(o.rpc),
        deployment,
        confirmations,
        reader: readerOptions(o),
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    const bar = new ProgressBar(io, o.json !== true);
    try {
      return await fn(indexer, o, bar);
    } finally {
      bar.done();
      await indexer.close();
    }
  };

  index
    .command("sync")
    .description("index the chain up to head - confirmations, then exit")
    .option("--confirmations <n>", "blocks a block needs on top before it is indexed", "0")
    .option("--to-block <n>", "stop at this block")
    .addHelpText(
      "after",
      "\nExample:\n  $ medledger index sync --rpc http://127.0.0.1:8545 --deployment deployments/localhost.json",
    )
    .action(
      action(io, async (opts: { confirmations: string; toBlock?: string }, cmd: Command) => {
        return withIndexer(cmd, intOption("confirmations", opts.confirmations, 0)!, async (indexer, o, bar) => {
          const started = Date.now();
          const result = await indexer.sync({
            toBlock: intOption("to-block", opts.toBlock),
            onProgress: syncProgress(bar),
          });
          if (result.events >= 10_000) await indexer.optimize();
          bar.done();
          const seconds = (Date.now() - started) / 1000;
          const summary = { ...result, seconds, eventsPerSec: Math.round(result.events / Math.max(seconds, 1e-3)) };
          io.stdout.write(
            o.json === true
              ? json(summary)
              : `indexed blocks ${result.fromBlock}..${result.toBlock}: ${result.events} events in ${seconds.toFixed(1)} s` +
                  `${result.reorgs.length > 0 ? ` (repaired ${result.reorgs.length} reorg(s), fork at ${result.reorgs.map((r) => r.forkBlock).join(", ")})` : ""}\n`,
          );
        });
      }),
    );

  index
    .command("follow")
    .description("index new blocks as they come, until interrupted")
    .option("--confirmations <n>", "blocks a block needs on top before it is indexed", "0")
    .option("--poll <ms>", "how often to look for new blocks", "1000")
    .addHelpText("after", "\nExample:\n  $ medledger index follow --confirmations 1 --json")
    .action(
      action(io, async (opts: { confirmations: string; poll: string }, cmd: Command) => {
        return withIndexer(cmd, intOption("confirmations", opts.confirmations, 0)!, async (indexer, o, bar) => {
          await indexer.follow({
            signal: stopSignal(io),
            pollIntervalMs: intOption("poll", opts.poll, 1000),
            onProgress: syncProgress(bar),
            onSync: (r) => {
              bar.done();
              if (r.events === 0 && r.reorgs.length === 0 && o.json !== true) return;
              io.stdout.write(
                o.json === true
                  ? `${JSON.stringify(r)}\n`
                  : `block ${r.toBlock}: +${r.events} events${r.reorgs.length > 0 ? " (reorg repaired)" : ""}\n`,
              );
            },
          });
        });
      }),
    );

  index
    .command("check")
    .description("compare the index with the chain; exit 1 on any difference")
    .option("--max-differences <n>", "differences to list", "20")
    .addHelpText("after", "\nExample:\n  $ medledger index check --json | jq .differenceCount")
    .action(
      action(io, async (opts: { maxDifferences: string }, cmd: Command) => {
        return withIndexer(cmd, 0, async (indexer, o, bar) => {
          const report = await indexer.check({
            maxDifferences: intOption("max-differences", opts.maxDifferences, 20),
            onProgress: syncProgress(bar),
          });
          bar.done();
          if (o.json === true) io.stdout.write(json(report));
          else {
            io.stdout.write(
              `checked blocks ${report.fromBlock}..${report.toBlock}: ${report.ok ? "the index equals the chain" : `${report.differenceCount} difference(s)`}\n`,
            );
            io.stdout.write(
              renderTable(
                Object.entries(report.rows).map(([table, rows]) => ({ table, rows })),
                [
                  ["table", "TABLE"],
                  ["rows", "ROWS"],
                ],
              ),
            );
            if (!report.ok) {
              io.stdout.write(
                renderTable(
                  report.differences.map((d) => ({
                    ...d,
                    detail: JSON.stringify(d.actual ?? d.expected ?? {}).slice(0, 80),
                  })),
                  [
                    ["table", "TABLE"],
                    ["pos", "POSITION"],
                    ["kind", "KIND"],
                    ["detail", "DETAIL"],
                  ],
                ),
              );
              io.stderr.write(
                "what to do: rebuild the index (delete it and run `medledger index sync`); everything in it comes from the chain.\n",
              );
            }
          }
          return report.ok ? ExitCode.OK : ExitCode.FAILED;
        });
      }),
    );
  return index;
}

// ───────────────────────────── audit ─────────────────────────────

interface SourceOptions {
  source: SourcePreference;
}

/**
 * The audit queries for the options (sdk/audit/queries.ts): the index when it is synced (or
 * `--source index`: only the index), else the chain (`--source chain`: only the chain).
 */
async function openSource(
  o: CommonOptions & SourceOptions,
  io: CliIo,
): Promise<{ source: AuditQueries; deployment: Deployment; close: () => Promise<void> }> {
  const deployment = await loadDeployment(o.deployment);
  let store: SqlStore | undefined;
  const source = createAuditQueries({
    chain: { rpc: httpRpc(o.rpc), deployment, reader: readerOptions(o) },
    prefer: o.source,
    index: async () => {
      store = (await openIndexForQueries(o, deployment)).store;
      return new IndexSource(store);
    },
    onFallback: (err) =>
      io.stderr.write(
        `note: answering from the chain (slower): ${err.shortMessage}; run \`medledger index sync\` for fast queries\n`,
      ),
  });
  return { source, deployment, close: async () => store?.close() };
}

const sourceOption = (): Option =>
  new Option(
    "--source <source>",
    "answer from the index, from the chain, or auto: the index when it is synced, else the chain",
  )
    .choices(["auto", "index", "chain"])
    .default("auto");

function accessFilterOptions(cmd: Command): Command {
  return cmd
    .option("--subject <id>", "a patient's subject id")
    .option("--accessor <address>", "who read")
    .option("--org <id>", "the accessor's organization (0: the subject or a guardian)")
    .option("--record <id>", "a record id")
    .option("--purpose <code>", "purpose of use (TREAT, ETREAT, HPAYMT, …)")
    .addOption(new Option("--basis <basis>", "on what grounds").choices(["CONSENT", "EMERGENCY", "SUBJECT"]))
    .option("--emergency", "only break-glass reads")
    .option("--from <time>", "from this time (ISO date or unix seconds)")
    .option("--to <time>", "until this time, exclusive");
}

interface AccessFlags {
  subject?: string;
  accessor?: string;
  org?: string;
  record?: string;
  purpose?: string;
  basis?: BasisName;
  emergency?: boolean;
  from?: string;
  to?: string;
}

function accessQuery(f: AccessFlags): AccessQuery {
  return {
    ...(f.subject === undefined ? {} : { subject: f.subject }),
    ...(f.accessor === undefined ? {} : { accessor: f.accessor }),
    ...(f.org === undefined ? {} : { organization: f.org as unknown as number }),
    ...(f.record === undefined ? {} : { record: f.record }),
    ...(f.purpose === undefined ? {} : { purpose: f.purpose }),
    ...(f.basis === undefined ? {} : { basis: f.basis }),
    ...(f.emergency === true ? { emergencyOnly: true } : {}),
    ...(f.from === undefined ? {} : { from: f.from }),
    ...(f.to === undefined ? {} : { to: f.to }),
  };
}

function pageOptions(cmd: Command): Command {
  return cmd
    .option("--limit <n>", "items per page", "50")
    .option("--cursor <cursor>", "the nextCursor of the previous page")
    .addOption(new Option("--order <order>", "time order").choices(["asc", "desc"]).default("desc"));
}

function pageQuery(f: { limit: string; cursor?: string; order: Order }) {
  return { limit: intOption("limit", f.limit, 50), cursor: f.cursor ?? null, order: f.order };
}

/**
 * Registers `audit accesses|consents|reviews|follow|export|integrity` on `program`.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerAuditCommands } from "medledger/indexer";
 * await registerAuditCommands(new Command("medledger")).parseAsync(["audit", "accesses", "--subject", id, "--json"], { from: "user" });
 * ```
 */
export function registerAuditCommands(program: Command, io: CliIo = defaultIo()): Command {
  const audit = addCommonOptions(
    program.command("audit").description("who read what, consents, reviews, exports, integrity"),
    io,
  );
  audit.addHelpText(
    "after",
    `
Examples:
  $ medledger audit accesses --subject 0x… --order desc          # a patient's access timeline
  $ medledger audit accesses --subject 0x… --summary             # who saw my data
  $ medledger audit accesses --accessor 0x… --from 2026-01-01 --json
  $ medledger audit consents --subject 0x… --at 2026-03-01
  $ medledger audit reviews --status pending
  $ medledger audit follow --subject 0x… --json                  # live, JSON lines
  $ medledger audit export --kind accesses --subject 0x… --format fhir --out audit.json
  $ medledger audit integrity --subject 0x… --blobs ./blobs`,
  );

  pageOptions(accessFilterOptions(audit.command("accesses")))
    .description("accesses, filtered; newest first by default")
    .addOption(sourceOption())
    .option("--summary", "one line per accessor (who saw my data; needs --subject)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ medledger audit accesses --subject 0x… --emergency\n  $ medledger audit accesses --org 2 --purpose HPAYMT --json",
    )
    .action(
      action(
        io,
        async (
          f: AccessFlags & SourceOptions & { limit: string; cursor?: string; order: Order; summary?: boolean },
          cmd: Command,
        ) => {
          const o = { ...common(cmd), source: f.source };
          const { source, close } = await openSource(o, io);
          try {
            if (f.summary === true) {
              if (f.subject === undefined) throw new InvalidInputError("--summary needs --subject <id>");
              const rows = await source.whoSawMyData({
                subject: f.subject,
                ...(f.from === undefined ? {} : { from: f.from }),
                ...(f.to === undefined ? {} : { to: f.to }),
              });
              io.stdout.write(
                o.json === true
                  ? json({ items: rows })
                  : renderTable(
                      rows.map((r) => ({
                        ...r,
                        last: new Date(r.lastAccess * 1000).toISOString(),
                        purposes: r.purposes.join(","),
                      })),
                      [
                        ["accessor", "ACCESSOR"],
                        ["organization", "ORG"],
                        ["accesses", "READS"],
                        ["emergencyAccesses", "EMERGENCY"],
                        ["purposes", "PURPOSES"],
                        ["last", "LAST READ"],
                      ],
                    ),
              );
              return;
            }
            const page = await source.accesses({ ...accessQuery(f), ...pageQuery(f) });
            if (o.json === true) io.stdout.write(json(page));
            else {
              io.stdout.write(
                renderTable(page.items as unknown as Record<string, unknown>[], [
                  ["time", "TIME"],
                  ["subject", "SUBJECT"],
                  ["recordId", "RECORD"],
                  ["category", "CATEGORY"],
                  ["accessor", "ACCESSOR"],
                  ["organization", "ORG"],
                  ["purpose", "PURPOSE"],
                  ["basis", "BASIS"],
                ]),
              );
              if (page.nextCursor !== null) io.stdout.write(`more: --cursor ${page.nextCursor}\n`);
            }
          } finally {
            await close();
          }
        },
      ),
    );

  pageOptions(audit.command("consents"))
    .description("a subject's consents in force at a time, or their whole history")
    .requiredOption("--subject <id>", "the patient's subject id")
    .option("--at <time>", "in force at this time (default: now)")
    .option("--history", "every grant and revocation instead")
    .addOption(sourceOption())
    .addHelpText(
      "after",
      "\nExamples:\n  $ medledger audit consents --subject 0x…\n  $ medledger audit consents --subject 0x… --history --order asc --json",
    )
    .action(
      action(
        io,
        async (
          f: SourceOptions & {
            subject: string;
            at?: string;
            history?: boolean;
            limit: string;
            cursor?: string;
            order: Order;
          },
          cmd: Command,
        ) => {
          const o = { ...common(cmd), source: f.source };
          const { source, close } = await openSource(o, io);
          try {
            const q = { subject: f.subject, ...(f.at === undefined ? {} : { at: f.at }), ...pageQuery(f) };
            if (f.history === true) {
              const page = await source.consentHistory(q);
              io.stdout.write(
                o.json === true
                  ? json(page)
                  : renderTable(
                      page.items.map((e) => ({
                        ...e,
                        effect: e.consent.effect,
                        grantee: granteeText(e.consent.grantee),
                        status: e.consent.status,
                      })),
                      [
                        ["time", "TIME"],
                        ["event", "EVENT"],
                        ["consentId", "CONSENT"],
                        ["effect", "EFFECT"],
                        ["grantee", "GRANTEE"],
                        ["by", "BY"],
                        ["status", "NOW"],
                      ],
                    ),
              );
              return;
            }
            const page = await source.consentsInForce(q);
            io.stdout.write(
              o.json === true
                ? json(page)
                : renderTable(
                    page.items.map((c) => ({
                      ...c,
                      grantee: granteeText(c.grantee),
                      categories: c.categories.join(","),
                      purposes: c.purposes.join(","),
                      until: c.validUntil === null ? "no expiry" : new Date(c.validUntil * 1000).toISOString(),
                    })),
                    [
                      ["sequence", "#"],
                      ["effect", "EFFECT"],
                      ["grantee", "GRANTEE"],
                      ["categories", "CATEGORIES"],
                      ["purposes", "PURPOSES"],
                      ["until", "UNTIL"],
                      ["consentId", "CONSENT"],
                    ],
                  ),
            );
          } finally {
            await close();
          }
        },
      ),
    );

  pageOptions(audit.command("reviews"))
    .description("break-glass sessions and their independent reviews")
    .addOption(
      new Option("--status <status>", "which reviews").choices(["pending", "closed", "all"]).default("pending"),
    )
    .option("--org <id>", "the responder's organization")
    .option("--subject <id>", "a patient's subject id")
    .addOption(sourceOption())
    .addHelpText("after", "\nExample:\n  $ medledger audit reviews --status pending --org 1")
    .action(
      action(
        io,
        async (
          f: SourceOptions & {
            status: "pending" | "closed" | "all";
            org?: string;
            subject?: string;
            limit: string;
            cursor?: string;
            order: Order;
          },
          cmd: Command,
        ) => {
          const o = { ...common(cmd), source: f.source };
          const { source, close } = await openSource(o, io);
          try {
            const page = await source.reviews({
              status: f.status,
              ...(f.org === undefined ? {} : { organization: f.org }),
              ...(f.subject === undefined ? {} : { subject: f.subject }),
              ...pageQuery(f),
            } as never);
            io.stdout.write(
              o.json === true
                ? json(page)
                : renderTable(page.items as unknown as Record<string, unknown>[], [
                    ["time", "DECLARED"],
                    ["sessionId", "SESSION"],
                    ["subject", "SUBJECT"],
                    ["responder", "RESPONDER"],
                    ["organization", "ORG"],
                    ["purpose", "PURPOSE"],
                    ["outcome", "OUTCOME"],
                    ["reviewer", "REVIEWER"],
                  ]),
            );
          } finally {
            await close();
          }
        },
      ),
    );

  audit
    .command("follow")
    .description("stream each new access as it is mined and again when confirmed")
    .option("--subject <id>", "only this patient's records")
    .option("--accessor <address>", "only reads by this account")
    .option("--confirmations <n>", "blocks on top before an access counts as confirmed", "1")
    .option("--poll <ms>", "how often to look for new blocks", "1000")
    .addHelpText("after", "\nExample:\n  $ medledger audit follow --subject 0x… --json     # one JSON line per notice")
    .action(
      action(
        io,
        async (f: { subject?: string; accessor?: string; confirmations: string; poll: string }, cmd: Command) => {
          const o = common(cmd);
          const deployment = await loadDeployment(o.deployment);
          const feed = watch({
            rpc: httpRpc(o.rpc),
            deployment,
            ...(f.subject === undefined ? {} : { subject: f.subject }),
            ...(f.accessor === undefined ? {} : { accessor: f.accessor }),
            confirmations: intOption("confirmations", f.confirmations, 1),
            pollIntervalMs: intOption("poll", f.poll, 1000),
            signal: stopSignal(io),
          });
          for await (const n of feed) {
            const a = n.access;
            io.stdout.write(
              o.json === true
                ? `${JSON.stringify(n)}\n`
                : `${a.time}  ${n.status.padEnd(9)} ${short(a.accessor)} (org ${a.organization}) read ${short(a.recordId)} [${a.category ?? "?"}] for ${a.purpose} on ${a.basis}\n`,
            );
          }
        },
      ),
    );

  pageOptions(accessFilterOptions(audit.command("export")))
    .description("export a whole query: CSV, JSON, JSON lines, or FHIR (AuditEvent Bundle / Consent Bundle)")
    .addOption(new Option("--kind <kind>", "what to export").choices([...EXPORT_KINDS]).default("accesses"))
    .addOption(new Option("--format <format>", "output format").choices([...EXPORT_FORMATS]).default("csv"))
    .option("--at <time>", "for consents: in force at this time (default: now)")
    .option("--out <file>", "write to a file (default: standard output)")
    .addOption(sourceOption())
    .addHelpText(
      "after",
      "\nExamples:\n  $ medledger audit export --kind accesses --subject 0x… --format fhir --out accesses.fhir.json\n  $ medledger audit export --kind consents --subject 0x… --format csv > consents.csv",
    )
    .action(
      action(
        io,
        async (
          f: AccessFlags & SourceOptions & { kind: ExportKind; format: ExportFormat; at?: string; out?: string },
          cmd: Command,
        ) => {
          const o = { ...common(cmd), source: f.source };
          const { source, deployment, close } = await openSource(o, io);
          const bar = new ProgressBar(io, true);
          let file: ReturnType<typeof createWriteStream> | undefined;
          try {
            if (f.out !== undefined) {
              await mkdir(dirname(f.out), { recursive: true });
              file = createWriteStream(f.out);
            }
            const write = (s: string): unknown => (file === undefined ? io.stdout.write(s) : file.write(s));
            const query: Record<string, unknown> =
              f.kind === "accesses"
                ? { ...accessQuery(f) }
                : f.kind === "reviews"
                  ? { status: "all", ...(f.subject === undefined ? {} : { subject: f.subject }) }
                  : { subject: f.subject, ...(f.at === undefined ? {} : { at: f.at }) };
            query.order = "asc";
            const count = await exportQuery({
              source,
              kind: f.kind,
              query,
              format: f.format,
              write,
              fhir: { chainId: deployment.chainId, registry: deployment.addresses.records },
              onItem: (n) => bar.update(n % 1000, 1000, `${n} items`),
            });
            bar.done();
            if (file !== undefined) {
              await new Promise<void>((resolve, reject) =>
                file!.end((err?: Error | null) => (err ? reject(err) : resolve())),
              );
              io.stderr.write(`wrote ${count} ${f.kind} to ${f.out}\n`);
            }
          } finally {
            bar.done();
            await close();
          }
        },
      ),
    );

  audit
    .command("integrity")
    .description("verify every record version of a subject: anchor, batch proof, envelope digest, tombstone")
    .requiredOption("--subject <id>", "the patient's subject id")
    .option("--blobs <dir>", "the filesystem blob store holding envelopes and batch manifests", "blobs")
    .option("--no-registry", "do not re-read each anchor from the chain")
    .addOption(sourceOption())
    .addHelpText(
      "after",
      "\nExample:\n  $ medledger audit integrity --subject 0x… --blobs ./data/blobs   # exit 1 if anything fails",
    )
    .action(
      action(io, async (f: SourceOptions & { subject: string; blobs: string; registry: boolean }, cmd: Command) => {
        const o = { ...common(cmd), source: f.source };
        const { source, deployment, close } = await openSource(o, io);
        const blobs = filesystem({ dir: f.blobs });
        const provider = new JsonRpcProvider(o.rpc, deployment.chainId, { staticNetwork: true, batchMaxCount: 1 });
        const bar = new ProgressBar(io, o.json !== true);
        try {
          const report = await buildIntegrityReport({
            source,
            subject: f.subject,
            blobs,
            ...(f.registry
              ? { registry: RecordRegistry__factory.connect(deployment.addresses.records, provider) }
              : {}),
            onProgress: (done, total) => bar.update(done, total, `${done}/${total} versions`),
          });
          bar.done();
          if (o.json === true) io.stdout.write(json(report));
          else {
            io.stdout.write(
              renderTable(
                report.versions.map((v) => ({
                  ...v,
                  proof: v.batch?.proof ?? "-",
                  envelopeStatus: v.envelope.status,
                  anchorStatus: v.anchorState.status,
                  erased: v.erasedAt === null ? "" : new Date(v.erasedAt * 1000).toISOString(),
                  result: v.ok
                    ? "ok"
                    : `FAIL ${[v.batch?.problem, v.envelope.problem, v.anchorState.problem].filter(Boolean).join("; ")}`,
                })),
                [
                  ["recordId", "RECORD"],
                  ["category", "CATEGORY"],
                  ["anchor", "ANCHOR"],
                  ["proof", "PROOF"],
                  ["envelopeStatus", "DIGEST"],
                  ["anchorStatus", "ON CHAIN"],
                  ["erased", "ERASED"],
                  ["result", "RESULT"],
                ],
              ),
            );
            io.stdout.write(
              `${report.summary.versions} versions: ${report.summary.passed} verified, ${report.summary.failed} failed, ${report.summary.erased} erased\n`,
            );
          }
          return report.ok ? ExitCode.OK : ExitCode.FAILED;
        } finally {
          bar.done();
          provider.destroy();
          await blobs.close();
          await close();
        }
      }),
    );
  return audit;
}

function granteeText(g: { kind: string; account?: string; organization?: number; roles?: string[] }): string {
  return g.kind === "practitioner" ? short(g.account) : `org ${g.organization} (${(g.roles ?? []).join("|")})`;
}
