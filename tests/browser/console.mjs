// The console as a person uses it, in headless Chromium (Debian's), with axe-core on every page.
// Run by tests/api/console_browser.rs, which starts the server and passes, in the environment:
//   BASE, CHROMIUM, PASSWORD, ADMIN_USER, VIEWER_USER, LOG_PATH (a log file under the evidence
//   roots, alone in its folder: the model reads the folder's *.jsonl), DRIFT_MODEL (a model whose audit has findings), API_KEY; SHOTS (optional: a folder
//   for screenshots of every page at desktop and phone width), HOOK_URL (a receiver the
//   webhook's test delivery goes to; the script prints the secret it was shown).
// Exits non-zero with the reason on the first check that fails.
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { readFileSync, writeFileSync, renameSync, mkdirSync } from "node:fs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BASE = env("BASE");
const PASSWORD = env("PASSWORD");
const SHOTS = process.env.SHOTS;
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const audited = [];
/// axe-core on the page as it stands: no serious or critical violation.
async function accessible(page, name) {
  await page.evaluate(axeSource); // DevTools evaluation, so the page's CSP does not apply
  const r = await page.evaluate(() =>
    window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }));
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of r.violations) {
    console.log(`  axe ${name}: ${v.impact} ${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  }
  check(bad.length === 0, `axe: no serious or critical violation on ${name}`);
  audited.push(name);
}

/// What sticks out of the viewport sideways (wide tables scroll inside their own box instead).
const overflowing = () => {
  const out = [];
  if (document.documentElement.scrollWidth <= window.innerWidth) return out;
  out.push(`the page is ${document.documentElement.scrollWidth}px wide`);
  for (const el of document.querySelectorAll("body *")) {
    // A wide table scrolls in its own box, but what is positioned outside the box is not
    // clipped by it.
    const pos = getComputedStyle(el).position;
    if (el.closest(".scroll") && !el.classList.contains("scroll") && pos !== "absolute" && pos !== "fixed") continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > window.innerWidth + 1) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className ? "." + el.className : ""} (${Math.round(r.right)}px)`);
    }
  }
  return out;
};

/// The page at desktop and phone width: nothing wider than the screen (checked always), and a
/// screenshot of each when SHOTS names a folder.
async function shot(page, name) {
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  for (const [w, suffix] of [[1280, ""], [390, "-phone"]]) {
    await page.setViewportSize({ width: w, height: w === 390 ? 844 : 900 });
    const wide = await page.evaluate(overflowing);
    check(wide.length === 0, `${name} fits ${w} pixels${wide.length ? ": " + wide.slice(0, 5).join(", ") : ""}`);
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name.replaceAll(" ", "-")}${suffix}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/// The page as a person meets it: checked with axe, and photographed when asked.
async function visit(page, path, name) {
  const r = await page.goto(BASE + path);
  check(r.ok(), `${name} (${path}) answers ${r.status()}`);
  await accessible(page, name);
  await shot(page, name);
  return r;
}

async function signIn(page, user) {
  await page.goto(BASE + "/login");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(PASSWORD);
  await Promise.all([page.waitForURL(BASE + "/"), page.getByRole("button", { name: "Sign in" }).click()]);
}

const mainText = (page) => page.locator("main").innerText();

async function admin(browser) {
  const ctx = await browser.newContext({ acceptDownloads: true, timezoneId: "UTC" });
  const page = await ctx.newPage();

  // Signed out, every page leads to the sign-in form.
  await page.goto(BASE + "/console/findings");
  check(page.url() === BASE + "/login", "a signed-out visit is sent to the sign-in page");
  await accessible(page, "sign-in");
  await shot(page, "login");

  // A form posted without its CSRF token is refused (403) and signs nobody in.
  await page.evaluate(() => document.querySelector("input[name=csrf]").remove());
  await page.getByLabel("Username").fill(env("ADMIN_USER"));
  await page.getByLabel("Password").fill(PASSWORD);
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url() === BASE + "/login" && r.request().method() === "POST"),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  check(refused.status() === 403, `sign-in without its CSRF token answers 403 (got ${refused.status()})`);
  check((await mainText(page)).includes("CSRF"), "the refusal says why");

  // A wrong password is said next to the fields.
  await page.goto(BASE + "/login");
  await page.getByLabel("Username").fill(env("ADMIN_USER"));
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  check(await page.locator("#login-error").isVisible(), "a failed sign-in shows its error beside the form");
  await accessible(page, "sign-in with an error");

  await signIn(page, env("ADMIN_USER"));
  check((await page.title()).startsWith("Overview"), "signing in opens the overview");
  await visit(page, "/", "overview");
  await visit(page, "/?by=day", "overview by day");

  // Register a model with a log source: first with fields left empty, then properly.
  await visit(page, "/console/models", "models");
  await page.getByRole("link", { name: "Register a model" }).click();
  await accessible(page, "register form");
  await shot(page, "register");
  await page.getByLabel("Model ID").fill("browser-scorer");
  await page.getByRole("button", { name: "Register" }).click();
  check(await page.locator("#name-error").isVisible(), "a missing name is said beside the Name field");
  check((await page.getByLabel("Name").getAttribute("aria-invalid")) === "true", "the Name field is marked invalid");
  check((await page.getByLabel("Model ID").inputValue()) === "browser-scorer", "what was typed is kept");
  await accessible(page, "register form with errors");
  await shot(page, "register-errors");

  await page.getByLabel("Name").fill("Scorer made in a browser");
  await page.getByLabel("Owner").fill("risk-team");
  await page.getByLabel("File or glob").fill(env("LOG_PATH").replace(/[^/]+$/, "*.jsonl"));
  await page.getByLabel("Confidence").fill("confidence");
  await page.getByLabel("Outcome", { exact: true }).fill("outcome");
  await page.getByLabel("Ground truth").fill("actual");
  await page.getByLabel("Timestamp").fill("ts");
  await page.getByLabel("Protected attributes").fill("gender, age_band");
  await page.getByLabel("Scheduled audits").selectOption("daily");
  await Promise.all([
    page.waitForURL(BASE + "/console/models/browser-scorer"),
    page.getByRole("button", { name: "Register" }).click(),
  ]);
  check(true, "registering opens the model's page");

  // Its baseline audit appears without a reload (the page follows the event stream).
  let navigations = 0;
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations++; });
  const before = await mainText(page);
  if (before.includes("BASELINE_CREATED")) {
    // The scheduler was quicker than the page: prove the live redraw with one more audit.
    const r = await fetch(`${BASE}/models/browser-scorer/audits`, {
      method: "POST", headers: { authorization: `Bearer ${env("API_KEY")}`, "content-type": "application/json" }, body: "{}",
    });
    check(r.status === 202, "an extra audit was started through the API");
    await page.waitForFunction(() => (document.querySelector("main").innerText.match(/AUDIT_PASS|AUDIT_WARN|AUDIT_FAIL/g) || []).length >= 1, null, { timeout: 60000 });
  } else {
    await page.waitForFunction(() => document.querySelector("main").innerText.includes("BASELINE_CREATED"), null, { timeout: 60000 });
  }
  check(navigations === 0, `the audit appeared without reloading the page (${navigations} navigations)`);
  check((await page.locator("#live-status").innerText()).length > 0, "the update is announced to screen readers");
  await accessible(page, "model");

  // New predictions are logged (the same rows, stamped now); an audit run by hand reads them,
  // and is approved as the baseline.
  const rows = readFileSync(env("LOG_PATH"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const now = Date.now();
  const fresh = rows.map((r, i) => JSON.stringify({ ...r, ts: new Date(now - (i % 400)).toISOString() })).join("\n") + "\n";
  const later = env("LOG_PATH").replace(/[^/]+$/, "later.jsonl");
  writeFileSync(later + ".part", fresh);
  renameSync(later + ".part", later);
  await page.getByRole("button", { name: "Run an audit now" }).click();
  await page.waitForFunction(() => document.querySelectorAll("main button").length > 0 &&
    [...document.querySelectorAll("main button")].some((b) => b.textContent === "Approve as baseline"), null, { timeout: 60000 });
  const approveForm = page.locator("form", { has: page.getByRole("button", { name: "Approve as baseline" }) }).first();
  const approved = (await approveForm.getAttribute("action")).split("/")[3];
  await approveForm.getByRole("button").click();
  await page.waitForURL(BASE + "/console/models/browser-scorer");
  const baselines = await page.locator("td .tag.ok", { hasText: "baseline" }).count();
  check(baselines === 1, "one audit is marked as the baseline");
  const row = page.locator("tbody tr", { has: page.locator(`a[title="${approved}"]`) });
  check((await row.innerText()).includes("baseline"), `the approved audit ${approved} is now the baseline`);
  await shot(page, "model");

  // Versions and metrics.
  await page.getByLabel("Version", { exact: true }).first().fill("2");
  await page.getByLabel("Artifact location").fill("s3://models/scorer/2");
  await page.getByLabel("Evaluation metrics", { exact: true }).fill("accuracy = 0.91\nf1 = 0.88");
  await page.getByRole("button", { name: "Add version" }).click();
  await page.waitForURL(/\/console\/models\/browser-scorer/);
  check((await mainText(page)).includes("s3://models/scorer/2"), "the new version shows its artifact location");
  check((await mainText(page)).includes("accuracy 0.91"), "and its metrics");
  await page.getByLabel("Metrics", { exact: true }).fill("accuracy = nope");
  await page.getByRole("button", { name: "Save metrics" }).click();
  check(await page.locator("#metrics-error").isVisible(), "a bad metric is said beside the metrics field");

  // The audit's page: the report inside the console, and its PDF.
  await page.goto(BASE + "/console/models/browser-scorer");
  await page.locator("tbody tr th a").first().click();
  await page.waitForURL(/\/console\/audits\//);
  await accessible(page, "audit");
  await shot(page, "audit");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download PDF" }).click(),
  ]);
  const pdf = readFileSync(await download.path());
  check(pdf.subarray(0, 5).toString() === "%PDF-", `the PDF downloads (${pdf.length} bytes)`);

  // Findings: acknowledge one with a note, then resolve two at once.
  const drift = env("DRIFT_MODEL");
  await visit(page, `/console/findings?model_id=${drift}&status=open`, "findings");
  const card = page.locator("article.finding").first();
  const title = await card.locator("h2").innerText();
  await card.getByLabel("Move to").selectOption("acknowledged");
  await card.getByLabel("Note").fill("seen in the browser; retraining planned");
  await card.getByRole("button", { name: "Save" }).click();
  await page.goto(`${BASE}/console/findings?model_id=${drift}&status=acknowledged`);
  const acked = await mainText(page);
  check(acked.includes("seen in the browser; retraining planned") && acked.includes(title.trim()),
    "the finding is acknowledged with its note");
  await page.goto(`${BASE}/console/findings?model_id=${drift}&status=open`);
  const open = await page.locator("article.finding").count();
  const picks = page.locator("article.finding input[type=checkbox]");
  const n = Math.min(2, await picks.count());
  for (let i = 0; i < n; i++) await picks.nth(i).check();
  await page.getByLabel("New status").selectOption("resolved");
  await page.locator("#bulk-note").fill("fixed by retraining");
  await page.getByRole("button", { name: "Move selected" }).click();
  await page.goto(`${BASE}/console/findings?model_id=${drift}&status=open`);
  const left = await page.locator("article.finding").count();
  check(left === open - n, `${n} findings resolved at once (${open} open before, ${left} after)`);

  await moreOfAModel(page, drift);
  await overviewFollows(page);
  await visit(page, "/console/compliance", "compliance");
  const missing = await page.goto(BASE + "/console/models/no-such-model");
  check(missing.status() === 404, "an unknown model answers 404 with a page");
  await accessible(page, "not found");
  await page.goto(BASE + "/");
  await settings(page);

  // The compliance log names the person and shows each entry's change.
  await page.goto(BASE + "/console/compliance");
  await page.getByLabel("Action").fill("key.revoke");
  await page.getByRole("button", { name: "Filter" }).click();
  const log = await page.locator("table.log").innerText();
  check(log.includes("user:ann") && /revoked:\s*false\s*→\s*true/.test(log), "the log shows who revoked the key and the change");
  await page.goto(BASE + "/console/compliance#entries");
  await accessible(page, "compliance log");
  await shot(page, "compliance"); // the log has the settings' entries by now

  // Signing out ends the session: the old cookie opens nothing any more.
  const cookies = await ctx.cookies();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(BASE + "/login");
  await ctx.addCookies(cookies);
  await page.goto(BASE + "/");
  check(page.url() === BASE + "/login", "after signing out, the old session cookie opens nothing");
  await ctx.close();
}

/// Settings as an admin of the system tenant: a key shown once that works and then stops, a
/// user refused beside the field, a webhook whose test arrives, a probe target whose secret
/// never comes back, a tenant with its first admin key.
async function settings(page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  check(page.url() === BASE + "/console/settings/keys", `Settings opens on API keys (${page.url()})`);
  await page.getByLabel("What it is for").fill("browser-ci");
  await page.getByLabel("Role").selectOption("viewer");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.locator("code.secret").innerText()).trim();
  check(/^aud_[0-9a-f]{16}_[0-9a-f]{64}$/.test(key), "a new API key is shown once");
  await accessible(page, "settings keys");
  await shot(page, "settings-keys");
  let r = await page.request.get(BASE + "/models", { headers: { authorization: `Bearer ${key}` } });
  check(r.status() === 200, `the new key works (${r.status()})`);
  await page.goto(BASE + "/console/settings/keys");
  check(!(await page.content()).includes(key), "the key is not shown again");
  await page.getByRole("button", { name: "Revoke browser-ci" }).click();
  check((await mainText(page)).includes("revoked"), "the key is revoked");
  r = await page.request.get(BASE + "/models", { headers: { authorization: `Bearer ${key}` } });
  check(r.status() === 401, `a revoked key opens nothing (${r.status()})`);

  await page.goto(BASE + "/console/settings/users");
  await page.getByLabel("Username").fill("carla");
  await page.getByLabel("Password").fill("short");
  await page.getByLabel("Role").selectOption("auditor");
  await page.getByRole("button", { name: "Add user" }).click();
  const pw = page.getByLabel("Password");
  check((await pw.getAttribute("aria-invalid")) === "true" && (await page.locator("#password-error").innerText()).includes("12"),
    "a short password is refused beside its field");
  check((await page.getByLabel("Username").inputValue()) === "carla", "the username is kept when a field is wrong");
  await pw.fill("a long enough passphrase");
  await page.getByRole("button", { name: "Add user" }).click();
  check((await mainText(page)).includes("User 'carla' added as auditor"), "a user is added");
  await accessible(page, "settings users");
  await shot(page, "settings-users");

  await page.goto(BASE + "/console/settings/webhooks");
  await visitEmpty(page, "settings webhooks (empty)");
  await page.getByLabel("Name").fill("ops-channel");
  await page.getByLabel("URL").fill(env("HOOK_URL"));
  await page.getByRole("button", { name: "Add webhook" }).click();
  const secret = (await page.locator("code.secret").innerText()).trim();
  check(secret.length >= 32, "a webhook's generated secret is shown once");
  console.log(`webhook secret shown once: ${secret}`);
  await page.getByRole("button", { name: "Send a test ops-channel" }).click();
  check((await mainText(page)).includes("Test message delivered (HTTP 200)"), "a test delivery arrives");
  check((await mainText(page)).includes("delivered"), "the last delivery is listed");
  check(!(await page.content()).includes(secret), "the webhook secret is not shown again");
  await accessible(page, "settings webhooks");
  await shot(page, "settings-webhooks");

  await page.goto(BASE + "/console/settings/targets");
  await page.getByLabel("Model ID").fill("browser-scorer");
  await page.getByLabel("Endpoint URL").fill(BASE + "/v1/chat/completions");
  await page.getByLabel("Model name sent").fill("gpt-test");
  await page.getByLabel("Credential", { exact: true }).fill("sk-never-shown-0123456789");
  await page.getByRole("button", { name: "Save target" }).click();
  const bad = page.getByLabel("Credential header");
  check((await bad.getAttribute("aria-invalid")) === "true", "a credential without its header is refused beside the header field");
  await bad.fill("authorization");
  await page.getByLabel("Credential", { exact: true }).fill("sk-never-shown-0123456789");
  await page.getByLabel("Calls per run").fill("20");
  await page.getByRole("button", { name: "Save target" }).click();
  const t = await mainText(page);
  check(t.includes("Probe target of 'browser-scorer' saved") && t.includes("20 calls"), "a probe target is saved with its limits");
  check(!(await page.content()).includes("sk-never-shown"), "the target's credential never comes back");
  await accessible(page, "settings targets");
  await shot(page, "settings-targets");

  await page.goto(BASE + "/console/settings/tenants");
  await page.getByLabel("Name").fill("Browser Bank");
  await page.getByRole("button", { name: "Create tenant" }).click();
  check(/^aud_/.test((await page.locator("code.secret").innerText()).trim()), "a new tenant's first admin key is shown once");
  check((await mainText(page)).includes("Browser Bank"), "the tenant is listed");
  await accessible(page, "settings tenants");
  await shot(page, "settings-tenants");
}

/// A sample uploaded from the browser, the model edited, archived and restored.
async function moreOfAModel(page, drift) {
  await page.goto(`${BASE}/console/models/${drift}`);
  await page.getByLabel("File (JSON Lines, CSV or TSV)").setInputFiles(env("LOG_PATH"));
  await page.getByRole("button", { name: "Upload" }).click();
  const receipt = await page.locator("main p.ok[role=status]").innerText();
  check(/Sample \S+ taken: 1500 rows read, 1500 valid, 0 invalid/.test(receipt), `a sample uploaded from the browser is received ("${receipt}")`);

  await page.goto(BASE + "/console/models/browser-scorer");
  await page.getByRole("link", { name: "Edit" }).click();
  await accessible(page, "edit form");
  await shot(page, "edit");
  check((await page.getByLabel("Name").inputValue()) === "Scorer made in a browser", "the edit form holds the model's values");
  await page.getByLabel("Owner").fill("fraud-team");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.waitForURL(BASE + "/console/models/browser-scorer");
  check((await mainText(page)).includes("fraud-team"), "an edit is saved");

  await page.getByRole("button", { name: "Archive" }).click();
  check((await mainText(page)).includes("Archived"), "the model is archived");
  await page.goto(BASE + "/console/models");
  check(!(await mainText(page)).includes("Scorer made in a browser"), "an archived model leaves the list");
  await page.goto(BASE + "/console/models?archived=on");
  check((await mainText(page)).includes("Scorer made in a browser"), "and is listed with archived models");
  await page.goto(BASE + "/console/models/browser-scorer");
  await page.getByRole("button", { name: "Restore" }).click();
  check(!(await mainText(page)).includes("Archived:"), "the model is restored");
  await page.goto(BASE + "/console/models?q=FRAUD-team");
  check((await page.locator("main tbody tr").count()) === 1, "a search by owner, in any case, finds it");
}

/// The overview redraws itself when an audit finishes, without a reload.
async function overviewFollows(page) {
  await page.goto(BASE + "/");
  const audits = async () => Number(await page.locator(".metric", { hasText: "Audits" }).first().locator("dd").innerText());
  const before = await audits();
  let navigations = 0;
  const count = (f) => { if (f === page.mainFrame()) navigations++; };
  page.on("framenavigated", count);
  const r = await page.request.post(BASE + "/models/browser-scorer/audits", {
    headers: { authorization: `Bearer ${env("API_KEY")}` }, data: {},
  });
  check(r.status() === 202, `an audit is started through the API (${r.status()})`);
  await page.waitForFunction((n) => {
    const dd = [...document.querySelectorAll(".metric")].find((m) => m.querySelector("dt").textContent === "Audits");
    return dd && Number(dd.querySelector("dd").textContent) > n;
  }, before, { timeout: 60000 });
  page.off("framenavigated", count);
  check(navigations === 0, `the overview counted the new audit without a reload (${before} → ${await audits()})`);
}

/// Reads work without JavaScript: sign in and read every kind of page with scripts off.
async function withoutScript(browser) {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await signIn(page, env("VIEWER_USER"));
  for (const [path, heading] of [["/", "Overview"], ["/console/models", "Models"],
    ["/console/models/browser-scorer", "Scorer made in a browser"], ["/console/findings", "Findings"],
    ["/console/compliance", "Compliance"], ["/console/settings", "Settings"]]) {
    const r = await page.goto(BASE + path);
    const h1 = await page.locator("main h1").first().innerText();
    check(r.ok() && h1.includes(heading), `without JavaScript ${path} reads (${r.status()}, "${h1}")`);
  }
  check((await page.locator("main time").first().innerText()).endsWith("UTC"), "without JavaScript times say UTC");
  await ctx.close();
}

/// A page that says what to do when it has nothing yet.
async function visitEmpty(page, name) {
  check((await page.locator("main p.empty").count()) > 0, `${name} says what to do next`);
  await accessible(page, name);
}

async function viewer(browser) {
  // A viewer in Tokyo: times in their zone, no write control, and a forged form refused.
  const ctx = await browser.newContext({ timezoneId: "Asia/Tokyo", locale: "en-GB" });
  const page = await ctx.newPage();
  await signIn(page, env("VIEWER_USER"));
  await page.goto(BASE + "/console/models/browser-scorer");
  const buttons = await page.locator("main button, main input[type=submit]").count();
  check(buttons === 0, `a viewer sees no write control on a model's page (${buttons})`);
  await shot(page, "model-viewer");
  const t = page.locator("main time").first();
  const shown = await t.innerText();
  check(!shown.includes("UTC") && /GMT\+9|JST/.test(shown), `times are in the viewer's zone ("${shown}")`);
  await page.goto(BASE + "/console/findings");
  check((await page.locator("main form[method=post]").count()) === 0, "a viewer sees no workflow form on findings");
  let r0;
  await accessible(page, "findings as a viewer");
  await page.goto(BASE + "/console/settings");
  check(page.url() === BASE + "/console/settings/targets", `a viewer's Settings open on probe targets (${page.url()})`);
  check((await page.locator("main form[method=post]").count()) === 0, "a viewer sees no settings form");
  r0 = await page.goto(BASE + "/console/settings/keys");
  check(r0.status() === 403, `a viewer cannot open the API keys (${r0.status()})`);
  await accessible(page, "settings refused to a viewer");
  const csrf = await page.locator("form.signout input[name=csrf]").inputValue();
  const r = await page.request.post(BASE + "/console/models/browser-scorer/run", { form: { csrf }, maxRedirects: 0 });
  check(r.status() === 403, `a viewer's forged run request is refused (${r.status()})`);
  await ctx.close();
}


const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox", "--disable-gpu"] });
try {
  await admin(browser);
  await viewer(browser);
  await withoutScript(browser);
  console.log(`axe ran on ${audited.length} pages: ${audited.join(", ")}`);
} catch (e) {
  // What the person was looking at when the check failed.
  for (const ctx of browser.contexts()) {
    for (const p of ctx.pages()) {
      console.log(`--- ${p.url()}\n${await p.locator("body").innerText().catch(() => "(no page)")}`);
    }
  }
  throw e;
} finally {
  await browser.close();
}
