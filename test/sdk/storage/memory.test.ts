import { expect } from "chai";

import { NotFoundError } from "../../../sdk/errors.js";
import { memory } from "../../../sdk/storage/index.js";
import { shouldBehaveLikeBlobStore } from "../../helpers/storage-behaviour.js";

describe("sdk/storage/memory", function () {
  shouldBehaveLikeBlobStore("memory()", () => memory());

  // (What every store guarantees is the shared suite above; this is what only memory() promises.)
  it("two stores share nothing: each memory() is its own, private map", async function () {
    const a = memory();
    const b = memory();
    const address = await a.put(new Uint8Array([1]));
    expect(await b.has(address)).to.equal(false);
    await expectNotFound(b.getBytes(address));
    await a.close();
    await b.close();
  });
});

async function expectNotFound(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(NotFoundError);
}
