/**
 * The parts of the MedLedger 1.0 ABI the migration reads: every event that changes 1.0 state, and
 * `version()`. Written out here (the SDK ships no 1.0 artifacts); `test/migrate/` checks these
 * fragments against the 1.0 contracts compiled from git history (test/fixtures/contracts-1.0/).
 */
import { Interface } from "ethers";

const TERMS_10 =
  "tuple(uint8 effect, uint8 granteeKind, address granteeAccount, uint32 granteeOrg, uint8 granteeRoles, " +
  "uint32 categories, uint32 purposes, uint8 actions, uint64 validFrom, uint64 validUntil) terms";

/** 1.0 ParticipantDirectory events. */
export const DIRECTORY_10_EVENTS = [
  "event OrganizationAdmitted(uint32 indexed orgId, uint8 kind, address indexed admin, bytes32 encryptionKey, uint32 keyVersion)",
  "event OrganizationStatusChanged(uint32 indexed orgId, bool suspended, address indexed by)",
  "event OrganizationAdminChanged(uint32 indexed orgId, address indexed previousAdmin, address indexed newAdmin)",
  "event OrganizationKeyRotated(uint32 indexed orgId, bytes32 encryptionKey, uint32 keyVersion)",
  "event PractitionerEnrolled(address indexed account, uint32 indexed orgId, uint8 roles, uint64 credentialValidUntil, bytes32 encryptionKey, uint32 keyVersion)",
  "event PractitionerUpdated(address indexed account, uint32 indexed orgId, uint8 roles, uint64 credentialValidUntil)",
  "event PractitionerStatusChanged(address indexed account, uint32 indexed orgId, bool suspended)",
  "event PractitionerKeyRotated(address indexed account, bytes32 encryptionKey, uint32 keyVersion)",
  "event PatientRegistered(bytes32 indexed subject, address indexed controller, address indexed registeredBy, bytes32 encryptionKey, uint32 keyVersion)",
  "event ControllerChanged(bytes32 indexed subject, address indexed previousController, address indexed newController, bool byRecovery, uint32 epoch)",
  "event PatientKeyRotated(bytes32 indexed subject, bytes32 encryptionKey, uint32 keyVersion)",
  "event GuardianSet(bytes32 indexed subject, address indexed guardian, uint8 powers, uint64 validUntil)",
  "event RecoveryThresholdSet(bytes32 indexed subject, uint8 threshold)",
  "event RecoveryApproved(bytes32 indexed subject, address indexed guardian, address indexed newController, uint32 epoch)",
  "event RecoveryCancelled(bytes32 indexed subject, uint32 epoch)",
] as const;

/** 1.0 ConsentRegistry events. */
export const CONSENTS_10_EVENTS = [
  `event ConsentGranted(bytes32 indexed subject, bytes32 indexed consentId, address indexed granteeAccount, ${TERMS_10}, address by, bool bySignature)`,
  "event ConsentRevoked(bytes32 indexed subject, bytes32 indexed consentId, address indexed by, uint64 revokedAt, bool bySignature)",
  "event BreakGlassPreferenceSet(bytes32 indexed subject, bool optedOut, address indexed by)",
] as const;

/** 1.0 RecordRegistry events. */
export const RECORDS_10_EVENTS = [
  "event RecordAnchored(bytes32 indexed recordId, bytes32 indexed subject, uint32 indexed custodian, uint8 category, bytes32 digest, bytes32 previous, string pointer, address anchoredBy, bytes32 consentId)",
  "event BatchAnchored(bytes32 indexed root, bytes32 indexed subject, uint32 indexed custodian, uint32 count, uint32 categories, string pointer, address anchoredBy)",
  "event RecordProven(bytes32 indexed recordId, bytes32 indexed root, bytes32 indexed subject, uint8 category, bytes32 digest)",
  "event RecordErased(bytes32 indexed recordId, bytes32 indexed subject, address indexed by)",
  "event RecordAccessed(bytes32 indexed recordId, bytes32 indexed subject, address indexed accessor, uint8 purpose, uint8 basis, bytes32 basisId)",
  "event BreakGlassDeclared(uint256 indexed sessionId, bytes32 indexed subject, address indexed responder, uint32 orgId, uint8 purpose, uint16 reasonCode, uint64 expiresAt)",
  "event BreakGlassReviewed(uint256 indexed sessionId, address indexed officer, uint8 outcome)",
] as const;

/** Every 1.0 event the migration decodes, and `version()`. */
export const LEDGER_10_INTERFACE = new Interface([
  ...DIRECTORY_10_EVENTS,
  ...CONSENTS_10_EVENTS,
  ...RECORDS_10_EVENTS,
  "function version() view returns (string)",
]);

/** What 1.0 contracts answer to `version()`. */
export const VERSION_10 = "1.0.0";
