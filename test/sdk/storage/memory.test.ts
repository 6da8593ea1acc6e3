import { expect } from "chai";

import { memory } from "../../../sdk/storage/index.js";
import { shouldBehaveLikeBlobStore } from "../../helpers/storage-behaviour.js";

describe("sdk/storage/memory", function () {
  shouldBehaveLikeBlobStore("memory()", () => memory());

  it('reports kind "memory" and forgets everything on close', async function () {
    const store = memory();
    expect(store.kind).to.equal("memory");
    const address = await store.put(new Uint8Array([1]));
    await store.close();
    const reopened = memory();
    expect(await reopened.has(address)).to.equal(false);
    await reopened.close();
  });
});
