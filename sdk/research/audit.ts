/**
 * The auditor's view of research: every study, approval, run, contribution (who committed which
 * share commitments for how many patients), sum-share and result digest, rebuilt from the
 * StudyRegistry's events alone (no view call). `test/contracts/StudyRegistry.test.ts` checks the
 * rebuilt state against the contract's views field by field.
 *
 * @example
 * ```ts
 * import { StudyRegistry__factory } from "medledger/typechain";
 * import { replayStudyEvents } from "medledger/research";
 * const iface = StudyRegistry__factory.createInterface();
 * const logs = await provider.getLogs({ address: studyRegistry, fromBlock: book.contracts.StudyRegistry.blockNumber });
 * const state = replayStudyEvents(logs.map((l) => iface.parseLog(l)!));
 * for (const [id, s] of state.studies) console.log(id, s.approval?.boardOrg, [...s.runs.keys()]);
 * ```
 */
import type { Result } from "ethers";

/** A decoded StudyRegistry event, in log order. */
export interface StudyEvent {
  name: string;
  args: Result;
}

export interface AuditedContribution {
  contributor: string;
  subjects: number;
  commitments: string[];
}

export interface AuditedRun {
  opener: string;
  deadline: number;
  keyholderEpoch: bigint;
  servers: number[];
  /** By custodian organization, in the order they contributed. */
  contributions: Map<number, AuditedContribution>;
  /** By keyholder id. */
  sumShares: Map<number, { commitment: string; contributorsDigest: string }>;
  resultDigest?: string;
}

export interface AuditedStudy {
  researcher: string;
  researchOrg: number;
  salt: string;
  protocolDigest: string;
  queryDigest: string;
  purpose: number;
  categories: number;
  cells: number;
  minCellSize: number;
  minCustodians: number;
  maxRuns: number;
  epsilonMilli: number;
  validFrom: number;
  validUntil: number;
  custodians: number[];
  approval?: { boardOrg: number; approver: string; approvalDigest: string };
  closedAt?: number;
  closedBy?: string;
  runs: Map<number, AuditedRun>;
}

export interface AuditedStudies {
  studies: Map<string, AuditedStudy>;
}

const num = (v: unknown) => Number(v);

/**
 * Rebuilds the studies from StudyRegistry events (decoded with the contract's interface), in log
 * order. Unknown event names are ignored; an event about a study or run never registered or
 * opened throws (the log is incomplete or not from one registry).
 */
export function replayStudyEvents(events: Iterable<StudyEvent>): AuditedStudies {
  const studies = new Map<string, AuditedStudy>();
  const study = (id: unknown): AuditedStudy => {
    const s = studies.get(String(id));
    if (s === undefined) throw new Error(`event for unregistered study ${String(id)}`);
    return s;
  };
  const run = (id: unknown, runId: unknown): AuditedRun => {
    const r = study(id).runs.get(num(runId));
    if (r === undefined) throw new Error(`event for unopened run ${String(runId)} of ${String(id)}`);
    return r;
  };
  for (const e of events) {
    const a = e.args;
    switch (e.name) {
      case "StudyRegistered": {
        const p = a.params as Result;
        studies.set(String(a.studyId), {
          researcher: String(a.researcher),
          researchOrg: num(a.researchOrg),
          salt: String(a.salt),
          protocolDigest: String(p.protocolDigest),
          queryDigest: String(p.queryDigest),
          purpose: num(p.purpose),
          categories: num(p.categories),
          cells: num(p.cells),
          minCellSize: num(p.minCellSize),
          minCustodians: num(p.minCustodians),
          maxRuns: num(p.maxRuns),
          epsilonMilli: num(p.epsilonMilli),
          validFrom: num(p.validFrom),
          validUntil: num(p.validUntil),
          custodians: (p.custodians as bigint[]).map(Number),
          runs: new Map(),
        });
        break;
      }
      case "StudyApproved":
        study(a.studyId).approval = {
          boardOrg: num(a.boardOrg),
          approver: String(a.approver),
          approvalDigest: String(a.approvalDigest),
        };
        break;
      case "StudyClosed": {
        const s = study(a.studyId);
        s.closedAt = num(a.closedAt);
        s.closedBy = String(a.by);
        break;
      }
      case "RunOpened":
        study(a.studyId).runs.set(num(a.runId), {
          opener: String(a.opener),
          deadline: num(a.deadline),
          keyholderEpoch: a.keyholderEpoch as bigint,
          servers: (a.servers as bigint[]).map(Number),
          contributions: new Map(),
          sumShares: new Map(),
        });
        break;
      case "ContributionCommitted":
        run(a.studyId, a.runId).contributions.set(num(a.custodianOrg), {
          contributor: String(a.contributor),
          subjects: num(a.subjects),
          commitments: (a.commitments as string[]).map(String),
        });
        break;
      case "SumSharePublished":
        run(a.studyId, a.runId).sumShares.set(num(a.keyholderId), {
          commitment: String(a.commitment),
          contributorsDigest: String(a.contributorsDigest),
        });
        break;
      case "ResultPublished":
        run(a.studyId, a.runId).resultDigest = String(a.resultDigest);
        break;
      default:
        break;
    }
  }
  return { studies };
}
