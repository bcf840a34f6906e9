import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Bucket, HMS, QUARTER, YEAR, systemFixture } from "../helpers/fixtures";
import { govern } from "../helpers/governance";
import { HMSToken__factory, TokenAllocation__factory } from "../../typechain-types";

const TECH_CLIFF = 5n * YEAR;
const TECH_RATE = HMS(16_000_000);
const TECH_END = TECH_CLIFF + (HMS(104_000_000) * YEAR) / TECH_RATE; // 11.5 years
const FOUNDATION_CLIFF = 4n * YEAR;

/** Token + allocation deployed directly (no governance hand-over), for unit-level checks. */
async function bareAllocation() {
  const [deployer, foundation, ido, technology, foundationBeneficiary, stranger] = await ethers.getSigners();
  const nonce = await deployer.getNonce();
  const predicted = ethers.getCreateAddress({ from: deployer.address, nonce: nonce + 1 });
  const token = await new HMSToken__factory(deployer).deploy(predicted);
  const tge = BigInt(await time.latest()) + 10n;
  const allocation = await new TokenAllocation__factory(deployer).deploy(
    await token.getAddress(),
    tge,
    deployer.address,
    foundation.address,
    {
      ido: ido.address,
      technology: technology.address,
      foundation: foundationBeneficiary.address,
      mining: ethers.ZeroAddress,
    },
  );
  const receiver = await (await ethers.getContractFactory("MockReceiver")).deploy();
  return { token, allocation, tge, deployer, foundation, ido, technology, foundationBeneficiary, stranger, receiver };
}

describe("TokenAllocation", () => {
  describe("genesis", () => {
    it("holds exactly the 800 M supply split 25/13/10/15/37 %", async () => {
      const { token, allocation, deployment } = await systemFixture();
      const supply = await token.totalSupply();
      expect(supply).to.equal(HMS(800_000_000));
      const shares = { IDO: 25n, Technology: 13n, Operation: 10n, Foundation: 15n, Mining: 37n };
      let sum = 0n;
      for (const [name, pct] of Object.entries(shares)) {
        const amount = await allocation.bucketAmount(Bucket[name as keyof typeof Bucket]);
        expect(amount, name).to.equal((supply * pct) / 100n);
        sum += amount;
      }
      expect(sum).to.equal(supply);
      // The deployment moved the Mining bucket to the MiningPool (pullAllocation); the rest is still here.
      const mining = await allocation.bucketAmount(Bucket.Mining);
      expect(await token.balanceOf(await allocation.getAddress())).to.equal(supply - mining);
      expect(await token.balanceOf(deployment.contracts.MiningPool.address)).to.equal(mining);
    });

    it("rejects zero addresses, a zero TGE and a token balance that is not the allocation", async () => {
      const [deployer, a] = await ethers.getSigners();
      const Alloc = await ethers.getContractFactory("TokenAllocation");
      const tokenAddr = ethers.getCreateAddress({ from: deployer.address, nonce: (await deployer.getNonce()) + 1 });
      const token = await new HMSToken__factory(deployer).deploy(tokenAddr); // minted to an unrelated address
      const ok = { ido: a.address, technology: a.address, foundation: a.address, mining: ethers.ZeroAddress };
      await expect(Alloc.deploy(ethers.ZeroAddress, 1, a.address, a.address, ok)).to.be.revertedWithCustomError(
        Alloc,
        "ZeroAddress",
      );
      await expect(
        Alloc.deploy(await token.getAddress(), 1, a.address, a.address, { ...ok, ido: ethers.ZeroAddress }),
      ).to.be.revertedWithCustomError(Alloc, "ZeroAddress");
      await expect(
        Alloc.deploy(await token.getAddress(), 1, ethers.ZeroAddress, a.address, ok),
      ).to.be.revertedWithCustomError(Alloc, "ZeroAddress");
      await expect(Alloc.deploy(await token.getAddress(), 0, a.address, a.address, ok)).to.be.revertedWithCustomError(
        Alloc,
        "InvalidTge",
      );
      await expect(Alloc.deploy(await token.getAddress(), 1, a.address, a.address, ok))
        .to.be.revertedWithCustomError(Alloc, "AllocationMismatch")
        .withArgs(0, HMS(800_000_000));
      await expect(
        Alloc.deploy(await token.getAddress(), 1, a.address, a.address, { ...ok, mining: a.address }),
      ).to.be.revertedWithCustomError(Alloc, "AllocationMismatch");
    });

    it("token rejects a zero initial holder", async () => {
      const [deployer] = await ethers.getSigners();
      await expect(new HMSToken__factory(deployer).deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        new HMSToken__factory(deployer),
        "ZeroAddress",
      );
    });
  });

  describe("IDO: everything at TGE", () => {
    it("is locked one second before TGE and fully due at TGE", async () => {
      const { allocation, tge, ido, token } = await loadFixture(bareAllocation);
      expect(await allocation.vestedAmount(Bucket.IDO, tge - 1n)).to.equal(0);
      expect(await allocation.vestedAmount(Bucket.IDO, tge)).to.equal(HMS(200_000_000));
      await time.setNextBlockTimestamp(tge - 1n);
      await expect(allocation.release(Bucket.IDO)).to.not.emit(allocation, "Released");
      expect(await token.balanceOf(ido.address)).to.equal(0);
      await time.setNextBlockTimestamp(tge);
      await expect(allocation.release(Bucket.IDO))
        .to.emit(allocation, "Released")
        .withArgs(Bucket.IDO, ido.address, HMS(200_000_000), HMS(200_000_000));
      expect(await token.balanceOf(ido.address)).to.equal(HMS(200_000_000));
    });

    it("is idempotent: a second release moves nothing", async () => {
      const { allocation, ido, token } = await systemFixture();
      await allocation.release(Bucket.IDO);
      const before = await token.balanceOf(ido.address);
      await expect(allocation.release(Bucket.IDO)).to.not.emit(allocation, "Released");
      expect(await allocation.release.staticCall(Bucket.IDO)).to.equal(0);
      expect(await token.balanceOf(ido.address)).to.equal(before);
      expect(await allocation.released(Bucket.IDO)).to.equal(HMS(200_000_000));
    });
  });

  describe("Technology: 5-year lock, then 16 M per year", () => {
    it("releases nothing up to and at the cliff, then accrues per second", async () => {
      const { allocation, tge } = await systemFixture();
      const cliff = tge + TECH_CLIFF;
      expect(await allocation.vestedAmount(Bucket.Technology, cliff - 1n)).to.equal(0);
      expect(await allocation.vestedAmount(Bucket.Technology, cliff)).to.equal(0);
      expect(await allocation.vestedAmount(Bucket.Technology, cliff + 1n)).to.equal(TECH_RATE / YEAR);
      expect(await allocation.vestedAmount(Bucket.Technology, cliff + YEAR)).to.equal(HMS(16_000_000));
      const [start, end] = await allocation.scheduleOf(Bucket.Technology);
      expect(start).to.equal(cliff);
      expect(end).to.equal(tge + TECH_END);
    });

    it("completes at TGE + 11.5 years with no dust", async () => {
      const { allocation, tge, token, technology } = await systemFixture();
      const end = tge + TECH_END;
      expect(end - tge).to.equal((23n * YEAR) / 2n);
      expect(await allocation.vestedAmount(Bucket.Technology, end - 1n)).to.be.lessThan(HMS(104_000_000));
      expect(await allocation.vestedAmount(Bucket.Technology, end)).to.equal(HMS(104_000_000));
      expect(await allocation.vestedAmount(Bucket.Technology, end + 1n)).to.equal(HMS(104_000_000));
      // Release one second after the cliff, one second before the end, at the end and after it.
      for (const t of [tge + TECH_CLIFF + 1n, end - 1n, end, end + 1n]) {
        await time.setNextBlockTimestamp(t);
        await allocation.release(Bucket.Technology);
        expect(await allocation.released(Bucket.Technology)).to.equal(
          await allocation.vestedAmount(Bucket.Technology, t),
        );
      }
      expect(await token.balanceOf(technology.address)).to.equal(HMS(104_000_000));
      expect(await allocation.releasable(Bucket.Technology)).to.equal(0);
    });
  });

  describe("Foundation: 4-year lock, then 15 quarterly tranches of 8 M", () => {
    it("unlocks tranche k at TGE + 4 y + k quarters, exactly", async () => {
      const { allocation, tge } = await systemFixture();
      const base = tge + FOUNDATION_CLIFF;
      expect(await allocation.vestedAmount(Bucket.Foundation, base - 1n)).to.equal(0);
      expect(await allocation.vestedAmount(Bucket.Foundation, base)).to.equal(0);
      expect(await allocation.vestedAmount(Bucket.Foundation, base + 1n)).to.equal(0);
      for (let k = 1n; k <= 15n; k++) {
        const at = base + k * QUARTER;
        expect(await allocation.vestedAmount(Bucket.Foundation, at - 1n), `tranche ${k} - 1s`).to.equal(
          HMS(8_000_000) * (k - 1n),
        );
        expect(await allocation.vestedAmount(Bucket.Foundation, at), `tranche ${k}`).to.equal(HMS(8_000_000) * k);
        expect(await allocation.vestedAmount(Bucket.Foundation, at + 1n), `tranche ${k} + 1s`).to.equal(
          HMS(8_000_000) * k,
        );
      }
      expect(await allocation.vestedAmount(Bucket.Foundation, base + 100n * QUARTER)).to.equal(HMS(120_000_000));
      const [start, end] = await allocation.scheduleOf(Bucket.Foundation);
      expect([start, end]).to.deep.equal([base + QUARTER, base + 15n * QUARTER]);
    });

    it("pays each tranche once and ends with the whole bucket released", async () => {
      const { allocation, tge, token, foundationBeneficiary } = await systemFixture();
      const base = tge + FOUNDATION_CLIFF;
      await time.setNextBlockTimestamp(base + QUARTER - 1n);
      await expect(allocation.release(Bucket.Foundation)).to.not.emit(allocation, "Released");
      await time.setNextBlockTimestamp(base + QUARTER);
      await expect(allocation.release(Bucket.Foundation))
        .to.emit(allocation, "Released")
        .withArgs(Bucket.Foundation, foundationBeneficiary.address, HMS(8_000_000), HMS(8_000_000));
      await time.setNextBlockTimestamp(base + QUARTER + 1n);
      await expect(allocation.release(Bucket.Foundation)).to.not.emit(allocation, "Released");
      await time.increaseTo(base + 15n * QUARTER);
      await allocation.release(Bucket.Foundation);
      expect(await token.balanceOf(foundationBeneficiary.address)).to.equal(HMS(120_000_000));
      expect(await allocation.released(Bucket.Foundation)).to.equal(HMS(120_000_000));
    });
  });

  describe("Operation: foundation releases with a published reason", () => {
    it("releases to a recipient with amount, recipient and reason in the event", async () => {
      const { allocation, foundation, signers, token } = await systemFixture();
      const recipient = signers[9];
      const reason = "ipfs://bafkreiexampleoperationbudgetq1";
      await expect(allocation.connect(foundation).releaseOperation(recipient.address, HMS(1_000_000), reason))
        .to.emit(allocation, "OperationReleased")
        .withArgs(recipient.address, HMS(1_000_000), reason, HMS(1_000_000));
      expect(await token.balanceOf(recipient.address)).to.equal(HMS(1_000_000));
      expect(await allocation.releasable(Bucket.Operation)).to.equal(HMS(79_000_000));
    });

    it("rejects strangers, empty reasons, zero recipients or amounts, and more than remains", async () => {
      const { allocation, foundation, signers } = await systemFixture();
      const stranger = signers[8];
      await expect(allocation.connect(stranger).releaseOperation(stranger.address, 1, "x"))
        .to.be.revertedWithCustomError(allocation, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, await allocation.FOUNDATION_ROLE());
      await expect(
        allocation.connect(foundation).releaseOperation(stranger.address, 1, ""),
      ).to.be.revertedWithCustomError(allocation, "EmptyReason");
      await expect(
        allocation.connect(foundation).releaseOperation(ethers.ZeroAddress, 1, "x"),
      ).to.be.revertedWithCustomError(allocation, "ZeroAddress");
      await expect(
        allocation.connect(foundation).releaseOperation(stranger.address, 0, "x"),
      ).to.be.revertedWithCustomError(allocation, "ZeroAmount");
      await allocation.connect(foundation).releaseOperation(stranger.address, HMS(79_999_999), "most of it");
      await expect(allocation.connect(foundation).releaseOperation(stranger.address, HMS(2), "too much"))
        .to.be.revertedWithCustomError(allocation, "ExceedsReleasable")
        .withArgs(HMS(2), HMS(1));
      await allocation.connect(foundation).releaseOperation(stranger.address, HMS(1), "the rest");
      expect(await allocation.released(Bucket.Operation)).to.equal(HMS(80_000_000));
    });

    it("cannot be released through the scheduled path", async () => {
      const { allocation } = await systemFixture();
      await expect(allocation.release(Bucket.Operation)).to.be.revertedWithCustomError(
        allocation,
        "DiscretionaryBucket",
      );
    });
  });

  describe("Mining: held for the pool contract", () => {
    it("cannot be released before the pool is set, and the pool must be a contract", async () => {
      const { allocation, deployer, stranger, receiver } = await loadFixture(bareAllocation);
      await expect(allocation.release(Bucket.Mining))
        .to.be.revertedWithCustomError(allocation, "BeneficiaryNotSet")
        .withArgs(Bucket.Mining);
      await expect(allocation.setMiningPool(stranger.address))
        .to.be.revertedWithCustomError(allocation, "NotAContract")
        .withArgs(stranger.address);
      await expect(
        allocation.connect(stranger).setMiningPool(await receiver.getAddress()),
      ).to.be.revertedWithCustomError(allocation, "AccessControlUnauthorizedAccount");
      await expect(allocation.connect(deployer).setMiningPool(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        allocation,
        "ZeroAddress",
      );
    });

    it("moves all 296 M to the pool once set, and the pool is set only once", async () => {
      const { allocation, token, receiver, tge } = await loadFixture(bareAllocation);
      const pool = await receiver.getAddress();
      await expect(allocation.setMiningPool(pool))
        .to.emit(allocation, "BeneficiaryChanged")
        .withArgs(Bucket.Mining, ethers.ZeroAddress, pool);
      await expect(allocation.setMiningPool(pool)).to.be.revertedWithCustomError(allocation, "MiningPoolAlreadySet");
      await time.increaseTo(tge);
      await allocation.release(Bucket.Mining);
      expect(await token.balanceOf(pool)).to.equal(HMS(296_000_000));
      await expect(allocation.release(Bucket.Mining)).to.not.emit(allocation, "Released");
    });
  });

  describe("beneficiary changes: governance proposes, the new beneficiary accepts", () => {
    it("goes through the timelock and takes effect only on acceptance", async () => {
      const { allocation, timelock, signers, token, ido } = await systemFixture();
      const next = signers[7];
      const data = allocation.interface.encodeFunctionData("proposeBeneficiary", [Bucket.IDO, next.address]);
      await govern(timelock, await allocation.getAddress(), data);
      expect(await allocation.pendingBeneficiaryOf(Bucket.IDO)).to.equal(next.address);
      expect(await allocation.beneficiaryOf(Bucket.IDO)).to.equal(ido.address);
      await expect(allocation.connect(signers[6]).acceptBeneficiary(Bucket.IDO))
        .to.be.revertedWithCustomError(allocation, "NotPendingBeneficiary")
        .withArgs(Bucket.IDO, signers[6].address);
      await expect(allocation.connect(next).acceptBeneficiary(Bucket.IDO))
        .to.emit(allocation, "BeneficiaryChanged")
        .withArgs(Bucket.IDO, ido.address, next.address);
      await allocation.release(Bucket.IDO);
      expect(await token.balanceOf(next.address)).to.equal(HMS(200_000_000));
      expect(await token.balanceOf(ido.address)).to.equal(0);
    });

    it("rejects the deployer after hand-over, Operation, zero and EOA mining beneficiaries", async () => {
      const { allocation, deployer, signers } = await systemFixture();
      await expect(
        allocation.connect(deployer).proposeBeneficiary(Bucket.IDO, signers[7].address),
      ).to.be.revertedWithCustomError(allocation, "AccessControlUnauthorizedAccount");
      const bare = await loadFixture(bareAllocation);
      await expect(
        bare.allocation.proposeBeneficiary(Bucket.Operation, signers[7].address),
      ).to.be.revertedWithCustomError(bare.allocation, "DiscretionaryBucket");
      await expect(bare.allocation.proposeBeneficiary(Bucket.IDO, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        bare.allocation,
        "ZeroAddress",
      );
      await expect(bare.allocation.proposeBeneficiary(Bucket.Mining, signers[7].address)).to.be.revertedWithCustomError(
        bare.allocation,
        "NotAContract",
      );
      await expect(
        bare.allocation.connect(signers[7]).acceptBeneficiary(Bucket.Operation),
      ).to.be.revertedWithCustomError(bare.allocation, "NotPendingBeneficiary");
    });

    it("lets a contract take over the mining bucket in two steps", async () => {
      const { allocation, receiver } = await loadFixture(bareAllocation);
      const other = await (await ethers.getContractFactory("MockReceiver")).deploy();
      await allocation.setMiningPool(await receiver.getAddress());
      await allocation.proposeBeneficiary(Bucket.Mining, await other.getAddress());
      await other.accept(await allocation.getAddress(), Bucket.Mining);
      expect(await allocation.beneficiaryOf(Bucket.Mining)).to.equal(await other.getAddress());
    });
  });

  it("releaseAll releases every due scheduled bucket", async () => {
    const { allocation, tge, token, ido, technology, foundationBeneficiary } = await systemFixture();
    await time.increaseTo(tge + 12n * YEAR);
    await allocation.releaseAll();
    expect(await token.balanceOf(ido.address)).to.equal(HMS(200_000_000));
    expect(await token.balanceOf(technology.address)).to.equal(HMS(104_000_000));
    expect(await token.balanceOf(foundationBeneficiary.address)).to.equal(HMS(120_000_000));
  });
});
