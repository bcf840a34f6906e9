/**
 * Benchmark workload: batches of traffic records, the payload the PBFT committee orders (PPoV measured
 * blocks of 10,000 transactions). One record, 236 bytes, binary:
 *
 *   taskId 32 | nodeId 32 | client 20 | bytesServed 8 | period 8 | client sig 65 | node sig 65 | flags 6
 *
 * A batch is `tb1:<period>:<count>:` followed by the base64 of the concatenated records. `validateBatch`
 * is the deterministic check a replica runs before preparing: format, count, every record's period,
 * non-zero byte counts and well-formed signature bytes (v = 27/28, s in the lower half). It does not
 * recover the 20,000 signers — the meta layer verifies receipts before proposing a batch; consensus
 * (what PPoV measured, and what this benchmark measures) orders and certifies the batch.
 */
import { Prng } from "../consensus/pbft/sim/prng";

export const RECORD_BYTES = 236;
const HALF_N_HIGH_BYTE = 0x7f; // s ≤ n/2 ⇒ first byte ≤ 0x7f

/** A batch of `count` records for `period`, deterministic in `seed`. */
export function makeBatch(count: number, period: number, seed: number): string {
  const rng = new Prng(seed);
  const buf = Buffer.allocUnsafe(count * RECORD_BYTES);
  for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE(rng.nextU32(), i);
  for (let r = 0; r < count; r++) {
    const o = r * RECORD_BYTES;
    buf.writeBigUInt64BE(BigInt(1 + (rng.nextU32() % 1_000_000_000)), o + 84); // bytes served
    buf.writeBigUInt64BE(BigInt(period), o + 92);
    for (const sigAt of [o + 100, o + 165]) {
      buf[sigAt + 32] &= HALF_N_HIGH_BYTE; // low s
      buf[sigAt + 64] = 27 + (buf[sigAt + 64] & 1); // v
    }
  }
  return `tb1:${period}:${count}:${buf.toString("base64")}`;
}

/** Deterministic validity of a batch (see the module comment). Never throws. */
export function validateBatch(request: string): boolean {
  const m = /^tb1:(\d{1,12}):(\d{1,7}):/.exec(request);
  if (m === null) return false;
  const count = Number(m[2]);
  const buf = Buffer.from(request.slice(m[0].length), "base64");
  if (buf.length !== count * RECORD_BYTES) return false;
  const period = Buffer.alloc(8);
  period.writeBigUInt64BE(BigInt(m[1]));
  for (let r = 0; r < count; r++) {
    const o = r * RECORD_BYTES;
    let served = 0;
    for (let i = 0; i < 8; i++) {
      served |= buf[o + 84 + i];
      if (buf[o + 92 + i] !== period[i]) return false;
    }
    if (served === 0) return false;
    for (const sigAt of [o + 100, o + 165]) {
      const v = buf[sigAt + 64];
      if ((v !== 27 && v !== 28) || buf[sigAt + 32] > HALF_N_HIGH_BYTE) return false;
    }
  }
  return true;
}
