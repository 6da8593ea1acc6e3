/**
 * MedLedger SDK: patient-controlled health records on EVM chains.
 *
 * The package root is browser-safe (no Node built-in is imported statically anywhere below it)
 * and exports what apps use, listed here explicitly. Node-only parts: `medledger/node`
 * (filesystem storage, journal and key slots, address book files, deploy to a file, keystore
 * files). FHIR R4 import: `medledger/fhir`. The command line: the `medledger` binary.
 *
 * @example
 * ```ts
 * import { MedLedger, memory, consentTerms, sealLabels } from "medledger";
 * ```
 *
 * @module
 */

// The participant facade and the actions it binds (function API: `records.put(ctx, params)`).
export { MedLedger, type PutOptions, type GetOptions } from "./ledger.js";
export { createLedgerContext, envelopeContext, type LedgerContext, type MedLedgerOptions } from "./context.js";
export * as records from "./records/index.js";
export * as consent from "./consent/index.js";
export * as directory from "./directory/index.js";
export * as emergency from "./emergency/index.js";
export * as audit from "./audit/index.js";
export * as research from "./research/index.js";
export * as governance from "./directory/governance.js";
export type { RecordContent, RecordVersion, VerifyResult, AnchorState, RecordCustody } from "./records/index.js";
export type {
  ConsentDecision,
  ConsentInput,
  ConsentRecord,
  SealedConsent,
  SignedGrant,
  SignedGrantWithOpening,
  SignedRevoke,
  SignOptions,
} from "./consent/index.js";
export { consentTerms } from "./consent/index.js";
export type { AccessLogEntry } from "./audit/index.js";
export { MedLedgerTimelock__factory, type MedLedgerTimelock, type GovernOptions } from "./directory/governance.js";

// Errors: every error is a MedLedgerError with a stable code.
export {
  ErrorCodes,
  MedLedgerError,
  InvalidInputError,
  DecryptionError,
  IntegrityError,
  UnsupportedFormatError,
  WrongPassphraseError,
  StorageError,
  NotFoundError,
  DependencyMissingError,
  RpcError,
  DeploymentMismatchError,
  TransactionError,
  KeyReleaseError,
  KeyReleaseReasons,
  ConflictError,
  type ErrorCode,
  type MedLedgerErrorOptions,
  type KeyReleaseReason,
} from "./errors.js";
export { AccessDeniedError, ContractRevertError, decodeContractError } from "./chain/errors.js";

// Codes shared with the contracts (one list each).
export {
  Category,
  Label,
  LABEL_NAMES,
  ALL_LABELS,
  Purpose,
  Role,
  Action,
  Power,
  OrgKind,
  Effect,
  GranteeKind,
  ReviewOutcome,
  AccessorStatus,
  AccessBasis,
  DenyReason,
  CONSENT_TERMS_FIELDS,
  ALL_CATEGORIES,
  ALL_PURPOSES,
  categoryCode,
  purposeCode,
  orgKindCode,
  reviewOutcomeCode,
  categoryMask,
  purposeMask,
  roleMask,
  actionMask,
  powerMask,
  labelMask,
  labelNames,
  isLabelName,
  categoryName,
  purposeName,
  denyReasonName,
  denyReasonCode,
  accessBasisName,
  accessorStatusName,
  toConsentTerms,
  type CategoryName,
  type LabelName,
  type PurposeName,
  type RoleName,
  type ActionName,
  type PowerName,
  type OrgKindName,
  type ReviewOutcomeName,
  type AccessorStatusName,
  type AccessBasisName,
  type DenyReasonName,
  type ConsentTerms,
  type StoredConsentTerms,
} from "./codes.js";

// Sealed commitments: a record's labels and a consent's sealed terms (openings never go on chain).
export {
  sealLabels,
  sealTerms,
  labelCommitment,
  termsCommitment,
  LABELS_DOMAIN,
  TERMS_DOMAIN,
  type LabelOpening,
  type SealedTermsOpening,
} from "./sealed/commitments.js";

// Ids.
export {
  asSubjectId,
  asRecordId,
  asConsentId,
  asAddress,
  newSubjectId,
  newRecordId,
  randomBytes32,
  ZERO_BYTES32,
  type Hex,
  type SubjectId,
  type RecordId,
  type ConsentId,
  type Address,
} from "./types.js";

// Chain: client, deployment checks, EIP-712, provider, deploy.
export {
  ChainClient,
  eventOf,
  abiHash,
  type ChainClientOptions,
  type Sent,
  type Write,
  type TxReceipt,
} from "./chain/client.js";
export {
  CONTRACT_NAMES,
  validateAddressBook,
  startBlock,
  type AddressBook,
  type ContractEntry,
  type ContractName,
  type DeployedContractName,
} from "./chain/addressBook.js";
export { verifyDeployment, SUPPORTED_MAJOR_VERSION } from "./chain/verify.js";
export {
  consentDomain,
  CONSENT_DOMAIN_NAME,
  CONSENT_DOMAIN_VERSION,
  CONSENT_TERMS_TYPE,
  GRANT_TYPES,
  REVOKE_TYPES,
} from "./chain/eip712.js";
export { connectRpc, RECOMMENDED_PROVIDER_OPTIONS } from "./chain/provider.js";
export {
  deployMedLedger,
  checkDeployOptions,
  governanceFromFlags,
  DEFAULT_TIMELOCK_DELAY,
  MAX_TIMELOCK_DELAY,
  type DeployOptions,
  type Governance,
  type GovernanceFlags,
  type PartialAddressBook,
} from "./deploy.js";

// Keyholders and the writer's journal.
export {
  createKeyholder,
  keyReleaseMessage,
  type Keyholder,
  type KeyholderOptions,
  type KeyReleaseRequest,
} from "./keyholder/keyholder.js";
export { memorySlotStore, type SlotStore, type StoredSlots } from "./keyholder/slotStore.js";
export {
  memoryJournal,
  idempotencyKey,
  type Journal,
  type JournalEntry,
  type JournalStage,
} from "./records/journal.js";

// Storage adapters (filesystem(): medledger/node).
export {
  memory,
  custom,
  ipfs,
  isBlobAddress,
  parseAddress,
  sha256Address,
  IPFS_DEFAULT_CHUNK_SIZE,
  type BlobAddress,
  type BlobInput,
  type BlobStore,
  type CustomBlobSource,
  type CustomBlobStoreOptions,
  type StagedBlob,
  type HeliaLike,
  type IpfsBlobStore,
  type IpfsOptions,
} from "./storage/index.js";

// Crypto.
export {
  generateDataKey,
  sealBytes,
  openBytes,
  sealStream,
  openStream,
  wrapDataKey,
  unwrapDataKey,
  generateX25519KeyPair,
  x25519PublicKey,
  createIdentity,
  identityFromKeys,
  encryptKeystore,
  decryptKeystore,
  defaultBackend,
  nodeCryptoBackend,
  nobleBackend,
  secureRandom,
  DEFAULT_CHUNK_SIZE,
  type CipherBackend,
  type EnvelopeContext,
  type Identity,
  type KeySlot,
  type X25519KeyPair,
  type RandomSource,
} from "./crypto/index.js";

// Rebuilding state from events (auditors, indexers).
export { replay, fetchLedgerEvents, type LedgerEvent, type LedgerState, type LedgerAddresses } from "./audit/replay.js";
