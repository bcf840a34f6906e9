/** The compute SDK: lease a workload, run it on its worker, read its status, usage and logs, stop it. */
export * from "./client";
export * from "./leaseWorkload";
export * from "./submitWorkload";
export * from "./readWorkload";
export * from "./closeLease";
export * from "./findLease";
export * from "./terminateDeadLease";
