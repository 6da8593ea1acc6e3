/**
 * sdk/codes.ts is the SDK's one copy of every list it shares with the contracts. This test reads
 * the COMPILED contracts — the solc AST of contracts/libraries/MedLedgerTypes.sol from the build
 * info, and the ABI — and checks each list against them. No second hand-written list: a code
 * added or renumbered in Solidity and not in the SDK (or the reverse) fails here.
 */
import { readFile, readdir } from "node:fs/promises";

import { expect } from "chai";

import { TypedDataEncoder } from "ethers";

import { ConsentRegistry__factory } from "../../types/typechain/index.js";
import {
  ALL_CATEGORIES,
  ALL_LABELS,
  ALL_PURPOSES,
  AccessBasis,
  AccessorStatus,
  Action,
  CONSENT_TERMS_FIELDS,
  Category,
  DenyReason,
  Effect,
  GranteeKind,
  LABEL_NAMES,
  Label,
  OrgKind,
  Power,
  Purpose,
  ReviewOutcome,
  Role,
} from "../../sdk/codes.js";
import {
  CONSENT_DOMAIN_NAME,
  CONSENT_DOMAIN_VERSION,
  CONSENT_TERMS_TYPE,
  GRANT_TYPES,
  REVOKE_TYPES,
} from "../../sdk/chain/eip712.js";
import { ALL_LABELS_MASK } from "../../sdk/sealed/commitments.js";

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

/**
 * The AST of a source file from the build info its current artifact names (`buildInfoId`): an
 * older build's info may still lie beside it.
 */
async function sourceAst(source: string): Promise<AstNode> {
  const root = new URL("../../artifacts/", import.meta.url);
  const dir = new URL(`${source}/`, root);
  const name = (await readdir(dir).catch(() => [])).find((f) => f.endsWith(".json"));
  const artifact = (name === undefined ? {} : JSON.parse(await readFile(new URL(name, dir), "utf8"))) as {
    buildInfoId?: string;
  };
  if (artifact.buildInfoId === undefined) throw new Error(`no artifact for ${source}: run npx hardhat build`);
  const info = JSON.parse(await readFile(new URL(`build-info/${artifact.buildInfoId}.output.json`, root), "utf8")) as {
    output: { sources: Record<string, { ast: AstNode }> };
  };
  const key = Object.keys(info.output.sources).find((k) => k.endsWith(source));
  if (key === undefined) throw new Error(`build info ${artifact.buildInfoId} does not hold ${source}`);
  return info.output.sources[key]!.ast;
}

/** Every node of an AST, depth first. */
function* walk(node: unknown): Generator<AstNode> {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const n of node) yield* walk(n);
    return;
  }
  const n = node as AstNode;
  if (typeof n.nodeType === "string") yield n;
  for (const v of Object.values(n)) if (typeof v === "object") yield* walk(v);
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
    case "FunctionCall": // a type conversion, e.g. uint16(x)
      if (node.kind !== "typeConversion") throw new Error(`call ${String(node.kind)} not handled`);
      return evaluate((node.arguments as AstNode[])[0]!, constants);
    case "MemberAccess": {
      // type(uintN).max
      const bits = /^uint(\d+)$/.exec(node.typeDescriptions?.typeString ?? "")?.[1];
      if (node.memberName !== "max" || bits === undefined)
        throw new Error(`member ${String(node.memberName)} not handled`);
      return (1n << BigInt(bits)) - 1n;
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
  const ast = await sourceAst(SOURCE);
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

  it("labels are SDK-only: the contracts' Codes name no sensitive class; the categories are 0..15 and nothing else", () => {
    const names = [...c.constants.keys()];
    for (const label of LABEL_NAMES)
      expect(
        names.filter((n) => n.includes(label)),
        label,
      ).to.deep.equal([]);
    expect(Object.values(Category).sort((a, b) => a - b)).to.deep.equal([...Array(16).keys()]);
    expect(c.constants.get("MAX_CATEGORY")).to.equal(15n);
    // The label bits are the sealed commitments' format.
    expect(Object.values(Label).reduce((m, b) => m | b, 0)).to.equal(ALL_LABELS);
    expect(ALL_LABELS).to.equal(ALL_LABELS_MASK);
  });

  it("the masks of everything: ALL_CATEGORIES and ALL_PURPOSES are the Codes constants", () => {
    expect(BigInt(ALL_CATEGORIES)).to.equal(c.constants.get("ALL_CATEGORIES"));
    expect(BigInt(ALL_PURPOSES)).to.equal(c.constants.get("ALL_PURPOSES"));
  });

  it("EIP-712: the Grant and Revoke type strings and the domain are ConsentRegistry's", async () => {
    const ast = await sourceAst("contracts/ConsentRegistry.sol");
    const literal = (name: string): string => {
      const decl = [...walk(ast)].find((n) => n.nodeType === "VariableDeclaration" && n.name === name);
      const call = decl?.value;
      const arg = (call?.arguments as AstNode[] | undefined)?.[0];
      if (arg?.nodeType !== "Literal") throw new Error(`${name} is not keccak256 of a string literal`);
      return arg.value as unknown as string;
    };
    expect(TypedDataEncoder.from(GRANT_TYPES).encodeType("Grant")).to.equal(literal("GRANT_TYPEHASH"));
    expect(TypedDataEncoder.from(REVOKE_TYPES).encodeType("Revoke")).to.equal(literal("REVOKE_TYPEHASH"));
    expect(TypedDataEncoder.from({ ConsentTerms: CONSENT_TERMS_TYPE }).encodeType("ConsentTerms")).to.equal(
      literal("TERMS_TYPEHASH"),
    );
    const eip712 = [...walk(ast)].find(
      (n) => n.nodeType === "ModifierInvocation" && (n.modifierName as AstNode | undefined)?.name === "EIP712",
    );
    const args = (eip712?.arguments as AstNode[]).map((a) => a.value as unknown as string);
    expect(args).to.deep.equal([CONSENT_DOMAIN_NAME, CONSENT_DOMAIN_VERSION]);
  });

  it("would notice a drift (control: a changed AST value does not match)", () => {
    const drifted = new Map(c.constants).set("CAT_NOTES", 14n);
    expect(withPrefix({ ...c, constants: drifted }, "CAT_")).to.not.deep.equal(Category);
  });
});
