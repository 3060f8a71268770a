// Drives the console's private-content pages in headless Chromium (Debian's chromium) with
// playwright-core, for crates/lanyard/tests/it/console_sites_browser.rs. Input: one JSON argument
// {base, tenant, admin: {username, password}, connection, host, shots}. Output: one JSON line per
// step and a last line {"done": true, "problems": [...]} with every console error, page error and
// CSP violation seen on a Lanyard page. Screenshots of each page go to `shots`.
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.argv[2]);
const problems = [];
const out = (o) => console.log(JSON.stringify(o));
const lanyard = (url) => url.startsWith(cfg.base);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});

function watch(page) {
  page.on("console", (m) => {
    if (m.type() === "error" && lanyard(page.url()) && !m.text().startsWith("Failed to load resource")) {
      problems.push({ url: page.url(), console: m.text() });
    }
  });
  page.on("response", (r) => {
    if (lanyard(r.url()) && r.status() >= 400 && r.request().resourceType() !== "document") {
      problems.push({ url: r.url(), status: r.status() });
    }
  });
  page.on("pageerror", (e) => {
    if (lanyard(page.url())) problems.push({ url: page.url(), pageerror: String(e) });
  });
}

const ctx = await browser.newContext({ locale: "en-US" });
ctx.on("page", watch);
await ctx.addInitScript(() => {
  document.addEventListener("securitypolicyviolation", (e) => {
    console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
  });
});

let shot = 0;
async function snap(page, name) {
  shot += 1;
  await page.screenshot({ path: `${cfg.shots}/${String(shot).padStart(2, "0")}-${name}.png`, fullPage: true });
}

const page = await ctx.newPage();
const admin = `${cfg.base}/admin/t/${cfg.tenant}`;
try {
  await page.goto(`${cfg.base}/t/${cfg.tenant}/login`);
  await page.fill("#username", cfg.admin.username);
  await page.fill("#password", cfg.admin.password);
  await page.click("button[type=submit]");
  await page.waitForLoadState("domcontentloaded");

  // 1. A list with one member.
  await page.goto(`${admin}/lists`);
  await page.fill("#name", "partners");
  await page.click("main form button[type=submit]");
  await page.waitForURL((u) => u.search.includes("done=list-created"));
  await page.fill("#member-email", "Ann@Example.com");
  await page.click("form[action$='/members'] button[type=submit]");
  await page.waitForURL((u) => u.search.includes("done=member-added"));
  const members = await page.locator("tr[data-member]").count();
  await snap(page, "list");
  out({ step: "list", members });

  // 2. A site on the connection, from the sites page (reached through the navigation).
  await page.goto(admin);
  await page.click("header nav a[href$='/sites']");
  await page.fill("#host", cfg.host);
  await page.selectOption("#connection", cfg.connection);
  await page.click("main form button[type=submit]");
  await page.waitForURL((u) => u.search.includes("done=site-created"));
  const nginx = await page.locator("[data-snippet=nginx]").textContent();
  const caddy = await page.locator("[data-snippet=caddy]").textContent();
  await snap(page, "site");
  out({ step: "site", nginx_check: nginx.includes("/auth/check"), caddy_check: caddy.includes("uri /auth/check") });

  // 3. Resources: two SSO pages at once, a blog for the list.
  await page.selectOption("#kind", "page");
  await page.fill("#paths", "/guide\n/faq");
  await page.selectOption("#audience", "sso");
  await page.click("form:has(#paths) button[type=submit]");
  await page.waitForURL((u) => u.search.includes("done=resources-saved"));
  await page.selectOption("#kind", "blog");
  await page.fill("#paths", "/blog");
  await page.selectOption("#audience", "sso_lists");
  await page.locator("fieldset label:has-text('partners') input").check();
  await page.click("form:has(#paths) button[type=submit]");
  await page.waitForURL((u) => u.search.includes("done=resources-saved"));
  const resources = await page.locator("tr[data-resource]").count();
  await snap(page, "resources");
  out({ step: "resources", resources });

  // 4. SSO off: the warnings first, applied after confirming.
  await page.locator("input[type=checkbox][name=sso_enabled]").uncheck();
  await page.click("form:has(input[name=sso_enabled]) button[type=submit]");
  await page.waitForSelector("[data-warning]");
  const warnings = await page.locator("[data-warning]").evaluateAll((els) =>
    els.map((e) => ({ code: e.dataset.warning, count: Number(e.dataset.count) })));
  await snap(page, "confirm");
  await page.click("main form button.danger");
  await page.waitForURL((u) => u.search.includes("done=site-saved"));
  const sso = await page.locator("input[type=checkbox][name=sso_enabled]").isChecked();
  await snap(page, "sso-off");
  out({ step: "sso_off", warnings, sso });

  // 5. The sites page in Japanese.
  await page.goto(`${admin}/sites?lang=ja`);
  const title = (await page.locator("h1").textContent())?.trim();
  await snap(page, "sites-ja");
  out({ step: "japanese", title });
} catch (e) {
  out({ step: "error", error: String(e), url: page.url() });
  await snap(page, "error").catch(() => {});
} finally {
  out({ done: true, problems });
  await browser.close();
}
