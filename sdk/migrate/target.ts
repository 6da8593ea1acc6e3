/**
 * The 1.1 side of the migration: checks the target, reads what it already holds (so a resumed run
 * imports nothing twice), sends the imports in bounded, pipelined batches, and computes the
 * per-table rows (count + digest) that verification compares.
 */
import { AbiCoder, getAddress, keccak256, toUtf8Bytes } from "ethers";
import type { Provider, Signer } from "ethers";

import {
  ConsentRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";
import type { ConsentRegistry, ParticipantDirectory, RecordRegistry } from "../../types/typechain/index.js";
import { TransactionSender, detectZeroGas } from "../chain/transactions.js";
import { rpcOf } from "../chain/rpc.js";
import type { RpcReceipt } from "../chain/rpc.js";
import { mapLimit } from "../util.js";
import { MigrationMismatchError, MigrationTargetError } from "./errors.js";
import type { MigrationPlan } from "./plan.js";
import { consentIdAt } from "./source10.js";

/** The 1.1 contracts the migration imports into (a 1.1 address book, complete or under construction, fits). */
export interface AddressBook11 {
  contracts: Partial<Record<"ParticipantDirectory" | "ConsentRegistry" | "RecordRegistry", { address: string }>>;
}

export const TABLES = [
  "organizations",
  "practitioners",
  "patients",
  "guardians",
  "consents",
  "optOuts",
  "records",
] as const;
export type Table = (typeof TABLES)[number];

export interface Target {
  signer: Signer;
  account: string;
  provider: Provider;
  directory: ParticipantDirectory;
  consents: ConsentRegistry;
  records: RecordRegistry;
}

const VERSION_11 = "1.1.0";
const READ_CONCURRENCY = 8;
const coder = AbiCoder.defaultAbiCoder();

/** Connects to the target and checks it: 1.1, the signer is its migrator, not sealed (unless `allowSealed`). */
export async function openTarget(
  signer: Signer,
  book: AddressBook11,
  allowSealed = false,
): Promise<Target & { sealed: boolean }> {
  const provider = signer.provider;
  if (provider === null) throw new MigrationTargetError("NO_PROVIDER", "The target signer has no provider");
  const account = getAddress(await signer.getAddress());
  const address = (name: "ParticipantDirectory" | "ConsentRegistry" | "RecordRegistry"): string => {
    const a = book.contracts[name]?.address;
    if (a === undefined)
      throw new MigrationTargetError("NO_CODE", `The 1.1 address book has no ${name}`, { contract: name });
    return a;
  };
  const t: Target = {
    signer,
    account,
    provider,
    directory: ParticipantDirectory__factory.connect(address("ParticipantDirectory"), provider),
    consents: ConsentRegistry__factory.connect(address("ConsentRegistry"), provider),
    records: RecordRegistry__factory.connect(address("RecordRegistry"), provider),
  };
  let sealed = false;
  for (const [name, c] of [
    ["ParticipantDirectory", t.directory],
    ["ConsentRegistry", t.consents],
    ["RecordRegistry", t.records],
  ] as const) {
    const at = await c.getAddress();
    if ((await provider.getCode(at)) === "0x") {
      throw new MigrationTargetError("NO_CODE", `${name}: no contract at ${at}`, { contract: name });
    }
    let version: string;
    try {
      version = await c.version();
    } catch (cause) {
      throw new MigrationTargetError("NOT_1_1", `${name} at ${at} does not answer version()`, {
        contract: name,
        cause,
      });
    }
    if (version !== VERSION_11) {
      throw new MigrationTargetError("NOT_1_1", `${name} at ${at} is version ${version}, not ${VERSION_11}`, {
        contract: name,
      });
    }
    if (await c.migrationSealed()) {
      if (!allowSealed) {
        throw new MigrationTargetError("SEALED", `${name} at ${at}: the migration is sealed, nothing can be imported`, {
          contract: name,
        });
      }
      sealed = true;
    }
    const migrator = await c.migrator();
    if (getAddress(migrator) !== account) {
      throw new MigrationTargetError(
        "NOT_MIGRATOR",
        `${name} at ${at}: the signer ${account} is not its migrator ${migrator}`,
        {
          contract: name,
        },
      );
    }
  }
  return { ...t, sealed };
}

// ───────────────────────────── rows ─────────────────────────────

/** One row per table entry, as strings: key first. Expected rows come from the plan, actual ones from the target's views. */
export type Rows = Map<string, string[]>;

const s = (v: unknown): string => (typeof v === "string" ? v.toLowerCase() : String(v));

export function expectedRows(plan: MigrationPlan): Record<Table, Rows> {
  const controllers = new Map(plan.patients.map((p) => [p.subject, p.controller]));
  const rows = (entries: [string, unknown[]][]): Rows => new Map(entries.map(([k, v]) => [k, v.map(s)]));
  return {
    organizations: rows(
      plan.organizations.map((o) => [`${o.orgId}`, [o.kind, o.admin, o.suspended, o.encryptionKey, o.keyVersion]]),
    ),
    practitioners: rows(
      plan.practitioners.map((p) => [
        s(p.account),
        [p.orgId, p.roles, p.credentialValidUntil, p.suspended, p.encryptionKey, p.keyVersion],
      ]),
    ),
    patients: rows(
      plan.patients.map((p) => [
        s(p.subject),
        [p.controller, p.encryptionKey, p.keyVersion, p.recoveryThreshold, p.epoch],
      ]),
    ),
    guardians: rows(plan.guardians.map((g) => [`${s(g.subject)}/${s(g.guardian)}`, [g.powers, g.validUntil]])),
    consents: rows(
      plan.consents.map((c) => {
        const t = c.terms;
        return [
          `${s(c.subject)}/${c.sequence}`,
          [
            t.effect,
            t.granteeKind,
            t.granteeKind === 0 ? t.granteeAccount : "0x0000000000000000000000000000000000000000",
            t.granteeKind === 0 ? 0 : t.granteeOrg,
            t.granteeRoles,
            t.categories,
            t.purposes,
            t.actions,
            t.validFrom,
            t.validUntil,
            c.revokedAt,
            c.grantedBy !== controllers.get(c.subject),
          ],
        ];
      }),
    ),
    optOuts: rows(plan.patients.map((p) => [s(p.subject), [plan.optOuts.includes(p.subject)]])),
    records: rows(
      plan.records.map((r) => [
        `${s(r.subject)}/${s(r.recordId)}`,
        [
          keccak256(coder.encode(["bytes32", "bytes32"], [r.digest, r.labelCommitment])),
          r.custodian,
          r.category,
          r.anchoredAt,
          r.erasedAt,
          r.superseded,
        ],
      ]),
    ),
  };
}

const absent = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await read();
  } catch {
    return undefined;
  }
};

/** What the target holds for every expected key (undefined: not there yet). */
export async function actualRows(
  t: Target,
  expected: Record<Table, Rows>,
): Promise<Record<Table, Map<string, string[] | undefined>>> {
  const read = async (table: Table, fn: (key: string) => Promise<unknown[] | undefined>) => {
    const keys = [...expected[table].keys()];
    const values = await mapLimit(keys, READ_CONCURRENCY, async (k) => (await fn(k))?.map(s));
    return new Map(keys.map((k, i) => [k, values[i]]));
  };
  const orgCount = Number(await t.directory.organizationCount());
  return {
    organizations: await read("organizations", async (k) => {
      if (Number(k) > orgCount) return undefined;
      const o = await t.directory.getOrganization(Number(k));
      return [o.kind, o.admin, o.suspended, o.encryptionKey, o.keyVersion];
    }),
    practitioners: await read("practitioners", async (k) => {
      if ((await t.directory.practitionerIdOf(k)) === 0n) return undefined;
      const p = await t.directory.getPractitioner(k);
      return [p.orgId, p.roles, p.credentialValidUntil, p.suspended, p.encryptionKey, p.keyVersion];
    }),
    patients: await read("patients", async (k) => {
      if (getAddress(await t.directory.controllerOf(k)) === getAddress("0x" + "00".repeat(20))) return undefined;
      const p = await t.directory.getPatient(k);
      return [p.controller, p.encryptionKey, p.keyVersion, p.recoveryThreshold, p.epoch];
    }),
    guardians: await read("guardians", async (k) => {
      const [subject, guardian] = k.split("/") as [string, string];
      const g = await t.directory.getGuardian(subject, guardian);
      return g.powers === 0n ? undefined : [g.powers, g.validUntil];
    }),
    consents: await read("consents", async (k) => {
      const [subject, seq] = k.split("/") as [string, string];
      const c = await absent(() => t.consents.getConsent(subject, consentIdAt(subject, Number(seq))));
      if (c === undefined) return undefined;
      return [
        c.effect,
        c.granteeKind,
        c.granteeAccount,
        c.granteeOrg,
        c.granteeRoles,
        c.categories,
        c.purposes,
        c.actions,
        c.validFrom,
        c.validUntil,
        c.revokedAt,
        c.byGuardian,
      ];
    }),
    optOuts: await read("optOuts", async (k) => [await t.consents.breakGlassOptedOut(k)]),
    records: await read("records", async (k) => {
      const [subject, id] = k.split("/") as [string, string];
      const r = await absent(() => t.records.getRecord(subject, id));
      return r === undefined
        ? undefined
        : [r.commitment, r.custodian, r.category, r.anchoredAt, r.erasedAt, r.superseded];
    }),
  };
}

/** The digest of a table: keccak256 over its rows sorted by key, one `key:v1,v2,…` line each. */
export function tableDigest(rows: Map<string, string[] | undefined>): string {
  const lines = [...rows.entries()]
    .filter((e): e is [string, string[]] => e[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}:${v.join(",")}`);
  return keccak256(toUtf8Bytes(lines.join("\n")));
}

/** The first key whose row differs (or is missing) between `expected` and `actual`. */
export function firstDifference(expected: Rows, actual: Map<string, string[] | undefined>): string | undefined {
  for (const [k, v] of expected) {
    const a = actual.get(k);
    if (a === undefined || a.join(",") !== v.join(",")) return k;
  }
  return undefined;
}

/** Throws if the target holds, under an expected key, something other than the expected row. */
export function checkExisting(table: Table, expected: Rows, actual: Map<string, string[] | undefined>): void {
  for (const [k, v] of expected) {
    const a = actual.get(k);
    // An opt-out row reads "false" until imported: not a conflict.
    if (a === undefined || (table === "optOuts" && a[0] === "false")) continue;
    // A record version superseded later in this run reads unsuperseded until then.
    const same =
      a.join(",") === v.join(",") || (table === "records" && a.slice(0, 5).join(",") === v.slice(0, 5).join(","));
    if (!same) {
      throw new MigrationMismatchError(table, `The target already holds a different ${table} entry ${k}`, {
        key: k,
        details: `expected ${v.join(",")}; found ${a.join(",")}. Not a migration of this source (or 1.0 changed after an earlier run).`,
      });
    }
  }
}

// ───────────────────────────── sending ─────────────────────────────

/** One import transaction. */
export interface ImportOp {
  table: Table;
  key: string;
  request: () => Promise<{ to: string; data: string }>;
}

/** Gas per import kind (fixed, so pipelined transactions need no estimate against state not yet mined). */
export const IMPORT_GAS: Record<Table, bigint> = {
  organizations: 250_000n,
  practitioners: 250_000n,
  patients: 250_000n,
  guardians: 150_000n,
  consents: 350_000n,
  optOuts: 100_000n,
  records: 250_000n,
};

/** The import transactions still to send, in order. */
export function importOps(
  t: Target,
  plan: MigrationPlan,
  held: Record<Table, Map<string, string[] | undefined>>,
): ImportOp[] {
  const ops: ImportOp[] = [];
  const missing = (table: Table, key: string) => {
    const a = held[table].get(key);
    return a === undefined || (table === "optOuts" && a[0] === "false");
  };
  const to = async (c: { getAddress(): Promise<string> }) => c.getAddress();
  for (const o of plan.organizations) {
    if (!missing("organizations", `${o.orgId}`)) continue;
    ops.push({
      table: "organizations",
      key: `${o.orgId}`,
      request: async () => ({
        to: await to(t.directory),
        data: t.directory.interface.encodeFunctionData("importOrganization", [
          o.orgId,
          o.kind,
          o.admin,
          o.encryptionKey,
          o.keyVersion,
          o.suspended,
        ]),
      }),
    });
  }
  for (const p of plan.practitioners) {
    if (!missing("practitioners", s(p.account))) continue;
    ops.push({
      table: "practitioners",
      key: s(p.account),
      request: async () => ({
        to: await to(t.directory),
        data: t.directory.interface.encodeFunctionData("importPractitioner", [
          p.account,
          p.orgId,
          p.roles,
          p.credentialValidUntil,
          p.suspended,
          p.encryptionKey,
          p.keyVersion,
        ]),
      }),
    });
  }
  for (const p of plan.patients) {
    if (!missing("patients", s(p.subject))) continue;
    ops.push({
      table: "patients",
      key: s(p.subject),
      request: async () => ({
        to: await to(t.directory),
        data: t.directory.interface.encodeFunctionData("importPatient", [
          p.subject,
          p.controller,
          p.encryptionKey,
          p.keyVersion,
          p.recoveryThreshold,
          p.epoch,
        ]),
      }),
    });
  }
  for (const g of plan.guardians) {
    const key = `${s(g.subject)}/${s(g.guardian)}`;
    if (!missing("guardians", key)) continue;
    ops.push({
      table: "guardians",
      key,
      request: async () => ({
        to: await to(t.directory),
        data: t.directory.interface.encodeFunctionData("importGuardian", [
          g.subject,
          g.guardian,
          g.powers,
          g.validUntil,
        ]),
      }),
    });
  }
  for (const c of plan.consents) {
    const key = `${s(c.subject)}/${c.sequence}`;
    if (!missing("consents", key)) continue;
    ops.push({
      table: "consents",
      key,
      request: async () => ({
        to: await to(t.consents),
        data: t.consents.interface.encodeFunctionData("importConsent", [
          c.subject,
          c.sequence,
          c.terms,
          c.revokedAt,
          c.grantedBy,
        ]),
      }),
    });
  }
  for (const subject of plan.optOuts) {
    if (!missing("optOuts", s(subject))) continue;
    ops.push({
      table: "optOuts",
      key: s(subject),
      request: async () => ({
        to: await to(t.consents),
        data: t.consents.interface.encodeFunctionData("importBreakGlassOptOut", [subject]),
      }),
    });
  }
  for (const r of plan.records) {
    const key = `${s(r.subject)}/${s(r.recordId)}`;
    if (!missing("records", key)) continue;
    ops.push({
      table: "records",
      key,
      request: async () => ({
        to: await to(t.records),
        data: t.records.interface.encodeFunctionData("importRecord", [
          r.subject,
          r.recordId,
          r.category,
          r.digest,
          r.labelCommitment,
          r.custodian,
          r.anchoredAt,
          r.erasedAt,
          r.previous,
        ]),
      }),
    });
  }
  return ops;
}

export interface SendOptions {
  batchSize: number;
  /** Called after each batch is mined; a throw stops the run (tests interrupt here). */
  onBatch?: (info: { batch: number; imported: number; remaining: number }) => void | Promise<void>;
  log: (line: string) => void;
  /** How long to wait for an interrupted run's transactions still in the pool (ms). */
  pendingWaitMs: number;
}

/** A sender for the migrator's transactions (zero gas price detected as the deploy does). */
export async function migratorSender(t: Target): Promise<TransactionSender> {
  const rpc = rpcOf(t.provider);
  return new TransactionSender({
    signer: t.signer,
    account: t.account,
    rpc,
    chainId: await rpc.chainId(),
    fees: (await detectZeroGas(rpc)) ? "zero" : "market",
    confirmations: 1,
    dropCheckMs: 15_000,
    timeoutMs: 600_000,
    pollMs: 500,
  });
}

/** Waits until none of the migrator's transactions is pending (an interrupted run's last batch). */
export async function settlePending(t: Target, waitMs: number): Promise<void> {
  const rpc = rpcOf(t.provider);
  const start = Date.now();
  while ((await rpc.nonce(t.account, "pending")) > (await rpc.nonce(t.account, "latest"))) {
    if (Date.now() - start > waitMs) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Sends `ops` in batches of `batchSize`: each batch pipelined (nonces in order), then all its receipts awaited. */
export async function sendBatches(
  sender: TransactionSender,
  ops: readonly ImportOp[],
  o: SendOptions,
): Promise<{ batches: number; transactions: number; gasUsed: bigint }> {
  let batches = 0;
  let gasUsed = 0n;
  for (let i = 0; i < ops.length; i += o.batchSize) {
    const batch = ops.slice(i, i + o.batchSize);
    const receipts: Promise<RpcReceipt>[] = [];
    for (const op of batch) {
      const request = await op.request();
      let broadcast!: () => void;
      const sent = new Promise<void>((resolve) => (broadcast = resolve));
      const receipt = sender.send(request, { gas: IMPORT_GAS[op.table], onSent: () => broadcast() });
      receipts.push(receipt);
      // The next transaction is signed only once this one has its nonce (order = dependency order).
      await Promise.race([
        sent,
        receipt.then(
          () => undefined,
          () => undefined,
        ),
      ]);
    }
    const settled = await Promise.allSettled(receipts);
    for (const r of settled) if (r.status === "fulfilled") gasUsed += r.value.gasUsed;
    const failed = settled.findIndex((r) => r.status === "rejected");
    if (failed >= 0) {
      const op = batch[failed]!;
      o.log(`import ${op.table} ${op.key} failed`);
      throw (settled[failed] as PromiseRejectedResult).reason;
    }
    batches++;
    o.log(`batch ${batches}: ${batch.length} import(s), ${ops.length - i - batch.length} to go`);
    await o.onBatch?.({ batch: batches, imported: i + batch.length, remaining: ops.length - i - batch.length });
  }
  return { batches, transactions: ops.length, gasUsed };
}
