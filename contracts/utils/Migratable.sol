// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IMigratable} from "../interfaces/IMigratable.sol";

/// @title Migratable
/// @notice See {IMigratable}. Import functions of the inheriting contract use {onlyDuringMigration}.
abstract contract Migratable is IMigratable {
    address private immutable _migrator;
    bool private _migrationSealed;

    /// @param migrator_ the account that may import state until it seals the migration (the deployer).
    constructor(address migrator_) {
        if (migrator_ == address(0)) revert MigrationZeroMigrator();
        _migrator = migrator_;
    }

    /// @dev Only the migrator, only before {sealMigration}.
    modifier onlyDuringMigration() {
        _checkMigrator();
        _;
    }

    /// @inheritdoc IMigratable
    function sealMigration() external onlyDuringMigration {
        _migrationSealed = true;
        emit MigrationSealed(msg.sender);
    }

    /// @inheritdoc IMigratable
    function migrator() external view returns (address) {
        return _migrator;
    }

    /// @inheritdoc IMigratable
    function migrationSealed() external view returns (bool) {
        return _migrationSealed;
    }

    function _checkMigrator() private view {
        if (msg.sender != _migrator) revert MigrationUnauthorized(msg.sender);
        if (_migrationSealed) revert MigrationClosed(msg.sender);
    }
}
