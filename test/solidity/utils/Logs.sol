// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "./Vm.sol";

/// @notice Decoding of the RecordRegistry / ConsentRegistry events the tests inspect
/// (from vm.getRecordedLogs()).
library Logs {
    bytes32 internal constant RECORD_ACCESSED = keccak256(
        "RecordAccessed(bytes32,bytes32,address,uint8,uint8,bytes32)"
    );
    bytes32 internal constant RECORD_ANCHORED = keccak256(
        "RecordAnchored(bytes32,bytes32,uint32,uint8,bytes32,bytes32,bytes32,string,address,bytes32)"
    );
    bytes32 internal constant RECORD_PROVEN = keccak256("RecordProven(bytes32,bytes32,bytes32,uint8,bytes32,bytes32)");
    bytes32 internal constant CONSENT_GRANTED = keccak256(
        "ConsentGranted(bytes32,bytes32,address,(uint8,uint8,address,uint32,uint8,uint16,uint16,uint8,uint64,uint64,bytes32),address,bool)"
    );

    struct Accessed {
        bytes32 recordId;
        bytes32 subject;
        address accessor;
        uint8 purpose;
        uint8 basis;
        bytes32 basisId;
    }

    struct Anchored {
        bytes32 recordId;
        bytes32 subject;
        uint32 custodian;
        uint8 category;
        bytes32 previous;
        address anchoredBy;
        bytes32 consentId;
    }

    function accessed(Vm.Log[] memory logs, address emitter) internal pure returns (Accessed[] memory out) {
        uint256 n = 0;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics[0] == RECORD_ACCESSED) ++n;
        }
        out = new Accessed[](n);
        uint256 k = 0;
        for (uint256 i = 0; i < logs.length; ++i) {
            Vm.Log memory entry = logs[i];
            if (entry.emitter != emitter || entry.topics[0] != RECORD_ACCESSED) continue;
            (uint8 purpose, uint8 basis, bytes32 basisId) = abi.decode(entry.data, (uint8, uint8, bytes32));
            out[k++] = Accessed({
                subject: entry.topics[1],
                recordId: entry.topics[2],
                accessor: address(uint160(uint256(entry.topics[3]))),
                purpose: purpose,
                basis: basis,
                basisId: basisId
            });
        }
    }

    function anchored(Vm.Log[] memory logs, address emitter) internal pure returns (Anchored[] memory out) {
        uint256 n = 0;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics[0] == RECORD_ANCHORED) ++n;
        }
        out = new Anchored[](n);
        uint256 k = 0;
        for (uint256 i = 0; i < logs.length; ++i) {
            Vm.Log memory entry = logs[i];
            if (entry.emitter != emitter || entry.topics[0] != RECORD_ANCHORED) continue;
            (uint8 category, , , bytes32 previous, , address anchoredBy, bytes32 consentId) = abi.decode(
                entry.data,
                (uint8, bytes32, bytes32, bytes32, string, address, bytes32)
            );
            out[k++] = Anchored({
                subject: entry.topics[1],
                recordId: entry.topics[2],
                custodian: uint32(uint256(entry.topics[3])),
                category: category,
                previous: previous,
                anchoredBy: anchoredBy,
                consentId: consentId
            });
        }
    }

    /// @return found whether a ConsentGranted was emitted; `by` and `bySignature` from it.
    function granted(
        Vm.Log[] memory logs,
        address emitter
    ) internal pure returns (bool found, bytes32 consentId, address by, bool bySignature) {
        for (uint256 i = 0; i < logs.length; ++i) {
            Vm.Log memory entry = logs[i];
            if (entry.emitter != emitter || entry.topics[0] != CONSENT_GRANTED) continue;
            // data: terms (11 static words), by, bySignature
            bytes memory d = entry.data;
            uint256 byWord;
            uint256 sigWord;
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                byWord := mload(add(d, add(32, mul(11, 32))))
                sigWord := mload(add(d, add(32, mul(12, 32))))
            }
            return (true, entry.topics[2], address(uint160(byWord)), sigWord != 0);
        }
    }
}
