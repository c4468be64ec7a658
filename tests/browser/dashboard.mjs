// End-to-end: the dashboard in headless Chromium against a running `iamwatch serve`.
// Usage: IAMWATCH_URL=http://127.0.0.1:PORT IAMWATCH_TOKEN=... SCREENSHOT_DIR=dir node dashboard.mjs
// With IAMWATCH_TOKEN_FILE_PATH (the server's token file) and IAMWATCH_PID (the server), the
// token is rotated at the end: the page is told its token was revoked and takes the new one.
// Exits non-zero (with the reason) when any step fails. Run by tests/serve/browser.rs.
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";

const url = process.env.IAMWATCH_URL;
const token = process.env.IAMWATCH_TOKEN;
const screenshots = process.env.SCREENSHOT_DIR || "target/browser";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(screenshots, { recursive: true });

function record(eventId) {
  return {
    eventVersion: "1.09",
    userIdentity: { type: "IAMUser", principalId: "AIDAEXAMPLE", arn: "arn:aws:iam::111122223333:user/mallory", accountId: "111122223333", accessKeyId: "AKIAEXAMPLEMALLORY01", userName: "mallory" },
    eventTime: new Date().toISOString(),
    eventSource: "iam.amazonaws.com",
    eventName: "DeactivateMFADevice",
    awsRegion: "us-east-1",
    sourceIPAddress: "203.0.113.77",
    userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    requestParameters: { userName: "<img src=x onerror=alert(1)>", serialNumber: "arn:aws:iam::111122223333:mfa/bob" },
    responseElements: null,
    eventID: eventId,
    eventType: "AwsApiCall",
    recipientAccountId: "111122223333",
  };
}

async function post(body) {
  const response = await fetch(`${url}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status !== 202) throw new Error(`POST /v1/events answered ${response.status}: ${await response.text()}`);
  return response.json();
}

const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
let failed = false;
const pageErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const first = await context.newPage();
  const second = await context.newPage();
  for (const page of [first, second]) {
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("dialog", (dialog) => { pageErrors.push(`a dialog opened: ${dialog.message()}`); dialog.dismiss(); });
  }

  // An older backlog: more than one page (200) of incidents before the page opens.
  // Each by an administrator of its own: 230 deletions by one caller at once would also be a burst.
  const backlog = Array.from({ length: 230 }, (_, index) => ({ ...record(`backlog-${Date.now()}-${index}`), eventName: "DeleteUser", eventTime: "2024-05-01T00:00:00Z", userIdentity: { type: "IAMUser", accountId: "111122223333", arn: `arn:aws:iam::111122223333:user/admin-${index}`, userName: `admin-${index}` }, requestParameters: { userName: `old-user-${index}` } }));
  const stored = await post({ Records: backlog });
  if (stored.incidents !== 230) throw new Error(`backlog not stored: ${JSON.stringify(stored)}`);

  // Without a token the page asks for one; a wrong one is refused.
  await first.goto(url);
  await first.waitForSelector("#token-form:not([hidden])");
  await first.waitForSelector('#connection[data-state="needToken"]', { timeout: 5000 });
  await first.fill("#token-input", "wrong-token");
  await first.click("#token-form button[type=submit]");
  await first.waitForSelector("#token-error:not([hidden])");
  await first.fill("#token-input", token);
  await first.click("#token-form button[type=submit]");
  await first.waitForSelector('#connection[data-state="connected"]', { timeout: 10000 });
  if (await first.isVisible("#token-form")) throw new Error("the token form is still shown after connecting");
  if (!(await first.isVisible("#incidents"))) throw new Error("the incident table is not shown");
  // The first page of the backlog, then the rest on request.
  if ((await first.locator("#rows tr").count()) !== 200) throw new Error(`the first page is not 200 rows: ${await first.locator("#rows tr").count()}`);
  await first.click("#load-more");
  await first.waitForFunction(() => document.querySelectorAll("#rows tr").length === 230);
  if (await first.isVisible("#load-more")) throw new Error("load more is still offered with nothing left");
  // The second page gets the token in the fragment (shared context: it is also remembered).
  await second.goto(`${url}/#token=${encodeURIComponent(token)}`);
  await second.waitForSelector('#connection[data-state="connected"]', { timeout: 10000 });
  if ((await second.evaluate(() => location.hash)) !== "") throw new Error("the token stayed in the URL");

  // An event posted now appears on both pages without a reload.
  const eventId = `browser-${Date.now()}`;
  const summary = await post(record(eventId));
  if (summary.incidents !== 1) throw new Error(`expected one incident: ${JSON.stringify(summary)}`);
  const rowSelector = `tr[data-event-id="${eventId}"]`;
  await first.waitForSelector(rowSelector, { timeout: 5000 });
  await second.waitForSelector(rowSelector, { timeout: 5000 });
  const severity = await first.textContent(`${rowSelector} .badge`);
  if (!/critical|high/i.test(severity)) throw new Error(`unexpected severity badge ${severity}`);
  const critical = Number(await first.textContent('[data-count="CRITICAL"]')) + Number(await first.textContent('[data-count="HIGH"]'));
  if (critical < 1) throw new Error("the severity counts did not move");
  if (await first.locator("#chart rect").count() < 1) throw new Error("the chart is empty");
  // Attacker-chosen text is shown as text, never run.
  await first.click(rowSelector);
  await first.waitForSelector("#detail:not([hidden])");
  const fields = await first.textContent("#detail-fields");
  for (const expected of ["203.0.113.77 (public, US)", "Chrome 131", "macOS", "(IAMUser)"]) {
    if (!fields.includes(expected)) throw new Error(`detail lacks ${expected}: ${fields}`);
  }
  if (/undefined|null|NaN/.test(fields)) throw new Error(`detail shows a missing value: ${fields}`);
  const raw = await first.textContent("#detail-raw");
  if (!raw.includes(eventId)) throw new Error("the raw event is not shown");
  await first.screenshot({ path: `${screenshots}/dashboard-detail.png` });

  // Acknowledge on the first page; the status changes there and, live, on the second.
  await first.click('[data-action="ACKNOWLEDGED"]');
  await first.waitForSelector(`${rowSelector} td.status[data-status="ACKNOWLEDGED"]`, { timeout: 5000 });
  await second.waitForSelector(`${rowSelector} td.status[data-status="ACKNOWLEDGED"]`, { timeout: 5000 });
  await first.waitForSelector('[data-action="ACKNOWLEDGED"]:disabled');
  const history = await first.textContent("#detail-history");
  if (!history.includes("dashboard")) throw new Error(`history lacks the change: ${history}`);

  // Korean: labels switch and times are shown in KST.
  await second.click("#lang");
  const statusText = await second.textContent(`${rowSelector} td.status`);
  if (statusText.trim() !== "확인됨") throw new Error(`status not in Korean: ${statusText}`);
  const time = await second.textContent(`${rowSelector} td.time`);
  if (!time.includes("KST")) throw new Error(`time not in KST: ${time}`);
  await second.screenshot({ path: `${screenshots}/dashboard-ko.png` });

  // The IAM posture panel: the latest scan, riskiest first, in the reader's language.
  await second.waitForSelector('#posture:not([hidden]) tr[data-principal="admin-direct"]', { timeout: 15000 });
  const postureRow = await second.textContent('tr[data-principal="admin-direct"]');
  if (!postureRow.includes("80") || !postureRow.includes("MFA 없이 콘솔 비밀번호 사용 가능")) {
    throw new Error(`posture row not as expected: ${postureRow}`);
  }
  const firstRisk = Number(await second.textContent("#posture-rows tr:first-child td.risk"));
  if (firstRisk < 80) throw new Error(`the riskiest principal is not first: ${firstRisk}`);
  await second.screenshot({ path: `${screenshots}/dashboard-posture-ko.png` });

  // A notification's link opens its incident (the token remembered from before).
  const incidentId = summary.incident_ids[0];
  const linked = await context.newPage();
  await linked.goto(`${url}/#incident=${encodeURIComponent(incidentId)}`);
  await linked.waitForSelector(`#detail[data-id="${incidentId}"]:not([hidden])`, { timeout: 10000 });
  const linkedRaw = await linked.textContent("#detail-raw");
  if (!linkedRaw.includes(eventId)) throw new Error("the linked incident's detail is not shown");
  if ((await linked.evaluate(() => location.hash)) !== "") throw new Error("the link stayed in the URL");

  // A stateful detection: five failed console sign-ins make a brute-force incident, whose detail
  // lists the five, each opening on a click.
  const failures = Array.from({ length: 5 }, (_, index) => ({
    ...record(`brute-${Date.now()}-${index}`),
    eventSource: "signin.amazonaws.com", eventName: "ConsoleLogin", eventType: "AwsConsoleSignIn",
    userIdentity: { type: "IAMUser", accountId: "111122223333", arn: "arn:aws:iam::111122223333:user/victim", userName: "victim" },
    sourceIPAddress: "198.51.100.201", errorMessage: "Failed authentication",
    requestParameters: null, responseElements: { ConsoleLogin: "Failure" },
    additionalEventData: { MFAUsed: "No", LoginTo: "https://console.aws.amazon.com/" },
  }));
  const brute = await post({ Records: failures });
  if (brute.incidents !== 6) throw new Error(`five failures and the brute force expected: ${JSON.stringify(brute)}`);
  const bruteId = brute.incident_ids[5];
  await linked.goto(`${url}/#incident=${encodeURIComponent(bruteId)}`);
  await linked.waitForSelector(`#detail[data-id="${bruteId}"]:not([hidden])`, { timeout: 10000 });
  const madeOf = await linked.$$eval("#detail-fields dd.related button", (buttons) => buttons.map((button) => button.dataset.incident));
  if (JSON.stringify(madeOf) !== JSON.stringify(brute.incident_ids.slice(0, 5))) {
    throw new Error(`the brute force lists ${JSON.stringify(madeOf)}`);
  }
  await linked.locator("#detail").screenshot({ path: `${screenshots}/dashboard-correlated.png` });
  await linked.click(`#detail-fields dd.related button[data-incident="${madeOf[2]}"]`);
  await linked.waitForSelector(`#detail[data-id="${madeOf[2]}"]:not([hidden])`, { timeout: 10000 });
  // The failed sign-in's reason, in one language and then in the other.
  const reasonIn = { en: "console sign-in failed", ko: "콘솔 로그인 실패" };
  const shown = await linked.evaluate(() => document.documentElement.lang);
  const other = shown === "ko" ? "en" : "ko";
  await linked.waitForFunction((reason) => document.querySelector("#detail-fields").textContent.includes(reason), reasonIn[shown], { timeout: 5000 });
  await linked.click("#lang");
  await linked.waitForFunction((reason) => document.querySelector("#detail-fields").textContent.includes(reason), reasonIn[other], { timeout: 5000 });

  // The token rotated on the server (its file rewritten, SIGHUP): the open page's stream is
  // closed as revoked, the page asks for a token saying the old one was refused, and the new
  // one brings it back live.
  const tokenFile = process.env.IAMWATCH_TOKEN_FILE_PATH;
  if (tokenFile && process.env.IAMWATCH_PID) {
    const rotated = `rotated-${Date.now()}`;
    writeFileSync(tokenFile, `${rotated}\n`);
    process.kill(Number(process.env.IAMWATCH_PID), "SIGHUP");
    await linked.waitForSelector("#token-form:not([hidden])", { timeout: 15000 });
    if (!(await linked.isVisible("#token-error"))) throw new Error("the revoked token is not said to be refused");
    // Not retried, and the header does not say it is.
    if (!(await linked.isVisible('#connection[data-state="refused"]'))) throw new Error(`the header says ${await linked.textContent("#connection-text")}`);
    if (!(await linked.isHidden("#app"))) throw new Error("the incidents stay shown without a valid token");
    await linked.screenshot({ path: `${screenshots}/dashboard-token-revoked.png` });
    await linked.fill("#token-input", rotated);
    await linked.press("#token-input", "Enter");
    await linked.waitForSelector("#app:not([hidden])", { timeout: 10000 });
    await linked.waitForSelector('#connection[data-state="connected"]', { timeout: 10000 });
  }

  if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join("; ")}`);
  console.log(`dashboard ok; screenshots in ${screenshots}`);
} catch (error) {
  failed = true;
  console.error(`dashboard test failed: ${error.stack || error}`);
  for (const [index, page] of browser.contexts().flatMap((context) => context.pages()).entries()) {
    await page.screenshot({ path: `${screenshots}/failure-${index}.png` }).catch(() => {});
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
