/**
 * Research without exposure (issue 12): studies registered and approved on chain, research
 * consents enforced by the chain, local evaluation of a declarative query over FHIR R4, additive
 * secret sharing over the keyholders (the aggregation servers), disclosure control and optional
 * differential privacy. See docs/research.md.
 *
 * The actions take a participant's context, viem-style: `research.registerStudy(ctx, params)`.
 *
 * @example
 * ```ts
 * import { research } from "medledger";
 * const { value: study } = await research.registerStudy(researcher.context, { query, protocol, purpose: "HRESCH", categories: ["OBSERVATIONS", "DEMOGRAPHICS"], custodians, validUntil });
 * await research.approveStudy(board.context, { studyId: study.studyId, decision });
 * const { value: runId } = await research.openRun(researcher.context, { studyId: study.studyId });
 * for (const steward of stewards) await research.contribute(steward.context, { studyId: study.studyId, runId, query });
 * const { value: result } = await research.result(researcher.context, { studyId: study.studyId, runId, query });
 * ```
 *
 * @module
 */
export { registerStudy, approveStudy, closeStudy, openRun, documentDigest } from "./actions.js";
export type { RegisterStudyParams, RegisteredStudy, DocumentInput, Written } from "./actions.js";
export { contribute, type ContributeParams, type Contribution } from "./contribute.js";
export { result, type ResultParams, type ReleasedResult } from "./result.js";
export { readStudy as getStudy, readRun as getRun, studyRegistryOf } from "./chain.js";
export type { StudyInfo, RunInfo, ServerMember, ServerResolver } from "./chain.js";
export {
  QUERY_LANGUAGE,
  MAX_QUERY_CELLS,
  SEXES,
  PICKS,
  parseQuery,
  canonicalQuery,
  queryDigest,
  queryLayout,
  ageBandLabels,
} from "./query.js";
export type {
  Query,
  Criterion,
  Measure,
  GroupAttribute,
  ValueRef,
  Coding,
  ValueRange,
  QueryLayout,
  GroupLabel,
  CellInfo,
  CellRole,
} from "./query.js";
export { evaluateQuery, ageAt, binOf, scaledValue, type PatientData, type LocalEvaluation } from "./evaluate.js";
export {
  MODULUS,
  ELEMENT_BYTES,
  mod,
  fromSigned,
  toSigned,
  splitVector,
  sumVectors,
  randomVector,
  encodeVector,
  decodeVector,
} from "./field.js";
export {
  discreteLaplace,
  bernoulliExpMinus,
  uniformBelow,
  noiseScale,
  noiseScales,
  noiseVector,
  noiseBound,
  type NoiseScale,
} from "./dp.js";
export {
  sealVector,
  openVector,
  commitVector,
  encodeShareContext,
  encodeSumShareContext,
  slotKeyVersion,
} from "./seal.js";
export type { ShareContext, SumShareContext, SealedVector, SlotLabel } from "./seal.js";
export { combineTotals, releaseResult, resultDigest, RESULT_FORMAT } from "./release.js";
export type { StudyResult, GroupResult, MeasureResult, ReleaseParams } from "./release.js";
export { aggregationDomain, AGGREGATION_SHARE_TYPES, SUM_SHARE_REQUEST_TYPES } from "./protocol.js";
export type { ShareDelivery, SumShareRequest, AggregateAnswer, SumShareAnswer, RunStatus } from "./protocol.js";
export {
  replayStudyEvents,
  type AuditedStudies,
  type AuditedStudy,
  type AuditedRun,
  type StudyEvent,
} from "./audit.js";
export {
  QueryUnsupportedError,
  ShareRefusedError,
  AggregationPendingError,
  StudyRefusedError,
  ShareRefusalStatus,
  type ShareRefusalCode,
  type Waiting,
} from "./errors.js";
