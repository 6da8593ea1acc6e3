/**
 * Optional peer dependencies (sdk/peers.ts, sdk/peers-node.ts): a part that needs a package the app
 * did not install fails with one DependencyMissingError naming every missing package and the
 * `npm install` line; an installed package loads (the same instance `import` gives). The packed
 * package's behaviour without the peers is checked by `npm run check:package`.
 */
import { expect } from "chai";
import fastifyImported from "fastify";

import { DependencyMissingError } from "../../sdk/errors.js";
import { loadOptionalDependencies } from "../../sdk/peers.js";
import { requireOptionalDependencies } from "../../sdk/peers-node.js";
import { keyholderServiceDependencies } from "../../sdk/keyholder/service/server.js";
import { expectRejection } from "../helpers/storage-behaviour.js";

const MISSING = "medledger-no-such-package";

describe("optional peer dependencies", function () {
  it("require: names every missing package and the install line, and what needs them", function () {
    let caught: unknown;
    try {
      requireOptionalDependencies("The keyholder service", ["fastify", MISSING, `${MISSING}-2`]);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(DependencyMissingError);
    const err = caught as DependencyMissingError;
    expect(err.shortMessage).to.equal(
      `The keyholder service needs the optional peer dependencies "${MISSING}", "${MISSING}-2", which are not installed`,
    );
    expect(err.details).to.equal(`install them next to medledger: npm install ${MISSING} ${MISSING}-2`);
    expect(err.code).to.equal("ML_DEPENDENCY_MISSING");
  });

  it("require: an installed package loads, as the same module instance import gives", function () {
    const { fastify, pino } = keyholderServiceDependencies();
    expect(fastify.fastify).to.equal(fastifyImported);
    expect(pino.pino).to.be.a("function");
  });

  it("import: names the feature and the missing package", async function () {
    const err = await expectRejection(
      loadOptionalDependencies({ [MISSING]: () => import(MISSING) }, [MISSING], "The PostgreSQL index store"),
      DependencyMissingError,
    );
    expect(err.shortMessage).to.equal(
      `The PostgreSQL index store needs the optional peer dependency "${MISSING}", which is not installed`,
    );
    expect(err.details).to.equal(`install it next to medledger: npm install ${MISSING}`);
  });
});
