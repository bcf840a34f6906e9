/**
 * The subgraph and the contracts must not drift apart: every handler in subgraph/subgraph.yaml names an event that
 * the compiled contract emits, with the same signature, and every event the protocol contracts emit is handled or
 * listed in subgraph/ignored-events.yaml with a reason. A contract change that breaks the subgraph fails here.
 * The checker itself is tested on a deliberately broken subgraph (fixtures/broken) and on mutations of the real one.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import hre from "hardhat";
import { EXPORTED_CONTRACTS } from "../../tools/abis";
import {
  checkSubgraph,
  eventSignature,
  eventSignatures,
  parseIgnoreList,
  readSubgraphDir,
  type AbiEntry,
  type CheckInput,
  type ContractAbi,
} from "../../tools/subgraph/manifest";
import { checkProjectSubgraph, projectAbis, readManifest, subgraphDir } from "../../tools/subgraph/project";

const FIXTURE = path.join(__dirname, "fixtures", "broken");
const esmImport = new Function("s", "return import(s)") as (s: string) => Promise<Record<string, unknown>>;

/** The real subgraph's checker input, to mutate. */
async function realInput(): Promise<CheckInput> {
  const dir = readSubgraphDir(subgraphDir(hre));
  const { abis, linkedLibraries } = await projectAbis(hre, dir.manifest);
  return { ...dir, abis, linkedLibraries, protocolContracts: EXPORTED_CONTRACTS };
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe("subgraph: ABI / handler consistency", () => {
  it("subgraph.yaml matches the compiled contracts: no problem at all", async () => {
    expect(await checkProjectSubgraph(hre)).to.deep.equal([]);
  });

  it("indexes every protocol contract, and ignores only the reviewed events", async () => {
    const input = await realInput();
    const sources = (input.manifest.dataSources ?? []).map((ds) => ds.name);
    expect(sources).to.have.members([...EXPORTED_CONTRACTS]);
    let handled = 0;
    let total = 0;
    for (const contract of EXPORTED_CONTRACTS) {
      const signatures = eventSignatures(input.abis[contract]!);
      total += signatures.length;
      const ds = input.manifest.dataSources!.find((d) => d.name === contract)!;
      const events = (ds.mapping!.eventHandlers ?? []).map((h) => h.event);
      handled += events.length;
      // handled ∪ ignored = emitted, disjoint
      const ignored = Object.keys(input.ignored[contract] ?? {});
      expect([...events, ...ignored].sort(), contract).to.deep.equal([...signatures].sort());
    }
    expect(handled).to.equal(100);
    // Transfer, Approval, 4 × EIP712DomainChanged (NodeRegistry's since its key proofs), 7 × RoleAdminChanged, and
    // four events not indexed yet (issue 16: CandidateEvicted, SignaturesAdded, SignatureWindowChanged; LeaseMoved)
    expect(total - handled).to.equal(17);
    // BookkeeperLogic's events (emitted from the staking address) are all in BookkeeperStaking's ABI.
    expect(input.linkedLibraries).to.deep.equal({ BookkeeperStaking: ["BookkeeperLogic"] });
  });

  it("writes event signatures exactly as graph-cli does (tuples, arrays, indexed) for every protocol event", async () => {
    const cli = path.dirname(require.resolve("@graphprotocol/graph-cli/package.json"));
    const { default: ABI } = (await esmImport(
      pathToFileURL(path.join(cli, "dist", "protocols", "ethereum", "abi.js")).href,
    )) as { default: { eventSignature(e: unknown): string } };
    const immutable = createRequire(path.join(cli, "package.json"))("immutable") as {
      fromJS(x: unknown): unknown;
    };
    const { abis } = await projectAbis(hre, readManifest(hre));
    let count = 0;
    for (const abi of Object.values(abis)) {
      for (const e of abi!.filter((x) => x.type === "event")) {
        expect(eventSignature(e), e.name).to.equal(ABI.eventSignature(immutable.fromJS(e)));
        count++;
      }
    }
    expect(count).to.be.greaterThan(100);
  });

  it("reports every broken rule of a deliberately broken subgraph and ABI fixture", () => {
    const dir = readSubgraphDir(FIXTURE);
    const abi = (name: string) =>
      JSON.parse(fs.readFileSync(path.join(FIXTURE, "abis", `${name}.json`), "utf8")) as ContractAbi;
    const problems = checkSubgraph({
      ...dir,
      abis: { Thing: abi("Thing"), ThingLib: abi("ThingLib") },
      protocolContracts: ["Thing", "Widget"],
      linkedLibraries: { Thing: ["ThingLib"] },
    });
    expect(problems).to.deep.equal([
      "Thing: handler handleMoved names Moved(indexed address,uint256), but Thing's ABI has Moved(indexed address,uint128)",
      "Thing: handler handleVanished names Vanished(uint256), but Thing emits no event Vanished",
      "Thing: handler handlePaid is not exported by ./src/thing.mapping",
      "Thing: Reported(indexed uint64,(bytes32,uint64),uint64[4]) is handled twice",
      "Thing: entity MissingEntity is not defined in the schema",
      'Ghost: ABI "Ghost" should be read from ./abis/Ghost.json, not ./abis/Phantom.json',
      'Ghost: no compiled contract named "Ghost" (source.abi)',
      "Thing: event Moved(indexed address,uint128) is neither handled in subgraph.yaml nor listed in subgraph/ignored-events.yaml",
      "Thing: event Unhandled(uint256) is neither handled in subgraph.yaml nor listed in subgraph/ignored-events.yaml",
      "Thing: ignored event Gone() is not in the ABI (stale entry)",
      "Thing: ignored event Quiet(uint8) needs a reason (at least 20 characters)",
      "Thing: Paid(indexed address,uint256) is both handled and ignored",
      "Widget: protocol contract has no compiled ABI",
      "Thing: linked library ThingLib emits LibraryEvent(uint256), which is not in Thing's ABI",
      "networks.json: localhost does not configure Ghost",
    ]);
  });

  describe("fails when the contracts or the subgraph change", () => {
    it("a contract changes an event's parameter type: the handler no longer matches, the new event is uncovered", async () => {
      const input = await realInput();
      // Slashed is declared in IBookkeeperStaking: the staking contract's and its library's ABIs change together.
      const abi = clone(input.abis.BookkeeperStaking!) as AbiEntry[];
      const logic = clone(input.abis.BookkeeperLogic!) as AbiEntry[];
      const slashed = abi.find((e) => e.name === "Slashed")!;
      const before = eventSignature(slashed);
      (slashed.inputs as { type: string }[])[6].type = "uint128"; // bounty
      (logic.find((e) => e.name === "Slashed")!.inputs as { type: string }[])[6].type = "uint128";
      const problems = checkSubgraph({
        ...input,
        abis: { ...input.abis, BookkeeperStaking: abi, BookkeeperLogic: logic },
      });
      expect(problems).to.deep.equal([
        `BookkeeperStaking: handler handleSlashed names ${before}, but BookkeeperStaking's ABI has ${eventSignature(slashed)}`,
        `BookkeeperStaking: event ${eventSignature(slashed)} is neither handled in subgraph.yaml nor listed in subgraph/ignored-events.yaml`,
      ]);
    });

    it("an event loses or gains `indexed`", async () => {
      const input = await realInput();
      const abi = clone(input.abis.MiningPool!) as AbiEntry[];
      const claimed = abi.find((e) => e.name === "Claimed")!;
      (claimed.inputs as unknown as { indexed?: boolean }[])[2].indexed = false;
      const problems = checkSubgraph({ ...input, abis: { ...input.abis, MiningPool: abi } });
      expect(problems).to.have.length(2);
      expect(problems[0]).to.match(
        /handler handleClaimed names Claimed\(indexed uint64,indexed bytes32,indexed address/,
      );
    });

    it("a contract adds an event, a new protocol contract appears, a library event escapes its contract's ABI", async () => {
      const input = await realInput();
      const pool = [
        ...input.abis.MiningPool!,
        { type: "event", name: "Paused", inputs: [{ name: "by", type: "address", indexed: true }] },
      ];
      const logic = [...input.abis.BookkeeperLogic!, { type: "event", name: "Hidden", inputs: [] }];
      const problems = checkSubgraph({
        ...input,
        abis: {
          ...input.abis,
          MiningPool: pool,
          BookkeeperLogic: logic,
          Faucet: [{ type: "event", name: "Dripped", inputs: [{ name: "amount", type: "uint256" }] }],
        },
        protocolContracts: [...EXPORTED_CONTRACTS, "Faucet"],
      });
      expect(problems).to.deep.equal([
        "Faucet: event Dripped(uint256) is neither handled in subgraph.yaml nor listed in subgraph/ignored-events.yaml",
        "MiningPool: event Paused(indexed address) is neither handled in subgraph.yaml nor listed in subgraph/ignored-events.yaml",
        "BookkeeperStaking: linked library BookkeeperLogic emits Hidden(), which is not in BookkeeperStaking's ABI",
      ]);
    });

    it("a contract removes an ignored event, or the manifest drops a handler", async () => {
      const input = await realInput();
      const token = input.abis.HMSToken!.filter((e) => e.name !== "Approval");
      const manifest = clone(input.manifest);
      const market = manifest.dataSources!.find((d) => d.name === "ResourceMarket")!;
      market.mapping!.eventHandlers = market.mapping!.eventHandlers!.filter((h) => h.handler !== "handleLeaseClosed");
      const problems = checkSubgraph({ ...input, manifest, abis: { ...input.abis, HMSToken: token } });
      expect(problems).to.deep.equal([
        "HMSToken: ignored event Approval(indexed address,indexed address,uint256) is not in the ABI (stale entry)",
        "ResourceMarket: event LeaseClosed(indexed uint256,indexed bytes32,indexed address,address,uint8,uint64,uint256) is neither handled in subgraph.yaml nor listed in subgraph/ignored-events.yaml",
      ]);
    });

    it("a handler is renamed in the manifest but not in the mapping; networks.json misses a data source", async () => {
      const input = await realInput();
      const manifest = clone(input.manifest);
      manifest.dataSources!.find((d) => d.name === "MiningPool")!.mapping!.eventHandlers![0].handler = "handleReport";
      const networks = clone(input.networks ?? {});
      networks.localhost = { ...networks.localhost };
      delete networks.localhost.ResourceMarket;
      const problems = checkSubgraph({ ...input, manifest, networks });
      expect(problems).to.deep.equal([
        "MiningPool: handler handleReport is not exported by ./src/pool.ts",
        "networks.json: localhost does not configure ResourceMarket",
      ]);
    });
  });

  it("parses the reviewed ignore list: contract → signature → reason", () => {
    const list = parseIgnoreList(fs.readFileSync(path.join(subgraphDir(hre), "ignored-events.yaml"), "utf8"));
    expect(Object.keys(list)).to.include.members(["HMSToken", "MiningPool"]);
    for (const events of Object.values(list)) {
      for (const reason of Object.values(events)) expect(reason.length).to.be.greaterThan(40);
    }
    expect(() => parseIgnoreList("- a list")).to.throw(/mapping of contracts/);
    expect(() => parseIgnoreList("Thing: 3")).to.throw(/Thing must map event signatures to reasons/);
  });
});
