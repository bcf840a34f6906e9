/**
 * Runs a call through the HMSTimelock the way governance would: schedule, wait the minimum delay,
 * execute. The caller must hold the proposer role (the deployer on local deployments).
 */
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import type { HMSTimelock } from "../../typechain-types";

let saltCounter = 0n;

export async function govern(timelock: HMSTimelock, target: string, data: string): Promise<void> {
  const salt = ethers.zeroPadValue(ethers.toBeHex(++saltCounter), 32);
  const delay = await timelock.getMinDelay();
  await (await timelock.schedule(target, 0, data, ethers.ZeroHash, salt, delay)).wait();
  await time.increase(delay);
  await (await timelock.execute(target, 0, data, ethers.ZeroHash, salt)).wait();
}
