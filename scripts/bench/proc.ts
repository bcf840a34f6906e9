/** /proc readings the benchmarks share (Linux). */
import fs from "node:fs";

/** CPU seconds (user + system) used so far by process `pid` (clock ticks of 10 ms); 0 when it is gone. */
export function cpuOf(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
