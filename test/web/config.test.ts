/**
 * The web view's inputs, validated at the boundary: the config file, the names file and the
 * EIP-4361 message format (round trip, and what the parser refuses).
 */
import { expect } from "chai";
import { Wallet } from "ethers";

import { InvalidInputError } from "../../sdk/errors.js";
import { formatSiweMessage, parseSiweMessage, validateNames, validateWebConfig } from "../../sdk/web/index.js";

describe("web view: config, names and sign-in messages", () => {
  const base = { rpcUrl: "http://127.0.0.1:8545", addressBook: "deployments/localhost.json", index: "index.sqlite" };

  it("fills defaults: 127.0.0.1, follow the chain, read-only without a relayer; resolves paths against the file", () => {
    const c = validateWebConfig(base, "/etc/medledger");
    expect(c.listen).to.deep.equal({ host: "127.0.0.1", port: 8720 });
    expect(c.follow).to.equal(true);
    expect(c.relayer).to.equal(undefined);
    expect(c.addressBook).to.equal("/etc/medledger/deployments/localhost.json");
    expect(c.index).to.equal("/etc/medledger/index.sqlite");
    expect(validateWebConfig({ ...base, index: "postgres://audit@db/medledger" }).index).to.equal(
      "postgres://audit@db/medledger",
    );
  });

  it("refuses unknown fields, bad URLs, bad origins, bad env names and out-of-range numbers, naming the field", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...base, passphrase: "x" }, /passphrase/],
      [{ ...base, rpcUrl: "ws://x" }, /rpcUrl/],
      [{ ...base, publicOrigin: "https://x.org/path" }, /publicOrigin/],
      [{ ...base, relayer: { keystore: "k.json", passphraseEnv: "lower case" } }, /passphraseEnv/],
      [{ ...base, sessionTtlSeconds: 5 }, /sessionTtlSeconds/],
      [{ ...base, listen: { port: 70000 } }, /port/],
      [{ ...base, follow: "yes" }, /follow/],
      [{ rpcUrl: base.rpcUrl, index: "x" }, /addressBook/],
    ];
    for (const [value, field] of bad) {
      expect(() => validateWebConfig(value), JSON.stringify(value)).to.throw(InvalidInputError, field);
    }
  });

  it("names: lowercases addresses, refuses bad keys and empty names", () => {
    const names = validateNames({
      organizations: { "1": "Hospital Y" },
      people: { "0xABCDEFabcdefABCDEFabcdefABCDEFabcdefABCD": " Dr X " },
    });
    expect(names.people).to.deep.equal({ "0xabcdefabcdefabcdefabcdefabcdefabcdefabcd": "Dr X" });
    expect(names.organizations).to.deep.equal({ "1": "Hospital Y" });
    expect(() => validateNames({ people: { bob: "Bob" } })).to.throw(InvalidInputError, /people key/);
    expect(() => validateNames({ organizations: { x: "X" } })).to.throw(InvalidInputError, /organizations key/);
    expect(() => validateNames({ people: { [`0x${"1".repeat(40)}`]: "" } })).to.throw(InvalidInputError);
    expect(() => validateNames({ patients: {} })).to.throw(InvalidInputError, /patients/);
  });

  it("EIP-4361 messages round-trip; the parser refuses anything else", () => {
    const fields = {
      domain: "127.0.0.1:8720",
      address: Wallet.createRandom().address,
      statement: "Sign in to MedLedger.",
      uri: "http://127.0.0.1:8720",
      chainId: 31337,
      nonce: "0123456789abcdef0123456789abcdef",
      issuedAt: new Date("2026-03-01T10:00:00.000Z"),
      expirationTime: new Date("2026-03-01T10:05:00.000Z"),
      resources: ["urn:medledger:role:patient", `urn:medledger:subject:0x${"ab".repeat(32)}`],
    };
    const text = formatSiweMessage(fields);
    expect(text.split("\n")[0]).to.equal("127.0.0.1:8720 wants you to sign in with your Ethereum account:");
    expect(text).to.include("\nVersion: 1\nChain ID: 31337\nNonce: 0123456789abcdef0123456789abcdef\n");
    expect(parseSiweMessage(text)).to.deep.equal(fields);
    expect(parseSiweMessage(text.replace("Version: 1", "Version: 2"))).to.equal(undefined);
    expect(parseSiweMessage(text.replace(fields.nonce, "short"))).to.equal(undefined);
    expect(parseSiweMessage(`${text}\ntrailing`)).to.equal(undefined);
  });
});
