/** Generated docs and examples are what their generators render, and the example configs parse with their schemas. */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { CLI_DOC, renderCliDoc } from "../../tools/cli-doc";
import { EXAMPLES, EXAMPLES_DIR, renderExample } from "../../tools/example-configs";
import { loadConfig } from "../../offchain/core/config";

describe("generated CLI docs and example configs", () => {
  it("docs/CLI.md is what the command definitions render (npm run docs:cli) and names every command", () => {
    const text = renderCliDoc();
    expect(fs.readFileSync(CLI_DOC, "utf8")).to.equal(text);
    for (const c of [
      "hms init",
      "hms keys new",
      "hms market take",
      "hms rewards claim",
      "hms council vote",
      "hms status",
      "hms put",
      "hms get",
      "hms ls",
      "hms rm",
      "hms audit",
    ])
      expect(text).to.contain("### `" + c);
  });

  it("examples/config/*.yaml are what the schemas render (npm run examples:config) and load with their schemas", () => {
    for (const e of EXAMPLES) {
      const file = path.join(EXAMPLES_DIR, e.file);
      expect(fs.readFileSync(file, "utf8"), e.file).to.equal(renderExample(e));
      const loaded = loadConfig(e.schema as never, { file, env: {}, envPrefix: "HMS_NONE_" }) as Record<
        string,
        unknown
      >;
      expect(loaded, e.file).to.include.keys(Object.keys(e.minimal));
    }
    expect(fs.readFileSync(path.join(EXAMPLES_DIR, "validator.yaml"), "utf8")).to.contain(
      "# Nodes rewarded per period",
    );
  });
});
