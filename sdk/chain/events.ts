/**
 * Decoding MedLedger events from raw logs. ethers' `Interface.parseLog` finds the event by
 * hashing every event signature of the interface on each call; with five interfaces tried in
 * turn that cost about a millisecond per receipt. Here the topic → event table is built once.
 *
 * @internal
 */
import { LogDescription } from "ethers";
import type { EventFragment, Interface } from "ethers";

import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  MedLedgerTimelock__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
  StudyRegistry__factory,
} from "../../types/typechain/index.js";

const INTERFACES: Interface[] = [
  ParticipantDirectory__factory.createInterface(),
  ConsentRegistry__factory.createInterface(),
  RecordRegistry__factory.createInterface(),
  KeyholderRegistry__factory.createInterface(),
  StudyRegistry__factory.createInterface(),
  MedLedgerTimelock__factory.createInterface(),
];

const BY_TOPIC = new Map<string, { iface: Interface; fragment: EventFragment }>();
for (const iface of INTERFACES) {
  iface.forEachEvent((fragment) => {
    if (!BY_TOPIC.has(fragment.topicHash)) BY_TOPIC.set(fragment.topicHash, { iface, fragment });
  });
}

/** The decoded MedLedger (or timelock) event of a log; null for anything else. */
export function decodeLog(log: { topics: readonly string[]; data: string }): LogDescription | null {
  const topic = log.topics[0];
  const known = topic === undefined ? undefined : BY_TOPIC.get(topic);
  if (known === undefined) return null;
  try {
    const args = known.iface.decodeEventLog(known.fragment, log.data, log.topics);
    return new LogDescription(known.fragment, known.fragment.topicHash, args);
  } catch {
    return null;
  }
}
