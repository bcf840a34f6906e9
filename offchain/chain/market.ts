/**
 * The resource market on the off-chain side: its enums, the lease accounting and fee rule with the same
 * integer formulas as `ResourceMarket` (so a dApp can show balances or predict a settlement to the wei),
 * the EIP-2612 permit for order escrow, and decoding of the market's events from a receipt.
 *
 * ```ts
 * const permit = await escrowPermit(account, chainId, hms.HMSToken.address, hms.ResourceMarket.address,
 *   await hms.HMSToken.read.nonces([account.address]), orderEscrow(terms), deadline);
 * const receipt = await wait(await hms.ResourceMarket.write.createOrderWithPermit([terms, permit]));
 * const { orderId } = orderCreated(receipt);
 * ```
 *
 * See docs/MARKET.md for the protocol.
 */
import { parseEventLogs, type Address, type Log, type LocalAccount } from "viem";
import { resourceMarketAbi } from "./abis";
import { signPermit, type SplitPermit } from "../core/signing";
import { HmsError } from "../core/errors";

/** ResourceMarket.ResourceKind. Storage needs a storage node, Compute a container node, Bandwidth either. */
export const ResourceKind = { Storage: 0, Compute: 1, Bandwidth: 2 } as const;
/** ResourceMarket.OrderStatus. */
export const OrderStatus = { None: 0, Open: 1, Filled: 2, Cancelled: 3 } as const;
/** ResourceMarket.LeaseStatus. */
export const LeaseStatus = { None: 0, Active: 1, Closed: 2 } as const;
/** ResourceMarket.CloseReason. */
export const CloseReason = { None: 0, User: 1, Provider: 2, Oracle: 3, Expired: 4 } as const;

/** Basis-point denominator and the fee ceiling (1 %). */
export const BPS = 10_000n;
export const MAX_FEE_BPS = 100n;

/** Thrown for malformed input or a receipt without the expected market event; names the offending value. */
export class MarketError extends HmsError {
  constructor(message: string, value?: unknown) {
    super("CHAIN_MARKET", message, { value });
  }
}

/** The `OrderParams` tuple of `createOrder`. */
export interface OrderTerms {
  kind: number;
  units: bigint;
  /** HMS wei per unit per second (uint96). */
  maxPricePerUnitSecond: bigint;
  /** Seconds. */
  duration: bigint;
  /** Region code, 0 = any. */
  region: number;
  /** Lowest acceptable tier (0 Lite, 1 Normal, 2 Super). */
  minTier: number;
  /** Unix seconds; the order can be filled while block.timestamp < expiresAt. */
  expiresAt: bigint;
}

/** Escrow an order pulls: maxPricePerUnitSecond × units × duration. */
export function orderEscrow(terms: Pick<OrderTerms, "units" | "maxPricePerUnitSecond" | "duration">): bigint {
  if (terms.units <= 0n || terms.maxPricePerUnitSecond <= 0n || terms.duration <= 0n)
    throw new MarketError("units, price and duration must be positive", terms);
  return terms.maxPricePerUnitSecond * terms.units * terms.duration;
}

/** The fee split of one settlement: fee = floor(amount × feeBps / 10,000) to the treasury, the rest to the node. */
export function splitSettlement(amount: bigint, feeBps: bigint | number): { payout: bigint; fee: bigint } {
  const bps = BigInt(feeBps);
  if (amount < 0n) throw new MarketError("negative amount", amount);
  if (bps < 0n || bps > MAX_FEE_BPS) throw new MarketError(`fee ${bps} bps is outside 0..${MAX_FEE_BPS}`, feeBps);
  const fee = (amount * bps) / BPS;
  return { payout: amount - fee, fee };
}

/** The lease fields the accounting needs (a `getLease` result has them). */
export interface LeaseTimes {
  start: bigint;
  end: bigint;
  ratePerSecond: bigint;
  withdrawn: bigint;
}

/** Paid by the stream at time `t`: rate × (min(t, end) − start); never more than the escrow. */
export function accruedAt(lease: LeaseTimes, t: bigint): bigint {
  const until = t < lease.end ? t : lease.end;
  return until <= lease.start ? 0n : lease.ratePerSecond * (until - lease.start);
}

/** What a withdrawal at time `t` would settle, and a user close at `t` would refund. */
export function leaseBalancesAt(
  lease: LeaseTimes,
  t: bigint,
): { accrued: bigint; withdrawable: bigint; escrow: bigint; refundOnClose: bigint } {
  const accrued = accruedAt(lease, t);
  const escrow = lease.ratePerSecond * (lease.end - lease.start) - lease.withdrawn;
  return {
    accrued,
    withdrawable: accrued - lease.withdrawn,
    escrow,
    refundOnClose: escrow - (accrued - lease.withdrawn),
  };
}

/**
 * Signs the EIP-2612 permit that lets `market` pull `amount` from `account` (for `createOrderWithPermit` /
 * `topUpWithPermit`). `nonce` is `HMSToken.nonces(account)`.
 */
export function escrowPermit(
  account: LocalAccount,
  chainId: number | bigint,
  token: Address,
  market: Address,
  nonce: bigint,
  amount: bigint,
  deadline: bigint,
): Promise<SplitPermit> {
  return signPermit(account, chainId, token, { spender: market, value: amount, nonce, deadline });
}

type MarketLogs = ReturnType<typeof parseEventLogs<typeof resourceMarketAbi>>;
type EventName = MarketLogs[number]["eventName"];
type ArgsOf<N extends EventName> = Extract<MarketLogs[number], { eventName: N }>["args"];

/** Every ResourceMarket event of a receipt named `name`, decoded (other contracts' logs are ignored). */
export function marketEvents<N extends EventName>(receipt: { logs: Log[] }, name: N): ArgsOf<N>[] {
  return parseEventLogs({ abi: resourceMarketAbi, logs: receipt.logs, eventName: name }).map(
    (l) => l.args as ArgsOf<N>,
  );
}

function single<N extends EventName>(receipt: { logs: Log[] }, name: N): ArgsOf<N> {
  const found = marketEvents(receipt, name);
  if (found.length !== 1) throw new MarketError(`expected one ${name} event, found ${found.length}`, receipt);
  return found[0];
}

/** The OfferPosted event of a `postOffer` receipt. */
export const offerPosted = (receipt: { logs: Log[] }) => single(receipt, "OfferPosted");
/** The OrderCreated event of a `createOrder*` receipt. */
export const orderCreated = (receipt: { logs: Log[] }) => single(receipt, "OrderCreated");
/**
 * The `maxPricePerUnitSecond` of `takeOffer` / `matchOrder` that adds no limit of its own (the order's maximum still
 * applies). A dApp should pass the price it showed the user instead, so that a provider raising its offer just
 * before the transaction lands makes it revert (`PriceAboveMax`) rather than open the lease at a higher price.
 */
export const NO_PRICE_LIMIT = 2n ** 96n - 1n;

/** The LeaseStarted event of a `takeOffer` / `matchOrder` receipt. */
export const leaseStarted = (receipt: { logs: Log[] }) => single(receipt, "LeaseStarted");
