/** `@hms-network/sdk/abis`: only the `as const` ABIs (no runtime besides the arrays). */
export * from "../../../offchain/chain/abis";
