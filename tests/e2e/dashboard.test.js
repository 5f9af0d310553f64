// The web dashboard in a real headless browser (Debian's chromium, driven by puppeteer-core):
// a dev node and two daemons; the page logs in with alice's token, opens a channel through its
// form, shows it, shows the rate chart and the balances moving while alice pays bob at about
// 10 000 payments/s, closes the channel unilaterally and shows the countdown and the payout; a
// page without the token (or with a wrong one) shows nothing of the party's.
//
// It measures, under that load, the time from submitting a payment to the first frame of the
// rate chart that includes it, and the page's frame gaps, and prints them. Screenshots of each
// page go to $DASHBOARD_SCREENSHOTS (./scripts/dashboard-screenshots.sh sets it to
// docs/dashboard/), or to a temporary directory.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { startNode } from './lib/node.js';
import { connect, makeBlocks } from './lib/chain.js';
import { startDaemon } from './lib/daemon.js';

const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const SHOTS = process.env.DASHBOARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'paychan-dashboard-'));
// The load: PAYMENTS payments in calls of BATCH every 10 ms (BATCH=100: 10 000 per second).
const PAYMENTS = Number(process.env.DASHBOARD_PAYMENTS ?? 60_000);
const BATCH = 100;
const MARKERS = 40;

let node;
let api;
let alice;
let bob;
let browser;

before(async () => {
  assert.ok(CHROMIUM, 'chromium is not installed: run ./scripts/setup.sh');
  mkdirSync(SHOTS, { recursive: true });
  node = await startNode(['--sealing', 'instant']);
  api = await connect(node);
  bob = await startDaemon(node, 'bob');
  alice = await startDaemon(node, 'alice', ['--dashboard', '127.0.0.1:0']);
  assert.match(alice.dashboard, /^http:\/\/127\.0\.0\.1:\d+$/);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespace for chromium's sandbox.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1280,900'],
  });
});

after(async () => {
  await browser?.close();
  await alice?.stop();
  await bob?.stop();
  await api?.disconnect();
  await node?.stop();
});

async function newPage() {
  const page = await browser.newPage();
  const apiHttp = alice.api.replace('ws:', 'http:');
  await page.setViewport({ width: 1280, height: 900 });
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // Refused calls to the API without the token are expected; anything else is not.
    if (!request.url().startsWith(alice.api) && !request.url().startsWith(apiHttp)) problems.push(`request failed: ${request.url()}`);
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.hostname !== '127.0.0.1') problems.push(`a request to another host: ${request.url()}`);
  });
  return { page, problems };
}

const text = (page, selector) => page.$eval(selector, (element) => element.textContent);
const visible = (page, selector) => page.$eval(selector, (element) => !element.closest('[hidden]'));

async function shoot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function goTo(page, name) {
  await page.click(`nav button[data-page="${name}"]`);
  await page.waitForFunction((n) => !document.getElementById(`page-${n}`).hidden, {}, name);
}

test('a page without the token, or with a wrong one, shows nothing of the party', async () => {
  const { page, problems } = await newPage();
  await page.goto(alice.dashboard);
  await page.waitForSelector('#login-form');
  assert.equal(await visible(page, '#login'), true);
  assert.equal(await visible(page, '#nav'), false);
  await shoot(page, 'login');
  await page.type('#token', 'f'.repeat(64));
  await page.click('#login-form button');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
  assert.match(await text(page, '#login-error'), /token is wrong|not running/);
  const body = await page.evaluate(() => document.body.innerText);
  assert.ok(!body.includes(alice.account), 'the account is not shown');
  assert.equal(await page.evaluate(() => window.paychan.channels.length), 0);
  // What the page could fetch by itself without the token: nothing but the assets.
  const refused = await page.evaluate(async (url) => {
    const response = await fetch(url.replace('ws:', 'http:'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'paychan_balance', params: {} }) }).catch((e) => ({ status: String(e) }));
    return response.status;
  }, alice.api);
  // Cross-origin without CORS headers the browser does not even let the page read the answer.
  assert.notEqual(refused, 200);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the dashboard opens a channel, shows payments moving it, and a close with its countdown and payout', async () => {
  const { page, problems } = await newPage();
  // The link `paychan dashboard` prints: the token in the fragment.
  await page.goto(`${alice.dashboard}/#token=${alice.token}`);
  await page.waitForFunction(() => !document.getElementById('nav').hidden);
  assert.equal(await text(page, '#who'), alice.account);
  assert.equal(await page.evaluate(() => location.hash), '', 'the token leaves the address bar');

  // Open a channel through the form.
  await goTo(page, 'actions');
  await page.type('#form-open [name=counterparty]', bob.account);
  await page.type('#form-open [name=deposit]', '100UNIT');
  await page.type('#form-open [name=challenge_period]', '5');
  await page.type('#form-open [name=peer_address]', bob.peerListen);
  await page.click('#form-open button');
  await page.waitForFunction(() => /"channel_id"/.test(document.getElementById('result').textContent), { timeout: 60_000 });
  const opened = JSON.parse(await text(page, '#result'));
  const channel = opened.channel_id;
  await shoot(page, 'actions');

  // A bad input is refused in plain words and nothing is submitted.
  await page.evaluate(() => { document.querySelector('#form-deposit [name=channel_id]').value = ''; });
  await page.type('#form-deposit [name=channel_id]', String(channel));
  await page.type('#form-deposit [name=amount]', '12 apples');
  await page.click('#form-deposit button');
  await page.waitForFunction(() => document.getElementById('result').classList.contains('error'));
  assert.match(await text(page, '#result'), /^Invalid input: .*is not an amount/);

  await goTo(page, 'channels');
  const card = `.channel[data-channel="${channel}"]`;
  await page.waitForSelector(card);
  assert.match(await text(page, `${card} .mine-amount`), /^100 UNIT$/);
  await shoot(page, 'channels');

  // Payments at about 10 000/s while the page shows the rate chart.
  await goTo(page, 'payments');
  await page.waitForSelector('#rate-chart .uplot');
  await page.evaluate(() => { Object.assign(window.paychan.frames, { last: 0, longest: 0, over50: 0, count: 0 }); });
  const markers = [];
  const load = (async () => {
    const calls = [];
    for (let sent = 0; sent < PAYMENTS; sent += BATCH) {
      calls.push(alice.call('paychan_payMany', { channel_id: channel, amounts: Array(BATCH).fill('1000000') }));
      await new Promise((r) => setTimeout(r, 10));
    }
    return Promise.all(calls);
  })();
  const marking = (async () => {
    for (let i = 0; i < MARKERS; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const submitted = Date.now();
      const paid = await alice.call('paychan_pay', { channel_id: channel, amount: '1000000' });
      markers.push({ submitted, acknowledged: Date.now(), nonce: paid.nonce });
    }
  })();
  const started = Date.now();
  const answers = (await load).flat();
  const seconds = (Date.now() - started) / 1000;
  await marking;
  const failed = answers.filter((answer) => answer.error);
  assert.deepEqual(failed, [], 'every payment is acknowledged');
  await new Promise((r) => setTimeout(r, 500));
  const drawn = await page.evaluate(() => ({ log: window.paychan.drawn.log, frames: window.paychan.frames, sent: [...window.paychan.rate.buckets.values()].reduce((s, b) => s + b.sent, 0) }));
  assert.ok(drawn.sent >= PAYMENTS, `the rate chart counted ${drawn.sent} payments sent`);
  const delays = markers.map(({ submitted, nonce }) => {
    const first = drawn.log.find((entry) => entry.channel === channel && entry.nonce >= nonce);
    assert.ok(first, `payment of nonce ${nonce} appears in the chart`);
    return first.at - submitted;
  }).sort((a, b) => a - b);
  const quantile = (q) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))];
  const report = {
    payments: PAYMENTS + MARKERS,
    rate_per_s: Math.round(PAYMENTS / seconds),
    payment_to_chart_ms: { p50: quantile(0.5), p99: quantile(0.99), max: delays.at(-1) },
    frames: drawn.frames.count,
    longest_frame_gap_ms: Math.round(drawn.frames.longest),
    frames_over_50ms: drawn.frames.over50,
  };
  console.log(`dashboard under load: ${JSON.stringify(report)}`);
  assert.ok(report.payment_to_chart_ms.p99 < 1000, `a payment shows in the chart within a second: ${JSON.stringify(report)}`);
  assert.ok(drawn.frames.over50 <= drawn.frames.count * 0.05, `at most 5% of frames miss 50 ms: ${JSON.stringify(report)}`);
  await shoot(page, 'payments');

  // The balances moved: what the page shows is what the API says.
  await goTo(page, 'channels');
  const paid = BigInt(PAYMENTS + MARKERS) * 1_000_000n;
  const balance = await alice.call('paychan_balance', { channel_id: channel });
  assert.equal(BigInt(balance.channels[0].paid), paid);
  // The page reads the API every second: within a few it shows what the API says now.
  const mine = units(BigInt(balance.channels[0].mine));
  await page.waitForFunction((selector, expected) => document.querySelector(selector).textContent === expected, { timeout: 5_000 }, `${card} .mine-amount`, mine);

  // History pages.
  await goTo(page, 'payments');
  await page.waitForFunction(() => document.querySelectorAll('#history tbody tr').length === 20);
  const firstPage = await text(page, '#history tbody tr:first-child td:first-child');
  await page.click('#history-older');
  await page.waitForFunction((seq) => document.querySelector('#history tbody tr td').textContent !== seq, {}, firstPage);
  assert.ok(Number(await text(page, '#history tbody tr:first-child td:first-child')) < Number(firstPage));

  // A unilateral close through the form: the countdown, then the payout.
  await goTo(page, 'actions');
  await page.evaluate(() => { document.querySelector('#form-close [name=channel_id]').value = ''; });
  await page.type('#form-close [name=channel_id]', String(channel));
  await page.click('#form-close [name=force]');
  await page.click('#form-close button');
  await page.waitForFunction(() => /"unilaterally"/.test(document.getElementById('result').textContent), { timeout: 60_000 });
  await goTo(page, 'closes');
  await page.waitForFunction(() => /challenge period ends at block \d+: \d+ blocks? left/.test(document.getElementById('closing').textContent), { timeout: 10_000 });
  // Alice closed with what bob paid her (nothing): bob's daemon disputes with alice's newest
  // proof by itself, and the page shows the chain's settlement with it.
  const paidUnits = units(paid);
  await page.waitForFunction((expected) => document.getElementById('closing').textContent.includes(`theirs ${expected}`), { timeout: 30_000 }, paidUnits);
  await shoot(page, 'closes');
  const { channels: [closing] } = await alice.call('paychan_balance', { channel_id: channel });
  // Past the deadline the runtime pays the channel out.
  await makeBlocks(api, node, 7);
  await page.waitForFunction((id) => document.querySelector(`#settled [data-channel="${id}"] .payout`)?.textContent.startsWith('Payout: mine'), { timeout: 30_000 }, channel);
  const payout = await text(page, `#settled [data-channel="${channel}"] .payout`);
  assert.ok(payout.includes(`mine ${units(BigInt(closing.settlement[0]))}, theirs ${units(BigInt(closing.settlement[1]))}`), payout);
  await shoot(page, 'settled');
  assert.equal(BigInt(closing.settlement[0]) + BigInt(closing.settlement[1]), 100n * 10n ** 12n, 'the payout is the whole channel');
  assert.equal(BigInt(closing.settlement[1]), paid, 'bob is paid what alice paid');

  assert.deepEqual(problems, []);
  await page.close();
});

test('the network view draws the chain\'s channel graph and the last round\'s circulation', async () => {
  // A ring of three other parties, each holding all of one channel and none of the next; each
  // daemon's policy requests rebalancing by itself and eve's solves the round.
  const band = ['--rebalance-band', '20:80', '--rebalance-expiry', '200'];
  const ring = [
    await startDaemon(node, 'charlie', band),
    await startDaemon(node, 'dave', band),
    await startDaemon(node, 'eve', [...band, '--solve-every', '1', '--dashboard', '127.0.0.1:0']),
  ];
  try {
    for (const party of ring) {
      for (const other of ring) {
        if (other !== party) await party.call('paychan_addPeer', { account: other.account, address: other.peerListen });
      }
    }
    const channels = [];
    for (let k = 0; k < 3; k++) {
      const opened = await ring[k].call('paychan_open', { counterparty: ring[(k + 1) % 3].account, deposit: '40UNIT', challenge_period: 8 });
      channels.push(opened.channel_id);
    }
    const eve = ring[2];
    const deadline = Date.now() + 60_000;
    let status;
    for (;;) {
      status = await eve.call('paychan_rebalanceStatus');
      if (status.solved.length && status.executed.length === 2) break;
      assert.ok(Date.now() < deadline, `the round ran within a minute: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(BigInt(status.solved[0].volume), 60n * 10n ** 12n);

    // Alice's dashboard draws the ring and the round's three moves.
    const { page, problems } = await newPage();
    await page.goto(`${alice.dashboard}/#token=${alice.token}`);
    await page.waitForFunction(() => !document.getElementById('nav').hidden);
    await goTo(page, 'network');
    await page.waitForFunction(() => document.querySelectorAll('#graph .moved').length === 3, { timeout: 20_000 });
    // Every channel on chain is drawn (the ring's, and any an earlier test left open).
    const drawn = await page.$$eval('#graph line[data-channel]', (lines) => lines.map((line) => Number(line.dataset.channel)));
    const network = await alice.call('paychan_network');
    assert.deepEqual([...drawn].sort(), network.channels.map((c) => c.channel_id).sort());
    for (const id of channels) assert.ok(drawn.includes(id), `ring channel ${id} is drawn`);
    assert.equal(await page.$$eval('#last-round tbody tr', (rows) => rows.length), 3);
    await shoot(page, 'network');
    assert.deepEqual(problems, []);
    await page.close();

    // Eve's dashboard shows her request, the round she solved and her channels before and after.
    const eveView = await newPage();
    const evePage = eveView.page;
    await evePage.goto(`${eve.dashboard}/#token=${eve.token}`);
    await evePage.waitForFunction(() => !document.getElementById('nav').hidden);
    await goTo(evePage, 'rebalancing');
    await evePage.waitForFunction(() => document.querySelectorAll('#executed tbody tr').length === 2 && document.querySelectorAll('#depletion tbody tr').length === 2);
    assert.match(await text(evePage, '#solved'), /60 UNIT/);
    // The three requests stay open, used up, until they expire.
    assert.equal(await evePage.$$eval('#open-requests tbody tr', (rows) => rows.length), 3);
    assert.match(await text(evePage, '#depletion'), /100%|0%/, 'the share before the plan');
    assert.match(await text(evePage, '#depletion'), /50%/, 'and after it');
    await shoot(evePage, 'rebalancing');

    // Eve pays dave's invoice from her dashboard, routed by her daemon; the payment shows on
    // her Payments page as paid, with her role.
    const dave = ring[1];
    const invoice = await dave.call('paychan_invoice', { amount: '1UNIT' });
    await goTo(evePage, 'actions');
    await evePage.type('#form-pay-routed [name=to]', invoice.payee);
    await evePage.type('#form-pay-routed [name=amount]', '1UNIT');
    await evePage.type('#form-pay-routed [name=secret_hash]', invoice.secret_hash);
    await evePage.click('#form-pay-routed button');
    await evePage.waitForFunction(() => /"secret"/.test(document.getElementById('result').textContent), { timeout: 30_000 });
    await goTo(evePage, 'payments');
    await evePage.waitForFunction(() => /payer\s*paid/.test(document.getElementById('routed').innerText), { timeout: 10_000 });
    const payees = await dave.call('paychan_routedPayments');
    assert.equal(payees.find((p) => p.secret_hash === invoice.secret_hash)?.status, 'paid');
    assert.deepEqual(eveView.problems, []);
    await evePage.close();
  } finally {
    for (const party of ring) await party.stop();
  }
});

/** As the page writes planck: UNIT with up to 6 decimals. */
function units(planck) {
  const unit = 10n ** 12n;
  const fraction = (planck % unit).toString().padStart(12, '0').slice(0, 6).replace(/0+$/, '');
  return `${planck / unit}${fraction ? '.' + fraction : ''} UNIT`;
}
