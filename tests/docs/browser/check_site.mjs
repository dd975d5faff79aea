// Drive headless Chromium through pages of the built documentation site and report what is
// broken, as JSON on stdout. Used by tests/docs/test_site_browser.py; runnable on its own:
//
//   node tests/docs/browser/check_site.mjs '{"baseUrl": "http://127.0.0.1:8000/",
//     "screenshotDir": "test-artifacts/screenshots",
//     "pages": [{"name": "home", "path": ""},
//               {"name": "erd", "path": "erd/", "waitForText": ["battery_pack"]}]}'
//
// Per page: console errors and uncaught exceptions, failed or >= 400 same-origin requests,
// images that did not load (naturalWidth 0 or HTTP status not 200), same-origin links that do
// not answer 200, in-page anchors (#id) that do not exist, visible texts that never appeared
// and selectors that matched too few elements (waited for up to `timeoutMs`), and a
// screenshot. Requests to other origins are blocked and listed under `blockedRequests`, so
// the result does not depend on internet access (the Liam ERD page asks a font CDN for its
// fonts; without them it falls back to local fonts). Uses the system Chromium (CHROMIUM or
// /usr/bin/chromium): playwright-core never downloads a browser.
import { chromium } from "playwright-core";
import path from "node:path";
import fs from "node:fs";

const config = JSON.parse(process.argv[2] ?? "{}");
const baseUrl = new URL(config.baseUrl);
const screenshotDir = config.screenshotDir ?? "test-artifacts/screenshots";
const timeoutMs = config.timeoutMs ?? 60000;
const executablePath = process.env.CHROMIUM ?? config.chromium ?? "/usr/bin/chromium";
fs.mkdirSync(screenshotDir, { recursive: true });

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ], // playwright-core gives every launch a fresh --user-data-dir
});

const sameOrigin = (url) => {
  try {
    return new URL(url).origin === baseUrl.origin;
  } catch {
    return false;
  }
};

// Tables wider than the frame they sit in: the reader would have to scroll sideways to read
// them (MkDocs Material wraps each table in a horizontally scrolling .md-typeset__scrollwrap).
// Per table: its heading's text, its width and the frame's (the article's content box).
async function overflowingTables(page) {
  return page.evaluate(() => {
    const article = document.querySelector("article.md-content__inner") ?? document.body;
    const style = getComputedStyle(article);
    const frame =
      article.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const found = [];
    document.querySelectorAll("article table").forEach((table, index) => {
      const wrap = table.closest(".md-typeset__scrollwrap");
      const width = table.getBoundingClientRect().width;
      const scrolls = wrap ? wrap.scrollWidth > wrap.clientWidth + 1 : false;
      if (scrolls || width > frame + 1) {
        let heading = table.closest(".md-typeset__scrollwrap") ?? table;
        while (heading && !/^H[1-6]$/.test(heading.tagName)) {
          heading = heading.previousElementSibling;
        }
        found.push({
          table: index,
          under: heading ? heading.textContent.trim() : "",
          width: Math.round(width),
          frame: Math.round(frame),
        });
      }
    });
    return { frame: Math.round(frame), tables: document.querySelectorAll("article table").length, found };
  });
}

// A measuring visit only (spec.measureTables): load, measure the tables, no screenshot.
async function measurePage(context, spec) {
  const page = await context.newPage();
  await page.route(
    (url) => !sameOrigin(url.href),
    (route) => route.abort("blockedbyclient"),
  );
  const url = new URL(spec.path ?? "", baseUrl).href;
  const response = await page.goto(url, { waitUntil: "load", timeout: timeoutMs });
  const measured = await overflowingTables(page);
  await page.close();
  return { name: spec.name, url, status: response?.status() ?? 0, width: spec.width, ...measured };
}

async function checkPage(context, spec) {
  const page = await context.newPage();
  const result = {
    name: spec.name,
    url: new URL(spec.path ?? "", baseUrl).href,
    consoleErrors: [],
    failedRequests: [],
    badImages: [],
    badLinks: [],
    missingAnchors: [],
    missingText: [],
    missingSelectors: [],
    blockedRequests: [],
    imageCount: 0,
    linkCount: 0,
    screenshot: path.join(screenshotDir, `${spec.name}.png`),
  };
  await page.route(
    (url) => !sameOrigin(url.href),
    (route) => {
      result.blockedRequests.push(route.request().url());
      return route.abort("blockedbyclient");
    },
  );
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    // The console line a blocked request produces is about another origin: not the site's.
    const source = msg.location()?.url ?? "";
    const blocked = /ERR_BLOCKED_BY_CLIENT/.test(msg.text()) || (source && !sameOrigin(source));
    if (!blocked) result.consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => result.consoleErrors.push(`uncaught: ${err.message}`));
  page.on("requestfailed", (req) => {
    if (!sameOrigin(req.url())) return; // blocked on purpose, listed in blockedRequests
    result.failedRequests.push(`${req.url()} (${req.failure()?.errorText ?? "failed"})`);
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && sameOrigin(res.url())) {
      result.failedRequests.push(`${res.url()} (HTTP ${res.status()})`);
    }
  });

  const response = await page.goto(result.url, { waitUntil: "load", timeout: timeoutMs });
  result.status = response?.status() ?? 0;

  // Content rendered by scripts (the Liam ERD draws its tables after fetching schema.json).
  for (const [selector, minimum] of Object.entries(spec.waitForSelectors ?? {})) {
    try {
      await page.waitForFunction(
        ([s, n]) => document.querySelectorAll(s).length >= n,
        [selector, minimum],
        { timeout: timeoutMs },
      );
    } catch {
      const found = await page.evaluate((s) => document.querySelectorAll(s).length, selector);
      result.missingSelectors.push(`${selector}: ${found} found, ${minimum} expected`);
    }
  }
  const wanted = spec.waitForText ?? [];
  if (wanted.length) {
    try {
      await page.waitForFunction(
        (texts) => texts.every((t) => document.body.innerText.includes(t)),
        wanted,
        { timeout: timeoutMs },
      );
    } catch {
      // fall through: report what is still missing
    }
    result.missingText = await page.evaluate(
      (texts) => texts.filter((t) => !document.body.innerText.includes(t)),
      wanted,
    );
  }

  // Images: scroll through the page so lazy images load, then wait for them to settle.
  await page.evaluate(async () => {
    for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
      window.scrollTo(0, y);
      await new Promise((r) => setTimeout(r, 20));
    }
    window.scrollTo(0, 0);
  });
  await page
    .waitForFunction(() => [...document.images].every((img) => img.complete), null, {
      timeout: timeoutMs,
    })
    .catch(() => {});
  const images = await page.evaluate(() =>
    [...document.images].map((img) => ({
      src: img.currentSrc || img.src,
      naturalWidth: img.naturalWidth,
    })),
  );
  result.imageCount = images.length;
  for (const img of images) {
    let status = 0;
    try {
      status = (await context.request.get(img.src)).status();
    } catch (err) {
      status = `error ${err.message}`;
    }
    if (img.naturalWidth <= 0 || status !== 200) {
      result.badImages.push(`${img.src} (naturalWidth ${img.naturalWidth}, HTTP ${status})`);
    }
  }

  // Links: every same-origin link must answer 200; in-page anchors must exist.
  const links = await page.evaluate(() =>
    [...document.querySelectorAll("a[href]")].map((a) => a.href),
  );
  const pageUrl = new URL(page.url());
  const targets = new Set();
  for (const href of links) {
    if (!sameOrigin(href)) continue;
    const url = new URL(href);
    if (url.hash && url.pathname === pageUrl.pathname && url.search === pageUrl.search) {
      const id = decodeURIComponent(url.hash.slice(1));
      const found = await page.evaluate((i) => document.getElementById(i) !== null, id);
      if (id && !found) result.missingAnchors.push(href);
      continue;
    }
    url.hash = "";
    targets.add(url.href);
  }
  result.linkCount = targets.size;
  for (const url of [...targets].sort()) {
    let status = 0;
    try {
      status = (await context.request.get(url)).status();
    } catch (err) {
      status = `error ${err.message}`;
    }
    if (status !== 200) result.badLinks.push(`${url} (HTTP ${status})`);
  }

  await page.screenshot({ path: result.screenshot, fullPage: spec.fullPage ?? true });
  await page.close();
  return result;
}

const report = { pages: [] };
try {
  for (const spec of config.pages ?? []) {
    const context = await browser.newContext({
      viewport: { width: spec.width ?? 1366, height: spec.height ?? 900 },
      colorScheme: spec.colorScheme ?? "light",
    });
    try {
      report.pages.push(
        await (spec.measureTables ? measurePage(context, spec) : checkPage(context, spec)),
      );
    } catch (err) {
      report.pages.push({ name: spec.name, error: String(err?.stack ?? err) });
    } finally {
      await context.close();
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
