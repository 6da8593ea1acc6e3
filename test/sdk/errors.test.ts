import { expect } from "chai";

import { DecryptionError, ErrorCodes, InvalidInputError, MedLedgerError } from "../../sdk/errors.js";

describe("sdk/errors", () => {
  it("keeps code, short message, details and cause", () => {
    const root = new RangeError("expected 32 bytes");
    const err = new InvalidInputError("Bad key", { details: "length 31", cause: root });
    expect(err).to.be.instanceOf(MedLedgerError);
    expect(err.code).to.equal(ErrorCodes.INVALID_INPUT);
    expect(err.shortMessage).to.equal("Bad key");
    expect(err.message).to.contain("length 31");
    expect(err.cause).to.equal(root);
    expect(err.walk()).to.equal(root);
    expect(err.walk((e) => e instanceof RangeError)).to.equal(root);
    expect(err.walk((e) => e instanceof DecryptionError)).to.equal(undefined);
  });
});
