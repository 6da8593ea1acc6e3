/**
 * MedLedger SDK: patient-controlled health records on EVM chains.
 *
 * @example
 * ```ts
 * import { MedLedger, filesystem, readAddressBook, createKeyholder } from "medledger";
 * ```
 */
export * from "./errors.js";
export * from "./types.js";
export * from "./codes.js";
export * from "./crypto/index.js";
export * from "./storage/index.js";
export * from "./chain/addressBook.js";
export * from "./chain/client.js";
export * from "./chain/eip712.js";
export * from "./chain/errors.js";
export * from "./keyholder/keyholder.js";
export * from "./keyholder/slotStore.js";
export * from "./records/journal.js";
export * from "./audit/replay.js";
export * from "./deploy.js";
export * from "./ledger.js";
export * from "./fhir/index.js";
