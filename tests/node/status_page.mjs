// Opens orch's status page in headless Debian chromium (playwright-core drives it; no browser is
// downloaded) and reports what a person would see. Prints one line per step:
//   ready <json>     page loaded, live stream connected, tables filled; screenshot before.png
//   shown <json>     the content.published event of <marker> appeared live; screenshot after.png
//   history <json>   every service's response-time chart has >= 2 points and the timeline shows
//                    <timeline-type>: the charts as drawn (points, slowest, down slots), the
//                    services and timeline tables, the totals; then at phone width (390 px, no
//                    sideways scrolling measured) phone.png, and the background in light and dark
//   error <text>
//   node status_page.mjs <page-url> <out-dir> <marker> [<timeline-type>]
import { chromium } from "playwright-core";

const [url, outDir, marker, timelineType] = process.argv.slice(2);
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
  // A cell's own text (a service's status cell also holds its reason, reported apart).
  const tables = await page.evaluate(() => ({
    ...Object.fromEntries(["services", "components", "containers", "quarantine"].map(
      (id) => [id, [...document.getElementById(id).rows].slice(1).map((r) => [...r.cells].map(
        (c) => c.childNodes[0]?.nodeType === 3 ? c.childNodes[0].textContent : c.textContent))])),
    headline: document.getElementById("overall").textContent,
    reasons: [...document.querySelectorAll("#services .why")].map((d) => d.textContent),
  }));
  await page.screenshot({ path: `${outDir}/before.png`, fullPage: true });  // the events are below the charts
  say("ready " + JSON.stringify({ ...tables, external }));
  // The content.published event itself: the pipeline's ingest.* for the marker may come first.
  await page.waitForFunction((m) => [...document.querySelectorAll("#list .event")].some(
    (d) => d.dataset.type === "content.published" && d.textContent.includes(m)), marker, { timeout: 20000 });
  await page.screenshot({ path: `${outDir}/after.png`, fullPage: true });
  // Each event as "<type> | <the sentence shown>".
  const events = await page.evaluate(() => [...document.querySelectorAll("#list .event")].map((d) => d.dataset.type + " | " + d.textContent));
  say("shown " + JSON.stringify({ events, external }));
  if (timelineType) {
    await page.waitForFunction((t) => {
      const charts = [...document.querySelectorAll("#charts svg.chart")];
      return charts.length > 0 && charts.every((c) => Number(c.dataset.points) >= 2) &&
        document.getElementById("timeline").textContent.includes(t);
    }, timelineType, { timeout: 60000 });
    const read = () => page.evaluate(() => ({
      charts: [...document.querySelectorAll("#charts svg.chart")].map((c) => ({
        service: c.dataset.service, points: Number(c.dataset.points), max_ms: Number(c.dataset.maxMs), down: Number(c.dataset.down),
        polyline_points: (c.querySelector("polyline")?.getAttribute("points") || "").split(" ").filter(Boolean).length,
        red_bars: c.querySelectorAll("rect.down").length, width: c.getBoundingClientRect().width })),
      services: [...document.getElementById("services").rows].slice(1).map((r) => [...r.cells].map(
        (c) => c.childNodes[0]?.nodeType === 3 ? c.childNodes[0].textContent : c.textContent)),
      timeline: [...document.getElementById("timeline").rows].slice(1).map((r) => [...r.cells].map((c) => c.textContent)),
      totals: document.getElementById("totals").textContent,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      background: getComputedStyle(document.body).backgroundColor,
    }));
    const wide = await read();
    await page.screenshot({ path: `${outDir}/history.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: "light" });
    await page.waitForTimeout(300);
    const phone = await read();
    await page.screenshot({ path: `${outDir}/phone.png`, fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await read();
    say("history " + JSON.stringify({ ...wide, phone, dark_background: dark.background, external }));
  }
} catch (e) {
  say("error " + String(e.message).split("\n")[0]);
  process.exitCode = 1;
} finally {
  await browser.close();
}
