// The Paychan dashboard: everything it shows comes from the daemon's authenticated JSON-RPC API
// (docs/api.md) over one WebSocket; it keeps nothing of the party's anywhere but in memory and,
// for the token, in this tab's sessionStorage. Text from the API is only ever set as text.

const UNIT = 10n ** 12n;
const HISTORY_PAGE = 20;
const RATE_BUCKET_MS = 250;
const RATE_BUCKETS = 240; // one minute
const LATENCY_POINTS = 120;

// ---------- small helpers ----------

function h(tag, attributes = {}, ...children) {
  const svg = ['svg', 'g', 'line', 'circle', 'text', 'path', 'title', 'defs', 'marker'].includes(tag);
  const element = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.setAttribute('class', value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const $ = (id) => document.getElementById(id);

/** Planck (a decimal string or bigint) as UNIT with up to 6 decimals. */
function units(planck) {
  let value = BigInt(planck);
  const negative = value < 0n;
  if (negative) value = -value;
  const whole = value / UNIT;
  const fraction = (value % UNIT).toString().padStart(12, '0').slice(0, 6).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? '.' + fraction : ''} UNIT`;
}

const short = (account) => (account && account.length > 12 ? `${account.slice(0, 4)}…${account.slice(-4)}` : account);

/** The share `part / whole` of two planck strings, 0 to 1. */
function share(part, whole) {
  const w = BigInt(whole);
  if (w <= 0n) return 0;
  const p = BigInt(part);
  return Math.max(0, Math.min(1, Number((p * 10000n) / w) / 10000));
}

/** An API error in plain words, by its stable code (docs/api.md, Errors). */
function plainError(error) {
  const said = error.message || String(error);
  switch (error.code) {
    case -32010: return `Refused before anything was submitted (no fee paid): ${said}`;
    case -32011: return `The chain refused it: ${said}`;
    case -32012: return `The payment failed: ${said}`;
    case -32602: return `Invalid input: ${said}`;
    case -32601: return `The daemon does not know this method: ${said}`;
    case -32001: return 'The daemon refused the token: log in again with the token of its api.cookie.';
    case 'link': return `The connection to the daemon is down: ${said}`;
    default: return said;
  }
}

// ---------- the API over one WebSocket ----------

class Api {
  constructor(url, token) {
    this.url = `${url}/?token=${encodeURIComponent(token)}`;
    this.next = 1;
    this.pending = new Map();
    this.onEvent = () => {};
    this.onDown = () => {};
  }

  /** Resolves once the socket is open; rejects if the daemon refuses it (a wrong token). */
  open() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      let opened = false;
      socket.onopen = () => { opened = true; this.socket = socket; resolve(); };
      socket.onmessage = (message) => this.receive(JSON.parse(message.data));
      socket.onclose = () => {
        for (const { reject: fail } of this.pending.values()) fail({ code: 'link', message: 'the socket closed' });
        this.pending.clear();
        if (opened) this.onDown();
        else reject(new Error('the daemon did not accept the connection: the token is wrong, or the daemon is not running'));
      };
    });
  }

  close() { this.socket?.close(); }

  call(method, params = {}) {
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        reject({ code: 'link', message: 'not connected' });
        return;
      }
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  receive(message) {
    if (message.method === 'paychan_event') {
      this.onEvent(message.params.result);
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.error) waiting.reject(message.error);
    else waiting.resolve(message.result);
  }
}

// ---------- state ----------

const state = {
  api: null,
  info: null,
  channels: [],
  blockSeen: [], // [block, ms] pairs, to estimate the block time for countdowns
  settled: [], // channels that left the chain while this page watched
  chainEvents: [],
  historyBefore: [null], // the `before` of each page visited, for "newer"
  rate: { buckets: new Map(), dirty: true },
  latency: { previous: null, x: [], p50: [], p99: [] },
  // For the browser test: when each drawn chart first showed each channel's newest sent nonce.
  drawn: { sent: {}, log: [] },
  frames: { last: 0, longest: 0, over50: 0, count: 0 },
};
window.paychan = state; // read by tests/e2e/dashboard.test.js; the page itself never reads it

// ---------- log in ----------

async function login(token) {
  $('login-error').textContent = '';
  const config = await (await fetch('/config.json')).json();
  const api = new Api(config.api, token);
  try {
    await api.open();
    state.info = await api.call('paychan_info');
  } catch (error) {
    api.close();
    sessionStorage.removeItem('paychan-token');
    showLogin(error.message || plainError(error));
    return;
  }
  sessionStorage.setItem('paychan-token', token);
  state.api = api;
  api.onEvent = onEvent;
  api.onDown = () => {
    $('status').textContent = 'The connection to the daemon dropped; reconnecting…';
    setTimeout(() => login(token), 1000);
  };
  await api.call('paychan_subscribeEvents', []);
  $('login').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = state.info.account;
  $('status').textContent = `Connected to ${config.api} · daemon ${state.info.version} · chain ${state.info.genesis_hash.slice(0, 10)}…`;
  show(currentPage());
  refresh();
}
refreshLoop();

function showLogin(reason) {
  for (const page of document.querySelectorAll('.page')) page.hidden = true;
  for (const id of ['channels', 'closing', 'settled', 'chain-events', 'open-request', 'open-requests', 'requested', 'solved', 'executed', 'depletion', 'last-round']) $(id).replaceChildren();
  $('history').tBodies[0].replaceChildren();
  $('graph').replaceChildren();
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login').hidden = false;
  $('login-error').textContent = reason || '';
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  login($('token').value.trim());
});
$('logout').addEventListener('click', () => {
  sessionStorage.removeItem('paychan-token');
  const api = state.api;
  state.api = null;
  if (api) { api.onDown = () => {}; api.close(); }
  showLogin('');
});

// ---------- pages ----------

function currentPage() {
  return document.querySelector('nav button.active')?.dataset.page || 'channels';
}

function show(page) {
  for (const button of document.querySelectorAll('nav button')) button.classList.toggle('active', button.dataset.page === page);
  for (const section of document.querySelectorAll('.page')) section.hidden = section.id !== `page-${page}`;
  if (page === 'payments') { ensureCharts(); loadHistory(state.historyBefore.at(-1)); loadRouted(); }
  if (page === 'rebalancing') loadRebalancing();
  if (page === 'network') loadNetwork();
}
for (const button of document.querySelectorAll('nav button')) button.addEventListener('click', () => show(button.dataset.page));

// ---------- polling ----------

/** Reads the daemon's info and channels once. */
async function refresh() {
  if (!state.api) return;
  try {
    const [info, channels] = await Promise.all([state.api.call('paychan_info'), state.api.call('paychan_balance')]);
    state.info = info;
    noteBlock(info.block);
    const before = new Map(state.channels.map((c) => [c.channel_id, c]));
    state.channels = channels.channels;
    const now = new Set(state.channels.map((c) => c.channel_id));
    for (const [id, last] of before) {
      if (!now.has(id) && !state.settled.some((s) => s.channel_id === id)) {
        state.settled.unshift({ channel_id: id, counterparty: last.counterparty, payout: last.settlement, closing: last.closing, block: info.block });
      }
    }
    $('free').textContent = `Free balance: ${units(channels.free)}`;
    renderChannels();
    renderCloses();
    if (currentPage() === 'rebalancing') loadRebalancing();
    if (currentPage() === 'network') loadNetwork();
    // The newest page of the history follows new payments; older pages stay where they are.
    if (currentPage() === 'payments' && state.historyBefore.length === 1) loadHistory(null);
    if (currentPage() === 'payments') loadRouted();
  } catch (error) {
    $('status').textContent = plainError(error);
  }
}

/** Refreshes every second while logged in (one loop for the page's life). */
async function refreshLoop() {
  await refresh();
  setTimeout(refreshLoop, 1000);
}

function noteBlock(block) {
  const seen = state.blockSeen;
  if (!seen.length || seen.at(-1)[0] !== block) seen.push([block, Date.now()]);
  if (seen.length > 20) seen.shift();
  $('block').textContent = `at block ${block}`;
}

/** Milliseconds per block as observed (6 s until two blocks were seen). */
function blockMs() {
  const seen = state.blockSeen;
  if (seen.length < 2) return 6000;
  const [[b0, t0], [b1, t1]] = [seen[0], seen.at(-1)];
  return b1 > b0 ? (t1 - t0) / (b1 - b0) : 6000;
}

function countdown(deadline) {
  const left = deadline - state.info.block;
  if (left < 0) return 'the challenge period is over: the channel settles at the next block';
  const seconds = Math.round((left * blockMs()) / 1000);
  return `challenge period ends at block ${deadline}: ${left} block${left === 1 ? '' : 's'} left, about ${seconds} s`;
}

// ---------- channels ----------

function bar(channel) {
  const total = BigInt(channel.mine) + BigInt(channel.theirs);
  const pledged = BigInt(channel.pledged);
  const mine = BigInt(channel.mine) - pledged;
  const part = (value, cls, label) => {
    const div = h('div', { class: cls, title: `${label}: ${units(value)}` });
    div.style.width = `${share(value < 0n ? 0n : value, total) * 100}%`;
    return div;
  };
  return h('div', { class: 'bar', 'aria-label': 'mine, pledged, theirs' },
    part(mine, 'mine', 'mine'), part(pledged, 'pledged', 'pledged to rebalancing'), part(BigInt(channel.theirs), 'theirs', 'theirs'));
}

function figure(label, value) {
  return h('div', {}, h('span', {}, `${label} `), value);
}

function channelCard(channel) {
  const closing = channel.closing;
  return h('div', { class: 'card channel', 'data-channel': channel.channel_id },
    h('h3', {}, `Channel ${channel.channel_id} with ${short(channel.counterparty)}`,
      h('span', { class: `state${closing ? ' closing' : ''}` }, closing ? `closing (by ${channel.closed_by_me ? 'me' : 'them'})` : 'open')),
    closing ? h('p', { class: 'countdown', 'data-deadline': channel.deadline }, countdown(channel.deadline)) : null,
    bar(channel),
    h('div', { class: 'figures' },
      figure('mine', h('b', { class: 'mine-amount' }, units(channel.mine))),
      figure('theirs', h('b', { class: 'theirs-amount' }, units(channel.theirs))),
      figure('pledged', units(channel.pledged)),
      figure('deposited', `${units(channel.deposited[0])} / ${units(channel.deposited[1])}`),
      figure('in custody', `${units(channel.custody[0])} / ${units(channel.custody[1])}`),
      figure('withdrawn', `${units(channel.withdrawn[0])} / ${units(channel.withdrawn[1])}`),
      figure('paid', units(channel.paid)),
      figure('received', units(channel.received)),
      figure('nonces sent / received', `${channel.sent_nonce} / ${channel.received_nonce}`),
      figure('the chain would pay now', channel.settlement ? `${units(channel.settlement[0])} / ${units(channel.settlement[1])}` : '–'),
      figure('challenge period', `${channel.challenge_period} blocks`)));
}

function renderChannels() {
  const list = $('channels');
  if (!state.channels.length) {
    list.replaceChildren(h('p', {}, 'No channels yet: open one under “Act”.'));
    return;
  }
  list.replaceChildren(...state.channels.map(channelCard));
}

// ---------- closes and disputes ----------

function renderCloses() {
  const closing = state.channels.filter((c) => c.closing);
  $('closing').replaceChildren(...(closing.length ? closing.map((c) => h('div', { class: 'card' },
    h('h3', {}, `Channel ${c.channel_id} with ${short(c.counterparty)}, closed by ${c.closed_by_me ? 'me' : 'them'}`),
    h('p', { class: 'countdown' }, countdown(c.deadline)),
    h('p', {}, `The chain would pay: mine ${c.settlement ? units(c.settlement[0]) : '–'}, theirs ${c.settlement ? units(c.settlement[1]) : '–'}`))) : [h('p', {}, 'None.')]));
  $('settled').replaceChildren(...(state.settled.length ? state.settled.map((s) => h('div', { class: 'card settled', 'data-channel': s.channel_id },
    h('h3', {}, `Channel ${s.channel_id} with ${short(s.counterparty)}: paid out by block ${s.block}`),
    h('p', { class: 'payout' }, s.payout ? `Payout: mine ${units(s.payout[0])}, theirs ${units(s.payout[1])} (the chain's settlement preview just before it paid out)` : 'Payout: not known'))) : [h('p', {}, 'None while this page was open.')]));
}

const CHAIN_EVENTS = new Set(['channel_opened', 'close_started', 'disputed', 'dispute_skipped', 'channel_gone', 'chain_action_failed', 'channel_rebalanced', 'rebalance_requested', 'rebalance_solved', 'rebalance_failed', 'funding_consented', 'link_up', 'link_down']);

function describe(event) {
  const { event: kind, ...fields } = event;
  return `${new Date().toLocaleTimeString()} ${kind} ${JSON.stringify(fields)}`;
}

// ---------- events: the rate chart and the log ----------

function onEvent(event) {
  if (event.event === 'payment_sent' || event.event === 'payment_received') {
    const bucket = Math.floor(Date.now() / RATE_BUCKET_MS) * RATE_BUCKET_MS;
    const counts = state.rate.buckets.get(bucket) || { sent: 0, received: 0 };
    if (event.event === 'payment_sent') {
      counts.sent += event.payments;
      const newest = state.rate.newestSent || {};
      newest[event.channel_id] = Math.max(newest[event.channel_id] || 0, event.nonce);
      state.rate.newestSent = newest;
    } else counts.received += 1;
    state.rate.buckets.set(bucket, counts);
    state.rate.dirty = true;
    return;
  }
  if (CHAIN_EVENTS.has(event.event)) {
    state.chainEvents.unshift(describe(event));
    state.chainEvents.length = Math.min(state.chainEvents.length, 200);
    $('chain-events').replaceChildren(...state.chainEvents.map((line) => h('li', {}, line)));
  }
}

let rateChart = null;
let latencyChart = null;

function ensureCharts() {
  if (rateChart || typeof uPlot === 'undefined') return;
  const width = Math.min(1150, $('rate-chart').clientWidth - 20 || 900);
  rateChart = new uPlot({
    width, height: 220,
    series: [{}, { label: 'payments sent / s', stroke: '#2f855a', width: 2 }, { label: 'proofs received / s', stroke: '#2b6cb0', width: 2 }],
    axes: [{}, { label: 'per second', size: 70 }],
    scales: { x: { time: true } },
  }, [[], [], []], $('rate-chart'));
  latencyChart = new uPlot({
    width, height: 200,
    series: [{}, { label: 'p50 ms', stroke: '#805ad5', width: 2 }, { label: 'p99 ms', stroke: '#c53030', width: 2 }],
    axes: [{}, { label: 'ms (bucket bound)', size: 70 }],
    scales: { x: { time: true } },
  }, [[], [], []], $('latency-chart'));
}

function drawRate() {
  const now = Math.floor(Date.now() / RATE_BUCKET_MS) * RATE_BUCKET_MS;
  const from = now - (RATE_BUCKETS - 1) * RATE_BUCKET_MS;
  for (const key of state.rate.buckets.keys()) if (key < from) state.rate.buckets.delete(key);
  const x = [], sent = [], received = [];
  for (let t = from; t <= now; t += RATE_BUCKET_MS) {
    const counts = state.rate.buckets.get(t) || { sent: 0, received: 0 };
    x.push(t / 1000);
    sent.push(counts.sent * (1000 / RATE_BUCKET_MS));
    received.push(counts.received * (1000 / RATE_BUCKET_MS));
  }
  rateChart.setData([x, sent, received]);
  const drawnAt = Date.now();
  for (const [channel, nonce] of Object.entries(state.rate.newestSent || {})) {
    if ((state.drawn.sent[channel] || 0) < nonce) {
      state.drawn.sent[channel] = nonce;
      state.drawn.log.push({ channel: Number(channel), nonce, at: drawnAt });
    }
  }
  if (state.drawn.log.length > 5000) state.drawn.log.splice(0, state.drawn.log.length - 5000);
}

/** p50 and p99 from the difference of two latency histograms (upper bucket bounds, ms). */
function quantiles(previous, current) {
  const counts = current.buckets.map((n, i) => n - (previous ? previous.buckets[i] : 0));
  const total = current.count - (previous ? previous.count : 0);
  if (total <= 0) return [null, null];
  const at = (q) => {
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (seen >= q * total) return current.bounds_us[i] / 1000;
    }
    return current.bounds_us.at(-1) / 1000;
  };
  return [at(0.5), at(0.99)];
}

async function pollStats() {
  if (state.api && currentPage() === 'payments' && latencyChart) {
    try {
      const stats = await state.api.call('paychan_stats');
      const [p50, p99] = quantiles(state.latency.previous?.latency, stats.latency);
      state.latency.previous = stats;
      const l = state.latency;
      l.x.push(stats.unix_ms / 1000); l.p50.push(p50); l.p99.push(p99);
      if (l.x.length > LATENCY_POINTS) { l.x.shift(); l.p50.shift(); l.p99.shift(); }
      latencyChart.setData([l.x, l.p50, l.p99]);
    } catch (error) {
      $('status').textContent = plainError(error);
    }
  }
  setTimeout(pollStats, 1000);
}

function frame(time) {
  const f = state.frames;
  if (f.last) {
    const gap = time - f.last;
    f.longest = Math.max(f.longest, gap);
    if (gap > 50) f.over50 += 1;
    f.count += 1;
  }
  f.last = time;
  if (rateChart && state.rate.dirty && currentPage() === 'payments') {
    state.rate.dirty = false;
    drawRate();
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
// The rate chart scrolls even when no payment arrives.
setInterval(() => { state.rate.dirty = true; }, RATE_BUCKET_MS);
pollStats();

// ---------- history ----------

async function loadHistory(before) {
  if (!state.api) return;
  try {
    const page = await state.api.call('paychan_payments', before === null ? { limit: HISTORY_PAGE } : { limit: HISTORY_PAGE, before });
    const rows = page.entries.map((e) => h('tr', {},
      h('td', { class: 'num' }, e.seq), h('td', {}, new Date(e.unix_ms).toLocaleTimeString()), h('td', { class: 'num' }, e.channel_id),
      h('td', {}, e.direction), h('td', { class: 'num' }, units(e.amount)), h('td', { class: 'num' }, e.payments),
      h('td', { class: 'num' }, e.nonce), h('td', { class: 'num' }, units(e.transferred))));
    $('history').tBodies[0].replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 8 }, 'No payments yet.'))]));
    state.historyNext = page.next_before;
    $('history-older').disabled = page.next_before === null;
    $('history-page').textContent = `page ${state.historyBefore.length}`;
  } catch (error) {
    $('history-page').textContent = plainError(error);
  }
}
$('history-older').addEventListener('click', () => {
  if (state.historyNext === null || state.historyNext === undefined) return;
  state.historyBefore.push(state.historyNext);
  loadHistory(state.historyNext);
});
$('history-newest').addEventListener('click', () => { state.historyBefore = [null]; loadHistory(null); });

// ---------- routed payments ----------

/** Every routed payment the daemon's store knows, newest first: this party's role in it, whether
 * its secret is known (paid), and the locks it received and sent. */
async function loadRouted() {
  if (!state.api) return;
  let payments;
  try { payments = await state.api.call('paychan_routedPayments'); } catch (error) { $('routed').textContent = plainError(error); return; }
  payments.sort((a, b) => b.unix_ms - a.unix_ms);
  const received = (p) => p.incoming.reduce((sum, lock) => sum + BigInt(lock.amount), 0n);
  $('routed').replaceChildren(table(['time', 'secret hash', 'role', 'status', 'invoice', 'locks received (channel: amount, expiry)', 'sent in channels'],
    payments.slice(0, 200).map((p) => [
      new Date(p.unix_ms).toLocaleTimeString(), short(p.secret_hash), p.role,
      p.status === 'failed' ? `failed: ${p.failed}` : p.status,
      p.invoice === null ? '' : units(p.invoice),
      p.incoming.length ? `${p.incoming.map((l) => `${l.channel_id}: ${units(l.amount)}, block ${l.expires_at}`).join('; ')} (${units(received(p))})` : '',
      p.outgoing.join(', '),
    ])));
}

// ---------- rebalancing ----------

function table(headers, rows) {
  if (!rows.length) return h('p', {}, 'None.');
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((name) => h('th', {}, name)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell) => h('td', {}, cell))))));
}

async function loadRebalancing() {
  if (!state.api) return;
  let status;
  try { status = await state.api.call('paychan_rebalanceStatus'); } catch (error) { $('policy').textContent = plainError(error); return; }
  const p = status.policy;
  $('policy').textContent = [
    p.band ? `request when a channel's local share leaves ${p.band.low}%–${p.band.high}%` : 'no automatic requests',
    p.solve_every ? `solve the open requests every ${p.solve_every} blocks` : 'not a solver',
    `most fee ${units(p.max_fee)}, requests open ${p.expires_in} blocks`,
    status.last_error ? `last failure at block ${status.last_error.block}: ${status.last_error.reason}` : null,
  ].filter(Boolean).join(' · ');
  const open = status.open_request;
  $('open-request').replaceChildren(open
    ? h('div', {}, h('p', {}, `Open until block ${open.expires_at}, most fee ${units(open.max_fee)}; what is left of each bound:`),
      table(['channel', 'may send', 'may receive'], open.entries.map((e) => [e.channel_id, units(e.max_send), units(e.max_receive)])))
    : h('p', {}, 'No open request.'));
  $('open-requests').replaceChildren(table(['account', 'entries (channel: may send / may receive)', 'open until', 'most fee'],
    status.open_requests.map((r) => [short(r.who), r.entries.map((e) => `${e.channel_id}: ${units(e.max_send)} / ${units(e.max_receive)}`).join('; '), r.expires_at, units(r.max_fee)])));
  $('requested').replaceChildren(table(['block', 'by', 'entries (channel: send / receive)', 'expires', 'fee'],
    status.requested.map((r) => [r.block, r.automatic ? 'policy' : 'hand', r.entries.map((e) => `${e.channel_id}: ${units(e.max_send)} / ${units(e.max_receive)}`).join('; '), r.expires_at, units(r.fee)])));
  $('solved').replaceChildren(table(['block', 'channels', 'plans', 'volume moved', 'fees'],
    status.solved.map((s) => [s.block, s.channels, s.plans, units(s.volume), units(s.fees)])));
  $('executed').replaceChildren(table(['block', 'channel', 'into my side', 'out of my side'],
    status.executed.map((e) => [e.block, e.channel_id, units(e.received), units(e.sent)])));
  // Before: this party's share with the plans' moves taken back; after: as it is now.
  const moved = new Map();
  for (const e of status.executed) {
    const m = moved.get(e.channel_id) || 0n;
    moved.set(e.channel_id, m + BigInt(e.received) - BigInt(e.sent));
  }
  const rows = state.channels.filter((c) => moved.has(c.channel_id)).map((c) => {
    const total = BigInt(c.mine) + BigInt(c.theirs);
    const before = BigInt(c.mine) - moved.get(c.channel_id);
    return [c.channel_id, `${Math.round(share(before, total) * 100)}%`, `${Math.round(share(c.mine, total) * 100)}%`, units(moved.get(c.channel_id))];
  });
  const volume = status.executed.reduce((sum, e) => sum + BigInt(e.received), 0n);
  $('depletion').replaceChildren(h('p', {}, `Moved into this party's channels by plans: ${units(volume)}.`),
    table(['channel', 'my share before the plans', 'my share now', 'net moved to me'], rows));
}

// ---------- network ----------

async function loadNetwork() {
  if (!state.api) return;
  let network;
  try { network = await state.api.call('paychan_network'); } catch (error) { $('network-summary').textContent = plainError(error); return; }
  const accounts = [...new Set(network.channels.flatMap((c) => c.participants))];
  const [cx, cy, r] = [400, 280, 220];
  const at = new Map(accounts.map((account, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, accounts.length) - Math.PI / 2;
    return [account, [cx + r * Math.cos(angle), cy + r * Math.sin(angle)]];
  }));
  const moves = new Map((network.last_round?.moves || []).map((m) => [m.channel_id, m]));
  const edges = network.channels.map((c) => {
    const [a, b] = c.participants.map((p) => at.get(p));
    const total = BigInt(c.balances[0]) + BigInt(c.balances[1]);
    const skew = Math.abs(share(c.balances[0], total) - 0.5) * 2; // 0 balanced, 1 one-sided
    const colour = `rgb(${Math.round(56 + 173 * skew)}, ${Math.round(161 - 99 * skew)}, ${Math.round(105 - 43 * skew)})`;
    const move = moves.get(c.channel_id);
    const line = h('line', { x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: colour, 'stroke-width': 4, 'data-channel': c.channel_id },
      h('title', {}, `channel ${c.channel_id}: ${units(c.balances[0])} / ${units(c.balances[1])} by the chain's records${c.closing ? ', closing' : ''}`));
    const parts = [line, h('text', { x: (a[0] + b[0]) / 2 + 4, y: (a[1] + b[1]) / 2 - 4 }, `#${c.channel_id}`)];
    if (move) {
      const [from, to] = move.from === c.participants[0] ? [a, b] : [b, a];
      parts.push(h('line', { x1: from[0], y1: from[1], x2: to[0], y2: to[1], stroke: '#dd6b20', 'stroke-width': 2, 'stroke-dasharray': '6 4', 'marker-end': 'url(#arrow)', class: 'moved' }));
      parts.push(h('text', { x: (a[0] + b[0]) / 2 + 4, y: (a[1] + b[1]) / 2 + 12 }, units(move.amount)));
    }
    return h('g', {}, parts);
  });
  const nodes = accounts.map((account) => {
    const [x, y] = at.get(account);
    return h('g', { class: account === state.info.account ? 'me' : '' },
      h('circle', { cx: x, cy: y, r: 9, fill: '#718096' }, h('title', {}, account)),
      h('text', { x: x + 12, y: y + 4 }, account === state.info.account ? `${short(account)} (me)` : short(account)));
  });
  const defs = h('defs', {}, h('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' },
    h('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#dd6b20' })));
  $('graph').replaceChildren(defs, ...edges, ...nodes);
  $('network-summary').textContent = `${network.channels.length} channels, ${accounts.length} accounts at block ${network.block}${network.truncated ? ' (the newest 1000 only)' : ''}`;
  const round = network.last_round;
  $('last-round').replaceChildren(round
    ? h('div', {}, h('p', {}, `The last round seen, at block ${round.block}, moved:`), table(['channel', 'from', 'amount'], round.moves.map((m) => [m.channel_id, short(m.from), units(m.amount)])))
    : h('p', {}, 'No rebalancing round has moved funds since the daemon started.'));
}

// ---------- forms ----------

function paramsOf(form) {
  const data = Object.fromEntries(new FormData(form));
  const method = form.dataset.method;
  const number = (v) => (v === '' || v === undefined ? undefined : Number(v));
  const text = (v) => (v === '' || v === undefined ? undefined : v.trim());
  switch (method) {
    case 'paychan_open':
      return { counterparty: text(data.counterparty), deposit: text(data.deposit), counterparty_deposit: text(data.counterparty_deposit), challenge_period: number(data.challenge_period), peer_address: text(data.peer_address) };
    case 'paychan_deposit':
    case 'paychan_withdraw':
      return { channel_id: number(data.channel_id), amount: text(data.amount) };
    case 'paychan_pay':
      return { channel_id: number(data.channel_id), amount: text(data.amount), count: number(data.count) || 1 };
    case 'paychan_close':
      return { channel_id: number(data.channel_id), force: form.elements.force.checked };
    case 'paychan_invoice':
      return { amount: text(data.amount) };
    case 'paychan_payRouted':
      return { to: text(data.to), amount: text(data.amount), secret_hash: text(data.secret_hash), max_hops: number(data.max_hops) };
    case 'paychan_rebalanceRequest': {
      const entries = data.entries.split('\n').map((line) => line.trim()).filter(Boolean).map((line, i) => {
        const [channel, send, receive, ...rest] = line.split(/\s+/);
        if (receive === undefined || rest.length) throw new Error(`line ${i + 1}: give “channel max_send max_receive”, e.g. “0 20UNIT 0”`);
        return { channel_id: Number(channel), max_send: send, max_receive: receive };
      });
      return { entries, max_fee: text(data.max_fee), expires_in: number(data.expires_in) };
    }
    default:
      throw new Error(`no form for ${method}`);
  }
}

const drop = (params) => Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));

for (const form of document.querySelectorAll('form[data-method]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const result = $('result');
    result.classList.remove('error');
    let params;
    try { params = drop(paramsOf(form)); } catch (error) { result.classList.add('error'); result.textContent = error.message; return; }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    const offChain = ['paychan_pay', 'paychan_invoice', 'paychan_payRouted'].includes(form.dataset.method);
    result.textContent = `${form.querySelector('h3').textContent}: waiting for the daemon${offChain ? '' : ' and the chain (a finalized block)'}…`;
    try {
      let answer;
      if (form.dataset.method === 'paychan_pay' && params.count > 1) {
        const amounts = Array(params.count).fill(params.amount);
        const answers = [];
        for (let i = 0; i < amounts.length; i += 10000) {
          answers.push(...await state.api.call('paychan_payMany', { channel_id: params.channel_id, amounts: amounts.slice(i, i + 10000) }));
        }
        const failed = answers.filter((a) => a.error);
        answer = { paid: answers.length - failed.length, failed: failed.length, first_failure: failed[0]?.error.message };
      } else {
        const { count, ...single } = params;
        answer = await state.api.call(form.dataset.method, single);
      }
      result.textContent = JSON.stringify(answer, null, 2);
      refresh();
    } catch (error) {
      result.classList.add('error');
      result.textContent = plainError(error);
    } finally {
      button.disabled = false;
    }
  });
}

// ---------- start ----------

// `paychan dashboard` opens the page with the token in the fragment (never sent to a server);
// it moves to sessionStorage and leaves the address bar.
const fromLink = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromLink) history.replaceState(null, '', location.pathname);
const token = fromLink || sessionStorage.getItem('paychan-token');
if (token) login(token);
else showLogin('');

// Countdowns tick between polls.
setInterval(() => {
  if (!state.info) return;
  for (const element of document.querySelectorAll('[data-deadline]')) element.textContent = countdown(Number(element.dataset.deadline));
}, 1000);
