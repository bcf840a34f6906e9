/** `hms init`: placeholder replaced below. */
import type { Command } from "commander";
export function registerInitCommand(program: Command): Command {
  return program;
}
