/** Pure formatting of the views (no DOM: unit-tested in node, test/dashboard/format.test.ts). */
const WEI = 10n ** 18n;

/** Token wei (decimal string) as `1,234.567` HMS. */
export function hms(wei: string | bigint, decimals = 6): string {
  const v = BigInt(wei);
  const neg = v < 0n;
  const a = neg ? -v : v;
  const whole = (a / WEI).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const digits = (a % WEI).toString().padStart(18, "0");
  // A non-zero amount never reads as 0: below the shown precision, as many decimals as it takes.
  const shown = a !== 0n && a < WEI / 10n ** BigInt(decimals) ? 18 : decimals;
  const frac = digits.slice(0, shown).replace(/0+$/, "");
  return `${neg ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/** Token wei as a float of whole HMS (for charts). */
export function hmsNumber(wei: string): number {
  return Number(BigInt(wei) / 10n ** 12n) / 1e6;
}

/** Bytes as `1.23 GB` (decimal units, as traffic is counted). */
export function bytes(n: string | number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const v = Number(n);
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let i = 0;
  let x = v;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${i === 0 ? x : x.toFixed(2)} ${units[i]}`;
}
