/**
 * A minimal POSIX ustar writer for `ipfs get` (Kubo's RPC answers `get` with a tar stream): regular files and
 * directories, names up to 255 bytes (split into prefix + name), no links, no extended headers. Pure.
 */
import { HmsError } from "../../core/errors";

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function splitName(name: string): { prefix: string; name: string } {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return { prefix: "", name };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/") continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0)
      return { prefix, name: rest };
  }
  throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "path too long for a ustar entry (255 bytes)", { value: name });
}

/** The 512-byte header of an entry. */
export function tarHeader(entry: {
  name: string;
  size: number;
  type: "file" | "directory";
  mode?: number;
  mtime?: number;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(
    entry.type === "directory" && !entry.name.endsWith("/") ? `${entry.name}/` : entry.name,
  );
  h.write(name, 0, 100, "utf8");
  h.write(octal(entry.mode ?? (entry.type === "directory" ? 0o755 : 0o644), 8), 100, 8, "ascii");
  h.write(octal(0, 8), 108, 8, "ascii");
  h.write(octal(0, 8), 116, 8, "ascii");
  h.write(octal(entry.type === "directory" ? 0 : entry.size, 12), 124, 12, "ascii");
  h.write(octal(entry.mtime ?? 0, 12), 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii");
  h.write(entry.type === "directory" ? "5" : "0", 156, 1, "ascii");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + " ", 148, 8, "ascii");
  return h;
}

/** Zero padding after `size` bytes of content, to the next 512-byte boundary. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The end of an archive: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
