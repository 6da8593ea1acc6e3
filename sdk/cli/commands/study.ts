/**
 * `medledger study register|approve|run|result|status`: research studies from the command line.
 * Each party runs its own step with its own identity (a keystore file; the passphrase from
 * MEDLEDGER_PASSPHRASE or a prompt, never an argument):
 *
 * - a researcher registers a study (`register`), opens a run (`run`) and gets the result (`result`);
 * - an ethics-board member approves it (`approve`);
 * - each custodian's research steward contributes to the run (`run --contribute`);
 * - anyone checks where a study stands (`status`): who contributed, who is waiting, which servers
 *   published. No command ever prints a custodian's or a server's values: only what the chain
 *   shows and the released (suppressed) totals.
 *
 * The module exports {@link registerStudyCommand}; the program lists it (./program.ts).
 *
 * @internal
 */
import { readFile } from "node:fs/promises";

import { InvalidArgumentError, Option } from "commander";
import type { Command } from "commander";
import { Wallet, hexlify } from "ethers";

import { readAddressBook } from "../../node.js";
import { connectRpc } from "../../chain/provider.js";
import type { CategoryName } from "../../codes.js";
import { Category } from "../../codes.js";
import { createLedgerContext } from "../../context.js";
import type { LedgerContext } from "../../context.js";
import { contractChainView } from "../../keyholder/chainContracts.js";
import { KeyholderNetwork } from "../../keyholder/client.js";
import { filesystem } from "../../storage/filesystem.js";
import { memory } from "../../storage/memory.js";
import * as research from "../../research/index.js";
import type { ServerResolver } from "../../research/chain.js";
import type { Hex } from "../../types.js";
import { openIdentity } from "../connect.js";
import { UsageError } from "../errors.js";
import type { CliIo } from "../io.js";
import { httpUrl } from "../parse.js";

/** How commands get a participant's context (replaceable in tests). */
export interface StudyCommandDeps {
  /** The context of the participant whose keystore is named (connects to the node). */
  context(flags: ConnectionFlags, io: CliIo): Promise<{ ctx: LedgerContext; close(): void }>;
  /** How to reach the aggregation servers (default: HTTP at their registered endpoints). */
  servers?: ServerResolver;
}

interface ConnectionFlags {
  rpc?: string;
  book?: string;
  deployment?: string;
  keystore?: string;
  storage?: string;
}

const bytes32 = (value: string): string => {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError("expected 0x followed by 64 hex digits");
  return value.toLowerCase();
};
const positive = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError("expected a positive whole number");
  return Number(value);
};
const wholeNumber = (value: string): number => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number");
  return Number(value);
};
const epsilon = (value: string): number => {
  const x = Number(value);
  if (!Number.isFinite(x) || x < 0 || x > 10) throw new InvalidArgumentError("expected a number in [0, 10]");
  return x;
};
const ids = (value: string): number[] => {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) {
    throw new InvalidArgumentError("expected comma-separated organization ids, e.g. 1,2,3");
  }
  return parts.map(Number);
};
const categories = (value: string): CategoryName[] => {
  const parts = value.split(",").map((s) => s.trim().toUpperCase());
  for (const p of parts) {
    if (!Object.prototype.hasOwnProperty.call(Category, p)) {
      throw new InvalidArgumentError(`unknown category ${p} (one of ${Object.keys(Category).join(", ")})`);
    }
  }
  return parts as CategoryName[];
};
const date = (value: string): number => {
  const t = /^\d+$/.test(value) ? Number(value) : Math.floor(Date.parse(value) / 1000);
  if (!Number.isFinite(t) || t <= 0) throw new InvalidArgumentError("expected a date (2027-01-01) or unix seconds");
  return t;
};

async function readJson(path: string, flag: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UsageError(`${flag}: cannot read ${path}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${flag}: ${path} is not JSON`);
  }
}

async function readDocument(path: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    throw new UsageError(`${flag}: cannot read ${path}`);
  }
}

/** The default: a node, an address book, a keystore; the keyholder network for record keys. */
export const defaultStudyDeps: StudyCommandDeps = {
  async context(flags, io) {
    if (flags.rpc === undefined) throw new UsageError("--rpc <url> is required", "the JSON-RPC URL of a node");
    const book = flags.deployment ?? flags.book;
    if (book === undefined) throw new UsageError("--deployment <file> is required", "the deployment's address book");
    const identity = await openIdentity(flags, io);
    const addressBook = await readAddressBook(book);
    const provider = await connectRpc(flags.rpc);
    const signer = new Wallet(hexlify(identity.signingKey), provider);
    const custody = await KeyholderNetwork.create({ chain: await contractChainView({ provider, addressBook }) });
    const ctx = await createLedgerContext({
      signer,
      encryptionKey: { privateKey: identity.x25519.privateKey, keyVersion: identity.keyVersion },
      addressBook,
      storage: flags.storage === undefined ? memory() : filesystem({ dir: flags.storage }),
      custody,
    });
    return { ctx, close: () => provider.destroy() };
  },
};

const CONNECTION_HELP = `
Connection (every subcommand):
  --rpc <url>        a node of the network          --deployment <file>  the deployment's address book
  --keystore <file>  your identity (passphrase: MEDLEDGER_PASSPHRASE, or a prompt on a terminal)`;

function connection(cmd: Command): Command {
  return cmd
    .option("--rpc <url>", "JSON-RPC URL of a node", httpUrl)
    .option("--deployment <file>", "the deployment's address book (deployments/<network>.json)")
    .addOption(new Option("--book <file>", "the same as --deployment").hideHelp())
    .option("--keystore <file>", "your identity's keystore file")
    .option("--json", "print JSON instead of text");
}

async function withContext<T>(
  deps: StudyCommandDeps,
  flags: ConnectionFlags,
  io: CliIo,
  fn: (ctx: LedgerContext) => Promise<T>,
): Promise<T> {
  const connected = await deps.context(flags, io);
  try {
    return await fn(connected.ctx);
  } finally {
    connected.close();
  }
}

function print(io: CliIo, json: boolean | undefined, value: unknown, text: () => string): void {
  io.out(
    json === true
      ? `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`
      : text(),
  );
}

/** Renders a released result as a table (suppressed cells as "<n", with n the minimum cell size). */
export function resultTable(r: research.ReleasedResult): string {
  const hidden = `<${r.minCellSize}`;
  const cell = (v: number | null) => (v === null ? hidden : String(v));
  const lines = [
    `Study ${r.studyId}, run ${r.runId}: ${r.evaluated} patients evaluated`,
    `Contributors: ${r.contributors.join(", ")}${r.excluded.length > 0 ? `; excluded (no contribution): ${r.excluded.join(", ")}` : ""}`,
    `Privacy: ${r.privacy.mechanism === "none" ? "exact totals" : `discrete Laplace, ε = ${r.privacy.epsilon} per run, noise from each of ${r.privacy.servers} servers`}; cells under ${r.minCellSize} suppressed (${r.suppressedCells})`,
    "",
  ];
  for (const g of r.groups) {
    const label = Object.values(g.group).join(" / ") || "all";
    const measures = g.measures.map((m, i) => {
      switch (m.kind) {
        case "count":
          return `m${i}: ${cell(m.count)}`;
        case "sum":
          return `m${i}: sum ${m.sum ?? hidden} (n ${cell(m.n)})`;
        case "mean":
          return `m${i}: mean ${m.mean ?? (m.n === 0 ? "—" : hidden)} (n ${cell(m.n)})`;
        case "histogram":
          return `m${i}: [${m.bins.map(cell).join(" ")}]`;
      }
    });
    lines.push(`  ${label.padEnd(20)} count ${cell(g.count).padStart(5)}   ${measures.join("   ")}`);
  }
  lines.push("", `Result digest ${r.digest}`, "");
  return lines.join("\n");
}

/** Adds `study register|approve|run|result|status` to a commander program. */
export function registerStudyCommand(program: Command, io: CliIo, deps: StudyCommandDeps = defaultStudyDeps): void {
  const study = program
    .command("study")
    .summary("research studies: register, approve, run, result, status")
    .description(
      "Research without exposure: studies registered and approved on chain, computed across hospitals by secret sharing over the keyholders. Only released totals are ever printed.",
    )
    .addHelpText(
      "after",
      `${CONNECTION_HELP}

Examples:
  medledger study register --rpc … --deployment deployments/consortium.json --keystore researcher.json \\
      --query hba1c.json --protocol protocol.pdf --purpose HRESCH --categories DEMOGRAPHICS,OBSERVATIONS \\
      --custodians 1,2,3 --valid-until 2027-01-01 --min-cell-size 5
  medledger study approve … --keystore board-member.json --study 0x… --decision decision.pdf
  medledger study run … --keystore researcher.json --study 0x… --window 3600
  medledger study run … --keystore steward-a.json --study 0x… --run 1 --contribute --query hba1c.json --storage blobs/
  medledger study result … --keystore researcher.json --study 0x… --run 1 --query hba1c.json
  medledger study status … --study 0x… --run 1`,
    );

  connection(study.command("register"))
    .summary("register a study (a researcher of a research institute)")
    .option("--query <file>", "the study's query (medledger-query/1 JSON)")
    .option("--protocol <file>", "the protocol document (its sha256 is registered)")
    .option("--purpose <purpose>", "HRESCH or CLINTRCH", "HRESCH")
    .option("--categories <list>", "public categories read, e.g. DEMOGRAPHICS,OBSERVATIONS", categories)
    .option("--custodians <ids>", "custodian organization ids, e.g. 1,2,3", ids)
    .option("--valid-until <date>", "when the study ends (date or unix seconds)", date)
    .option("--min-cell-size <n>", "suppress cells under n (≥ 3)", positive, 5)
    .option("--min-custodians <n>", "fewest contributing custodians a run releases with (≥ 2)", positive, 2)
    .option("--max-runs <n>", "how many runs the study may have", positive, 1)
    .option("--epsilon <ε>", "differential privacy per run (0: none)", epsilon, 0)
    .option("--salt <bytes32>", "fixes the study id (retries are then idempotent)", bytes32)
    .action(async (f: Record<string, unknown> & ConnectionFlags) => {
      for (const need of ["query", "protocol", "categories", "custodians", "validUntil"]) {
        if (f[need] === undefined)
          throw new UsageError(`--${need.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
      }
      if (f.purpose !== "HRESCH" && f.purpose !== "CLINTRCH")
        throw new UsageError("--purpose must be HRESCH or CLINTRCH");
      const query = await readJson(f.query as string, "--query");
      const protocol = await readDocument(f.protocol as string, "--protocol");
      const { value, receipt } = await withContext(deps, f, io, (ctx) =>
        research.registerStudy(ctx, {
          query,
          protocol,
          purpose: f.purpose as "HRESCH" | "CLINTRCH",
          categories: f.categories as CategoryName[],
          custodians: f.custodians as number[],
          validUntil: f.validUntil as number,
          minCellSize: f.minCellSize as number,
          minCustodians: f.minCustodians as number,
          maxRuns: f.maxRuns as number,
          epsilon: f.epsilon as number,
          ...(f.salt === undefined ? {} : { salt: f.salt as Hex }),
        }),
      );
      print(io, f.json as boolean, { ...value, transaction: receipt?.hash ?? null }, () =>
        [
          `Registered study ${value.studyId}${receipt === null ? " (already registered)" : ""}`,
          `  query digest ${value.queryDigest} (${value.cells} cells), protocol digest ${value.protocolDigest}`,
          "  next: an ethics board approves it (medledger study approve)",
          "",
        ].join("\n"),
      );
    });

  connection(study.command("approve"))
    .summary("approve a study (a member of an ethics board)")
    .option("--study <id>", "the study id", bytes32)
    .option("--decision <file>", "the board's decision document (its sha256 is anchored)")
    .action(async (f: Record<string, unknown> & ConnectionFlags) => {
      if (f.study === undefined || f.decision === undefined)
        throw new UsageError("--study and --decision are required");
      const decision = await readDocument(f.decision as string, "--decision");
      const { value, receipt } = await withContext(deps, f, io, (ctx) =>
        research.approveStudy(ctx, { studyId: f.study as Hex, decision }),
      );
      print(
        io,
        f.json as boolean,
        { ...value, transaction: receipt?.hash ?? null },
        () =>
          `Approved study ${value.studyId}${receipt === null ? " (already approved)" : ""} (decision digest ${value.decisionDigest})\n`,
      );
    });

  connection(study.command("run"))
    .summary("open (or reuse) a run as the researcher, or --contribute to it as a custodian's steward")
    .option("--study <id>", "the study id", bytes32)
    .option("--window <seconds>", "contribution window of a new run", positive, 3600)
    .option("--contribute", "contribute to run --run as a custodian's research steward")
    .option("--run <n>", "the run (with --contribute)", positive)
    .option("--query <file>", "the study's query (with --contribute)")
    .option("--storage <dir>", "where the custodian's sealed records are stored (with --contribute)")
    .action(async (f: Record<string, unknown> & ConnectionFlags) => {
      if (f.study === undefined) throw new UsageError("--study is required");
      const studyId = f.study as Hex;
      if (f.contribute !== true) {
        const out = await withContext(deps, f, io, async (ctx) => {
          const { value: runId, receipt } = await research.openRun(ctx, { studyId, window: f.window as number });
          return { runId, receipt, run: await research.getRun(ctx, studyId, runId) };
        });
        print(
          io,
          f.json as boolean,
          {
            studyId,
            runId: out.runId,
            deadline: out.run.deadline,
            servers: out.run.servers,
            transaction: out.receipt?.hash ?? null,
          },
          () =>
            `${out.receipt === null ? "Reusing open" : "Opened"} run ${out.runId} of ${studyId}: contributions until ${new Date(out.run.deadline * 1000).toISOString()}; servers ${out.run.servers.join(", ")}\n`,
        );
        return;
      }
      if (f.run === undefined || f.query === undefined) throw new UsageError("--contribute needs --run and --query");
      const query = await readJson(f.query as string, "--query");
      const { value, receipt } = await withContext(deps, f, io, (ctx) =>
        research.contribute(ctx, {
          studyId,
          runId: f.run as number,
          query,
          ...(deps.servers === undefined ? {} : { servers: deps.servers }),
        }),
      );
      print(io, f.json as boolean, { ...value, transaction: receipt?.hash ?? null }, () =>
        [
          `${receipt === null ? "Already contributed" : "Contributed"} to run ${value.runId} for organization ${value.custodianOrg}: ${value.subjects} consenting patients evaluated${value.unreadable > 0 ? ` (${value.unreadable} left out: unreadable)` : ""}`,
          `  one share per server (${value.servers.join(", ")}), commitments on chain`,
          "",
        ].join("\n"),
      );
    });

  connection(study.command("result"))
    .summary("the released result of a run (the study's researcher)")
    .option("--study <id>", "the study id", bytes32)
    .option("--run <n>", "the run", positive)
    .option("--query <file>", "the study's query")
    .option("--no-publish", "do not anchor the result's digest on chain")
    .action(async (f: Record<string, unknown> & ConnectionFlags) => {
      if (f.study === undefined || f.run === undefined || f.query === undefined) {
        throw new UsageError("--study, --run and --query are required");
      }
      const query = await readJson(f.query as string, "--query");
      const { value } = await withContext(deps, f, io, (ctx) =>
        research.result(ctx, {
          studyId: f.study as Hex,
          runId: f.run as number,
          query,
          publish: f.publish !== false,
          ...(deps.servers === undefined ? {} : { servers: deps.servers }),
        }),
      );
      print(io, f.json as boolean, value, () => resultTable(value));
    });

  connection(study.command("status"))
    .summary("where a study stands: approval, runs, contributors, servers (no values)")
    .option("--study <id>", "the study id", bytes32)
    .option("--run <n>", "one run (default: the latest)", wholeNumber)
    .action(async (f: Record<string, unknown> & ConnectionFlags) => {
      if (f.study === undefined) throw new UsageError("--study is required");
      const studyId = f.study as Hex;
      const status = await withContext(deps, f, io, async (ctx) => {
        const s = await research.getStudy(ctx, studyId);
        const runId = (f.run as number | undefined) ?? s.runCount;
        const run = runId === 0 ? null : await research.getRun(ctx, studyId, runId);
        const published =
          run === null
            ? []
            : await Promise.all(
                run.servers.map(async (id) =>
                  (await research.studyRegistryOf(ctx).getSumShare(studyId, runId, id))[1] !== 0n ? id : 0,
                ),
              );
        return { study: s, run, published: published.filter((x) => x !== 0) };
      });
      const { study: s, run } = status;
      print(io, f.json as boolean, status, () =>
        [
          `Study ${studyId}: ${s.purpose}, ${s.categories.join(", ")}; researcher ${s.researcher} (organization ${s.researchOrg})`,
          `  ${s.approval === null ? "not approved" : `approved by board ${s.approval.boardOrg}`}${s.closedAt === null ? "" : ", closed"}; runs ${s.runCount} of ${s.maxRuns}; min cell ${s.minCellSize}; ε ${s.epsilon}`,
          run === null
            ? "  no run yet"
            : `  run ${run.runId}: until ${new Date(run.deadline * 1000).toISOString()}; contributed: ${run.contributors.join(", ") || "none"}; waiting for: ${s.custodians.filter((c) => !run.contributors.includes(c)).join(", ") || "nobody"}; servers published: ${status.published.join(", ") || "none"} of ${run.servers.join(", ")}${run.resultDigest === null ? "" : `; result ${run.resultDigest}`}`,
          "",
        ].join("\n"),
      );
    });
}
