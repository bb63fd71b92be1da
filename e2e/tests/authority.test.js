// The physicians' web UI, end to end: an admin creates a physician, the physician signs in
// in French, issues a code, a phone redeems it through the public API and the physician's
// list shows it used; then a sign-in lockout, a forged form and an XSS attempt.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { screenshot, start } from "../lib/harness.js";

const admin = { email: "admin@sante.example", role: "admin", password: "admin password 2020" };
const physician = { email: "dr.martin@sante.example", password: "stéthoscope bleu 42" };

let run;
before(async () => {
  run = await start({ accounts: [admin] });
});
after(async () => {
  await run?.stop();
});

async function signIn(page, email, password) {
  await page.goto("/authority/sign-in");
  await page.locator("#email").fill(email);
  await page.locator("#password").fill(password);
  await page.locator("form[action='/authority/sign-in'] button[type=submit]").click();
}

/** Fails the test if any script runs an alert (an XSS that got through). */
function forbidDialogs(page) {
  page.on("dialog", (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
}

test("admin creates a physician, who issues a code in French that a phone redeems", async () => {
  // The admin, in English.
  const adminContext = await run.newContext("en-GB");
  const adminPage = await adminContext.newPage();
  forbidDialogs(adminPage);
  await adminPage.goto("/authority/sign-in");
  assert.equal(await adminPage.locator("h1").textContent(), "Sign in");
  await screenshot(adminPage, "01-sign-in-en");
  await signIn(adminPage, admin.email, admin.password);
  await adminPage.waitForURL("**/authority/issue");
  await adminPage.getByRole("link", { name: "Accounts" }).click();
  await adminPage.locator("#new-email").fill(physician.email);
  await adminPage.locator("#new-role").selectOption("physician");
  await adminPage.locator("#new-password").fill(physician.password);
  await adminPage.getByRole("button", { name: "Add the account" }).click();
  await adminPage.getByText(`Account ${physician.email} added.`).waitFor();
  assert.equal(await adminPage.locator("#users tbody tr", { hasText: physician.email }).count(), 1);
  await screenshot(adminPage, "02-accounts-admin");

  // The physician, whose browser asks for French.
  const context = await run.newContext("fr-FR");
  const page = await context.newPage();
  forbidDialogs(page);
  await page.goto("/authority/sign-in");
  assert.equal(await page.locator("h1").textContent(), "Connexion");
  assert.equal(await page.locator("html").getAttribute("lang"), "fr");
  await screenshot(page, "03-connexion-fr");
  await signIn(page, physician.email, physician.password);
  await page.waitForURL("**/authority/issue");
  assert.equal(await page.locator("h1").textContent(), "Délivrer un code de validation");
  // Physicians see no admin pages.
  assert.equal(await page.getByRole("link", { name: "Comptes" }).count(), 0);
  await screenshot(page, "04-delivrer-un-code");

  const today = new Date().toISOString().slice(0, 10);
  // The server's zone is UTC here, and so is the browser's (harness): today is the same day.
  await page.locator("#symptom-date").fill(today);
  await page.getByRole("button", { name: "Délivrer un code", exact: true }).click();
  const digits = page.locator(".code-digits");
  await digits.waitFor();
  const shown = (await digits.textContent()).trim();
  assert.match(shown, /^\d{4} \d{4} \d{4}$/, "twelve digits in three groups of four");
  const code = await digits.getAttribute("data-code");
  assert.equal(code, shown.replaceAll(" ", ""));
  assert.equal(await page.locator(".code-qr svg").count(), 1, "a QR code for the app");
  assert.match(await page.locator(".code-qr").getAttribute("title"), new RegExp(`^openstopcovid://report\\?code=${code}$`));
  assert.match(await page.locator(".code-expiry").textContent(), /^Valable jusqu’au \d{1,2} \S+ \d{4}, \d\d:\d\d$/);
  assert.match(await page.locator(".code-countdown").textContent(), /^Temps restant : (\d+ h )?\d+ min$/);
  assert.match(await page.locator(".code-reference").textContent(), /^Référence [0-9A-F]{4}-[0-9A-F]{4}$/);
  assert.ok(await page.getByRole("button", { name: "Copier le code" }).isVisible(), "the copy button, shown by the script");
  await screenshot(page, "05-code-delivre");
  // A reload shows the same code and issues no other (POST → redirect → GET).
  await page.reload();
  assert.equal(await page.locator(".code-digits").getAttribute("data-code"), code, "the same code after a reload");

  // Before the phone uses it, the list shows it unused.
  await page.getByRole("link", { name: "Mes codes" }).click();
  assert.equal(await page.locator("#codes tbody tr .status").first().textContent(), "Non utilisé");
  assert.equal(await page.locator("#codes tbody tr").count(), 1, "one code, reload or not");

  // The patient's phone redeems the code through the public API.
  const verify = await fetch(`${run.baseUrl}/v1/codes/verify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, fake: false }),
  });
  assert.equal(verify.status, 200);
  assert.ok((await verify.json()).accessToken, "the phone gets an upload token");

  await page.reload();
  const row = page.locator("#codes tbody tr").first();
  const firstId = await row.getAttribute("data-code-id");
  assert.equal(await row.locator(".status").textContent(), "Utilisé");
  assert.match(await row.locator("td").nth(3).textContent(), /\d\d:00–\d\d:00$/, "the hour of use, kept to the hour");
  await screenshot(page, "06-mes-codes-utilise");

  // A second code, expired by hand, can no longer be redeemed.
  await page.getByRole("link", { name: "Délivrer un code" }).click();
  await page.getByRole("button", { name: "Délivrer un code", exact: true }).click();
  const second = await page.locator(".code-digits").getAttribute("data-code");
  await page.getByRole("link", { name: "Mes codes" }).click();
  // Two codes issued within the same second tie in the list's order: the new one is the
  // row that is not the first code's.
  const newest = page.locator(`#codes tbody tr:not([data-code-id="${firstId}"])`);
  const secondId = await newest.getAttribute("data-code-id");
  await newest.getByRole("link", { name: "Faire expirer" }).click();
  // Asked first, on a page of its own.
  await page.getByRole("button", { name: "Faire expirer" }).click();
  await page.getByText("Le code a expiré").waitFor();
  // The list is ordered by expiry, so the row is found by its id, not its place.
  assert.equal(await page.locator(`#codes tbody tr[data-code-id="${secondId}"] .status`).textContent(), "Expiré");
  const refused = await fetch(`${run.baseUrl}/v1/codes/verify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: second, fake: false }),
  });
  assert.equal(refused.status, 404);

  // A printable sheet for a test centre.
  await page.getByRole("link", { name: "Délivrer un code" }).click();
  await page.locator("#count").fill("4");
  await page.getByRole("button", { name: "Préparer une feuille à imprimer" }).click();
  assert.equal(await page.locator(".sheet-code").count(), 4);
  assert.equal(await page.locator(".sheet-code svg").count(), 4);
  const sheetCodes = await page.locator(".sheet-code .code-digits").evaluateAll((all) => all.map((e) => e.dataset.code));
  await screenshot(page, "07-feuille-imprimable");
  // A reload prints the same sheet and issues nothing (POST → redirect → GET).
  await page.reload();
  assert.deepEqual(await page.locator(".sheet-code .code-digits").evaluateAll((all) => all.map((e) => e.dataset.code)), sheetCodes);

  // Statistics: chart and table.
  await page.getByRole("link", { name: "Statistiques" }).click();
  assert.equal(await page.locator(".bar-chart svg").count(), 5, "codes issued and used, key and visit uploads, venue warnings");
  const todayRow = page.locator("#statistics tbody tr").first();
  assert.equal(await todayRow.locator("th time").getAttribute("datetime"), today);
  assert.equal(await todayRow.locator("td").nth(0).textContent(), "6", "six codes issued today");
  assert.equal(await todayRow.locator("td").nth(1).textContent(), "1", "one used");
  await screenshot(page, "08-statistiques");
  const csv = await page.request.get("/authority/statistics.csv");
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), new RegExp(`^day,codes_issued,codes_used,uploads,keys_published,venue_warnings,next_day_uploads,check_in_uploads\\n(.*\\n)*${today},6,1,`));

  // Switching language keeps the page.
  await page.getByRole("link", { name: "English" }).click();
  await page.waitForURL("**/authority/statistics");
  assert.equal(await page.locator("h1").textContent(), "Statistics");

  // The admin's audit log shows who did what, and never a code.
  await adminPage.getByRole("link", { name: "Audit log" }).click();
  const audit = await adminPage.locator("#audit").textContent();
  assert.match(audit, /created an account/);
  assert.match(audit, /issued a code/);
  assert.match(audit, /expired a code/);
  assert.ok(!audit.includes(code) && !audit.includes(second), "no code in the audit log");
  await screenshot(adminPage, "09-audit-log");

  // Nor in the server's logs.
  assert.ok(!run.logs().includes(code), "the code never reaches the logs");

  // Signing out ends the session.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/authority/codes");
  await page.waitForURL("**/authority/sign-in");

  await context.close();
  await adminContext.close();
});

test("repeated failed sign-ins make the account wait, and never lock it", async () => {
  const email = "dr.lock@sante.example";
  const password = "the right password 1";
  const context = await run.newContext("en-GB");
  const adminPage = await context.newPage();
  await signIn(adminPage, admin.email, admin.password);
  await adminPage.waitForURL("**/authority/issue");
  await adminPage.goto("/authority/users");
  await adminPage.locator("#new-email").fill(email);
  await adminPage.locator("#new-password").fill(password);
  await adminPage.getByRole("button", { name: "Add the account" }).click();
  await adminPage.getByText(`Account ${email} added.`).waitFor();

  const attacker = await run.newContext("en-GB");
  const page = await attacker.newPage();
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    await signIn(page, email, `wrong guess ${attempt}`);
    await page.getByText("Wrong email address or password.").waitFor();
  }
  // From the third failure on, sign-ins with this address wait: 2 s, 4 s, 8 s … (at most
  // 15 minutes). Keep guessing until the wait shows.
  const waiting = page.getByText(/try again after/);
  for (let attempt = 4; attempt <= 10 && !(await waiting.isVisible()); attempt += 1) {
    await signIn(page, email, `wrong guess ${attempt}`);
    await page.locator(".notice").first().waitFor();
  }
  await waiting.waitFor();
  await screenshot(page, "10-sign-in-wait");

  // The admin sees the wait while it runs (2 s, 4 s … of real time: the server's clock is
  // not ours to move here; crates/server/tests/web.rs checks the waits themselves) and
  // can lift it; either way the right password then gets in: nothing is locked.
  await adminPage.reload();
  const row = adminPage.locator("#users tbody tr", { hasText: email });
  if (/Sign-ins paused until/.test(await row.textContent())) {
    await Promise.all([
      adminPage.waitForResponse((response) => response.url().endsWith("/state")),
      row.getByRole("button", { name: "Unlock" }).click(),
    ]);
  }
  await signIn(page, email, password);
  await page.waitForURL("**/authority/issue");
  await attacker.close();
  await context.close();
});

test("a forged form is refused and an XSS attempt is shown as text", async () => {
  const context = await run.newContext("en-GB");
  const page = await context.newPage();
  forbidDialogs(page);
  await signIn(page, admin.email, admin.password);
  await page.waitForURL("**/authority/issue");

  // A form posted with the session cookie but without the page's anti-forgery token.
  const forged = await page.request.post("/authority/issue", { form: { csrf: "guessed", onset: "" } });
  assert.equal(forged.status(), 403);
  assert.match(await forged.text(), /did not come from this site/);
  const forgedSignIn = await page.request.post("/authority/sign-in", {
    form: { csrf: "guessed", email: admin.email, password: admin.password },
  });
  assert.equal(forgedSignIn.status(), 403);

  // A page elsewhere that submits a form to us: the strict cookie is not sent, nothing happens.
  await page.goto("about:blank");
  await Promise.all([
    page.waitForURL("**/authority/sign-in"),
    page.setContent(
      `<form method="post" action="${run.baseUrl}/authority/issue"><input name="csrf" value="x"></form>` +
        `<script>document.forms[0].submit()</script>`,
    ),
  ]);
  assert.equal(await page.locator(".code-digits").count(), 0, "no code issued for a cross-site form");
  const issuePage = await page.goto("/authority/issue");
  const headers = issuePage.headers();
  assert.match(headers["content-security-policy"], /default-src 'none'|script-src 'self'/);
  assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
  assert.equal(headers["x-frame-options"], "DENY");
  await screenshot(page, "11-issue-en");

  // XSS attempts in every field an admin can type: account email, API key name.
  const evilEmail = "<script>alert(1)</script>@evil.example";
  await page.goto("/authority/users");
  await page.locator("#new-email").evaluate((input) => input.setAttribute("type", "text"));
  await page.locator("#new-email").fill(evilEmail);
  await page.locator("#new-password").fill("a long enough password");
  await page.getByRole("button", { name: "Add the account" }).click();
  await page.locator("#users").waitFor();
  assert.equal(await page.locator("#users tbody tr", { hasText: evilEmail }).count(), 1, "shown as text");
  await page.goto("/authority/api-keys");
  const evilName = `"><img src=x onerror=alert(2)>`;
  await page.locator("#key-name").fill(evilName);
  await page.getByRole("button", { name: "Create a key" }).click();
  await page.locator("#new-api-key").waitFor();
  assert.equal(await page.locator("#api-keys tbody tr", { hasText: evilName }).count(), 1);
  assert.equal(await page.locator("img").count(), 0, "no element injected");
  await screenshot(page, "12-api-keys-xss-as-text");
  await page.goto("/authority/audit");
  assert.equal(await page.locator("#audit tbody tr", { hasText: evilEmail }).count(), 1);
  await context.close();
});
