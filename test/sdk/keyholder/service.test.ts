import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { InvalidInputError } from "../../../sdk/errors.js";
import { registerKeyholderCommand } from "../../../sdk/keyholder/service/command.js";
import type { CommandLike } from "../../../sdk/keyholder/service/command.js";
import { readKeyholderConfig, validateKeyholderConfig } from "../../../sdk/keyholder/service/config.js";

describe("keyholder service: configuration and command", () => {
  const minimal = { rpcUrl: "http://127.0.0.1:8545", addressBook: "book.json", keystore: "k.json", dataDir: "data" };

  it("validates the config file: defaults, relative paths, every bad field named", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kh-config-"));
    try {
      await writeFile(join(dir, "kh.json"), JSON.stringify(minimal));
      const c = await readKeyholderConfig(join(dir, "kh.json"));
      expect(c.listen).to.deep.equal({ host: "127.0.0.1", port: 8710 });
      expect(c.keystore).to.equal(join(dir, "k.json"));
      expect(c.passphraseEnv).to.equal("MEDLEDGER_KEYHOLDER_PASSPHRASE");
      for (const bad of [
        { ...minimal, passphrase: "secret" },
        { ...minimal, rpcUrl: "ws://x" },
        { ...minimal, listen: { port: 70000 } },
        { ...minimal, confirmations: -1 },
        { ...minimal, maxAccessAgeSeconds: 1.5 },
        { ...minimal, logLevel: "loud" },
        { ...minimal, passphraseEnv: "lower case" },
        { ...minimal, keystore: "" },
      ]) {
        expect(() => validateKeyholderConfig(bad), JSON.stringify(bad)).to.throw(InvalidInputError);
      }
      await writeFile(join(dir, "broken.json"), "{");
      await readKeyholderConfig(join(dir, "broken.json")).then(
        () => expect.fail("accepted"),
        (e: unknown) => expect(e).to.be.instanceOf(InvalidInputError),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("registers `keyholder start --config <file>` on a commander-style program, with no passphrase option", () => {
    const calls: string[] = [];
    const fake = (path: string): CommandLike => ({
      command: (name) => (calls.push(`command ${path}${name}`), fake(`${path}${name} `)),
      description: () => fake(path),
      requiredOption: (flags) => (calls.push(`option ${path}${flags}`), fake(path)),
      action: () => (calls.push(`action ${path.trim()}`), fake(path)),
    });
    registerKeyholderCommand(fake(""));
    expect(calls).to.deep.equal([
      "command keyholder",
      "command keyholder start",
      "option keyholder start --config <file>",
      "action keyholder start",
    ]);
  });
});
