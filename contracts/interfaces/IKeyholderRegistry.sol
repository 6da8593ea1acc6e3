// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Keyholder registry
/// @notice The consortium's keyholder set, admitted by governance: the trust anchor for key
/// release. Each keyholder belongs to an admitted organization, signs with one account, holds an
/// X25519 key (with a version) to which writers wrap its key shares, and serves an HTTPS endpoint.
/// A record's data key is split k-of-n over the active keyholders, k being {threshold}. The
/// membership {epoch} moves on at every change that affects how shares are split or wrapped (a
/// keyholder joins or leaves, its key or signing account changes, or k changes), so writers and
/// resharing jobs can tell which set a share was made for. Each keyholder anchors the head of its
/// hash-chained release log here at a fixed cadence.
/// @dev Roles: `GOVERNANCE_ROLE` manages the set (a timelock or multisig); `DEFAULT_ADMIN_ROLE`
/// manages who holds it. A keyholder's own account may change its endpoint and anchor its log.
interface IKeyholderRegistry {
    // ───────────────────────────── errors ─────────────────────────────

    /// @notice No keyholder has the id `keyholderId`.
    error KeyholderUnknown(uint32 keyholderId);
    /// @notice Keyholder `keyholderId` has left the set.
    error KeyholderInactive(uint32 keyholderId);
    /// @notice `caller` is not the signing account of keyholder `keyholderId`.
    error KeyholderUnauthorized(uint32 keyholderId, address caller);
    /// @notice `account` already signs for keyholder `keyholderId` (one keyholder per account).
    error KeyholderAccountInUse(address account, uint32 keyholderId);
    /// @notice Organization `orgId` is not admitted in the directory.
    error KeyholderUnknownOrganization(uint32 orgId);
    /// @notice A value (`field`: account, key, endpoint, directory, governance) was zero or empty.
    error KeyholderZeroValue(string field);
    /// @notice The endpoint is longer than MAX_ENDPOINT_LENGTH bytes (`length`).
    error KeyholderEndpointTooLong(uint256 length);
    /// @notice The set already holds the maximum number of active keyholders.
    error KeyholderSetFull(uint256 max);
    /// @notice The threshold must satisfy 1 ≤ `threshold` ≤ `activeCount` (active keyholders).
    error KeyholderInvalidThreshold(uint8 threshold, uint32 activeCount);
    /// @notice A release-log anchor's `sequence` must exceed the last one anchored (`lastSequence`).
    error KeyholderSequenceNotIncreasing(uint32 keyholderId, uint64 sequence, uint64 lastSequence);
    /// @notice A release-log head cannot be zero.
    error KeyholderZeroLogHead(uint32 keyholderId);

    // ───────────────────────────── events ─────────────────────────────

    /// @notice Governance admitted a keyholder.
    /// @param keyholderId its id (sequential from 1)
    /// @param orgId the organization that operates it
    /// @param account the account it signs releases and log anchors with
    /// @param encryptionKey its X25519 public key (version 1)
    /// @param endpoint its release endpoint URL
    /// @param epoch the membership epoch after the change
    event KeyholderAdded(
        uint32 indexed keyholderId,
        uint32 indexed orgId,
        address indexed account,
        bytes32 encryptionKey,
        uint32 keyVersion,
        string endpoint,
        uint64 epoch
    );
    /// @notice Governance removed a keyholder from the set (for ever; a rejoin is a new keyholder).
    event KeyholderRemoved(uint32 indexed keyholderId, uint64 epoch);
    /// @notice Governance registered a new key for a keyholder.
    event KeyholderKeyRotated(uint32 indexed keyholderId, bytes32 encryptionKey, uint32 keyVersion, uint64 epoch);
    /// @notice Governance moved a keyholder to a new signing account.
    event KeyholderAccountChanged(
        uint32 indexed keyholderId,
        address indexed previousAccount,
        address indexed newAccount,
        uint64 epoch
    );
    /// @notice A keyholder's endpoint changed (the epoch does not move: shares are unaffected).
    event KeyholderEndpointChanged(uint32 indexed keyholderId, string endpoint);
    /// @notice Governance set the threshold k.
    event ThresholdSet(uint8 threshold, uint64 epoch);
    /// @notice A keyholder anchored the head of its release log after entry `sequence`.
    event ReleaseLogAnchored(uint32 indexed keyholderId, uint64 indexed sequence, bytes32 head);

    // ──────────────────────────── governance ────────────────────────────

    /// @notice Admits a keyholder.
    /// @param orgId the operating organization (admitted in the directory)
    /// @param account its signing account (not zero, not used by another keyholder)
    /// @param encryptionKey its X25519 public key (not zero)
    /// @param endpoint its release endpoint URL (1..MAX_ENDPOINT_LENGTH bytes)
    /// @return keyholderId its id
    /// @dev Requirements:
    /// - the caller holds GOVERNANCE_ROLE;
    /// - fewer than MAX_KEYHOLDERS keyholders are active; the values are valid as above.
    ///
    /// Emits a {KeyholderAdded} event.
    function addKeyholder(
        uint32 orgId,
        address account,
        bytes32 encryptionKey,
        string calldata endpoint
    ) external returns (uint32 keyholderId);

    /// @notice Removes a keyholder from the set.
    /// @param keyholderId the keyholder
    /// @dev Requirements:
    /// - the caller holds GOVERNANCE_ROLE; the keyholder is active;
    /// - the threshold still fits the smaller set (lower it first).
    ///
    /// Emits a {KeyholderRemoved} event.
    function removeKeyholder(uint32 keyholderId) external;

    /// @notice Registers a new X25519 key for a keyholder (version + 1).
    /// @param keyholderId the keyholder
    /// @param encryptionKey the new key (not zero)
    /// @dev Requirements: the caller holds GOVERNANCE_ROLE; the keyholder is active.
    ///
    /// Emits a {KeyholderKeyRotated} event.
    function rotateKeyholderKey(uint32 keyholderId, bytes32 encryptionKey) external;

    /// @notice Moves a keyholder to a new signing account.
    /// @param keyholderId the keyholder
    /// @param newAccount the new account (not zero, not used by another keyholder)
    /// @dev Requirements: the caller holds GOVERNANCE_ROLE; the keyholder is active.
    ///
    /// Emits a {KeyholderAccountChanged} event.
    function setKeyholderAccount(uint32 keyholderId, address newAccount) external;

    /// @notice Sets the threshold k: any k active keyholders' shares recover a key.
    /// @param threshold 1..active keyholders
    /// @dev Requirements: the caller holds GOVERNANCE_ROLE.
    ///
    /// Emits a {ThresholdSet} event.
    function setThreshold(uint8 threshold) external;

    // ──────────────────────────── keyholders ────────────────────────────

    /// @notice A keyholder's own account (or governance) changes its endpoint.
    /// @param keyholderId the keyholder
    /// @param endpoint the new URL (1..MAX_ENDPOINT_LENGTH bytes)
    /// @dev Requirements: the caller is the keyholder's account or holds GOVERNANCE_ROLE; the
    /// keyholder is active.
    ///
    /// Emits a {KeyholderEndpointChanged} event.
    function setKeyholderEndpoint(uint32 keyholderId, string calldata endpoint) external;

    /// @notice Anchors the head of the keyholder's hash-chained release log after entry `sequence`.
    /// Called at a fixed cadence whatever happened, so anchors do not reveal when refusals happen.
    /// @param keyholderId the keyholder
    /// @param sequence the log's last entry number (strictly increasing across anchors)
    /// @param head the hash-chain head after that entry (not zero)
    /// @dev Requirements: the caller is the keyholder's signing account; the keyholder is active;
    /// `sequence` exceeds the last anchored one; `head` is not zero.
    ///
    /// Emits a {ReleaseLogAnchored} event.
    function anchorReleaseLog(uint32 keyholderId, uint64 sequence, bytes32 head) external;

    // ─────────────────────────────── views ───────────────────────────────

    /// @notice A keyholder (reverts with {KeyholderUnknown} if it never existed).
    function getKeyholder(
        uint32 keyholderId
    )
        external
        view
        returns (
            uint32 orgId,
            address account,
            bytes32 encryptionKey,
            uint32 keyVersion,
            bool active,
            string memory endpoint
        );

    /// @notice The ids of the active keyholders, ascending (at most MAX_KEYHOLDERS).
    function activeKeyholders() external view returns (uint32[] memory keyholderIds);

    /// @notice The keyholder that `account` signs for (0: none).
    function keyholderOf(address account) external view returns (uint32 keyholderId);

    /// @notice The last release-log anchor of a keyholder (zeros if none).
    function lastReleaseLog(
        uint32 keyholderId
    ) external view returns (uint64 sequence, bytes32 head, uint64 anchoredAt);

    /// @notice The threshold k (0 until governance sets it).
    function threshold() external view returns (uint8);

    /// @notice The membership epoch: moves on at every join, leave, key or account change and threshold change.
    function epoch() external view returns (uint64);

    /// @notice How many keyholders were ever admitted (ids are 1..count).
    function keyholderCount() external view returns (uint32);

    /// @notice The participant directory whose organizations operate keyholders.
    function directory() external view returns (address);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
