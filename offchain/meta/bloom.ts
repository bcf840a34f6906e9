/**
 * The index's Bloom filter: answers "definitely not here" for a root CID or an owner + path before the index
 * (LevelDB) is touched. Built on `bloom-filters` (its `BloomFilter`: optimal size and hash count for a capacity
 * and a false-positive rate — 1 % gives 9.59 bits per element and 7 hashes). The library hashes with xxhashjs
 * (≈ 17 µs per lookup in Node); {@link FastHashing} plugs a 53-bit string hash (cyrb53) into the library's own
 * double-hashing extension point (`Hashing.serialize`, documented as overridable) and is ~10× faster.
 *
 * A Bloom filter cannot forget: rm and mv leave their old keys behind as false positives until the next
 * rebuild, and more elements than the capacity raise the rate; {@link IndexBloom.needsRebuild} tells the index
 * when to rebuild it (with room to grow). Pure: no I/O.
 */
import { BloomFilter, Hashing } from "bloom-filters";
import type { Address } from "viem";

/** Target false-positive rate (PROTOCOL §8: ≤ 1 % at < 10 bits per element). */
export const DEFAULT_FALSE_POSITIVE_RATE = 0.01;
/** Smallest capacity a filter is built for. */
export const MIN_CAPACITY = 1024;
/** A rebuild sizes the filter for this many times the current count (room to grow). */
export const GROWTH = 2;

/** cyrb53 (public domain, bryc): a fast, well-mixed 53-bit hash of a string with a seed. */
export function cyrb53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The library's hashing with {@link cyrb53} as the base hash (same double hashing on top). The base hash is cut
 * to 32 bits: the library combines two base hashes as `a + n·b` in doubles, and 53-bit inputs lose their low
 * bits there (4 % false positives instead of 1 % — the test measures it).
 */
export class FastHashing extends Hashing {
  override serialize(element: unknown, seed?: number): number {
    const text = typeof element === "string" ? element : String(element);
    return cyrb53(text, seed ?? 0x5eed) % 4294967296;
  }
}

/** Options of {@link IndexBloom.create}. */
export interface BloomOptions {
  /** Elements the filter is sized for (at least {@link MIN_CAPACITY}). */
  capacity: number;
  /** Target false-positive rate at capacity; default 1 %. */
  falsePositiveRate?: number;
  /** Hash seed (a fixed seed makes the filter, and its false positives, reproducible). */
  seed?: number;
  /** Use the library's default xxhashjs hashing (the baseline of the benchmark). */
  libraryHashing?: boolean;
}

/** The Bloom filter of the index's keys. */
export class IndexBloom {
  private added = 0;

  private constructor(
    private readonly filter: BloomFilter,
    readonly capacity: number,
    readonly falsePositiveRate: number,
  ) {}

  static create(options: BloomOptions): IndexBloom {
    const capacity = Math.max(MIN_CAPACITY, Math.ceil(options.capacity));
    const rate = options.falsePositiveRate ?? DEFAULT_FALSE_POSITIVE_RATE;
    const filter = BloomFilter.create(capacity, rate);
    filter.seed = options.seed ?? 0x5eed;
    if (options.libraryHashing !== true) filter._hashing = new FastHashing();
    return new IndexBloom(filter, capacity, rate);
  }

  /** Key of a root CID. */
  static cidKey(cid: string): string {
    return `c:${cid}`;
  }

  /** Key of a file path in an owner's namespace. */
  static pathKey(owner: Address, path: string): string {
    return `p:${owner.toLowerCase()}:${path}`;
  }

  add(key: string): void {
    this.filter.add(key);
    this.added++;
  }

  /** False: `key` was never added (definitely not in the index). True: it may have been. */
  mightContain(key: string): boolean {
    return this.filter.has(key);
  }

  /** Keys added (including ones since removed from the index). */
  get count(): number {
    return this.added;
  }

  /** Size in bits. */
  get bits(): number {
    return this.filter.size;
  }

  get hashes(): number {
    return this.filter._nbHashes;
  }

  /** Bits per element at capacity. */
  get bitsPerElement(): number {
    return this.filter.size / this.capacity;
  }

  /** More keys than the filter was sized for: the false-positive rate is above target, rebuild it. */
  get needsRebuild(): boolean {
    return this.added > this.capacity;
  }

  /** The expected false-positive rate with the current count: (1 − e^(−k·n/m))^k. */
  get expectedFalsePositiveRate(): number {
    const k = this.hashes;
    return Math.pow(1 - Math.exp((-k * this.added) / this.bits), k);
  }
}
