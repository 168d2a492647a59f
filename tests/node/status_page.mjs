// Opens orch's status page in headless Debian chromium (playwright-core drives it; no browser is
// downloaded) and reports what a person would see. Prints one line per step:
//   ready <json>     page loaded, live stream connected, tables filled; screenshot before.png
//   shown <json>     an event whose text holds <marker> appeared live; screenshot after.png
//   error <text>
//   node status_page.mjs <page-url> <out-dir> <marker>
import { chromium } from "playwright-core";

const [url, outDir, marker] = process.argv.slice(2);
const say = (line) => process.stdout.write(line + "\n");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(new URL(url).origin)) external.push(r.url()); });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("live").textContent === "live", null, { timeout: 15000 });
  await page.waitForSelector("#containers td", { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById("services").rows.length > 1, null, { timeout: 15000 });
  const tables = await page.evaluate(() => Object.fromEntries(["services", "components", "containers", "quarantine"].map(
    (id) => [id, [...document.getElementById(id).rows].slice(1).map((r) => [...r.cells].map((c) => c.textContent))])));
  await page.screenshot({ path: `${outDir}/before.png` });
  say("ready " + JSON.stringify({ ...tables, external }));
  await page.waitForFunction((m) => document.getElementById("list").textContent.includes(m), marker, { timeout: 20000 });
  await page.screenshot({ path: `${outDir}/after.png` });
  const events = await page.evaluate(() => [...document.querySelectorAll("#list .event")].map((d) => d.textContent));
  say("shown " + JSON.stringify({ events, external }));
} catch (e) {
  say("error " + String(e.message).split("\n")[0]);
  process.exitCode = 1;
} finally {
  await browser.close();
}
