// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title One-time state import from an earlier MedLedger deployment
/// @notice MedLedger contracts are not upgradeable. A consortium moves to a new version by a new
/// deployment into which the deploy tool carries the old state (from the old deployment's events)
/// through the contract's `import…` functions. Only the migrator (the deploying account, fixed at
/// construction) may import, and only until it calls {sealMigration}: after that no import function
/// ever works again, so the migrator keeps no power once governance is handed over.
interface IMigratable {
    /// @notice `caller` is not this contract's migrator.
    error MigrationUnauthorized(address caller);
    /// @notice The migration was sealed; `caller` can no longer import.
    error MigrationClosed(address caller);
    /// @notice The migrator cannot be the zero address.
    error MigrationZeroMigrator();

    /// @notice The migration was sealed by `by`: no import function works any more.
    event MigrationSealed(address indexed by);

    /// @notice Ends the migration irreversibly.
    /// @dev Requirements:
    /// - the caller is the migrator;
    /// - the migration is not yet sealed.
    ///
    /// Emits a {MigrationSealed} event.
    function sealMigration() external;

    /// @notice The account allowed to import until the migration is sealed.
    function migrator() external view returns (address);

    /// @notice Whether the migration was sealed (imports are then refused forever).
    function migrationSealed() external view returns (bool);
}
