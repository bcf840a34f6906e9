/**
 * An in-process {@link StorageNetwork} over a list of real storage workers — a test fixture standing in for the
 * meta layer (issue 13) until it exists, not the product: random placement of distinct nodes (different
 * regions first), replacement, commits checked the way the meta layer must check them (the owner's IndexWrite
 * signature over `fileCommitHash`, every ack's signature and fields), locate, and a record of the bad copies
 * reported. It also answers GC's {@link UploadCommits} question from its commits.
 */
import { randomBytes, randomInt } from "node:crypto";
import type { Address, Hex, TypedDataDomain } from "viem";
import { HmsError } from "../core/errors";
import { domainOf, recoverTypedSync } from "../core/signing";
import type {
  FileCommit,
  FileLocation,
  NodeEndpoint,
  Placement,
  SignedStorageAck,
  StorageNetwork,
} from "../protocol/network";
import { parseStorableCid, sliceSpan } from "../protocol/slicing";
import { ackMessage, fileCommitHash, type UploadCommits } from "../protocol/storage-wire";

export interface BadCopyReport {
  cid: string;
  nodeId: Hex;
  reason: "mismatch" | "timeout" | "missing" | "error";
}

export class FixtureStorageNetwork implements StorageNetwork, UploadCommits {
  readonly reports: BadCopyReport[] = [];
  readonly placements = new Map<Hex, Placement>();
  readonly files = new Map<string, FileLocation>();
  readonly replacements: Array<{ uploadId: Hex; slice: number; failed: Hex[]; chosen: Hex }> = [];
  private readonly committedUploads = new Set<Hex>();
  private readonly down = new Set<Hex>();
  private index = 0n;
  private readonly domain: TypedDataDomain;

  constructor(
    public nodes: NodeEndpoint[],
    readonly options: {
      chainId: number;
      nodeRegistry: Address;
      term?: bigint;
      /** Registered signing key per node id (acks are checked against it). */
      keys?: ReadonlyMap<Hex, Address>;
    },
  ) {
    this.domain = domainOf("network", options.chainId, options.nodeRegistry);
  }

  get term(): bigint {
    return this.options.term ?? 1n;
  }

  /** Leaves a node out of new placements and replacements (it stays a replica of what it holds). */
  markDown(nodeId: Hex): void {
    this.down.add(nodeId.toLowerCase() as Hex);
  }

  markUp(nodeId: Hex): void {
    this.down.delete(nodeId.toLowerCase() as Hex);
  }

  /** Replaces a node's endpoint (a restarted worker on a new port). */
  updateNode(node: NodeEndpoint): void {
    this.nodes = this.nodes.map((n) => (n.nodeId.toLowerCase() === node.nodeId.toLowerCase() ? node : n));
  }

  private live(exclude: ReadonlySet<string>): NodeEndpoint[] {
    return this.nodes.filter(
      (n) => !this.down.has(n.nodeId.toLowerCase() as Hex) && !exclude.has(n.nodeId.toLowerCase()),
    );
  }

  /** `copies` distinct random nodes, one per region first. */
  private pick(copies: number, exclude: ReadonlySet<string> = new Set()): NodeEndpoint[] {
    const pool = this.live(exclude);
    if (pool.length < copies)
      throw new HmsError("STORAGE_NO_COPIES", `only ${pool.length} live nodes for ${copies} copies`, { value: copies });
    for (let i = pool.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const chosen: NodeEndpoint[] = [];
    const regions = new Set<string>();
    for (const n of pool) if (chosen.length < copies && !regions.has(n.region)) (chosen.push(n), regions.add(n.region));
    for (const n of pool) if (chosen.length < copies && !chosen.includes(n)) chosen.push(n);
    return chosen;
  }

  async place(request: {
    owner: Address;
    size: bigint;
    sliceSize: number;
    slices: number;
    copies: number;
  }): Promise<Placement> {
    const placement: Placement = {
      uploadId: `0x${randomBytes(32).toString("hex")}`,
      term: this.term,
      slices: Array.from({ length: request.slices }, () => this.pick(request.copies)),
    };
    this.placements.set(placement.uploadId, placement);
    return placement;
  }

  async replace(request: { uploadId: Hex; slice: number; exclude: Hex[] }): Promise<NodeEndpoint> {
    const placement = this.placements.get(request.uploadId);
    if (!placement) throw new HmsError("STORAGE_BAD_REQUEST", "unknown upload", { value: request.uploadId });
    const chain = placement.slices[request.slice] ?? [];
    const exclude = new Set([...request.exclude, ...chain.map((n) => n.nodeId)].map((x) => x.toLowerCase()));
    const [chosen] = this.pick(1, exclude);
    this.replacements.push({
      uploadId: request.uploadId,
      slice: request.slice,
      failed: request.exclude,
      chosen: chosen.nodeId,
    });
    return chosen;
  }

  private checkAcks(file: FileCommit, blocks: FileCommit["slices"]): void {
    for (const b of blocks) {
      const cid = parseStorableCid(b.cid);
      const nodes = new Set<string>();
      for (const ack of b.acks) this.checkAck(file, ack, cid.digest, b.size, nodes);
    }
  }

  private checkAck(file: FileCommit, ack: SignedStorageAck, digest: Hex, size: number, nodes: Set<string>): void {
    const bad = (why: string) => {
      throw new HmsError("STORAGE_BAD_REPLY", `ack of ${ack.nodeId}: ${why}`, { value: ack.nodeId });
    };
    if (ack.slice.toLowerCase() !== digest || ack.size !== BigInt(size)) bad("names another block");
    if (
      ack.owner.toLowerCase() !== file.owner.toLowerCase() ||
      ack.uploadId.toLowerCase() !== file.uploadId.toLowerCase()
    )
      bad("names another upload");
    if (nodes.has(ack.nodeId.toLowerCase())) bad("two acks of one node");
    nodes.add(ack.nodeId.toLowerCase());
    const signer = recoverTypedSync(this.domain, "StorageAck", ackMessage(ack), ack.signature);
    const key = this.options.keys?.get(ack.nodeId.toLowerCase() as Hex);
    if (key !== undefined && key.toLowerCase() !== signer) bad("not signed by the node's key");
  }

  async commit(
    file: FileCommit,
    write: { nonce: bigint; deadline: bigint; signature: Hex },
  ): Promise<{ term: bigint; index: bigint }> {
    const signer = recoverTypedSync(
      this.domain,
      "IndexWrite",
      {
        owner: file.owner,
        op: "put",
        path: file.path,
        target: "",
        contentHash: fileCommitHash(file),
        nonce: write.nonce,
        deadline: write.deadline,
      },
      write.signature,
    );
    if (signer !== file.owner.toLowerCase())
      throw new HmsError("STORAGE_UNAUTHORIZED", "index write not signed by the owner", { value: signer });
    this.checkAcks(file, file.slices);
    this.checkAcks(file, file.dagBlocks);
    const byId = new Map(this.nodes.map((n) => [n.nodeId.toLowerCase(), n]));
    const location: FileLocation = {
      owner: file.owner,
      path: file.path,
      rootCid: file.rootCid,
      size: file.size,
      sliceSize: file.sliceSize,
      slices: file.slices.map((s, i) => ({
        cid: s.cid,
        offset: sliceSpan(file.size, file.sliceSize, i).offset,
        size: s.size,
        replicas: s.acks.map((a) => byId.get(a.nodeId.toLowerCase())!).filter((n) => n !== undefined),
      })),
      term: this.term,
      index: ++this.index,
    };
    this.files.set(file.rootCid, location);
    this.files.set(`${file.owner.toLowerCase()}:${file.path}`, location);
    this.committedUploads.add(file.uploadId.toLowerCase() as Hex);
    return { term: this.term, index: this.index };
  }

  async locate(query: { cid: string } | { owner: Address; path: string }): Promise<FileLocation> {
    const key = "cid" in query ? query.cid : `${query.owner.toLowerCase()}:${query.path}`;
    const found = this.files.get(key);
    if (!found) throw new HmsError("STORAGE_NOT_FOUND", `no file ${key} in the index`, { value: key });
    // Replicas at their current endpoints (a restarted worker may have moved).
    const byId = new Map(this.nodes.map((n) => [n.nodeId.toLowerCase(), n]));
    return {
      ...found,
      slices: found.slices.map((s) => ({
        ...s,
        replicas: s.replicas.map((r) => byId.get(r.nodeId.toLowerCase()) ?? r),
      })),
    };
  }

  async reportBad(report: BadCopyReport): Promise<void> {
    this.reports.push(report);
  }

  async committed(uploadIds: readonly Hex[]): Promise<Set<Hex>> {
    return new Set(uploadIds.filter((id) => this.committedUploads.has(id.toLowerCase() as Hex)));
  }
}
