// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IBookkeeperCommittee} from "../interfaces/IBookkeeperCommittee.sol";
import {IHMSErrors} from "../interfaces/IHMSErrors.sol";

/**
 * @title QuorumVerifier
 * @notice Verifies that more than 2/3 of an epoch's bookkeeper committee signed an EIP-712 digest, in
 *         O(signatures) and without per-signer storage reads (see IBookkeeperCommittee):
 *
 *         1. the caller passes the committee's signing keys (leader order, removed members as
 *            address(0)) as calldata; `keccak256(abi.encodePacked(keys))` must equal the epoch's
 *            `keysHash` from {IBookkeeperCommittee-committeeCommitment};
 *         2. `signers` is a bitmap over those keys (bit i = keys[i]); signatures come in the order of
 *            the set bits, as EIP-2098 compact pairs `(r, vs)`;
 *         3. each signature must recover (OZ ECDSA: low-s only, no malleability) to its key, which
 *            must not be address(0) (a slashed or dismissed member);
 *         4. the number of signatures must reach the committee's `quorum` (`size * 2 / 3 + 1`).
 *
 *         Signers are distinct because each bitmap bit is used once and a signing key belongs to at
 *         most one bookkeeper (NodeRegistry enforces a global key → owner map).
 *
 *         Which epochs may sign ({checkEpoch}): the committee of `lastElectedEpoch()`, and for `grace`
 *         seconds after that election (counted from the later of the election and the epoch's start) also
 *         the committee elected before it — the one that actually served until then, even when epochs
 *         were skipped in between — so that a message signed just before an election still lands.
 *
 *         Used by MiningPool and ContributionRegistry; anything else that is quorum-signed should use
 *         it too.
 */
library QuorumVerifier {
    /// @notice An EIP-2098 compact signature: `r` and `vs` (the top bit of `vs` is the y parity).
    struct Signature {
        bytes32 r;
        bytes32 vs;
    }

    /// @notice What a quorum-signed call carries besides its message.
    struct Quorum {
        /// @dev The epoch committee's signing keys, in leader order, removed members as address(0).
        address[] keys;
        /// @dev Bit i set = keys[i] signed; signatures follow the order of the set bits.
        uint256 signers;
        /// @dev One compact signature per set bit of `signers`, lowest bit first.
        Signature[] signatures;
    }

    /// @notice `epoch` may not sign now: only `lastElected` (or the committee elected before it, until `graceEnd`) may.
    error EpochNotAccepted(uint64 epoch, uint64 lastElected, uint256 graceEnd);
    /// @notice The keys passed hash to `passed`, not to the epoch's commitment `committed`.
    error CommitteeKeysMismatch(uint64 epoch, bytes32 passed, bytes32 committed);
    /// @notice The signer bitmap has a bit at or beyond the committee size.
    error SignerOutOfRange(uint256 signers, uint256 size);
    /// @notice The number of signatures does not match the number of set bits in the signer bitmap.
    error SignatureCountMismatch(uint256 bitsSet, uint256 signatures);
    /// @notice Fewer valid signatures than the quorum.
    error QuorumNotReached(uint256 signatures, uint256 quorum);
    /// @notice The member at `index` was removed from the committee (its key is zero) and cannot sign.
    error RemovedSigner(uint256 index);
    /// @notice The signature for member `index` recovers to `recovered`, not to its key `expected`.
    error InvalidSignature(uint256 index, address expected, address recovered);

    /**
     * @notice Reverts unless the committee of `epoch` may sign now (see the contract notice).
     * @param committee The bookkeeper committee (BookkeeperStaking).
     * @param epoch The epoch whose committee signed.
     * @param grace Seconds after the last election (or its epoch's start, if later) during which the
     *        committee elected before it is still accepted.
     */
    function checkEpoch(IBookkeeperCommittee committee, uint64 epoch, uint256 grace) internal view {
        uint64 last = committee.lastElectedEpoch();
        if (epoch == last) return;
        (uint64 electedAt, , uint64 previous, bool hasPrevious) = committee.committeeInfo(last);
        uint256 graceEnd;
        if (hasPrevious && epoch == previous) {
            // The committee that served until the election (epochs may have been skipped in between), from the
            // later of the election and the epoch start: a late election does not cut it off at once.
            uint256 start = committee.epochStart(last);
            graceEnd = (electedAt > start ? electedAt : start) + grace;
        }
        if (block.timestamp >= graceEnd) revert EpochNotAccepted(epoch, last, graceEnd);
    }

    /**
     * @notice Verifies that a quorum of `epoch`'s committee signed `digest`; reverts with a custom
     *         error otherwise.
     * @param committee The bookkeeper committee (BookkeeperStaking).
     * @param epoch The epoch whose committee signed.
     * @param digest The EIP-712 digest that was signed.
     * @param q Keys, signer bitmap and signatures.
     * @return count Number of valid signatures (at least the quorum).
     */
    function verify(
        IBookkeeperCommittee committee,
        uint64 epoch,
        bytes32 digest,
        Quorum calldata q
    ) internal view returns (uint256 count) {
        (bytes32 keysHash, uint256 size, uint256 quorum) = committee.committeeCommitment(epoch);
        if (size == 0) revert IHMSErrors.NoCommittee(epoch);
        address[] calldata keys = q.keys;
        bytes32 passed;
        assembly ("memory-safe") {
            // abi.encodePacked(address[]) pads every element to 32 bytes: exactly the calldata words.
            let ptr := mload(0x40)
            let len := shl(5, keys.length)
            calldatacopy(ptr, keys.offset, len)
            passed := keccak256(ptr, len)
        }
        if (passed != keysHash) revert CommitteeKeysMismatch(epoch, passed, keysHash);
        return _checkSignatures(digest, q, quorum);
    }

    /**
     * @notice Verifies further signatures of a digest already quorum-signed by `epoch`'s committee: the keys are
     *         checked against the commitment as in {verify}; each set bit of `q.signers` not in `known` must carry a
     *         valid signature by its (live) key; bits already in `known` are skipped, their signatures unchecked.
     *         No quorum is required.
     * @param committee The bookkeeper committee.
     * @param epoch The epoch whose committee signed.
     * @param digest The EIP-712 digest.
     * @param q Keys, bitmap of the signatures passed, and the signatures in bitmap order.
     * @param known Signer bits already recorded.
     * @return added The bits newly verified (none of them in `known`).
     */
    function verifyAdditional(
        IBookkeeperCommittee committee,
        uint64 epoch,
        bytes32 digest,
        Quorum calldata q,
        uint256 known
    ) internal view returns (uint256 added) {
        (bytes32 keysHash, uint256 size, ) = committee.committeeCommitment(epoch);
        if (size == 0) revert IHMSErrors.NoCommittee(epoch);
        bytes32 passed = _keysHash(q.keys);
        if (passed != keysHash) revert CommitteeKeysMismatch(epoch, passed, keysHash);
        return _checkAdditional(digest, q, known);
    }

    function _checkAdditional(bytes32 digest, Quorum calldata q, uint256 known) private pure returns (uint256 added) {
        address[] calldata keys = q.keys;
        uint256 bitmap = q.signers;
        if (keys.length < 256 && bitmap >> keys.length != 0) revert SignerOutOfRange(bitmap, keys.length);
        Signature[] calldata sigs = q.signatures;
        uint256 bits = popcount(bitmap);
        if (bits != sigs.length) revert SignatureCountMismatch(bits, sigs.length);
        uint256 j;
        for (uint256 i; bitmap != 0; ++i) {
            if (bitmap & 1 != 0) {
                if ((known >> i) & 1 == 0) {
                    address key = keys[i];
                    if (key == address(0)) revert RemovedSigner(i);
                    address recovered = _recover(digest, sigs[j]);
                    if (recovered != key) revert InvalidSignature(i, key, recovered);
                    added |= 1 << i;
                }
                unchecked {
                    ++j;
                }
            }
            bitmap >>= 1;
        }
    }

    /// @dev keccak256(abi.encodePacked(keys)): abi.encodePacked(address[]) pads every element to 32 bytes, exactly
    ///      the calldata words.
    function _keysHash(address[] calldata keys) private pure returns (bytes32 passed) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let len := shl(5, keys.length)
            calldatacopy(ptr, keys.offset, len)
            passed := keccak256(ptr, len)
        }
    }

    function _checkSignatures(bytes32 digest, Quorum calldata q, uint256 quorum) private pure returns (uint256 j) {
        address[] calldata keys = q.keys;
        uint256 bitmap = q.signers;
        if (keys.length < 256 && bitmap >> keys.length != 0) revert SignerOutOfRange(bitmap, keys.length);
        Signature[] calldata sigs = q.signatures;
        uint256 bits = popcount(bitmap);
        if (bits != sigs.length) revert SignatureCountMismatch(bits, sigs.length);
        if (bits < quorum) revert QuorumNotReached(bits, quorum);
        for (uint256 i; bitmap != 0; ++i) {
            if (bitmap & 1 != 0) {
                address key = keys[i];
                if (key == address(0)) revert RemovedSigner(i);
                address recovered = _recover(digest, sigs[j]);
                if (recovered != key) revert InvalidSignature(i, key, recovered);
                unchecked {
                    ++j;
                }
            }
            bitmap >>= 1;
        }
    }

    /// @dev OZ ECDSA recovery of a compact signature (low-s only); address(0) for an invalid signature.
    function _recover(bytes32 digest, Signature calldata sig) private pure returns (address recovered) {
        ECDSA.RecoverError err;
        (recovered, err, ) = ECDSA.tryRecover(digest, sig.r, sig.vs);
        if (err != ECDSA.RecoverError.NoError) recovered = address(0);
    }

    /**
     * @notice Number of set bits in `x`.
     * @param x The word.
     * @return c The population count.
     */
    function popcount(uint256 x) internal pure returns (uint256 c) {
        unchecked {
            x -= (x >> 1) & 0x5555555555555555555555555555555555555555555555555555555555555555;
            x =
                (x & 0x3333333333333333333333333333333333333333333333333333333333333333) +
                ((x >> 2) & 0x3333333333333333333333333333333333333333333333333333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
            // 16-bit lanes from here on: lane 0 ends up with the total (at most 256), no carries out.
            x = (x + (x >> 8)) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff;
            x += x >> 16;
            x += x >> 32;
            x += x >> 64;
            x += x >> 128;
            c = x & 0xffff;
        }
    }
}
