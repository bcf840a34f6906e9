/** The dashboard tests' accessibility check: axe-core run in the page on each view. */
import fs from "node:fs";
import type { Page } from "playwright-core";

export const VIEWS = ["network", "data", "rewards", "consensus", "market"] as const;

/**
 * Opens each view of the dashboard at `url`, runs axe-core in the page and returns its serious and critical
 * violations as `view: rule (impact, n nodes)`; `after` runs on each view once checked (e.g. a screenshot).
 */
export async function seriousViolations(
  page: Page,
  url: string,
  after?: (view: (typeof VIEWS)[number]) => Promise<void>,
): Promise<string[]> {
  const axe = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  const found: string[] = [];
  for (const view of VIEWS) {
    await page.goto(`${url}/#${view}`);
    await page.waitForSelector(`#view-${view}`);
    await page.addScriptTag({ content: axe });
    const result = (await page.evaluate(async () => {
      const r = await (
        globalThis as unknown as {
          axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> };
        }
      ).axe.run();
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    })) as { id: string; impact: string; nodes: number }[];
    for (const v of result)
      if (v.impact === "serious" || v.impact === "critical")
        found.push(`${view}: ${v.id} (${v.impact}, ${v.nodes} nodes)`);
    await after?.(view);
  }
  return found;
}
