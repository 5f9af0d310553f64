// Starts `paychan daemon` processes for a test against a node from ./node.js, and talks to their
// API over WebSocket with the cookie token.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WsProvider } from '@polkadot/api';
import { freePort } from './node.js';

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function paychanBinary() {
  const target = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/paychan/target');
  const binary = process.env.PAYCHAN ?? join(target, 'release/paychan');
  if (!existsSync(binary)) throw new Error(`paychan not found at ${binary}; run cargo build --release -p paychan-client`);
  return binary;
}

/** Runs a one-shot `paychan` command for dev account `name`; its JSON output. */
export function paychan(node, name, data, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(paychanBinary(), ['--url', node.wsUrl, '--dev', name, '--data', data, '--json', ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`paychan ${args.join(' ')} failed (${code}): ${err}${out}`));
      else resolve(out.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line)).at(-1));
    });
  });
}

/**
 * Starts the daemon of dev account `name` (`alice`, `bob`, …) with `extra` options; waits for its
 * start line. Returns { account, data, api (ws url), token, peerListen, dashboard, call, stop }.
 */
export async function startDaemon(node, name, extra = [], { timeoutMs = 60_000 } = {}) {
  const data = mkdtempSync(join(tmpdir(), `paychan-daemon-${name}-`));
  const [peerPort, apiPort] = [await freePort(), await freePort()];
  const args = ['--url', node.wsUrl, '--dev', name, '--data', data, '--json', 'daemon',
    '--listen', `127.0.0.1:${peerPort}`, '--api', `127.0.0.1:${apiPort}`, ...extra];
  const child = spawn(paychanBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let logs = '';
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${name} daemon did not start within ${timeoutMs} ms:\n${logs}`)), timeoutMs);
    child.stdout.on('data', (chunk) => {
      logs = (logs + chunk).slice(-20_000);
      for (const line of chunk.toString().split('\n')) {
        if (!line.startsWith('{"daemon"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line).daemon);
      }
    });
    child.stderr.on('data', (chunk) => { logs = (logs + chunk).slice(-20_000); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the ${name} daemon exited with ${code}:\n${logs}`)); });
  });
  const info = await started;
  const token = readFileSync(info.cookie, 'utf8').trim();
  const provider = new WsProvider(`${info.api}?token=${token}`, 1000, {}, 30_000);
  await provider.isReady;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    account: info.account,
    data,
    api: info.api,
    token,
    peerListen: info.peer_listen,
    dashboard: info.dashboard,
    logs: () => logs,
    /** Calls API `method` with named `params`. */
    call: (method, params = {}) => provider.send(method, params),
    async stop() {
      await provider.disconnect();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
      rmSync(data, { recursive: true, force: true });
    },
  };
}
