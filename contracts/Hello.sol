// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
contract Hello is AccessControl { function version() external pure returns (string memory) { return "1"; } }
