// Drives the console's user pages in headless Chromium (Debian's chromium) with playwright-core,
// for crates/lanyard/tests/it/console_users_browser.rs. Input: one JSON argument
// {base, tenant, admin: {username, password}, member: {username, password, id}, connection,
// federationId, shots}. Output: one JSON line per step and a last line
// {"done": true, "problems": [...]} with every console error, page error and CSP violation seen
// on a Lanyard page. Screenshots of each page go to `shots`.
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

async function newContext() {
  const ctx = await browser.newContext({ locale: "en-US" });
  ctx.on("page", watch);
  await ctx.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return ctx;
}

let shot = 0;
async function snap(page, name) {
  shot += 1;
  await page.screenshot({ path: `${cfg.shots}/${String(shot).padStart(2, "0")}-${name}.png`, fullPage: true });
}

async function signIn(page, who) {
  await page.goto(`${cfg.base}/t/${cfg.tenant}/login`);
  await page.fill("#username", who.username);
  await page.fill("#password", who.password);
  await page.click("button[type=submit]");
  await page.waitForLoadState("domcontentloaded");
}

const adminCtx = await newContext();
const page = await adminCtx.newPage();
try {
  // The member signs in in their own browser: a live session to revoke.
  const memberCtx = await newContext();
  const member = await memberCtx.newPage();
  await signIn(member, cfg.member);
  const before = await memberCtx.request.get(`${cfg.base}/t/${cfg.tenant}/session`);
  out({ step: "member_signed_in", status: before.status() });

  await signIn(page, cfg.admin);
  await page.goto(`${cfg.base}/admin/t/${cfg.tenant}/users`);
  await snap(page, "users");
  const listed = await page.locator(`tr[data-user="${cfg.member.username}"]`).count();
  out({ step: "users_list", listed });

  const userUrl = `${cfg.base}/admin/t/${cfg.tenant}/users/${cfg.member.id}`;
  await page.goto(userUrl);
  await snap(page, "user");

  // 1. Revoke the member's session from the user's page (before disconnecting, which ends
  // every session of the user anyway).
  const sessions = await page.locator("tr[data-session]").count();
  await page.locator("tr[data-session] button").first().click();
  await page.waitForURL((u) => u.search.includes("done=session-revoked"));
  const left = await page.locator("tr[data-session]").count();
  await snap(page, "session-revoked");
  const after = await memberCtx.request.get(`${cfg.base}/t/${cfg.tenant}/session`);
  out({ step: "session", listed: sessions, left, member_status: after.status() });

  // 2. Edit the federation ID on the connection (as copied from a test result).
  const row = page.locator(`tr[data-connection="${cfg.connection}"]`);
  await row.locator("input[name=federation_id]").fill(cfg.federationId);
  await row.locator("button[value=save]").click();
  await page.waitForURL((u) => u.search.includes("done=federation-saved"));
  const fid = await page.locator(`tr[data-connection="${cfg.connection}"] input[name=federation_id]`).inputValue();
  const state = await page.locator("td[data-sso-state]").first().getAttribute("data-sso-state");
  await snap(page, "federation-saved");
  out({ step: "federation", value: fid, sso_state: state });

  // 3. Send an invitation: first disconnect (an invitation is for people not on SSO yet).
  await page.locator(`tr[data-connection="${cfg.connection}"] button[value=remove]`).click();
  await page.waitForURL((u) => u.search.includes("done=federation-removed"));
  await page.selectOption("#invite-connection", cfg.connection);
  await page.click("form[action$='/invite'] button[type=submit]");
  await page.waitForURL((u) => u.search.includes("done=invitation-sent"));
  const invitation = await page.locator("td[data-status]").first().getAttribute("data-status");
  const notice = (await page.locator("[data-notice]").textContent())?.trim();
  await snap(page, "invitation-sent");
  out({ step: "invitation", status: invitation, notice });

  // 4. The audit log shows the three actions, expandable.
  await page.goto(`${cfg.base}/admin/t/${cfg.tenant}/audit?user=${cfg.member.username}`);
  const kinds = await page.locator("li[data-kind]").evaluateAll((els) => els.map((e) => e.dataset.kind));
  await page.locator("li[data-kind] summary").first().click();
  await snap(page, "audit");
  out({ step: "audit", kinds });
  await memberCtx.close();
} catch (e) {
  out({ step: "error", error: String(e), url: page.url() });
  await snap(page, "error").catch(() => {});
} finally {
  out({ done: true, problems });
  await browser.close();
}
