/**
 * Lets `npx hardhat test test/subgraph` run this folder (mocha requires the path given; Node resolves a folder to
 * its index). The whole suite loads each file once: modules are cached.
 */
import "./consistency.test";
import "./networks.test";
import "./replay.test";
