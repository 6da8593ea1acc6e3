/**
 * sdk/codes.ts is the SDK's one copy of every list it shares with the contracts. This test reads
 * the COMPILED contracts — the solc AST of contracts/libraries/MedLedgerTypes.sol from the build
 * info, and the ABI — and checks each list against them. No second hand-written list: a code
 * added or renumbered in Solidity and not in the SDK (or the reverse) fails here.
 */
import { readFile, readdir } from "node:fs/promises";

import { expect } from "chai";

import { ConsentRegistry__factory } from "../../types/typechain/index.js";
import {
  AccessBasis,
  AccessorStatus,
  Action,
  CONSENT_TERMS_FIELDS,
  Category,
  DenyReason,
  Effect,
  GranteeKind,
  OrgKind,
  Power,
  Purpose,
  ReviewOutcome,
  Role,
} from "../../sdk/codes.js";
import { CONSENT_TERMS_TYPE, GRANT_TYPES } from "../../sdk/chain/eip712.js";

interface AstNode {
  nodeType: string;
  name?: string;
  nodes?: AstNode[];
  members?: AstNode[];
  value?: AstNode;
  operator?: string;
  leftExpression?: AstNode;
  rightExpression?: AstNode;
  components?: AstNode[];
  kind?: string;
  constant?: boolean;
  typeDescriptions?: { typeString?: string };
  [key: string]: unknown;
}

const SOURCE = "contracts/libraries/MedLedgerTypes.sol";

/** The AST of MedLedgerTypes.sol from the compiler's build info. */
async function typesAst(): Promise<AstNode> {
  const dir = new URL("../../artifacts/build-info/", import.meta.url);
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".output.json"))) {
    const info = JSON.parse(await readFile(new URL(file, dir), "utf8")) as {
      output: { sources: Record<string, { ast: AstNode }> };
    };
    const key = Object.keys(info.output.sources).find((k) => k.endsWith(SOURCE));
    if (key !== undefined) return info.output.sources[key]!.ast;
  }
  throw new Error(`no build info holds ${SOURCE}: run npx hardhat build`);
}

/** Evaluates a constant's initializer (literals, <<, |, +, -, parentheses, other constants). */
function evaluate(node: AstNode, constants: Map<string, bigint>): bigint {
  switch (node.nodeType) {
    case "Literal":
      return BigInt(node.value as unknown as string);
    case "Identifier": {
      const v = constants.get(node.name!);
      if (v === undefined) throw new Error(`unknown constant ${node.name}`);
      return v;
    }
    case "TupleExpression":
      return evaluate(node.components![0]!, constants);
    case "BinaryOperation": {
      const l = evaluate(node.leftExpression!, constants);
      const r = evaluate(node.rightExpression!, constants);
      const ops: Record<string, (a: bigint, b: bigint) => bigint> = {
        "<<": (a, b) => a << b,
        "|": (a, b) => a | b,
        "+": (a, b) => a + b,
        "-": (a, b) => a - b,
      };
      const op = ops[node.operator!];
      if (op === undefined) throw new Error(`operator ${node.operator} not handled`);
      return op(l, r);
    }
    default:
      throw new Error(`${node.nodeType} not handled`);
  }
}

interface Compiled {
  constants: Map<string, bigint>;
  enums: Map<string, string[]>;
  structs: Map<string, string[]>;
}

async function compiled(): Promise<Compiled> {
  const ast = await typesAst();
  const constants = new Map<string, bigint>();
  const enums = new Map<string, string[]>();
  const structs = new Map<string, string[]>();
  for (const node of ast.nodes ?? []) {
    if (node.nodeType === "EnumDefinition")
      enums.set(
        node.name!,
        node.members!.map((m) => m.name!),
      );
    if (node.nodeType === "StructDefinition")
      structs.set(
        node.name!,
        node.members!.map((m) => m.name!),
      );
    if (node.nodeType === "ContractDefinition" && node.name === "Codes") {
      for (const c of node.nodes ?? []) {
        if (c.nodeType === "VariableDeclaration" && c.constant === true)
          constants.set(c.name!, evaluate(c.value!, constants));
      }
    }
  }
  return { constants, enums, structs };
}

/** The Codes constants with `prefix`, by their name without it (e.g. CAT_NOTES → NOTES). */
function withPrefix(c: Compiled, prefix: string, except: readonly string[] = []): Record<string, number> {
  return Object.fromEntries(
    [...c.constants]
      .filter(([name]) => name.startsWith(prefix) && !except.includes(name))
      .map(([name, v]) => [name.slice(prefix.length), Number(v)]),
  );
}

const asTable = (names: readonly string[], skip = 0) =>
  Object.fromEntries(names.slice(skip).map((n, i) => [n, i + skip]));

describe("sdk/codes: every list matches the compiled contracts", () => {
  let c: Compiled;
  before(async () => {
    c = await compiled();
    // The test reads real data: an empty AST would make every comparison trivially true.
    expect(c.constants.size).to.be.greaterThan(30);
    expect(c.enums.size).to.be.greaterThan(5);
  });

  it("categories are the Codes.CAT_* constants", () => {
    expect(Category).to.deep.equal(withPrefix(c, "CAT_"));
  });

  it("purposes of use are the Codes.PURPOSE_* constants", () => {
    expect(Purpose).to.deep.equal(withPrefix(c, "PURPOSE_", ["MAX_PURPOSE"]));
  });

  it("roles, actions and guardian powers are the Codes.ROLE_*, ACTION_*, POWER_* masks", () => {
    expect(Role).to.deep.equal(withPrefix(c, "ROLE_"));
    expect(Action).to.deep.equal(withPrefix(c, "ACTION_"));
    expect(Power).to.deep.equal(withPrefix(c, "POWER_"));
  });

  it("enums: organization kinds, effects, grantee kinds, accessor status, access basis, deny reasons, review outcomes", () => {
    expect(OrgKind).to.deep.equal(asTable(c.enums.get("OrgKind")!, 1)); // NONE is not a kind one admits
    expect(Effect).to.deep.equal(asTable(c.enums.get("Effect")!));
    expect(GranteeKind).to.deep.equal(asTable(c.enums.get("GranteeKind")!));
    expect([...AccessorStatus]).to.deep.equal(c.enums.get("AccessorStatus"));
    expect([...AccessBasis]).to.deep.equal(c.enums.get("AccessBasis"));
    expect([...DenyReason]).to.deep.equal(c.enums.get("DenyReason"));
    expect(ReviewOutcome).to.deep.equal(asTable(c.enums.get("ReviewOutcome")!));
  });

  it("ConsentTerms: the fields (names, order) of the struct and their ABI types; the EIP-712 type follows", () => {
    expect(CONSENT_TERMS_FIELDS.map((f) => f.name)).to.deep.equal(c.structs.get("ConsentTerms"));
    const grant = ConsentRegistry__factory.createInterface().getFunction("grant");
    const terms = grant.inputs.find((i) => i.name === "terms")!;
    expect(terms.components!.map((p) => ({ name: p.name, type: p.type }))).to.deep.equal(
      CONSENT_TERMS_FIELDS.map((f) => ({ name: f.name, type: f.type })),
    );
    expect(CONSENT_TERMS_TYPE).to.deep.equal(GRANT_TYPES.ConsentTerms);
  });

  it("would notice a drift (control: a changed AST value does not match)", () => {
    const drifted = new Map(c.constants).set("CAT_NOTES", 14n);
    expect(withPrefix({ ...c, constants: drifted }, "CAT_")).to.not.deep.equal(Category);
  });
});
