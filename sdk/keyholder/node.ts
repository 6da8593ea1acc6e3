/**
 * The keyholder network's Node entry (proposed sub-path export `medledger/keyholder`): the client
 * and its custody interface, the transports, resharing, the in-process embedded default, the
 * formats and the auditor. The service itself (Fastify, config, `medledger keyholder start`) is in
 * `./service/`.
 *
 * @example
 * ```ts
 * import { KeyholderNetwork, contractChainView } from "medledger/keyholder";
 * const network = await KeyholderNetwork.create({ chain: await contractChainView({ provider, addressBook }) });
 * ```
 */
export { auditCollected, collectAudit, openExportedOpenings } from "./audit.js";
export type { CollectedAudit, KeyholderExport, NetworkAuditReport, OpeningsAudit } from "./audit.js";
export { AccessBasisCode, AccessorStatusCode } from "./chainView.js";
export type { ChainView, KeyholderMember, KeyholderSet } from "./chainView.js";
export { contractChainView, keyholderAddresses } from "./chainContracts.js";
export { KeyReleaseRefusedError, KeyholderNetwork } from "./client.js";
export type {
  AccountSigner,
  KeyCustody,
  KeyholderFailure,
  KeyholderNetworkOptions,
  PreflightAnswer,
  ReaderKeys,
} from "./client.js";
export { DEFAULT_CORE_CONFIG, createKeyholderCore } from "./core.js";
export type { CoreConfig, KeyholderApi, KeyholderCore } from "./core.js";
export { startLocalKeyholders } from "./local.js";
export type { LocalKeyholders } from "./local.js";
export { ReleaseLog, auditReleaseLog, canonicalJson, genesisHead, nextHead, openLogRows } from "./log.js";
export type { AuditReport, LogEntry, LogKind, LoggedToken } from "./log.js";
export { custodianKeyholderId, denyBinds, evaluateSealed } from "./policy.js";
export type { SealedInput, SealedReason, SealedVerdict } from "./policy.js";
export { deriveAuditKeys, openLogEntry, openVault } from "./vault.js";
export type { AuditKeys } from "./vault.js";
export { buildManifest, manifestWriter, trustedShares } from "./manifest.js";
export type { TrustedShares } from "./manifest.js";
export {
  KEY_PREFLIGHT_TYPES,
  KEY_RELEASE_TYPES,
  KEY_RETIRE_TYPES,
  KeyholderRefusal,
  LOG_QUERY_TYPES,
  OPENINGS_QUERY_TYPES,
  POLICY_TOKEN_TYPES,
  RefusalCodes,
  SEALED_OPENINGS_TYPES,
  keyholderDomain,
} from "./protocol.js";
export type {
  KeyPreflightRequest,
  KeyReleaseRequest,
  KeyRetireRequest,
  PolicyToken,
  RefusalCode,
  SignedPolicyToken,
  ReleaseResult,
  ShareManifest,
} from "./protocol.js";
export { reshareAll, reshareRecord } from "./reshare.js";
export {
  SHARE_SLOT_LENGTH,
  combineShares,
  keyCheckValue,
  openShare,
  sealShare,
  shareCommitment,
  splitDataKey,
} from "./shares.js";
export type { RecordRef, ShareContext } from "./shares.js";
export { openKeyholderStore } from "./store/sqlite.js";
export { KeyholderUnreachable, httpKeyholder, localKeyholder } from "./transport.js";
// Research (issue 12): the keyholder as an aggregation server.
export * from "./aggregation/index.js";
