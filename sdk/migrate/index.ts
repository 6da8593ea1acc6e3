/**
 * MedLedger 1.0 → 1.1 migration: a new 1.1 deployment into which 1.0's state is carried from 1.0's
 * events (the contracts are not upgradeable; see docs/deploy.md, "Migrating from 1.0 to 1.1").
 *
 * 1. **Read** every 1.0 event up to the cut-over block with paged eth_getLogs (ranges halved when a
 *    node refuses, back-off when it is busy) and rebuild the 1.0 state ({@link readState10}).
 * 2. **Plan** the 1.1 state ({@link planMigration}): what is carried as it is, what changes form
 *    (sensitive categories become sealed labels; records without a label get the empty-label
 *    commitment), what 1.1 cannot take (blockers: the run refuses).
 * 3. **Import** into an unsealed 1.1 deployment whose migrator is `target.signer`, in bounded,
 *    pipelined batches. Before sending, the target's views are read: what an earlier (interrupted)
 *    run imported is skipped, and anything the target holds that differs from the plan stops the run.
 * 4. **Verify** every table (count and digest of the rows read back from the target's views against
 *    the rows planned from the source), check that 1.0 got no new state after the cut-over, then
 *    call `sealMigration()` on the three contracts.
 *
 * @example
 * ```ts
 * import { migrateFrom10 } from "./sdk/migrate/index.js"; // (not yet re-exported by the package)
 * const result = await migrateFrom10({
 *   source: { rpc: "https://old-node:8545", addressBook10 },
 *   target: { signer: deployer, addressBook11 },
 *   secret,                       // 32 random bytes, kept until the openings are handed over
 * });
 * console.log(result.verification);
 * ```
 */
import { JsonRpcProvider } from "ethers";
import type { Provider, Signer } from "ethers";

import { InvalidInputError } from "../errors.js";
import { LEDGER_10_INTERFACE } from "./abi10.js";
import { MigrationMismatchError, MigrationSourceError, MigrationUnmappableError } from "./errors.js";
import type { PagedLogsOptions } from "./logs.js";
import { planMigration } from "./plan.js";
import type { BatchMember10, MigrationPlan } from "./plan.js";
import { CONTRACTS_10, checkSource10, fetchLogs10, readState10 } from "./source10.js";
import type { AddressBook10, State10 } from "./source10.js";
import {
  TABLES,
  actualRows,
  checkExisting,
  expectedRows,
  firstDifference,
  importOps,
  migratorSender,
  openTarget,
  sendBatches,
  settlePending,
  tableDigest,
} from "./target.js";
import type { AddressBook11, Table } from "./target.js";

export * from "./errors.js";
export { LEDGER_10_INTERFACE, VERSION_10 } from "./abi10.js";
export { fetchLogsPaged } from "./logs.js";
export type { PagedLogsOptions, PagedLogsStats } from "./logs.js";
export {
  leaf10,
  mapConsentCategories,
  mapRecordCategory,
  migrationSalt,
  planMigration,
  verifyProof10,
} from "./plan.js";
export type { BatchMember10, Consent11, MigrationPlan, Record11 } from "./plan.js";
export { consentIdAt, readState10 } from "./source10.js";
export type { AddressBook10, State10 } from "./source10.js";
export { TABLES } from "./target.js";
export type { AddressBook11, Table } from "./target.js";

export interface MigrateOptions {
  source: {
    /** The 1.0 node: a URL or an ethers Provider. */
    rpc: string | Provider;
    addressBook10: AddressBook10;
    /** The cut-over block (default: the latest block when the run starts). Pin it when resuming. */
    toBlock?: number;
    /** eth_getLogs paging (range, retries, back-off). */
    logs?: PagedLogsOptions;
  };
  /** The 1.1 deployment and its migrator. A dry run may leave it out (the plan then assumes an empty target). */
  target?: {
    /** The 1.1 deployment's migrator (its deployer), connected to the 1.1 node. */
    signer: Signer;
    addressBook11: AddressBook11;
  };
  /**
   * 32 bytes of hex from a CSPRNG: the label and sealed-terms salts derive from it (so a resumed run
   * derives the same openings). Required unless `dryRun`.
   */
  secret?: string;
  /** Print the plan and what the target already holds; send nothing. */
  dryRun?: boolean;
  /** Imports per batch (default 32): sent pipelined, then every receipt awaited. */
  batchSize?: number;
  /** Call sealMigration() after a successful verification (default true). */
  seal?: boolean;
  /** The 1.1 public category of a record 1.0 filed under a sensitive category (default OTHER). */
  recordCategory?: (record: { subject: string; recordId: string; category: number }) => number | undefined;
  /** Batch members never proven on 1.0, from their manifests (checked against the 1.0 roots). */
  batchMembers?: readonly BatchMember10[];
  /** Called after each batch is mined; throwing stops the run (it can be resumed). */
  onBatch?: (info: { batch: number; imported: number; remaining: number }) => void | Promise<void>;
  log?: (line: string) => void;
  /** How long to wait for an interrupted run's transactions still pending (ms, default 120,000). */
  pendingWaitMs?: number;
}

export interface TableCheck {
  count: number;
  digest: string;
}

export interface MigrationResult {
  dryRun: boolean;
  plan: MigrationPlan;
  /** Human-readable plan (what `--dry-run` prints). */
  planText: string[];
  /** Per table: entries already in the target before this run / imported by it. */
  alreadyThere: Record<Table, number>;
  imported: Record<Table, number>;
  batches: number;
  gasUsed: bigint;
  /** Per table: rows and digest, equal on both sides (empty on a dry run). */
  verification: Partial<Record<Table, TableCheck>>;
  sealed: boolean;
  source: State10["logs"] & { events: number; fromBlock: number; toBlock: number };
  elapsedMs: number;
}

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const zeroCounts = (): Record<Table, number> => Object.fromEntries(TABLES.map((t) => [t, 0])) as Record<Table, number>;

function checkOptions(o: MigrateOptions): void {
  if (o === null || typeof o !== "object") throw new InvalidInputError("migrateFrom10 needs an options object");
  if (o.source === undefined || o.source.addressBook10?.contracts === undefined) {
    throw new InvalidInputError("source.addressBook10 is required", { field: "source.addressBook10" });
  }
  for (const name of CONTRACTS_10) {
    const entry = o.source.addressBook10.contracts[name];
    if (entry === undefined || typeof entry.address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(entry.address)) {
      throw new InvalidInputError(`source.addressBook10 has no valid ${name} address`, {
        field: `source.addressBook10.contracts.${name}`,
      });
    }
    if (!Number.isInteger(entry.blockNumber) || entry.blockNumber < 0) {
      throw new InvalidInputError(`source.addressBook10 has no valid ${name} blockNumber`, {
        field: `source.addressBook10.contracts.${name}.blockNumber`,
      });
    }
  }
  if (o.dryRun !== true && o.target?.signer === undefined) {
    throw new InvalidInputError("target.signer and target.addressBook11 are required", { field: "target" });
  }
  if (o.dryRun !== true && (typeof o.secret !== "string" || !BYTES32.test(o.secret) || /^0x0{64}$/.test(o.secret))) {
    throw new InvalidInputError("secret must be 32 random bytes of hex (0x + 64 digits)", { field: "secret" });
  }
  const size = o.batchSize ?? 32;
  if (!Number.isInteger(size) || size < 1 || size > 500) {
    throw new InvalidInputError("batchSize must be an integer in 1..500", { field: "batchSize" });
  }
  if (o.source.toBlock !== undefined && (!Number.isInteger(o.source.toBlock) || o.source.toBlock < 0)) {
    throw new InvalidInputError("source.toBlock must be a block number", { field: "source.toBlock" });
  }
}

/** Formats a plan for people (the dry run's output). */
export function formatPlan(plan: MigrationPlan, alreadyThere?: Record<Table, number>): string[] {
  const sizes: Record<Table, number> = {
    organizations: plan.organizations.length,
    practitioners: plan.practitioners.length,
    patients: plan.patients.length,
    guardians: plan.guardians.length,
    consents: plan.consents.length,
    optOuts: plan.optOuts.length,
    records: plan.records.length,
  };
  const lines = [`MedLedger 1.0 → 1.1 migration plan (1.0 state at block ${plan.cutoverBlock})`];
  for (const t of TABLES) {
    const there = alreadyThere?.[t] ?? 0;
    lines.push(
      `  ${t.padEnd(14)} ${String(sizes[t]).padStart(7)}${there > 0 ? `  (${there} already in the target)` : ""}`,
    );
  }
  const batches = plan.batches;
  if (batches.length > 0) {
    lines.push(
      `  batches        ${String(batches.length).padStart(7)}  (${batches.reduce((n, b) => n + b.proven, 0)} members proven on 1.0, ${batches.reduce((n, b) => n + b.supplied, 0)} supplied, ${batches.reduce((n, b) => n + b.missing, 0)} not carried)`,
    );
  }
  lines.push("Carried in another form, or not at all:");
  for (const n of plan.notes) lines.push(`  - ${n}`);
  if (plan.blockers.length > 0) {
    lines.push(`Blockers (${plan.blockers.length}): fix them on 1.0 before the cut-over`);
    for (const b of plan.blockers) lines.push(`  ! ${b}`);
  }
  return lines;
}

/** Migrates a 1.0 deployment's state into an unsealed 1.1 deployment, verifies and seals it. */
export async function migrateFrom10(options: MigrateOptions): Promise<MigrationResult> {
  const started = Date.now();
  checkOptions(options);
  const log = options.log ?? (() => undefined);
  const dryRun = options.dryRun === true;
  const source = typeof options.source.rpc === "string" ? new JsonRpcProvider(options.source.rpc) : options.source.rpc;
  const book10 = options.source.addressBook10;

  // Refusals first: nothing is sent before both sides are checked.
  await checkSource10(source, book10);
  const target =
    options.target === undefined ? undefined : await openTarget(options.target.signer, options.target.addressBook11);
  if (!dryRun && target !== undefined) await settlePending(target, options.pendingWaitMs ?? 120_000);

  const state = await readState10(source, book10, { toBlock: options.source.toBlock, logs: options.source.logs });
  log(
    `1.0: ${state.events} events in blocks ${state.fromBlock}..${state.toBlock} (${state.logs.queries} eth_getLogs, ${state.logs.refusals} refused)`,
  );
  const now = BigInt((await (target?.provider ?? source).getBlock("latest"))!.timestamp);
  const plan = planMigration(state, {
    secret: options.secret,
    now,
    recordCategory: options.recordCategory,
    batchMembers: options.batchMembers,
  });
  const expected = expectedRows(plan);
  const held =
    target === undefined
      ? (Object.fromEntries(TABLES.map((t) => [t, new Map()])) as Awaited<ReturnType<typeof actualRows>>)
      : await actualRows(target, expected);
  const alreadyThere = zeroCounts();
  for (const t of TABLES) {
    checkExisting(t, expected[t], held[t]);
    for (const v of held[t].values()) if (v !== undefined && !(t === "optOuts" && v[0] === "false")) alreadyThere[t]++;
  }
  const planText = formatPlan(plan, alreadyThere);
  const result: MigrationResult = {
    dryRun,
    plan,
    planText,
    alreadyThere,
    imported: zeroCounts(),
    batches: 0,
    gasUsed: 0n,
    verification: {},
    sealed: false,
    source: { ...state.logs, events: state.events, fromBlock: state.fromBlock, toBlock: state.toBlock },
    elapsedMs: 0,
  };
  if (dryRun || target === undefined) {
    for (const line of planText) log(line);
    result.elapsedMs = Date.now() - started;
    return result;
  }
  if (plan.blockers.length > 0) throw new MigrationUnmappableError(plan.blockers);

  const ops = importOps(target, plan, held);
  log(`importing ${ops.length} item(s) in batches of ${options.batchSize ?? 32}`);
  const sender = await migratorSender(target);
  const sent = await sendBatches(sender, ops, {
    batchSize: options.batchSize ?? 32,
    onBatch: options.onBatch,
    log,
    pendingWaitMs: options.pendingWaitMs ?? 120_000,
  });
  for (const op of ops) result.imported[op.table]++;
  result.batches = sent.batches;
  result.gasUsed = sent.gasUsed;

  // Verify every table against the source, read back from the target's views.
  const actual = await actualRows(target, expected);
  const counts = {
    organizations: Number(await target.directory.organizationCount()),
    practitioners: Number(await target.directory.practitionerCount()),
  };
  for (const t of TABLES) {
    const want = tableDigest(expected[t]);
    const got = tableDigest(actual[t]);
    const key = firstDifference(expected[t], actual[t]);
    if (want !== got || key !== undefined) {
      throw new MigrationMismatchError(t, `Verification failed: the target's ${t} differ from the source's`, {
        key,
        details: `first difference at ${key ?? "?"}: expected ${expected[t].get(key ?? "")?.join(",") ?? "-"}; found ${actual[t].get(key ?? "")?.join(",") ?? "nothing"}`,
      });
    }
    result.verification[t] = { count: expected[t].size, digest: got };
  }
  for (const [t, n] of Object.entries(counts) as [Table, number][]) {
    if (n !== expected[t].size) {
      throw new MigrationMismatchError(
        t,
        `Verification failed: the target holds ${n} ${t}, the source ${expected[t].size}`,
      );
    }
  }
  // The source must not have changed after the cut-over (writes to 1.0 would be lost).
  const head = await source.getBlockNumber();
  if (head > state.toBlock) {
    const later = await fetchLogs10(
      source,
      book10,
      { fromBlock: state.toBlock + 1, toBlock: head },
      options.source.logs,
    );
    const changes = later.filter((l) => {
      const name = LEDGER_10_INTERFACE.getEvent(l.topics[0]!)?.name;
      return (
        name !== undefined &&
        name !== "RecordAccessed" &&
        name !== "BreakGlassDeclared" &&
        name !== "BreakGlassReviewed"
      );
    });
    if (changes.length > 0) {
      throw new MigrationSourceError(
        "CHANGED_AFTER_CUTOVER",
        `1.0 changed after the cut-over block ${state.toBlock}: ${changes.length} state event(s) up to block ${head}`,
        { details: "freeze writes on 1.0, then re-run with a later --to-block (the imports made are kept)" },
      );
    }
  }
  log(`verified: ${TABLES.map((t) => `${t} ${result.verification[t]!.count}`).join(", ")}`);
  if (options.seal !== false) {
    for (const c of [target.directory, target.consents, target.records]) {
      if (!(await c.migrationSealed())) {
        await sender.send({ to: await c.getAddress(), data: c.interface.encodeFunctionData("sealMigration") });
      }
    }
    result.sealed = true;
    log("migration sealed");
  }
  result.elapsedMs = Date.now() - started;
  return result;
}
