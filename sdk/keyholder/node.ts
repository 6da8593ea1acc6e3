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
export { AccessBasisCode, AccessorStatusCode } from "./chainView.js";
export type { ChainView, KeyholderMember, KeyholderSet } from "./chainView.js";
export { contractChainView, keyholderAddresses } from "./chainContracts.js";
export { KeyReleaseRefusedError, KeyholderNetwork } from "./client.js";
export type { AccountSigner, KeyCustody, KeyholderFailure, KeyholderNetworkOptions, ReaderKeys } from "./client.js";
export { DEFAULT_CORE_CONFIG, createKeyholderCore } from "./core.js";
export type { CoreConfig, KeyholderApi, KeyholderCore, PolicyCheck, PolicyContext } from "./core.js";
export { startLocalKeyholders } from "./local.js";
export type { LocalKeyholders } from "./local.js";
export { ReleaseLog, auditReleaseLog, canonicalJson, genesisHead, nextHead } from "./log.js";
export type { AuditReport, LogEntry, LogKind } from "./log.js";
export { buildManifest, manifestWriter, trustedShares } from "./manifest.js";
export type { TrustedShares } from "./manifest.js";
export {
  KEY_PREFLIGHT_TYPES,
  KEY_RELEASE_TYPES,
  KEY_RETIRE_TYPES,
  KeyholderRefusal,
  LOG_QUERY_TYPES,
  RefusalCodes,
  keyholderDomain,
} from "./protocol.js";
export type {
  KeyPreflightRequest,
  KeyReleaseRequest,
  KeyRetireRequest,
  RefusalCode,
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
