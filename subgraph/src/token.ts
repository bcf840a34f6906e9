// HMSToken: ERC20Votes voting power (St, the votes stakeholders give bookkeeper candidates) and who delegates
// it to whom. Plain transfers and approvals are not indexed (subgraph/ignored-events.yaml).
import { Address, BigInt, Bytes } from "@graphprotocol/graph-ts";
import { DelegateChanged, DelegateVotesChanged } from "../generated/HMSToken/HMSToken";
import { Voter, VotingPower } from "../generated/schema";

function getVotingPower(account: Bytes, timestamp: BigInt): VotingPower {
  let v = VotingPower.load(account);
  if (v === null) {
    v = new VotingPower(account);
    v.votes = BigInt.zero();
  }
  v.updatedAt = timestamp;
  return v as VotingPower;
}

export function handleDelegateChanged(event: DelegateChanged): void {
  let voter = Voter.load(event.params.delegator);
  if (voter === null) voter = new Voter(event.params.delegator);
  let to = event.params.toDelegate;
  if (to.equals(Address.zero())) {
    voter.delegatee = null;
  } else {
    getVotingPower(to, event.block.timestamp).save();
    voter.delegatee = to;
  }
  voter.updatedAt = event.block.timestamp;
  voter.save();
}

export function handleDelegateVotesChanged(event: DelegateVotesChanged): void {
  let v = getVotingPower(event.params.delegate, event.block.timestamp);
  v.votes = event.params.newVotes;
  v.save();
}
