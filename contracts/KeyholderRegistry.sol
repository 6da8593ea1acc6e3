// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IKeyholderRegistry} from "./interfaces/IKeyholderRegistry.sol";
import {IParticipantDirectory} from "./interfaces/IParticipantDirectory.sol";
import {MedLedgerVersion} from "./libraries/MedLedgerTypes.sol";

/// @title KeyholderRegistry
/// @notice See {IKeyholderRegistry}.
/// @dev `GOVERNANCE_ROLE` manages the set; `DEFAULT_ADMIN_ROLE` manages who holds it. The deploy
/// tool hands both to the timelock (or multisig) that governs the directory, and the deployer
/// renounces them.
contract KeyholderRegistry is IKeyholderRegistry, AccessControl {
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    /// @notice The most active keyholders (bounds {activeKeyholders}).
    uint256 public constant MAX_KEYHOLDERS = 32;
    /// @notice The longest endpoint URL, in bytes.
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;

    struct Keyholder {
        address account;
        uint32 orgId;
        uint32 keyVersion;
        bool active;
    }

    struct ReleaseLog {
        uint64 sequence;
        uint64 anchoredAt;
        bytes32 head;
    }

    IParticipantDirectory private immutable _directory;

    uint32 private _keyholderCount;
    uint32 private _activeCount;
    uint8 private _threshold;
    uint64 private _epoch;
    mapping(uint32 keyholderId => Keyholder) private _keyholders;
    mapping(uint32 keyholderId => bytes32) private _keys;
    mapping(uint32 keyholderId => string) private _endpoints;
    mapping(address account => uint32 keyholderId) private _keyholderOfAccount;
    mapping(uint32 keyholderId => ReleaseLog) private _releaseLogs;

    /// @param governance the account (timelock or multisig; the deployer during set-up) that holds
    /// GOVERNANCE_ROLE and DEFAULT_ADMIN_ROLE
    /// @param directory_ the participant directory whose organizations operate keyholders
    constructor(address governance, IParticipantDirectory directory_) {
        if (governance == address(0)) revert KeyholderZeroValue("governance");
        if (address(directory_).code.length == 0) revert KeyholderZeroValue("directory");
        _directory = directory_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(GOVERNANCE_ROLE, governance);
    }

    // ──────────────────────────── governance ────────────────────────────

    /// @inheritdoc IKeyholderRegistry
    function addKeyholder(
        uint32 orgId,
        address account,
        bytes32 encryptionKey,
        string calldata endpoint
    ) external onlyRole(GOVERNANCE_ROLE) returns (uint32 keyholderId) {
        if (orgId == 0 || orgId > _directory.organizationCount()) revert KeyholderUnknownOrganization(orgId);
        _checkAccountFree(account);
        if (encryptionKey == bytes32(0)) revert KeyholderZeroValue("encryptionKey");
        _checkEndpoint(endpoint);
        if (_activeCount >= MAX_KEYHOLDERS) revert KeyholderSetFull(MAX_KEYHOLDERS);
        keyholderId = ++_keyholderCount;
        ++_activeCount;
        _keyholders[keyholderId] = Keyholder({account: account, orgId: orgId, keyVersion: 1, active: true});
        _keys[keyholderId] = encryptionKey;
        _endpoints[keyholderId] = endpoint;
        _keyholderOfAccount[account] = keyholderId;
        emit KeyholderAdded(keyholderId, orgId, account, encryptionKey, 1, endpoint, ++_epoch);
    }

    /// @inheritdoc IKeyholderRegistry
    function removeKeyholder(uint32 keyholderId) external onlyRole(GOVERNANCE_ROLE) {
        Keyholder storage k = _activeKeyholder(keyholderId);
        uint32 remaining = _activeCount - 1;
        if (_threshold > remaining) revert KeyholderInvalidThreshold(_threshold, remaining);
        k.active = false;
        _activeCount = remaining;
        delete _keyholderOfAccount[k.account];
        emit KeyholderRemoved(keyholderId, ++_epoch);
    }

    /// @inheritdoc IKeyholderRegistry
    function rotateKeyholderKey(uint32 keyholderId, bytes32 encryptionKey) external onlyRole(GOVERNANCE_ROLE) {
        Keyholder storage k = _activeKeyholder(keyholderId);
        if (encryptionKey == bytes32(0)) revert KeyholderZeroValue("encryptionKey");
        uint32 keyVersion = ++k.keyVersion;
        _keys[keyholderId] = encryptionKey;
        emit KeyholderKeyRotated(keyholderId, encryptionKey, keyVersion, ++_epoch);
    }

    /// @inheritdoc IKeyholderRegistry
    function setKeyholderAccount(uint32 keyholderId, address newAccount) external onlyRole(GOVERNANCE_ROLE) {
        Keyholder storage k = _activeKeyholder(keyholderId);
        _checkAccountFree(newAccount);
        address previous = k.account;
        delete _keyholderOfAccount[previous];
        _keyholderOfAccount[newAccount] = keyholderId;
        k.account = newAccount;
        emit KeyholderAccountChanged(keyholderId, previous, newAccount, ++_epoch);
    }

    /// @inheritdoc IKeyholderRegistry
    function setThreshold(uint8 threshold_) external onlyRole(GOVERNANCE_ROLE) {
        if (threshold_ == 0 || threshold_ > _activeCount) revert KeyholderInvalidThreshold(threshold_, _activeCount);
        _threshold = threshold_;
        emit ThresholdSet(threshold_, ++_epoch);
    }

    // ──────────────────────────── keyholders ────────────────────────────

    /// @inheritdoc IKeyholderRegistry
    function setKeyholderEndpoint(uint32 keyholderId, string calldata endpoint) external {
        Keyholder storage k = _activeKeyholder(keyholderId);
        if (msg.sender != k.account && !hasRole(GOVERNANCE_ROLE, msg.sender)) {
            revert KeyholderUnauthorized(keyholderId, msg.sender);
        }
        _checkEndpoint(endpoint);
        _endpoints[keyholderId] = endpoint;
        emit KeyholderEndpointChanged(keyholderId, endpoint);
    }

    /// @inheritdoc IKeyholderRegistry
    function anchorReleaseLog(uint32 keyholderId, uint64 sequence, bytes32 head) external {
        Keyholder storage k = _activeKeyholder(keyholderId);
        if (msg.sender != k.account) revert KeyholderUnauthorized(keyholderId, msg.sender);
        if (head == bytes32(0)) revert KeyholderZeroLogHead(keyholderId);
        ReleaseLog storage log = _releaseLogs[keyholderId];
        if (sequence <= log.sequence) revert KeyholderSequenceNotIncreasing(keyholderId, sequence, log.sequence);
        _releaseLogs[keyholderId] = ReleaseLog({sequence: sequence, anchoredAt: uint64(block.timestamp), head: head});
        emit ReleaseLogAnchored(keyholderId, sequence, head);
    }

    // ─────────────────────────────── views ───────────────────────────────

    /// @inheritdoc IKeyholderRegistry
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
        )
    {
        Keyholder storage k = _existingKeyholder(keyholderId);
        return (k.orgId, k.account, _keys[keyholderId], k.keyVersion, k.active, _endpoints[keyholderId]);
    }

    /// @inheritdoc IKeyholderRegistry
    function activeKeyholders() external view returns (uint32[] memory keyholderIds) {
        keyholderIds = new uint32[](_activeCount);
        uint256 n = 0;
        // Ids of removed keyholders are skipped; the set never holds more than MAX_KEYHOLDERS at once,
        // and governance adds keyholders rarely, so the walk over every id ever admitted stays short.
        for (uint32 id = 1; id <= _keyholderCount; ++id) {
            if (_keyholders[id].active) keyholderIds[n++] = id;
        }
    }

    /// @inheritdoc IKeyholderRegistry
    function keyholderOf(address account) external view returns (uint32) {
        return _keyholderOfAccount[account];
    }

    /// @inheritdoc IKeyholderRegistry
    function lastReleaseLog(
        uint32 keyholderId
    ) external view returns (uint64 sequence, bytes32 head, uint64 anchoredAt) {
        ReleaseLog storage log = _releaseLogs[keyholderId];
        return (log.sequence, log.head, log.anchoredAt);
    }

    /// @inheritdoc IKeyholderRegistry
    function threshold() external view returns (uint8) {
        return _threshold;
    }

    /// @inheritdoc IKeyholderRegistry
    function epoch() external view returns (uint64) {
        return _epoch;
    }

    /// @inheritdoc IKeyholderRegistry
    function keyholderCount() external view returns (uint32) {
        return _keyholderCount;
    }

    /// @inheritdoc IKeyholderRegistry
    function directory() external view returns (address) {
        return address(_directory);
    }

    /// @inheritdoc IKeyholderRegistry
    function version() external pure returns (string memory) {
        return MedLedgerVersion.VERSION;
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _existingKeyholder(uint32 keyholderId) private view returns (Keyholder storage k) {
        k = _keyholders[keyholderId];
        if (k.keyVersion == 0) revert KeyholderUnknown(keyholderId);
    }

    function _activeKeyholder(uint32 keyholderId) private view returns (Keyholder storage k) {
        k = _existingKeyholder(keyholderId);
        if (!k.active) revert KeyholderInactive(keyholderId);
    }

    function _checkAccountFree(address account) private view {
        if (account == address(0)) revert KeyholderZeroValue("account");
        uint32 existing = _keyholderOfAccount[account];
        if (existing != 0) revert KeyholderAccountInUse(account, existing);
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        uint256 length = bytes(endpoint).length;
        if (length == 0) revert KeyholderZeroValue("endpoint");
        if (length > MAX_ENDPOINT_LENGTH) revert KeyholderEndpointTooLong(length);
    }
}
