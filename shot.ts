import { chromium } from "playwright-core";
(async () => {
  const url = process.argv[2];
  const b = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const p = await b.newPage({ viewport: { width: 1280, height: 900 } });
  p.on("console", (m) => console.log("console", m.type(), m.text()));
  for (const v of ["network", "data", "rewards", "consensus"]) {
    await p.goto(`${url}/#${v}`);
    await p.waitForSelector(`#view-${v}`);
    await p.waitForTimeout(500);
    await p.screenshot({ path: `/tmp/shot-${v}.png`, fullPage: true });
  }
  await b.close();
})();
