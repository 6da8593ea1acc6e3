/**
 * Governance through the deployment's TimelockController: a proposer schedules a call to a
 * governed contract (the directory: `admitOrganization`, …; the keyholder registry:
 * `addKeyholder`, `setThreshold`, …), and once the timelock's delay has passed an executor runs
 * it. `govern` does both for one call (the same call and salt are one operation: a retry with the
 * salt of a crashed attempt skips the scheduling). The typed timelock binding is exported too.
 *
 * Contract calls built here: TimelockController.schedule, execute; reads getMinDelay,
 * hashOperation, isOperation, isOperationDone, getTimestamp.
 *
 * @example
 * ```ts
 * import { governance } from "medledger";
 * const { value: hospital } = await governance.admitOrganization(proposerChain, {
 *   kind: "HOSPITAL", admin: hospitalAdmin, encryptionKey: hospitalX25519Public,
 * });
 * ```
 */
import { ZeroHash } from "ethers";
import type { ContractTransaction, LogDescription } from "ethers";

import { MedLedgerTimelock__factory } from "../../types/typechain/index.js";
import type { MedLedgerTimelock } from "../../types/typechain/index.js";
import type { ChainClient, Write } from "../chain/client.js";
import { readRunner } from "../chain/rpc.js";
import { InvalidInputError } from "../errors.js";
import { randomHex32 } from "../util.js";
import { bytes32 } from "../validate.js";
import { admitOrganizationCall, admittedOrgId } from "./actions.js";
import type { AdmitOrganizationParams } from "./actions.js";

export { MedLedgerTimelock__factory };
export type { MedLedgerTimelock };

export interface GovernOptions {
  /** Identifies the operation: the same call with the same salt is one operation (default: random). */
  salt?: string;
  /**
   * Waits out the timelock's delay: called with the seconds until the operation is ready. Default:
   * waits in real time. Development chains can fast-forward instead (`evm_increaseTime`).
   */
  waitForDelay?: (seconds: number) => Promise<void>;
}

/** The deployment's timelock, bound to `chain`'s node (reads). */
export function timelockOf(chain: ChainClient): MedLedgerTimelock {
  const entry = chain.addressBook.contracts.TimelockController;
  if (entry === undefined)
    throw new InvalidInputError("This deployment has no TimelockController (governance went to a multisig?)", {
      field: "addressBook.contracts.TimelockController",
    });
  return MedLedgerTimelock__factory.connect(entry.address, readRunner(chain.rpc, chain.account));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Schedules `call` (a populated call to the ParticipantDirectory or the KeyholderRegistry) through
 * the timelock, waits for its delay and executes it; `chain`'s signer must be a proposer (and an
 * executor, unless anyone may execute). The value is the events the executed call emitted.
 */
export async function govern(
  chain: ChainClient,
  call: ContractTransaction | Promise<ContractTransaction>,
  opts: GovernOptions = {},
): Promise<Write<LogDescription[]>> {
  const { to, data } = await call;
  const governed = [chain.addressBook.contracts.ParticipantDirectory, chain.addressBook.contracts.KeyholderRegistry];
  const target = governed.find((c) => c.address.toLowerCase() === to.toLowerCase())?.address;
  if (target === undefined)
    throw new InvalidInputError("govern takes a call to the ParticipantDirectory or the KeyholderRegistry", {
      field: "call",
    });
  const salt = opts.salt === undefined ? randomHex32() : bytes32(opts.salt, "salt");
  const timelock = timelockOf(chain);
  const id = await timelock.hashOperation(target, 0, data, ZeroHash, salt);
  if (!(await timelock.isOperation(id))) {
    const delay = await timelock.getMinDelay();
    await chain.send(timelock.schedule.populateTransaction(target, 0, data, ZeroHash, salt, delay));
  }
  if (await timelock.isOperationDone(id))
    throw new InvalidInputError("This governance operation was already executed (same call and salt)", {
      field: "salt",
    });
  {
    const readyAt = Number(await timelock.getTimestamp(id));
    const now = (await chain.rpc.latestBlock()).timestamp;
    if (readyAt > now) {
      if (opts.waitForDelay !== undefined) await opts.waitForDelay(readyAt - now);
      else while (!(await timelock.isOperationReady(id))) await sleep(Math.min(10_000, (readyAt - now) * 1000));
    }
  }
  const sent = await chain.send(timelock.execute.populateTransaction(target, 0, data, ZeroHash, salt));
  return { value: sent.events, receipt: sent.receipt };
}

/** Admits an organization through the timelock (see {@link govern}); the value is its id. */
export async function admitOrganization(
  chain: ChainClient,
  params: AdmitOrganizationParams,
  opts: GovernOptions = {},
): Promise<Write<number>> {
  const call = await admitOrganizationCall(chain, params);
  const done = await govern(chain, call, opts);
  return { value: admittedOrgId({ events: done.value, receipt: done.receipt }), receipt: done.receipt };
}
