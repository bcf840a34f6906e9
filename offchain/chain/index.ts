/** Chain access for dApps and daemons: ABIs, the deployment file, typed contracts, deployment. */
export * from "./abis";
export * from "./deployment";
export * from "./contracts";
export * from "./deploy";
export * from "./staking";
export * from "./rewards";
export * from "./market";
export * from "./local";
