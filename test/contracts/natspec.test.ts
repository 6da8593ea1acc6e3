/**
 * Finding 11 (NatSpec): every external function of every interface is documented as OpenZeppelin
 * does — a @notice, a @param for each parameter, and for state-changing functions a "Requirements:"
 * section and an "Emits" line; every error and event has a @notice. Checked on the sources, so an
 * undocumented addition fails here.
 */
import { readFile, readdir } from "node:fs/promises";

import { expect } from "chai";

const DIR = "contracts/interfaces";

interface Declaration {
  file: string;
  kind: "function" | "error" | "event";
  name: string;
  params: string[];
  mutates: boolean;
  doc: string;
}

/** The declarations of a Solidity interface with the NatSpec block right above each. */
function declarations(file: string, source: string): Declaration[] {
  const out: Declaration[] = [];
  const lines = source.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(function|error|event)\s+(\w+)\s*\(/.exec(lines[i]!);
    if (m === null) continue;
    // The full declaration, up to its terminating semicolon.
    let decl = "";
    for (let j = i; j < lines.length; j++) {
      decl += lines[j] + "\n";
      if (lines[j]!.includes(";")) break;
    }
    // The doc block: the consecutive /// lines above.
    const doc: string[] = [];
    for (let j = i - 1; j >= 0 && /^\s*\/\/\//.test(lines[j]!); j--)
      doc.unshift(lines[j]!.replace(/^\s*\/\/\/\s?/, ""));
    const paramList = decl.slice(decl.indexOf("(") + 1, decl.indexOf(")"));
    const params = paramList
      .split(",")
      .map((p) => p.trim().split(/\s+/).pop() ?? "")
      .filter((p) => p.length > 0 && paramList.trim().length > 0);
    const kind = m[1] as Declaration["kind"];
    out.push({
      file,
      kind,
      name: m[2]!,
      params,
      mutates: kind === "function" && !/\b(view|pure)\b/.test(decl),
      doc: doc.join("\n"),
    });
  }
  return out;
}

describe("NatSpec of the interfaces", () => {
  it("every function has @notice and @param for each parameter; every write has Requirements and Emits; errors and events have @notice", async () => {
    const files = (await readdir(DIR)).filter((f) => f.endsWith(".sol"));
    expect(files).to.include.members([
      "IParticipantDirectory.sol",
      "IConsentRegistry.sol",
      "IRecordRegistry.sol",
      "IKeyholderRegistry.sol",
      "IMigratable.sol",
    ]);
    const problems: string[] = [];
    let functions = 0;
    for (const file of files) {
      const decls = declarations(file, await readFile(`${DIR}/${file}`, "utf8"));
      for (const d of decls) {
        const where = `${file} ${d.kind} ${d.name}`;
        if (!d.doc.includes("@notice")) problems.push(`${where}: no @notice`);
        if (d.kind !== "function") continue;
        functions++;
        if (d.mutates) {
          for (const p of d.params) {
            if (!new RegExp(`@param ${p}\\b`).test(d.doc)) problems.push(`${where}: no @param ${p}`);
          }
          if (!d.doc.includes("Requirements:")) problems.push(`${where}: no Requirements section`);
          if (!/Emits (a|an|one)/.test(d.doc)) problems.push(`${where}: no Emits line`);
        }
      }
    }
    expect(functions).to.be.greaterThan(60);
    expect(problems).to.deep.equal([]);
  });
});
