// Drives the admin console and the setup portal in headless Chromium (Debian's chromium) with
// playwright-core, for crates/lanyard/tests/it/console_browser.rs. Input: one JSON argument
// {base, tenant, username, password, idp: {port, metadata}, portal: {url, port, metadata},
// attackerCert, shots}. Output: one JSON line per step ({"step", ...}) and a last line
// {"done": true, "problems": [...]} listing every console error, page error and CSP violation
// seen on a Lanyard page. Screenshots of each page go to `shots`.
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.argv[2]);
const problems = [];
const out = (o) => console.log(JSON.stringify(o));
const lanyard = (url) => url.startsWith(cfg.base);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ locale: "en-US" });

function watch(page) {
  page.on("console", (m) => {
    // A refusal page's own status (401, 403, 404) is logged as "Failed to load resource";
    // what matters is a sub-resource that fails, checked below with its URL.
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
context.on("page", watch);

let shot = 0;
async function snap(page, name) {
  shot += 1;
  await page.screenshot({ path: `${cfg.shots}/${String(shot).padStart(2, "0")}-${name}.png`, fullPage: true });
}

// A Lanyard page listens for CSP violations (playwright's init script is not subject to the
// page's CSP); they are reported as problems.
await context.addInitScript(() => {
  document.addEventListener("securitypolicyviolation", (e) => {
    console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
  });
});

// "Save and test" opens a tab; sign in at saml-idp there and return the result page.
async function signInAtIdp(popup, email) {
  await popup.waitForURL((u) => u.toString().includes("/saml/sso"), { timeout: 20000 });
  await popup.fill("input[name=email]", email);
  await popup.fill("input[name=userName]", email);
  await popup.click("#btn-sign-in");
  await popup.waitForURL((u) => lanyard(u.toString()) && u.toString().includes("/acs"), { timeout: 20000 });
  await popup.waitForLoadState("domcontentloaded");
  return popup;
}

const page = await context.newPage();
try {
  // 1. Sign in (the tenant's sign-in page), landing in the console.
  await page.goto(`${cfg.base}/t/${cfg.tenant}/login?return_to=/admin`);
  await snap(page, "sign-in");
  await page.fill("#username", cfg.username);
  await page.fill("#password", cfg.password);
  await page.click("button[type=submit]");
  await page.waitForURL((u) => u.pathname.startsWith("/admin"));
  await snap(page, "console-home");
  out({ step: "signed_in", url: page.url() });

  // 2. A SAML connection by metadata import, then Save and test against saml-idp.
  await page.goto(`${cfg.base}/admin/t/${cfg.tenant}/connections/new?kind=saml`);
  await page.fill("#f-slug", "test-idp");
  await page.fill("#f-name", "saml-idp");
  await page.fill("#f-metadata_url", cfg.idp.metadata);
  await page.fill("#f-email_attribute", "email");
  await snap(page, "new-connection");
  const [popup] = await Promise.all([
    context.waitForEvent("page"),
    page.click("button[value=test]"),
  ]);
  await signInAtIdp(popup, "saml.jackson@example.com");
  const ok = await popup.locator("[data-test-result=ok]").count();
  const fid = (await popup.locator("[data-federation-id]").textContent())?.trim();
  const email = (await popup.locator("[data-mapped=email]").textContent())?.trim();
  const jit = await popup.locator("[data-jit]").getAttribute("data-jit");
  await snap(popup, "test-success");
  out({ step: "test_success", ok: ok === 1, federation_id: fid, email, jit });
  await popup.close();

  // The connection page: values to copy, certificate; copy buttons appear with the script.
  await page.goto(`${cfg.base}/admin/t/${cfg.tenant}/connections/test-idp`);
  const copyButtons = await page.locator("button[data-copy]:visible").count();
  await snap(page, "connection");
  out({ step: "connection_page", copy_buttons: copyButtons });

  // 3. Misconfigured: the IdP signs with a key the connection no longer trusts.
  await page.fill("#f-certificates", cfg.attackerCert);
  const [bad] = await Promise.all([
    context.waitForEvent("page"),
    page.click("button[value=test]"),
  ]);
  await signInAtIdp(bad, "saml.jackson@example.com");
  const code = (await bad.locator("code").first().textContent())?.trim();
  await snap(bad, "test-failure");
  out({ step: "test_failure", code, status_page: await bad.title() });
  await bad.close();

  // 4. A page in Japanese (the language switch).
  await page.goto(`${cfg.base}/admin/t/${cfg.tenant}/connections?lang=ja`);
  const ja = await page.locator("h1").textContent();
  const htmlLang = await page.getAttribute("html", "lang");
  await snap(page, "connections-ja");
  out({ step: "japanese", h1: ja?.trim(), lang: htmlLang });

  // 5. The setup portal, in a browser without any Lanyard session.
  const it = await browser.newContext({ locale: "en-US" });
  it.on("page", watch);
  await it.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const p = await it.newPage();
  await p.goto(cfg.portal.url);
  await snap(p, "portal-start");
  await p.click("a[data-idp=saml]");
  await p.fill("#f-metadata_url", cfg.portal.metadata);
  await snap(p, "portal-guide");
  const [pp] = await Promise.all([it.waitForEvent("page"), p.click("button[value=test]")]);
  await signInAtIdp(pp, "it.admin@example.com");
  const portalOk = await pp.locator("[data-test-result=ok]").count();
  await snap(pp, "portal-test-success");
  await pp.close();
  await p.reload();
  await p.click("form[action$='/finish'] button");
  await p.waitForLoadState("domcontentloaded");
  await snap(p, "portal-done");
  const finished = await p.locator("h1").textContent();
  const after = await p.goto(cfg.portal.url);
  out({ step: "portal", test_ok: portalOk === 1, finished: finished?.trim(), reopen_status: after?.status() });
  await it.close();
} catch (e) {
  out({ step: "error", error: String(e), url: page.url() });
  await snap(page, "error").catch(() => {});
} finally {
  out({ done: true, problems });
  await browser.close();
}
