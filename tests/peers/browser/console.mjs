// Drives the admin console and the setup portal in headless Chromium (Debian's chromium) with
// playwright-core, for crates/lanyard/tests/it/console_browser.rs. Input: one JSON argument
// {base, tenant, username, password, idp: {port, metadata}, portal: {url, port, metadata},
// attackerCert, op: {issuer, discovery, clientId, clientSecret}, shots}. Output: one JSON line per step ({"step", ...}) and a last line
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

// "Save and test" of an OpenID Connect connection: at oidc-provider's own interaction pages,
// sign in (any login name and password) and consent, then return Lanyard's page.
async function signInAtOp(popup, login) {
  const atOp = (u) => u.toString().startsWith(cfg.op.issuer);
  const back = (u) => lanyard(u.toString()) && u.toString().includes("/callback");
  // A second test may come straight back (the provider remembers the sign-in and the consent).
  await popup.waitForURL((u) => atOp(u) || back(u), { timeout: 20000 });
  for (let i = 0; i < 6 && atOp(popup.url()); i += 1) {
    await popup.waitForLoadState("domcontentloaded");
    if (await popup.locator("input[name=login]").count()) {
      await popup.fill("input[name=login]", login);
      await popup.fill("input[name=password]", "any-password");
      await snap(popup, "op-login");
    } else {
      await snap(popup, "op-consent");
    }
    // The next document (the consent page, or Lanyard's page after the redirects).
    await Promise.all([popup.waitForEvent("load", { timeout: 20000 }), popup.click("button[type=submit]")]);
  }
  await popup.waitForURL(back, { timeout: 20000 });
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

  // 6. An OpenID Connect connection by discovery URL, Save and test against oidc-provider.
  await page.goto(`${cfg.base}/admin/t/${cfg.tenant}/connections/new?kind=oidc`);
  await page.fill("#f-slug", "op");
  await page.fill("#f-name", "oidc-provider");
  await page.fill("#f-issuer", cfg.op.issuer);
  await page.fill("#f-discovery_url", cfg.op.discovery);
  await page.fill("#f-client_id", cfg.op.clientId);
  await page.fill("#f-client_secret", cfg.op.clientSecret);
  await snap(page, "new-oidc-connection");
  const [op] = await Promise.all([context.waitForEvent("page"), page.click("button[value=test]")]);
  await signInAtOp(op, "carol");
  const opOk = await op.locator("[data-test-result=ok]").count();
  const opFid = (await op.locator("[data-federation-id]").textContent())?.trim();
  const opEmail = (await op.locator("[data-mapped=email]").textContent())?.trim();
  const opJit = await op.locator("[data-jit]").getAttribute("data-jit");
  const opText = await op.locator("body").innerText();
  await snap(op, "oidc-test-success");
  out({
    step: "oidc_test_success", ok: opOk === 1, federation_id: opFid, email: opEmail, jit: opJit,
    claims: ["preferred_username", "email_verified", "User carol"].filter((c) => opText.includes(c)),
  });
  await op.close();

  // 7. Misconfigured: a client secret the provider does not know.
  await page.goto(`${cfg.base}/admin/t/${cfg.tenant}/connections/op`);
  await page.fill("#f-client_secret", "not-the-client-secret");
  await snap(page, "oidc-connection");
  const [opBad] = await Promise.all([context.waitForEvent("page"), page.click("button[value=test]")]);
  await signInAtOp(opBad, "carol");
  const opCode = (await opBad.locator("code").first().textContent())?.trim();
  const opBadText = await opBad.locator("body").innerText();
  await snap(opBad, "oidc-test-failure");
  out({ step: "oidc_test_failure", code: opCode, invalid_client: opBadText.includes("invalid_client"), title: await opBad.title() });
  await opBad.close();
} catch (e) {
  out({ step: "error", error: String(e), url: page.url(), pages: context.pages().map((p) => p.url()) });
  for (const p of context.pages()) await snap(p, "error").catch(() => {});
} finally {
  out({ done: true, problems });
  await browser.close();
}
