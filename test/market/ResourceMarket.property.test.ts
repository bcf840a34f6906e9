/**
 * Invariants of the market's accounting, over 1,000 random action sequences (fast-check). Each
 * sequence starts from the same snapshot (loadFixture) with four offers at odd wei prices so that fee
 * rounding is exercised, and runs 1–8 random actions: orders, takes, matches, cancellations,
 * withdrawals (single and batch), closes by either side, oracle terminations and moves, top-ups, fee changes,
 * offer updates and time jumps. After EVERY action, read on chain in one call (MarketProbe):
 *
 *   1. conservation, exactly, against token balances:
 *        deposits = provider payouts + fees + refunds + live escrow
 *      where payouts, fees and live escrow are the payout addresses', the treasury's and the market's
 *      balances, and deposits / refunds are summed from the events; and the users' balances moved by
 *      exactly deposits − refunds;
 *   2. the market's balance equals the escrow it reports: Σ open-order escrow + Σ lease escrow;
 *   3. every settlement's fee is floor(amount × feeBps / 10,000) (≤ 1 wei below the exact 1 %, never
 *      above), and payout + fee = amount;
 *   4. no lease pays past its duration or its escrow: withdrawn ≤ accrued = rate × (min(now, end) −
 *      start), end ≤ start + the offer's maxDuration, and per lease deposits = withdrawn + refunds +
 *      escrow.
 *
 * Rejected actions must be rejected with one of the market's own custom errors (never a panic or a
 * token error); for withdraw, close, cancel and top-up the test predicts success or rejection.
 */
import { NO_PRICE_LIMIT } from "../../offchain/chain/market";
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { Kind, LeaseStatus, NODE_A, NODE_B, NODE_C, deployMarket, offer, type MarketFixture } from "./fixture";

const OFFERS = [
  { node: NODE_A, kind: Kind.Storage, price: 7n, units: 100n, minDuration: 1n, maxDuration: 5000n },
  { node: NODE_B, kind: Kind.Storage, price: 13n, units: 40n, minDuration: 1n, maxDuration: 4000n },
  { node: NODE_C, kind: Kind.Compute, price: 101n, units: 20n, minDuration: 10n, maxDuration: 3000n },
  { node: NODE_C, kind: Kind.Bandwidth, price: 3n, units: 60n, minDuration: 1n, maxDuration: 5000n },
];

async function propertyFixture() {
  const f = await deployMarket();
  const operators = { [NODE_A]: f.opA, [NODE_B]: f.opB, [NODE_C]: f.opC };
  for (const o of OFFERS) {
    await f.market.connect(operators[o.node]).postOffer(
      o.node,
      offer({
        kind: o.kind,
        units: o.units,
        pricePerUnitSecond: o.price,
        minDuration: o.minDuration,
        maxDuration: o.maxDuration,
      }),
    );
  }
  await f.scores.setScore(NODE_B, 3n * 10n ** 18n);
  // Two leases already running at the start of every sequence: storage (alice, offer 1) and compute
  // (bob, offer 3), ordered above the offer price so that the excess refund is exercised too.
  const order = (kind: number, units: bigint, maxPrice: bigint, duration: bigint) => ({
    kind,
    units,
    maxPricePerUnitSecond: maxPrice,
    duration,
    region: 0,
    minTier: 0,
    expiresAt: 2n ** 63n,
  });
  await f.market.connect(f.alice).createOrder(order(Kind.Storage, 9n, 10n, 2000n));
  await f.market.connect(f.alice).takeOffer(1, 1, NO_PRICE_LIMIT);
  await f.market.connect(f.bob).createOrder(order(Kind.Compute, 3n, 150n, 1500n));
  await f.market.connect(f.bob).takeOffer(2, 3, NO_PRICE_LIMIT);
  return { ...f, operators };
}

type Action =
  | { t: "order"; user: number; kind: number; units: bigint; maxPrice: bigint; duration: bigint; ttl: bigint }
  | { t: "deal"; user: number; kind: number; units: bigint; maxPrice: bigint; duration: bigint; how: number }
  | { t: "take"; order: number; offer: number }
  | { t: "match"; order: number }
  | { t: "cancel"; order: number; byOther: boolean }
  | { t: "withdraw"; lease: number }
  | { t: "batch"; a: number; b: number }
  | { t: "close"; lease: number; byProvider: boolean }
  | { t: "terminate"; lease: number; back: bigint }
  | { t: "move"; lease: number; offer: number }
  | { t: "topUp"; lease: number; extra: bigint }
  | { t: "time"; seconds: number }
  | { t: "fee"; bps: number }
  | { t: "update"; offer: number; price: bigint; units: bigint };

const ref = fc.nat({ max: 7 });
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("order" as const),
      user: fc.nat({ max: 1 }),
      kind: fc.constantFrom(Kind.Storage, Kind.Storage, Kind.Compute, Kind.Bandwidth),
      units: fc.bigInt({ min: 1n, max: 30n }),
      maxPrice: fc.bigInt({ min: 1n, max: 150n }),
      duration: fc.bigInt({ min: 1n, max: 3000n }),
      ttl: fc.bigInt({ min: 1n, max: 5000n }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("deal" as const),
      user: fc.nat({ max: 1 }),
      kind: fc.constantFrom(Kind.Storage, Kind.Storage, Kind.Compute, Kind.Bandwidth),
      units: fc.bigInt({ min: 1n, max: 15n }),
      maxPrice: fc.bigInt({ min: 5n, max: 150n }),
      duration: fc.bigInt({ min: 10n, max: 3000n }),
      how: fc.nat({ max: 4 }), // 0 = match, 1–4 = take that offer
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("take" as const), order: ref, offer: fc.nat({ max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("match" as const), order: ref }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("cancel" as const), order: ref, byOther: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("withdraw" as const), lease: ref }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("batch" as const), a: ref, b: ref }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("close" as const), lease: ref, byProvider: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant("move" as const), lease: ref, offer: fc.integer({ min: 1, max: 5 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("terminate" as const), lease: ref, back: fc.bigInt({ min: 0n, max: 300n }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant("topUp" as const), lease: ref, extra: fc.bigInt({ min: 1n, max: 2500n }) }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("time" as const), seconds: fc.integer({ min: 1, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("fee" as const), bps: fc.integer({ min: 0, max: 100 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("update" as const),
      offer: fc.integer({ min: 1, max: 4 }),
      price: fc.bigInt({ min: 1n, max: 150n }),
      units: fc.bigInt({ min: 1n, max: 100n }),
    }),
  },
);

/** The market's own custom errors: the only acceptable reasons for a rejected action. */
const ALLOWED = new Set([
  "OrderNotOpen",
  "OrderExpired",
  "NotOrderUser",
  "UnknownOffer",
  "OfferNotActive",
  "WrongKind",
  "PriceAboveMax",
  "InsufficientUnits",
  "DurationOutOfRange",
  "NoEligibleOffer",
  "NothingToWithdraw",
  "LeaseNotActive",
  "LeaseExpired",
  "ExceedsMaxDuration",
  "FailureTimeOutOfRange",
  "InvalidDurationRange",
  "SameOffer",
  "UnknownLease",
]);

type LeaseRecord = Awaited<ReturnType<MarketFixture["market"]["getLease"]>>["lease"];

interface LeaseModel {
  id: bigint;
  maxDuration: bigint;
  deposited: bigint;
  refunded: bigint;
  settled: bigint;
  /** The refund of its last LeaseClosed: carried to the new lease, not paid out, when a LeaseMoved follows. */
  lastClose: bigint;
}

class Run {
  deposits = 0n;
  refunds = 0n;
  fees = 0n;
  payouts = 0n;
  bps = 100n;
  settlements = 0;
  rejected = 0;
  orders: bigint[] = [];
  leases: LeaseModel[] = [];
  initialUsers = 0n;
  holders: string[] = [];
  /** Lease records as of the last probe, in `leases` order. */
  lastLeases: { lease: LeaseRecord; nodeId: string }[] = [];

  constructor(readonly f: Awaited<ReturnType<typeof propertyFixture>>) {}

  async init() {
    const { f } = this;
    this.holders = [f.alice, f.bob, f.payA, f.payB, f.payC, f.treasury].map((s) => s.address);
    this.holders.push(f.marketAddress);
    // Fold what the fixture already did (two leases) into the model, from the market's events.
    const history = await f.market.queryFilter("*" as never, 0);
    await this.fold(history);
    const [alice, bob, , , , treasury] = (await this.snapshot())[0];
    this.initialUsers = alice + bob + this.deposits - this.refunds;
    expect(treasury).to.equal(0n);
  }

  snapshot() {
    return this.f.probe.snapshot(
      this.f.token,
      this.holders,
      this.f.marketAddress,
      this.orders,
      this.leases.map((l) => l.id),
    );
  }

  leaseAt(i: number): LeaseModel | undefined {
    return this.leases.length === 0 ? undefined : this.leases[i % this.leases.length];
  }

  orderAt(i: number): bigint | undefined {
    return this.orders.length === 0 ? undefined : this.orders[i % this.orders.length];
  }

  /** The lease record as of the last probe. */
  view(l: LeaseModel) {
    const { lease, nodeId } = this.lastLeases[this.leases.indexOf(l)];
    const { user, start, end, maxEnd, status, ratePerSecond, withdrawn } = lease;
    return { nodeId, user, start, end, maxEnd, status, ratePerSecond, withdrawn };
  }

  /** Sends `tx`; on success folds its events into the model; on rejection checks the error. */
  async send(tx: () => Promise<ContractTransactionResponse>, expectSuccess?: boolean): Promise<boolean> {
    let response: ContractTransactionResponse;
    try {
      response = await tx();
    } catch (err) {
      const data = (err as { data?: string }).data;
      const parsed = data ? this.f.market.interface.parseError(data) : null;
      expect(parsed?.name, `unexpected rejection: ${String(err).slice(0, 200)}`).to.be.oneOf([...ALLOWED]);
      if (expectSuccess === true) expect.fail(`expected success, got ${parsed!.name}`);
      this.rejected++;
      return false;
    }
    if (expectSuccess === false) expect.fail("expected a rejection");
    const receipt = (await response.wait())!;
    await this.fold(receipt.logs);
    return true;
  }

  /** Folds market events into the model (sums, lease records) and checks every settlement's fee. */
  async fold(logs: readonly { topics: readonly string[]; data: string }[]) {
    for (const log of logs) {
      const p = this.f.market.interface.parseLog(log);
      if (!p) continue;
      const a = p.args;
      switch (p.name) {
        case "OrderCreated":
          this.deposits += a.escrow;
          this.orders.push(a.orderId);
          break;
        case "OrderCancelled":
          this.refunds += a.refund;
          break;
        case "LeaseStarted": {
          this.refunds += a.excessRefund;
          const offerId = Number(a.offerId);
          const stored = await this.f.market.getOffer(offerId);
          this.leases.push({
            id: a.leaseId,
            maxDuration: stored.maxDuration,
            deposited: a.escrow,
            refunded: 0n,
            settled: 0n,
            lastClose: 0n,
          });
          break;
        }
        case "LeaseToppedUp":
          this.deposits += a.amount;
          this.leases.find((l) => l.id === a.leaseId)!.deposited += a.amount;
          break;
        case "LeaseClosed": {
          this.refunds += a.refund;
          const closed = this.leases.find((l) => l.id === a.leaseId)!;
          closed.refunded += a.refund;
          closed.lastClose = a.refund;
          break;
        }
        case "LeaseMoved":
          // The old lease's freed escrow went to the new lease (its LeaseStarted escrow + excess refund), not
          // back to the user: undo it in the global refunds; the per-lease identity of the old lease still holds.
          this.refunds -= this.leases.find((l) => l.id === a.leaseId)!.lastClose;
          break;
        case "PaymentSettled": {
          // 3. the fee is exactly floor(amount × bps / 10,000): never above 1 %, at most 1 wei below.
          expect(a.fee).to.equal((a.amount * this.bps) / 10_000n);
          expect(a.fee * 10_000n).to.be.at.most(a.amount * this.bps);
          expect((a.fee + 1n) * 10_000n).to.be.greaterThan(a.amount * this.bps);
          expect(a.payout + a.fee).to.equal(a.amount);
          this.fees += a.fee;
          this.payouts += a.payout;
          this.settlements++;
          this.leases.find((l) => l.id === a.leaseId)!.settled += a.amount;
          break;
        }
        case "FeeBpsChanged":
          this.bps = a.current;
          break;
      }
    }
  }

  async check() {
    const [balances, orderEscrows, leases, now] = await this.snapshot();
    const [alice, bob, payA, payB, payC, treasury, market] = balances;
    // 1. conservation, exactly, against balances.
    expect(this.deposits).to.equal(payA + payB + payC + treasury + this.refunds + market);
    expect(this.initialUsers - (alice + bob)).to.equal(this.deposits - this.refunds);
    expect(treasury).to.equal(this.fees);
    expect(payA + payB + payC).to.equal(this.payouts);
    // 2. the market holds exactly the escrow it reports.
    let escrow = 0n;
    for (const e of orderEscrows) escrow += e;
    for (const l of leases) escrow += l.escrow;
    expect(market).to.equal(escrow);
    // 4. no lease pays past its duration or its escrow.
    for (const [i, v] of leases.entries()) {
      const m = this.leases[i];
      const { lease } = v;
      const until = now < lease.end ? now : lease.end;
      expect(v.accrued).to.equal(lease.ratePerSecond * (until - lease.start));
      expect(lease.withdrawn).to.be.at.most(v.accrued);
      expect(lease.withdrawn).to.equal(m.settled);
      expect(lease.end - lease.start).to.be.at.most(m.maxDuration);
      expect(lease.maxEnd - lease.start).to.equal(m.maxDuration);
      expect(m.deposited).to.equal(lease.withdrawn + m.refunded + v.escrow);
      expect(v.withdrawable).to.equal(v.accrued - lease.withdrawn);
    }
    this.lastLeases = leases;
  }

  async apply(a: Action) {
    const { f } = this;
    const { market } = f;
    const users = [f.alice, f.bob];
    const latest = BigInt(await time.latest());
    const next = latest + 1n; // pinned below: the next transaction's timestamp, for exact predictions
    if (a.t !== "time") await time.setNextBlockTimestamp(next);
    switch (a.t) {
      case "order": {
        const o = {
          kind: a.kind,
          units: a.units,
          maxPricePerUnitSecond: a.maxPrice,
          duration: a.duration,
          region: 0,
          minTier: 0,
          expiresAt: next + a.ttl,
        };
        await this.send(() => market.connect(users[a.user]).createOrder(o), true);
        return;
      }
      case "deal": {
        const o = {
          kind: a.kind,
          units: a.units,
          maxPricePerUnitSecond: a.maxPrice,
          duration: a.duration,
          region: 0,
          minTier: 0,
          expiresAt: next + 3600n,
        };
        const user = users[a.user];
        await this.send(() => market.connect(user).createOrder(o), true);
        const id = this.orders[this.orders.length - 1];
        await time.setNextBlockTimestamp(next + 1n);
        await this.send(() =>
          a.how === 0
            ? market.connect(user).matchOrder(id, NO_PRICE_LIMIT)
            : market.connect(user).takeOffer(id, a.how, NO_PRICE_LIMIT),
        );
        return;
      }
      case "take":
      case "match": {
        const id = this.orderAt(a.order);
        if (id === undefined) return;
        const [o] = await market.getOrder(id);
        const user = users.find((u) => u.address === o.user)!;
        await this.send(() =>
          a.t === "take"
            ? market.connect(user).takeOffer(id, a.offer, NO_PRICE_LIMIT)
            : market.connect(user).matchOrder(id, NO_PRICE_LIMIT),
        );
        return;
      }
      case "cancel": {
        const id = this.orderAt(a.order);
        if (id === undefined) return;
        const [o] = await market.getOrder(id);
        const caller = a.byOther
          ? o.user === f.alice.address
            ? f.bob
            : f.alice
          : users.find((u) => u.address === o.user)!;
        const ok = o.status === 1n && (!a.byOther || next >= o.expiresAt);
        if (!ok && o.status === 1n) {
          await expect(market.connect(caller).cancelOrder(id)).to.be.revertedWithCustomError(market, "NotOrderUser");
          return;
        }
        await this.send(() => market.connect(caller).cancelOrder(id), ok);
        return;
      }
      case "withdraw": {
        const l = this.leaseAt(a.lease);
        if (l === undefined) return;
        const v = this.view(l);
        const until = next < v.end ? next : v.end;
        const due = v.ratePerSecond * (until - v.start) - v.withdrawn;
        await this.send(() => market.connect(f.operators[v.nodeId]).withdraw(l.id), due > 0n);
        return;
      }
      case "batch": {
        const x = this.leaseAt(a.a);
        const y = this.leaseAt(a.b);
        if (x === undefined || y === undefined) return;
        const vx = this.view(x);
        const vy = this.view(y);
        if (vx.nodeId !== vy.nodeId) return;
        await this.send(() => market.connect(f.operators[vx.nodeId]).withdrawBatch([x.id, y.id]));
        return;
      }
      case "close": {
        const l = this.leaseAt(a.lease);
        if (l === undefined) return;
        const v = this.view(l);
        const caller = a.byProvider ? f.operators[v.nodeId] : users.find((u) => u.address === v.user)!;
        await this.send(() => market.connect(caller).closeLease(l.id), v.status === BigInt(LeaseStatus.Active));
        return;
      }
      case "terminate": {
        const l = this.leaseAt(a.lease);
        if (l === undefined) return;
        const failedAt = next - a.back;
        await this.send(() => market.connect(f.oracle).terminateLease(l.id, failedAt, ethers.ZeroHash));
        return;
      }
      case "move": {
        const l = this.leaseAt(a.lease);
        if (l === undefined) return;
        await this.send(() => market.connect(f.oracle).moveLease(l.id, a.offer, 0, ethers.ZeroHash));
        return;
      }
      case "topUp": {
        const l = this.leaseAt(a.lease);
        if (l === undefined) return;
        const v = this.view(l);
        const user = users.find((u) => u.address === v.user)!;
        const ok = v.status === BigInt(LeaseStatus.Active) && next < v.end && v.end + a.extra <= v.maxEnd;
        await this.send(() => market.connect(user).topUp(l.id, a.extra), ok);
        return;
      }
      case "time":
        await time.increaseTo(latest + BigInt(a.seconds));
        return;
      case "fee":
        await this.send(() => market.setFeeBps(a.bps), true);
        return;
      case "update": {
        const o = OFFERS[a.offer - 1];
        await this.send(
          () =>
            market.connect(f.operators[o.node]).updateOffer(a.offer, a.units, a.price, o.minDuration, o.maxDuration),
          true,
        );
        return;
      }
    }
  }
}

describe("ResourceMarket (property): conservation, fee rounding, no overdraw", () => {
  it("holds over 1,000 random action sequences, checked on chain after every action", async function () {
    this.timeout(600_000);
    const totals = { actions: 0, leases: 0, settlements: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), async (actions) => {
        const f = await loadFixture(propertyFixture);
        const run = new Run(f);
        await run.init();
        await run.check();
        for (const a of actions) {
          await run.apply(a);
          await run.check();
        }
        totals.actions += actions.length;
        totals.leases += run.leases.length - 2; // the fixture's two leases do not count
        totals.rejected += run.rejected;
        totals.settlements += run.settlements;
      }),
      { numRuns: 1000 },
    );
    // The generator must actually reach leases and settlements, not just reject everything.
    expect(totals.leases).to.be.greaterThan(150);
    expect(totals.settlements).to.be.greaterThan(300);
    console.log(
      `      ${totals.actions} actions (${totals.rejected} rejected as predicted or allowed), ` +
        `${totals.leases} new leases, ${totals.settlements} settlements over 1,000 sequences`,
    );
  });
});
