/**
 * The filesystem journal's idempotency secret: created once with the journal, never silently
 * replaced. On main, a missing or unreadable secret.json was regenerated without a word, and every
 * retry of an unfinished write then looked like a new write (and anchored its record twice).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { StorageError } from "../../../sdk/errors.js";
import { filesystemJournal, idempotencyKey, memoryJournal } from "../../../sdk/records/journal.js";
import type { JournalEntry } from "../../../sdk/records/journal.js";
import type { RecordId, SubjectId } from "../../../sdk/types.js";

const entry: JournalEntry = {
  recordId: `0x${"11".repeat(32)}` as RecordId,
  subject: `0x${"22".repeat(32)}` as SubjectId,
  category: 8,
  mediaType: "text/plain",
  previous: null,
  pointer: `sha256:${"33".repeat(32)}`,
  digest: `0x${"44".repeat(32)}`,
  labelCommitment: `0x${"55".repeat(32)}`,
  labels: {
    version: 1,
    subject: `0x${"22".repeat(32)}`,
    recordId: `0x${"11".repeat(32)}`,
    labels: 4,
    salt: `0x${"66".repeat(32)}`,
  },
  stage: "stored",
};

describe("sdk/records/journal", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "medledger-journal-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("keeps its secret across reopenings, and its entries", async () => {
    const first = await filesystemJournal({ dir });
    await first.put("k", entry);
    const again = await filesystemJournal({ dir });
    expect(again.secret).to.deep.equal(first.secret);
    expect(await again.get("k")).to.deep.equal(entry);
    expect(await again.byRecord(entry.recordId)).to.deep.equal(entry);
  });

  it("refuses a journal whose secret is missing while it has entries (never regenerates it)", async () => {
    const j = await filesystemJournal({ dir });
    await j.put("k", entry);
    await rm(join(dir, "secret.json"));
    const err = await filesystemJournal({ dir }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StorageError);
    expect((err as StorageError).message)
      .to.contain("missing")
      .and.contain("1 entries");
  });

  it("refuses a corrupt or malformed secret (never regenerates it)", async () => {
    const original = (await filesystemJournal({ dir })).secret;
    for (const text of ["{ not json", JSON.stringify({ secret: "abcd" }), JSON.stringify({})]) {
      await writeFile(join(dir, "secret.json"), text);
      const err = await filesystemJournal({ dir }).catch((e: unknown) => e);
      expect(err, text).to.be.instanceOf(StorageError);
      expect(await readFile(join(dir, "secret.json"), "utf8")).to.equal(text); // left as it was
    }
    expect(original).to.have.length(32);
  });

  it("two processes opening a new journal at once agree on one secret", async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => filesystemJournal({ dir })));
    expect(b!.secret).to.deep.equal(a!.secret);
    expect(c!.secret).to.deep.equal(a!.secret);
  });

  it("idempotency keys are keyed: the same parts under another secret give another key", () => {
    const parts = ["subject", "NOTES", "text/plain", "", new Uint8Array([1, 2, 3])];
    const a = memoryJournal();
    const b = memoryJournal();
    expect(idempotencyKey(a.secret, parts)).to.equal(idempotencyKey(a.secret, parts));
    expect(idempotencyKey(a.secret, parts)).to.not.equal(idempotencyKey(b.secret, parts));
    // Length-prefixed parts: moving a boundary changes the key.
    expect(idempotencyKey(a.secret, ["ab", "c"])).to.not.equal(idempotencyKey(a.secret, ["a", "bc"]));
  });
});
