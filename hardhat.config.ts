import { createRequire } from "node:module";

import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

/** The solc release we compile with, from the pinned npm `solc` package: builds never download. */
const SOLC_VERSION = "0.8.30";
/** Besu/GoQuorum QBFT networks run Cancun; OpenZeppelin >= 5.5 needs it (mcopy). */
const EVM_VERSION = "cancun";

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: require.resolve("solc/soljson.js"),
        settings: { evmVersion: EVM_VERSION, optimizer: { enabled: true, runs: 1000 } },
      },
      production: {
        version: SOLC_VERSION,
        path: require.resolve("solc/soljson.js"),
        settings: { evmVersion: EVM_VERSION, optimizer: { enabled: true, runs: 1000 } },
      },
    },
  },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1", hardfork: EVM_VERSION },
    default: { type: "edr-simulated", chainType: "l1", hardfork: EVM_VERSION },
    /** For `hardhat node --network qbftLike`: blocks every second, zero gas price, like a QBFT network. */
    qbftLike: {
      type: "edr-simulated",
      chainType: "l1",
      hardfork: EVM_VERSION,
      chainId: 31337,
      mining: { auto: false, interval: 1000 },
      initialBaseFeePerGas: 0,
      gasPrice: 0,
    },
    localhost: {
      type: "http",
      chainType: "l1",
      url: process.env.LOCALHOST_RPC_URL ?? "http://127.0.0.1:8545",
    },
    consortium: {
      type: "http",
      chainType: "l1",
      url: configVariable("CONSORTIUM_RPC_URL"),
      accounts: [configVariable("CONSORTIUM_DEPLOYER_KEY")],
    },
  },
  test: {
    solidity: { fuzz: { runs: 256 }, invariant: { runs: 128, depth: 128 } },
  },
  typechain: { outDir: "types/typechain" },
});
