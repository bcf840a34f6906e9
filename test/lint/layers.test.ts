/**
 * The layering of offchain/ (docs/ARCHITECTURE.md, "Layers") is enforced by eslint.config.mjs. These cases lint
 * source text as if it lived at the given path, so a rule that stops catching a violation fails here.
 */
import path from "node:path";
import { expect } from "chai";
import { ESLint } from "eslint";

const ROOT = path.join(__dirname, "..", "..");

async function problems(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe("lint: the layers of offchain/", function () {
  this.timeout(60_000);

  it("protocol/ may not do I/O nor import core's I/O modules", async function () {
    const found = await problems(
      "offchain/protocol/example.ts",
      'import fs from "node:fs";\nimport { Store } from "../core/store";\nimport { HmsError } from "../core/errors";\nexport const x = [fs, Store, HmsError];\n',
    );
    expect(found.join("\n"))
      .to.match(/node:fs/)
      .and.match(/core\/store/);
    expect(found).to.have.length(2); // core/errors is allowed
  });

  it("consensus/ may not do I/O outside its edge; type-only imports are fine", async function () {
    const inner = await problems(
      "offchain/consensus/pbft/example.ts",
      'import { request } from "undici";\nimport type { Logger } from "pino";\nexport const x = request;\nexport type L = Logger;\n',
    );
    expect(inner).to.have.length(1);
    expect(inner[0]).to.match(/undici/);
  });

  it("core/ may not import anything above it", async function () {
    const found = await problems(
      "offchain/core/example.ts",
      'import { ledgerFrom } from "../protocol/ledger";\nexport const x = ledgerFrom;\n',
    );
    expect(found.join("\n")).to.match(/boundaries\/dependencies/);
  });

  it("a daemon may not import another daemon's internals, but may use its own", async function () {
    const other = await problems(
      "offchain/storage/example.ts",
      'import { Validator } from "../validator/daemon";\nexport const x = Validator;\n',
    );
    expect(other.join("\n")).to.match(/daemon="storage".*daemon="validator"/);
    const own = await problems(
      "offchain/validator/example.ts",
      'import { Validator } from "./daemon";\nimport { ledgerFrom } from "../protocol/ledger";\nexport const x = [Validator, ledgerFrom];\n',
    );
    expect(own).to.deep.equal([]);
  });

  it("chain/ may not import the client or a daemon", async function () {
    const found = await problems(
      "offchain/chain/example.ts",
      'import { HttpTrafficFeed } from "../client/feed";\nexport const x = HttpTrafficFeed;\n',
    );
    expect(found.join("\n")).to.match(/boundaries\/dependencies/);
  });
});
