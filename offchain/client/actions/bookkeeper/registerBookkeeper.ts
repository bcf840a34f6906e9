import type { Address, LocalAccount } from "viem";
import { BOOKKEEPER_KEY_SUBJECT, keyRegistrationProof } from "../../../chain/staking";
import {
  accountOf,
  addressOf,
  addressOfAccount,
  check,
  ensureAllowance,
  read,
  write,
  type WriteParameters,
} from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface RegisterBookkeeperParameters extends WriteParameters {
  /** Margin deposited now, HMS wei (at least the staking minimum). */
  amount: bigint;
  /** Commission on delegators' rewards, bps (at most the staking maximum). */
  commissionBps: number;
  /**
   * The validator daemon's signing key (its committee key): registered in the NodeRegistry first, with its proof,
   * unless the account already has one. Without it the account must have set its key before.
   */
  signingKey?: LocalAccount;
}
export interface RegisterBookkeeperReturnType extends TransactionResult {
  bookkeeper: Address;
  margin: bigint;
  commissionBps: number;
  signingKey: Address;
  /** The approval and key registration sent before, if any. */
  approval?: TransactionResult;
  keyRegistration?: TransactionResult;
}
export type RegisterBookkeeperErrorType = WriteErrorType;

/** Becomes a bookkeeper candidate: sets the signing key (if given), approves and deposits the margin. */
export async function registerBookkeeper(
  client: HmsClient,
  { amount, commissionBps, signingKey, account }: RegisterBookkeeperParameters,
): Promise<RegisterBookkeeperReturnType> {
  check(amount > 0n, "amount must be positive", amount);
  check(
    Number.isInteger(commissionBps) && commissionBps >= 0 && commissionBps <= 10_000,
    "commission in bps",
    commissionBps,
  );
  const bookkeeper = addressOfAccount(accountOf(client, account));
  let keyRegistration: TransactionResult | undefined;
  const current = await read<Address>(client, "NodeRegistry", "bookkeeperKeyOf", [bookkeeper]);
  if (signingKey !== undefined && current.toLowerCase() !== signingKey.address.toLowerCase()) {
    keyRegistration = (await setBookkeeperKeyTx(client, bookkeeper, signingKey, account)).tx;
  }
  const approval = await ensureAllowance(client, accountOf(client, account), "BookkeeperStaking", amount);
  const { tx } = await write(client, "BookkeeperStaking", "register", [amount, commissionBps], account);
  const info = await read<{ margin: bigint }>(client, "BookkeeperStaking", "bookkeeperInfo", [bookkeeper]);
  const key = await read<Address>(client, "NodeRegistry", "bookkeeperKeyOf", [bookkeeper]);
  return { ...tx, bookkeeper, margin: info.margin, commissionBps, signingKey: key, approval, keyRegistration };
}

/** NodeRegistry.setBookkeeperKey with the key's proof. */
export async function setBookkeeperKeyTx(
  client: HmsClient,
  bookkeeper: Address,
  signingKey: LocalAccount,
  account: WriteParameters["account"],
) {
  const nonce = await read<bigint>(client, "NodeRegistry", "nonces", [signingKey.address]);
  const proof = await keyRegistrationProof(signingKey, {
    chainId: client.deployment.chainId,
    registry: addressOf(client, "NodeRegistry"),
    registrant: bookkeeper,
    subject: BOOKKEEPER_KEY_SUBJECT,
    nonce,
  });
  return write(client, "NodeRegistry", "setBookkeeperKey", [signingKey.address, proof], account);
}
