/**
 * Index paths: what a valid path in an owner's namespace is, and its normal form. Pure: no I/O.
 *
 * A path is absolute (`/a/b.txt`), its segments separated by single slashes; a trailing slash is allowed on
 * input and means "a directory" to the caller (the normal form drops it); `/` is the root. Rejected with
 * `META_BAD_PATH` (the offending path as `value`): relative paths, empty segments (`//`), `.` and `..`,
 * control characters (U+0000–U+001F, U+007F), segments over 255 UTF-8 bytes, paths over 4096 bytes.
 */
import { HmsError } from "../core/errors";

export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;
export const ROOT = "/";

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const encoder = new TextEncoder();

/** A path in normal form and whether the caller wrote a trailing slash. */
export interface ParsedPath {
  /** Normal form: `/` or `/a/b` (no trailing slash). */
  path: string;
  /** Segments of the normal form (empty for the root). */
  segments: string[];
  /** The input ended with `/` (the caller means a directory). */
  trailingSlash: boolean;
}

function bad(path: unknown, why: string): HmsError {
  return new HmsError("META_BAD_PATH", `bad path ${JSON.stringify(path)}: ${why}`, { value: path });
}

/** Parses and normalises `path`; throws `META_BAD_PATH`. */
export function parsePath(path: string): ParsedPath {
  if (typeof path !== "string") throw bad(path, "not a string");
  if (!path.startsWith("/")) throw bad(path, "must be absolute (start with /)");
  if (encoder.encode(path).length > MAX_PATH_BYTES) throw bad(path, `longer than ${MAX_PATH_BYTES} bytes`);
  if (CONTROL.test(path)) throw bad(path, "contains a control character");
  if (path === ROOT) return { path: ROOT, segments: [], trailingSlash: true };
  const trailingSlash = path.endsWith("/");
  const body = trailingSlash ? path.slice(1, -1) : path.slice(1);
  const segments = body.split("/");
  for (const s of segments) {
    if (s === "") throw bad(path, "empty segment (//)");
    if (s === "." || s === "..") throw bad(path, `"${s}" segments are not allowed`);
    if (encoder.encode(s).length > MAX_SEGMENT_BYTES)
      throw bad(path, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return { path: `/${segments.join("/")}`, segments, trailingSlash };
}

/** The normal form of `path` (throws `META_BAD_PATH`). */
export function normalizePath(path: string): string {
  return parsePath(path).path;
}

/** Parent directory of a normal-form path (`/` for a top-level entry and for the root itself). */
export function parentOf(path: string): string {
  if (path === ROOT) return ROOT;
  const i = path.lastIndexOf("/");
  return i === 0 ? ROOT : path.slice(0, i);
}

/** Last segment of a normal-form path (`""` for the root). */
export function baseName(path: string): string {
  return path === ROOT ? "" : path.slice(path.lastIndexOf("/") + 1);
}

/** Joins a normal-form directory and a name. */
export function joinPath(dir: string, name: string): string {
  return dir === ROOT ? `/${name}` : `${dir}/${name}`;
}

/** True if `path` is `ancestor` itself or lies below it (both in normal form). */
export function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === ROOT) return true;
  return path === ancestor || path.startsWith(`${ancestor}/`);
}

/** Every ancestor directory of a normal-form path, from the root down, excluding the path itself. */
export function ancestorsOf(path: string): string[] {
  if (path === ROOT) return [];
  const segs = path.slice(1).split("/");
  const out = [ROOT];
  for (let i = 1; i < segs.length; i++) out.push(`/${segs.slice(0, i).join("/")}`);
  return out;
}
