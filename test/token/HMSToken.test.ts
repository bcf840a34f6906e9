import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { Bucket, HMS, systemFixture } from "../helpers/fixtures";

describe("HMSToken", () => {
  it("is HMS / HMS / 18 decimals with a fixed 800 M supply", async () => {
    const { token } = await systemFixture();
    expect(await token.name()).to.equal("HMS");
    expect(await token.symbol()).to.equal("HMS");
    expect(await token.decimals()).to.equal(18);
    expect(await token.totalSupply()).to.equal(HMS(800_000_000));
    expect(await token.TOTAL_SUPPLY()).to.equal(HMS(800_000_000));
  });

  it("has no function that could mint, burn, pause or move someone else's balance without approval", async () => {
    const { token } = await systemFixture();
    const names = token.interface.fragments
      .filter((f) => f.type === "function")
      .map((f) => (f as unknown as { name: string }).name);
    for (const forbidden of ["mint", "burn", "burnFrom", "pause", "owner", "transferOwnership", "grantRole"]) {
      expect(names, forbidden).to.not.include(forbidden);
    }
  });

  it("supports EIP-2612 permit", async () => {
    const { token, allocation, signers } = await systemFixture();
    await allocation.release(Bucket.IDO);
    const [, , ido] = signers;
    const spender = signers[9];
    const deadline = BigInt(await time.latest()) + 3600n;
    const { chainId } = await ethers.provider.getNetwork();
    const signature = await ido.signTypedData(
      { name: "HMS", version: "1", chainId, verifyingContract: await token.getAddress() },
      {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      { owner: ido.address, spender: spender.address, value: HMS(5), nonce: 0, deadline },
    );
    const { v, r, s } = ethers.Signature.from(signature);
    await token.permit(ido.address, spender.address, HMS(5), deadline, v, r, s);
    expect(await token.allowance(ido.address, spender.address)).to.equal(HMS(5));
    expect(await token.nonces(ido.address)).to.equal(1);
    await expect(token.permit(ido.address, spender.address, HMS(5), deadline, v, r, s)).to.be.revertedWithCustomError(
      token,
      "ERC2612InvalidSigner",
    );
  });

  it("counts votes on a timestamp clock so elections can snapshot at an epoch boundary", async () => {
    const { token, allocation, signers } = await systemFixture();
    await allocation.release(Bucket.IDO);
    const [, , ido] = signers;
    const candidate = signers[10];
    expect(await token.CLOCK_MODE()).to.equal("mode=timestamp");
    expect(await token.clock()).to.equal(await time.latest());
    await token.connect(ido).delegate(candidate.address);
    const delegatedAt = await time.latest();
    await time.increase(100);
    expect(await token.getVotes(candidate.address)).to.equal(HMS(200_000_000));
    expect(await token.getPastVotes(candidate.address, delegatedAt - 1)).to.equal(0);
    expect(await token.getPastVotes(candidate.address, delegatedAt)).to.equal(HMS(200_000_000));
    await token.connect(ido).transfer(signers[11].address, HMS(50_000_000));
    expect(await token.getVotes(candidate.address)).to.equal(HMS(150_000_000));
  });
});
