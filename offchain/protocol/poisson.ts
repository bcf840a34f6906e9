/**
 * Proof-of-Contribution coefficients σ from demand (PROTOCOL §6): demand per unit time for each resource (CPU,
 * memory, bandwidth, storage) is modelled as Poisson(λ_r); the maximum-likelihood estimate from samples
 * x_1..x_n is the sample mean λ̂_r = Σx / n. The coefficients are the estimates normalised to a mean of 1:
 *
 *     σ_r = 4 · λ̂_r / Σ_j λ̂_j        (18-decimal fixed point, then clamped to [min, max])
 *
 * so a resource in higher demand weighs more in the basic contribution (negative feedback: supply follows).
 * Computed in exact rational arithmetic (bigint), so every validator derives the same σ to the wei; the
 * bookkeeper quorum posts them with `ContributionRegistry.postCoefficients`.
 *
 * Pure: no I/O.
 */

import { HmsError } from "../core/errors";

/** The resources of the basic contribution, in ContributionRegistry.Resource order. */
export const RESOURCES = ["cpu", "memory", "bandwidth", "storage"] as const;
export type Resource = (typeof RESOURCES)[number];

export const WAD = 10n ** 18n;
/** ContributionRegistry.MAX_SIGMA. */
export const MAX_SIGMA = 16n * WAD;

/** Thrown for samples that admit no estimate, naming the offending value. */
export class PoissonError extends HmsError {
  constructor(message: string, value?: unknown) {
    super("PROTOCOL_POISSON", message, { value });
  }
}

/** λ̂ = Σx / n as an exact fraction. */
export interface Rate {
  sum: bigint;
  count: bigint;
}

function checkSamples(samples: readonly bigint[]): void {
  if (samples.length === 0) throw new PoissonError("no samples", samples);
  for (const x of samples) {
    if (x < 0n) throw new PoissonError(`Poisson samples are counts, got ${x}`, x);
  }
}

/** The maximum-likelihood estimate of a Poisson rate: the sample mean, as an exact fraction. */
export function poissonMle(samples: readonly bigint[]): Rate {
  checkSamples(samples);
  return { sum: samples.reduce((a, b) => a + b, 0n), count: BigInt(samples.length) };
}

/** The Poisson log-likelihood of `lambda` for integer samples: Σ (x ln λ − λ − ln x!). */
export function poissonLogLikelihood(lambda: number, samples: readonly bigint[]): number {
  checkSamples(samples);
  let ll = 0;
  for (const x of samples) {
    const k = Number(x);
    let lnFact = 0;
    for (let i = 2; i <= k; i++) lnFact += Math.log(i);
    ll += (k === 0 ? 0 : k * Math.log(lambda)) - lambda - lnFact;
  }
  return ll;
}

export interface SigmaOptions {
  /** Lower clamp of every σ (default 0.1 WAD): a resource nobody asks for still counts a little. */
  min?: bigint;
  /** Upper clamp of every σ (default MAX_SIGMA). */
  max?: bigint;
}

/**
 * σ for each resource from its demand samples: `σ_r = 4 · λ̂_r / Σ λ̂` in WAD (rounded down), clamped to
 * [min, max]. With no demand at all every σ is 1 WAD.
 */
export function estimateSigma(
  samples: Readonly<Record<Resource, readonly bigint[]>>,
  options: SigmaOptions = {},
): Record<Resource, bigint> {
  const min = options.min ?? WAD / 10n;
  const max = options.max ?? MAX_SIGMA;
  if (min < 0n || max < min || max > MAX_SIGMA) throw new PoissonError(`bad clamp [${min}, ${max}]`, options);
  const rates = RESOURCES.map((r) => poissonMle(samples[r]));
  // λ̂_r / Σ λ̂_j = (S_r Π_{k≠r} n_k) / Σ_j (S_j Π_{k≠j} n_k): exact with a common denominator.
  const product = rates.reduce((p, x) => p * x.count, 1n);
  const numerators = rates.map((x) => x.sum * (product / x.count));
  const denominator = numerators.reduce((a, b) => a + b, 0n);
  const out = {} as Record<Resource, bigint>;
  RESOURCES.forEach((r, i) => {
    const sigma = denominator === 0n ? WAD : (BigInt(RESOURCES.length) * WAD * numerators[i]) / denominator;
    out[r] = sigma < min ? min : sigma > max ? max : sigma;
  });
  return out;
}

/** σ in ContributionRegistry order (CPU, memory, bandwidth, storage), as `postCoefficients` takes them. */
export function sigmaTuple(sigma: Readonly<Record<Resource, bigint>>): [bigint, bigint, bigint, bigint] {
  return [sigma.cpu, sigma.memory, sigma.bandwidth, sigma.storage];
}
