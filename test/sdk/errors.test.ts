import { expect } from "chai";

import { AccessDeniedError, ContractRevertError } from "../../sdk/chain/errors.js";
import {
  DecryptionError,
  DependencyMissingError,
  DeploymentMismatchError,
  ErrorCodes,
  IntegrityError,
  InvalidInputError,
  KeyReleaseError,
  KeyReleaseReasons,
  MedLedgerError,
  NotFoundError,
  RpcError,
  StorageError,
  TransactionError,
  UnsupportedFormatError,
  WrongPassphraseError,
} from "../../sdk/errors.js";

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

  it("every error class is a MedLedgerError with its own stable, prefixed code", () => {
    const errors: MedLedgerError[] = [
      new InvalidInputError("x"),
      new DecryptionError("x"),
      new IntegrityError("x"),
      new UnsupportedFormatError("x"),
      new WrongPassphraseError(),
      new StorageError("x"),
      new NotFoundError("x"),
      new DependencyMissingError("x"),
      new RpcError("x", { url: "http://127.0.0.1:8545" }),
      new DeploymentMismatchError("x", { contract: "ConsentRegistry" }),
      new TransactionError("x"),
      new KeyReleaseError("ACCESS_TOO_OLD", "x"),
      new ContractRevertError("RecordExists", {}, "0x12345678"),
      new AccessDeniedError("AccessDenied", { reason: 1n }, "0x12345678", undefined),
    ];
    for (const err of errors) {
      expect(err, err.name).to.be.instanceOf(MedLedgerError);
      expect(Object.values(ErrorCodes)).to.include(err.code);
    }
    const codes = Object.values(ErrorCodes);
    expect(new Set(codes).size).to.equal(codes.length);
    for (const code of codes) expect(code).to.match(/^ML_[A-Z_]+$/);
  });

  it("InvalidInputError names the field and the allowed values; KeyReleaseError carries a reason code", () => {
    const err = new InvalidInputError("Unknown category", { field: "categories[0]", allowed: ["NOTES", "OTHER"] });
    expect(err.field).to.equal("categories[0]");
    expect(err.allowed).to.deep.equal(["NOTES", "OTHER"]);
    expect(err.message).to.contain("allowed: NOTES, OTHER");
    expect(KeyReleaseReasons).to.include(new KeyReleaseError("NO_KEY_SLOTS", "x").reason);
  });
});
