// Measures the console in Chromium (see bench/console.sh): first page interactive, signed out (the sign-in form)
// and signed in (event history with its first 50 events); an event history page's render after the API answer.
// Usage: node console.mjs <endpoint> <access key id> <secret> <runs> <events> <seconds the native client took to
// fetch them>; run from crates/cairn-console/web.
import { createRequire } from 'node:module';

// playwright-core is the console's own npm package: resolved from the working directory (the console's web/).
const { chromium } = createRequire(process.cwd() + '/')('playwright-core');

const [endpoint, akid, secret, runsArg, eventsArg, nativeArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 20);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const session = JSON.stringify({ accessKeyId: akid, secretAccessKey: secret, region: 'us-east-1' });

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const ms = (x) => `${x.toFixed(1)} ms`;

/** A fresh context (empty cache) per run, as a first visit. */
async function fresh(signedIn, blockScript = false) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (signedIn) await context.addInitScript((s) => sessionStorage.setItem('cairn.session', s), session);
  if (blockScript) await context.route('**/app.js', (r) => r.abort());
  return [context, await context.newPage()];
}

// Signed out: navigation start -> the sign-in form rendered by the script (the `cairn:rendered` mark).
const signinTimes = [];
const floorTimes = [];
for (let i = 0; i < runs; i++) {
  let [ctx, page] = await fresh(false);
  await page.goto(endpoint + '/console/');
  await page.waitForSelector('form input[name=accessKeyId]');
  signinTimes.push(await page.evaluate(() => performance.getEntriesByName('cairn:rendered')[0].startTime));
  await ctx.close();
  [ctx, page] = await fresh(false, true);
  await page.goto(endpoint + '/console/');
  floorTimes.push(await page.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd));
  await ctx.close();
}

// Signed in: navigation start -> event history's first 50 rows rendered; then page after page, API answer -> rows.
const firstPage = [];
const renders = [];
const floorRenders = [];
for (let i = 0; i < runs; i++) {
  const [ctx, page] = await fresh(true);
  await page.goto(endpoint + '/console/#/events');
  await page.waitForFunction(() => performance.getEntriesByName('cairn:events-render').length > 0 && document.querySelectorAll('tbody tr').length === 50);
  const m = await page.evaluate(() => performance.getEntriesByName('cairn:events-render')[0]);
  firstPage.push(m.startTime + m.duration);
  for (let p = 2; p <= 4; p++) {
    await page.getByRole('button', { name: /Next/ }).click();
    await page.waitForFunction((n) => performance.getEntriesByName('cairn:events-render').length >= n, p);
  }
  renders.push(...(await page.evaluate(() => performance.getEntriesByName('cairn:events-render').slice(1).map((e) => e.duration))));
  // The DOM's floor: the same 50 rows' text as one HTML string, from the same page's data, to the next frame.
  floorRenders.push(
    await page.evaluate(
      () =>
        new Promise((resolve) => {
          const rows = [...document.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent));
          const host = document.createElement('div');
          document.body.appendChild(host);
          const start = performance.now();
          host.innerHTML = '<table><tbody>' + rows.map((r) => '<tr>' + r.map((c) => `<td>${c}</td>`).join('') + '</tr>').join('') + '</tbody></table>';
          requestAnimationFrame(() => {
            resolve(performance.now() - start);
            host.remove();
          });
        }),
    ),
  );
  await ctx.close();
}
// Event history's CSV download of every event, click to file, with the lines counted.
const [ctx, page] = await fresh(true);
await page.goto(endpoint + '/console/#/events');
await page.waitForSelector('tbody tr');
const started = performance.now();
const saved = page.waitForEvent('download', { timeout: 3_600_000 });
await page.getByRole('button', { name: 'Download CSV' }).click();
const file = await (await saved).path();
const downloadSeconds = (performance.now() - started) / 1000;
const { readFileSync } = await import('node:fs');
const lines = readFileSync(file, 'utf8').split('\r\n').filter(Boolean).length - 1;
await ctx.close();
await browser.close();

const line = (name, xs, floor, goal) => {
  const p50 = pct(xs, 50);
  const p95 = pct(xs, 95);
  const f = pct(floor, 50);
  console.log(`${name.padEnd(44)} p50 ${ms(p50).padStart(9)}  p95 ${ms(p95).padStart(9)}  floor p50 ${ms(f).padStart(9)}  ratio ${(p50 / f).toFixed(2)}  goal ${goal} ms: ${p95 <= goal ? 'met' : 'MISSED'}`);
};
console.log(`console benchmark: ${runs} cold visits each (Chromium, loopback)`);
line('first page interactive (sign-in form)', signinTimes, floorTimes, 1000);
line('first page interactive (50 events, signed in)', firstPage, floorTimes, 1000);
line('event history page of 50 rendered after API', renders, floorRenders, 200);
const native = Number(nativeArg);
console.log(
  `CSV download of ${lines} events: ${downloadSeconds.toFixed(1)} s (${Math.round(lines / downloadSeconds)} events/s); ` +
    `cairn lookup fetching ${eventsArg} events: ${native.toFixed(1)} s; ratio ${(native / downloadSeconds).toFixed(2)}`,
);
