// Time to finality on the four-validator network of scripts/local-net.sh, run by
// scripts/bench-finality.sh: with every validator up, with one killed (SIGKILL), and with a
// second killed and restarted from its database. Prints markdown rows.
//
// For each block it records when the watching node first imported it as its best block and when
// a finalized head first reached its number; the lag is the time to finality.

import { ApiPromise, WsProvider } from '@polkadot/api';
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.LOCAL_NET_DIR;
const url = process.env.RPC_URL ?? 'ws://127.0.0.1:9944';
const blocks = Number(process.env.BLOCKS ?? 15);
const stallBlocks = Number(process.env.STALL_BLOCKS ?? 4);
if (!dir) throw new Error('LOCAL_NET_DIR is not set: run scripts/bench-finality.sh');

const seen = new Map(); // block number -> ms when imported as best
const final = new Map(); // block number -> ms when finalized
let best = 0;
let finalized = 0;
const waiters = [];
const wake = () => waiters.splice(0).forEach((resolve) => resolve());
const until = async (condition, what, timeoutMs) => {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => {
      waiters.push(resolve);
      setTimeout(resolve, 1000);
    });
  }
};

const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
await api.rpc.chain.subscribeNewHeads((header) => {
  const number = header.number.toNumber();
  if (!seen.has(number)) seen.set(number, performance.now());
  best = Math.max(best, number);
  wake();
});
await api.rpc.chain.subscribeFinalizedHeads((header) => {
  const number = header.number.toNumber();
  const now = performance.now();
  for (let n = finalized + 1; n <= number; n++) if (!final.has(n)) final.set(n, now);
  finalized = Math.max(finalized, number);
  wake();
});

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const seconds = (ms) => (ms / 1000).toFixed(1);

/// Waits for `count` more best blocks to be authored and finalized; the row of their lags.
async function measure(label, count) {
  await until(() => seen.has(best), 'a best block', 60_000);
  const first = best + 1;
  const last = first + count - 1;
  await until(() => finalized >= last, `block ${last} finalized`, count * 30_000);
  const lags = [];
  for (let n = first; n <= last; n++) if (seen.has(n)) lags.push(final.get(n) - seen.get(n));
  lags.sort((a, b) => a - b);
  const interval = (seen.get(last) - seen.get(first)) / (last - first);
  console.log(
    `| ${label} | ${first}–${last} | ${seconds(interval)} s | ${seconds(percentile(lags, 50))} s | ` +
      `${seconds(percentile(lags, 90))} s | ${seconds(lags[lags.length - 1])} s |`,
  );
}

/// Kills validator `name` with SIGKILL; the command line to start it again.
function kill(name) {
  const pid = Number(readFileSync(join(dir, `${name}.pid`), 'utf8'));
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGKILL');
  return argv;
}

console.log('| validators | blocks | block interval | time to finality p50 | p90 | max |');
console.log('| --- | --- | --- | --- | --- | --- |');
await until(() => finalized >= 2, 'first finality', 120_000);
await measure('4 of 4', blocks);

kill('dave');
const bestAtDaveKill = best;
await until(() => best > bestAtDaveKill, 'a block after the kill', 60_000);
await measure('3 of 4 (dave killed)', blocks);

const charlie = kill('charlie');
const stalledAt = finalized;
const killedAt = performance.now();
const bestAtKill = best;
await until(() => best >= bestAtKill + stallBlocks, `${stallBlocks} blocks during the stall`, 180_000);
if (finalized > stalledAt + 2) throw new Error(`finality went on with two of four: ${finalized}`);

const log = openSync(join(dir, 'charlie-restarted.log'), 'a');
const restarted = spawn(charlie[0], charlie.slice(1), { stdio: ['ignore', log, log] });
// scripts/bench-finality.sh stops the nodes it started; this one is the script's own.
process.on('exit', () => restarted.kill('SIGKILL'));
const returnedAt = performance.now();
const bestAtReturn = best;
await until(() => finalized >= bestAtReturn, 'finality after the return', 180_000);
const caughtUp = performance.now() - returnedAt;
const stalled = [];
for (let n = stalledAt + 1; n <= bestAtReturn; n++) if (seen.has(n)) stalled.push(final.get(n) - seen.get(n));
stalled.sort((a, b) => a - b);
console.log(
  `| 2 of 4 (charlie killed too), then charlie restarted from its database after ` +
    `${seconds(returnedAt - killedAt)} s | ${stalledAt + 1}–${bestAtReturn} | ` +
    `${seconds((seen.get(bestAtReturn) - seen.get(stalledAt + 1)) / Math.max(1, bestAtReturn - stalledAt - 1))} s | ` +
    `${seconds(percentile(stalled, 50))} s | ${seconds(percentile(stalled, 90))} s | ` +
    `${seconds(stalled[stalled.length - 1])} s (finalized ${seconds(caughtUp)} s after the restart) |`,
);
await measure('3 of 4 (charlie back)', blocks);

await api.disconnect();
process.exit(0);
