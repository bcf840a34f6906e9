// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {QuorumVerifier} from "./QuorumVerifier.sol";

/**
 * @title EmissionSchedule
 * @notice Halving emission `E(p) = E0 >> floor(p / H)` (integer halvings, as Bitcoin) and its cumulative sum in
 *         closed form, O(1) whatever the number of periods or halvings:
 *
 *         Σ_{j ≥ 0} floor(n / 2^j) = 2n − popcount(n), hence Σ_{j < k} (E0 >> j) = S(E0) − S(E0 >> k) with
 *         S(n) = 2n − popcount(n), and
 *
 *             cumulative(p) = Σ_{q < p} E(q) = H · (S(E0) − S(E0 >> k)) + (p mod H) · (E0 >> k),  k = p / H.
 *
 *         The whole schedule sums to `total = H · S(E0) ≤ 2 · H · E0`; with `E0 = pool / (2H)` it never
 *         exceeds the pool.
 */
library EmissionSchedule {
    /**
     * @notice `S(n) = Σ_{j ≥ 0} floor(n / 2^j) = 2n − popcount(n)`.
     * @param n The value.
     * @return The sum of all its halvings.
     */
    function halvingSum(uint256 n) internal pure returns (uint256) {
        return 2 * n - QuorumVerifier.popcount(n);
    }

    /**
     * @notice Emission of period `p`.
     * @param e0 Emission of every period before the first halving.
     * @param h Halving interval in periods.
     * @param p The period.
     * @return `e0 >> (p / h)`.
     */
    function emissionAt(uint256 e0, uint256 h, uint256 p) internal pure returns (uint256) {
        uint256 k = p / h;
        return k >= 256 ? 0 : e0 >> k;
    }

    /**
     * @notice Sum of the emission of periods `0 .. p - 1`.
     * @param e0 Emission of every period before the first halving.
     * @param h Halving interval in periods.
     * @param p Number of periods.
     * @return The cumulative emission.
     */
    function cumulative(uint256 e0, uint256 h, uint256 p) internal pure returns (uint256) {
        uint256 k = p / h;
        if (k == 0) return p * e0;
        uint256 ek = k >= 256 ? 0 : e0 >> k;
        return h * (halvingSum(e0) - halvingSum(ek)) + (p % h) * ek;
    }
}
