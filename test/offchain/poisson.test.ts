import { expect } from "chai";
import fc from "fast-check";
import {
  MAX_SIGMA,
  PoissonError,
  WAD,
  estimateSigma,
  poissonLogLikelihood,
  poissonMle,
  sigmaTuple,
} from "../../offchain/protocol/poisson";

describe("offchain/protocol/poisson: σ from Poisson demand", () => {
  it("the MLE of a Poisson rate is the sample mean, exactly", () => {
    expect(poissonMle([3n, 5n, 7n])).to.deep.equal({ sum: 15n, count: 3n });
    expect(() => poissonMle([])).to.throw(PoissonError, /no samples/);
    expect(() => poissonMle([1n, -1n])).to.throw(PoissonError, /counts/);
  });

  it("property: the sample mean maximises the log-likelihood", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 60 }), { minLength: 1, maxLength: 40 }),
        fc.double({ min: 0.01, max: 0.9, noNaN: true }),
        (xs, d) => {
          const samples = xs.map(BigInt);
          const { sum, count } = poissonMle(samples);
          const mean = Number(sum) / Number(count);
          if (mean === 0) return; // the likelihood is maximal at λ → 0
          const at = poissonLogLikelihood(mean, samples);
          expect(at).to.be.at.least(poissonLogLikelihood(mean * (1 + d), samples) - 1e-9);
          expect(at).to.be.at.least(poissonLogLikelihood(mean * (1 - d), samples) - 1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("normalises the rates to a mean of 1 (σ = 4 λ̂ / Σ λ̂), in exact integer arithmetic", () => {
    const sigma = estimateSigma({
      cpu: [10n, 20n, 30n], // λ̂ = 20
      memory: [10n, 10n], // 10
      bandwidth: [5n, 5n, 5n, 5n], // 5
      storage: [5n], // 5
    });
    // Σ λ̂ = 40: σ = 4·20/40, 4·10/40, 4·5/40, 4·5/40.
    expect(sigmaTuple(sigma)).to.deep.equal([2n * WAD, WAD, WAD / 2n, WAD / 2n]);
    // No demand at all: σ = 1 everywhere. Clamps apply.
    const zeros = { cpu: [0n], memory: [0n], bandwidth: [0n], storage: [0n] };
    const none = estimateSigma(zeros);
    expect(sigmaTuple(none)).to.deep.equal([WAD, WAD, WAD, WAD]);
    const skewed = estimateSigma({ cpu: [1000n], memory: [0n], bandwidth: [0n], storage: [0n] });
    expect(sigmaTuple(skewed)).to.deep.equal([4n * WAD, WAD / 10n, WAD / 10n, WAD / 10n]);
    const capped = estimateSigma(
      { cpu: [1000n], memory: [0n], bandwidth: [0n], storage: [0n] },
      { max: 2n * WAD, min: 0n },
    );
    expect(sigmaTuple(capped)).to.deep.equal([2n * WAD, 0n, 0n, 0n]);
    expect(() => estimateSigma(zeros, { min: 2n, max: 1n })).to.throw(PoissonError);
    expect(() => estimateSigma(zeros, { max: MAX_SIGMA + 1n })).to.throw(PoissonError);
  });

  it("property: σ is deterministic, within bounds, and ordered like the demand", () => {
    const samples = fc.array(fc.bigInt({ min: 0n, max: 10_000n }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(samples, samples, samples, samples, (cpu, memory, bandwidth, storage) => {
        const input = { cpu, memory, bandwidth, storage };
        const sigma = estimateSigma(input);
        expect(estimateSigma(input)).to.deep.equal(sigma);
        const values = sigmaTuple(sigma);
        for (const s of values) {
          expect(s).to.be.at.least(WAD / 10n);
          expect(s).to.be.at.most(MAX_SIGMA);
        }
        const mean = (xs: bigint[]) => Number(xs.reduce((a, b) => a + b, 0n)) / xs.length;
        const means = [cpu, memory, bandwidth, storage].map(mean);
        for (let i = 0; i < 4; i++)
          for (let j = 0; j < 4; j++) if (means[i] > means[j]) expect(values[i]).to.be.at.least(values[j]);
        // Unclamped, the four σ sum to 4 (within rounding).
        const raw = sigmaTuple(estimateSigma(input, { min: 0n }));
        const total = raw.reduce((a, b) => a + b, 0n);
        if (means.some((m) => m > 0)) expect(4n * WAD - total).to.be.within(0n, 4n);
      }),
      { numRuns: 200 },
    );
  });
});
