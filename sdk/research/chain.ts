/**
 * Research's view of the chain: the StudyRegistry binding of a participant's context, studies and
 * runs as the SDK shows them, and the aggregation servers of a run (the keyholders KeyholderRegistry
 * lists, reached at their registered endpoints unless a resolver says otherwise).
 *
 * @internal
 */
import { StudyRegistry__factory } from "../../types/typechain/index.js";
import type { StudyRegistry } from "../../types/typechain/index.js";
import { ContractRevertError } from "../chain/errors.js";
import type { CategoryName, PurposeName } from "../codes.js";
import { Category, purposeName } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { InvalidInputError } from "../errors.js";
import { httpAggregationServer } from "../keyholder/aggregation/transport.js";
import type { AggregationApi } from "../keyholder/aggregation/server.js";
import type { Hex } from "../types.js";
import { StudyRefusedError } from "./errors.js";

const bindings = new WeakMap<object, StudyRegistry>();

/** The StudyRegistry of the context's deployment, connected to its signer. */
export function studyRegistryOf(ctx: LedgerContext): StudyRegistry {
  let s = bindings.get(ctx.chain);
  if (s === undefined) {
    const entry = ctx.chain.addressBook.contracts.StudyRegistry;
    if (entry === undefined) {
      throw new StudyRefusedError(
        "NO_STUDY_REGISTRY",
        "This deployment has no StudyRegistry (deploy with a current SDK)",
      );
    }
    s = StudyRegistry__factory.connect(entry.address, ctx.chain.signer);
    bindings.set(ctx.chain, s);
  }
  return s;
}

/** A study as the SDK shows it. */
export interface StudyInfo {
  studyId: Hex;
  researcher: string;
  researchOrg: number;
  purpose: PurposeName | `PURPOSE_${number}`;
  categories: CategoryName[];
  cells: number;
  minCellSize: number;
  minCustodians: number;
  maxRuns: number;
  runCount: number;
  /** ε of one run (0: no noise). */
  epsilon: number;
  epsilonMilli: number;
  validFrom: number;
  validUntil: number;
  registeredAt: number;
  approval: { boardOrg: number; approver: string; approvedAt: number; decisionDigest: Hex } | null;
  closedAt: number | null;
  custodians: number[];
  protocolDigest: Hex;
  queryDigest: Hex;
}

/** A run as the SDK shows it. */
export interface RunInfo {
  studyId: Hex;
  runId: number;
  openedAt: number;
  deadline: number;
  keyholderEpoch: bigint;
  /** Aggregation servers (keyholder ids), in share order. */
  servers: number[];
  /** Custodian organizations that contributed, in order. */
  contributors: number[];
  sumShares: number;
  resultDigest: Hex | null;
}

/** Rethrows a StudyRegistry revert as a StudyRefusedError naming it (other errors unchanged). */
export function studyError(err: unknown): never {
  if (err instanceof ContractRevertError && err.errorName.startsWith("Study")) {
    const args = Object.entries(err.args)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
    throw new StudyRefusedError(err.errorName, `The study registry refused: ${err.errorName}`, {
      details: args,
      cause: err,
    });
  }
  throw err;
}

const CATEGORY_NAMES = Object.keys(Category) as CategoryName[];

export async function readStudy(ctx: LedgerContext, studyId: Hex): Promise<StudyInfo> {
  const studies = studyRegistryOf(ctx);
  const [s, custodians] = await Promise.all([studies.getStudy(studyId), studies.studyCustodians(studyId)]).catch(
    (err: unknown) => studyError(err),
  );
  const categories = Number(s.categories);
  return {
    studyId,
    researcher: s.researcher,
    researchOrg: Number(s.researchOrg),
    purpose: purposeName(s.purpose),
    categories: CATEGORY_NAMES.filter((n) => (categories & (1 << Category[n])) !== 0),
    cells: Number(s.cells),
    minCellSize: Number(s.minCellSize),
    minCustodians: Number(s.minCustodians),
    maxRuns: Number(s.maxRuns),
    runCount: Number(s.runCount),
    epsilon: Number(s.epsilonMilli) / 1000,
    epsilonMilli: Number(s.epsilonMilli),
    validFrom: Number(s.validFrom),
    validUntil: Number(s.validUntil),
    registeredAt: Number(s.registeredAt),
    approval:
      s.approvedAt === 0n
        ? null
        : {
            boardOrg: Number(s.approvedBy),
            approver: s.approver,
            approvedAt: Number(s.approvedAt),
            decisionDigest: s.approvalDigest as Hex,
          },
    closedAt: s.closedAt === 0n ? null : Number(s.closedAt),
    custodians: custodians.map(Number),
    protocolDigest: s.protocolDigest as Hex,
    queryDigest: s.queryDigest as Hex,
  };
}

export async function readRun(ctx: LedgerContext, studyId: Hex, runId: number): Promise<RunInfo> {
  const r = await studyRegistryOf(ctx)
    .getRun(studyId, runId)
    .catch((err: unknown) => studyError(err));
  return {
    studyId,
    runId,
    openedAt: Number(r.openedAt),
    deadline: Number(r.deadline),
    keyholderEpoch: r.keyholderEpoch,
    servers: r.servers.map(Number),
    contributors: r.contributors.map(Number),
    sumShares: Number(r.sumShares),
    resultDigest: r.resultPublishedAt === 0n ? null : (r.resultDigest as Hex),
  };
}

/** The latest block's time. */
export async function chainNow(ctx: LedgerContext): Promise<number> {
  return (await ctx.chain.rpc.latestBlock()).timestamp;
}

/** An aggregation server of a run, as KeyholderRegistry lists it. */
export interface ServerMember {
  id: number;
  endpoint: string;
  encryptionKey: Hex;
  keyVersion: number;
  account: string;
}

/** How to reach an aggregation server (default: HTTP at its registered endpoint). */
export type ServerResolver = (member: ServerMember) => AggregationApi;

export const defaultResolver: ServerResolver = (m) => httpAggregationServer(m.endpoint);

export async function serverMembers(ctx: LedgerContext, ids: readonly number[]): Promise<ServerMember[]> {
  return Promise.all(
    ids.map(async (id) => {
      const k = await ctx.chain.keyholders.getKeyholder(id);
      return {
        id,
        endpoint: k.endpoint,
        encryptionKey: k.encryptionKey as Hex,
        keyVersion: Number(k.keyVersion),
        account: k.account,
      };
    }),
  );
}

/** Checks a resolver argument at the boundary. */
export function resolverOf(servers: unknown): ServerResolver {
  if (servers === undefined) return defaultResolver;
  if (typeof servers !== "function") {
    throw new InvalidInputError("servers must be a function (member) => aggregation server", { field: "servers" });
  }
  return servers as ServerResolver;
}
