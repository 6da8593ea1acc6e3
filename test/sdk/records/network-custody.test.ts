/**
 * The keyholder network behind the record actions' seam, without a chain: the adapter
 * (`networkCustody`) forwards every call with its arguments, waits (bounded) for keyholders whose
 * node lags a block behind on erase and retire and for nothing else; the context's custody options
 * are checked before anything connects; the sealed payload carries the label opening.
 */
import { expect } from "chai";
import { Wallet } from "ethers";

import { createLedgerContext, InvalidInputError, IntegrityError, memory } from "../../../sdk/index.js";
import type { AddressBook } from "../../../sdk/index.js";
import { KeyReleaseRefusedError } from "../../../sdk/keyholder/client.js";
import type { KeyCustody } from "../../../sdk/keyholder/client.js";
import { isKeyCustody, networkCustody } from "../../../sdk/records/custody.js";
import { frame, unframe } from "../../../sdk/records/payload.js";
import type { Hex } from "../../../sdk/types.js";

const SUBJECT: Hex = `0x${"11".repeat(32)}`;
const RECORD: Hex = `0x${"22".repeat(32)}`;

/** A KeyCustody double that records calls and fails `erase` with `codes` for the first `failures` calls. */
function double(codes: string[] = [], failures = 0) {
  const calls: [string, unknown][] = [];
  let left = failures;
  const refuse = () =>
    new KeyReleaseRefusedError(
      "refused",
      codes.map((code, i) => ({ keyholderId: i + 1, code, message: code })),
    );
  const custody: KeyCustody = {
    deposit: async (p) => void calls.push(["deposit", p]),
    depositTermsOpening: async (p) => void calls.push(["depositTermsOpening", p]),
    depositLabelOpening: async (p) => void calls.push(["depositLabelOpening", p]),
    preflight: async (p) => (calls.push(["preflight", p]), { consentHint: SUBJECT, custodianKeyholderId: 2 }),
    release: async (p) => (calls.push(["release", p]), new Uint8Array(32)),
    async erase(p) {
      calls.push(["erase", p]);
      if (left-- > 0) throw refuse();
    },
    async retire(p) {
      calls.push(["retire", p]);
      if (left-- > 0) throw refuse();
    },
  };
  return { custody, calls };
}

describe("sdk/records: the keyholder network behind the custody seam", () => {
  it("the adapter is a network custody and forwards each call (deposit with the anchor's custodian)", async () => {
    const { custody, calls } = double();
    const c = networkCustody(custody);
    expect(c.kind).to.equal("network");
    const writer = Wallet.createRandom();
    await c.deposit({
      writer,
      subject: SUBJECT,
      recordId: RECORD,
      dataKey: new Uint8Array(32),
      labels: { version: 1, subject: SUBJECT, recordId: RECORD, labels: 1, salt: SUBJECT },
      custodian: 7,
    });
    expect(calls[0]![0]).to.equal("deposit");
    expect((calls[0]![1] as { custodian: number }).custodian).to.equal(7);
    expect(
      await c.preflight({ reader: writer, subject: SUBJECT, recordId: RECORD, purpose: 0, custodian: 7 }),
    ).to.deep.equal({
      consentHint: SUBJECT,
      custodianKeyholderId: 2,
    });
    await c.depositTermsOpening!({
      by: writer,
      subject: SUBJECT,
      consentId: RECORD,
      opening: { version: 1, subject: SUBJECT, allowLabels: 0, denyLabels: 1, refinement: 0, salt: SUBJECT },
    });
    expect(calls.map(([m]) => m)).to.deep.equal(["deposit", "preflight", "depositTermsOpening"]);
    expect(isKeyCustody(custody)).to.equal(true);
    expect(isKeyCustody(c)).to.equal(false); // no depositLabelOpening: a RecordCustody, not a KeyCustody
  });

  it("erase and retire wait for keyholders whose node has not seen the tombstone or successor yet", async () => {
    const { custody, calls } = double(["NOT_ERASED", "NOT_SUPERSEDED"], 2);
    const c = networkCustody(custody);
    await c.erase({ subject: SUBJECT, recordId: RECORD, custodian: 0 });
    expect(calls.filter(([m]) => m === "erase")).to.have.length(3);
  });

  it("any other refusal is not retried (a refusal is an answer)", async () => {
    for (const codes of [["NOT_WRITER"], ["NOT_SUPERSEDED", "UNREACHABLE"]]) {
      const { custody, calls } = double(codes, 5);
      const err = await networkCustody(custody)
        .retire({ by: Wallet.createRandom(), subject: SUBJECT, recordId: RECORD, custodian: 0 })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(KeyReleaseRefusedError);
      expect(calls).to.have.length(1);
    }
  });

  it("a keyholder that stays behind is given up on after a bounded wait", async () => {
    const { custody, calls } = double(["NOT_ERASED"], 1000);
    const err = await networkCustody(custody)
      .erase({ subject: SUBJECT, recordId: RECORD, custodian: 0 })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KeyReleaseRefusedError);
    expect(calls.length).to.be.within(2, 25);
  });

  it("the context refuses an unknown keyholders value, a custody of the wrong shape and no custody at all, before connecting", async () => {
    const base = { signer: Wallet.createRandom(), addressBook: {} as AddressBook, storage: memory() };
    const cases: Record<string, unknown>[] = [
      { keyholders: "everyone" },
      { custody: { deposit: () => undefined } },
      {},
    ];
    for (const extra of cases) {
      const err = await createLedgerContext({ ...base, ...extra }).catch((e: unknown) => e);
      expect(err, JSON.stringify(Object.keys(extra))).to.be.instanceOf(InvalidInputError);
    }
  });

  it("the sealed payload carries the label opening; payloads framed without one still open", () => {
    const salt: Hex = `0x${"ab".repeat(32)}`;
    const content = new TextEncoder().encode("note");
    const labelled = unframe(frame("text/plain", content, { labels: 5, salt }));
    expect(labelled).to.deep.equal({ mediaType: "text/plain", content, labels: { labels: 5, salt } });
    expect(unframe(frame("text/plain", content))).to.deep.equal({ mediaType: "text/plain", content });
    // The same length whatever the labels: a ciphertext's size does not tell a labelled record.
    expect(frame("text/plain", content, { labels: 0, salt }).length).to.equal(
      frame("text/plain", content, { labels: 15, salt }).length,
    );
    expect(() => unframe(frame("text/plain", content, { labels: 1, salt }).subarray(0, 20))).to.throw(IntegrityError);
  });
});
