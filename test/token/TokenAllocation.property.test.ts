/**
 * Property: whatever the sequence of time jumps, scheduled releases and Operation releases,
 * released never exceeds the schedule, and the 800 M supply is conserved across all holders.
 */
import { expect } from "chai";
import fc from "fast-check";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { Bucket, HMS, YEAR, systemFixture } from "../helpers/fixtures";

type Action =
  | { kind: "jump"; seconds: bigint }
  | { kind: "release"; bucket: number }
  | { kind: "operation"; amount: bigint }
  | { kind: "releaseAll" };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant("jump" as const), seconds: fc.bigInt({ min: 1n, max: 3n * YEAR }) }),
  fc.record({
    kind: fc.constant("release" as const),
    bucket: fc.constantFrom(Bucket.IDO, Bucket.Technology, Bucket.Foundation),
  }),
  fc.record({ kind: fc.constant("operation" as const), amount: fc.bigInt({ min: 1n, max: HMS(30_000_000) }) }),
  fc.record({ kind: fc.constant("releaseAll" as const) }),
);

describe("TokenAllocation (property)", () => {
  it("never releases more than the schedule and conserves the 800 M supply", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const { token, allocation, foundation, signers, deployment } = await systemFixture();
        const recipient = signers[12].address;
        // Every deployed contract and every local account: the supply can only be among them.
        const holders = [
          ...Object.values(deployment.contracts).map((c) => c.address),
          ...signers.map((s) => s.address),
        ];
        for (const a of actions) {
          if (a.kind === "jump") await time.increase(a.seconds);
          else if (a.kind === "release") await allocation.release(a.bucket);
          else if (a.kind === "releaseAll") await allocation.releaseAll();
          else {
            const available = await allocation.releasable(Bucket.Operation);
            if (a.amount <= available) await allocation.connect(foundation).releaseOperation(recipient, a.amount, "fc");
            else {
              await expect(
                allocation.connect(foundation).releaseOperation(recipient, a.amount, "fc"),
              ).to.be.revertedWithCustomError(allocation, "ExceedsReleasable");
            }
          }
          const now = BigInt(await time.latest());
          for (const b of Object.values(Bucket)) {
            const released = await allocation.released(b);
            expect(released).to.be.at.most(await allocation.vestedAmount(b, now));
            expect(released).to.be.at.most(await allocation.bucketAmount(b));
          }
          let sum = 0n;
          for (const h of holders) sum += await token.balanceOf(h);
          expect(sum).to.equal(HMS(800_000_000));
        }
      }),
      { numRuns: 40 },
    );
  });
});
