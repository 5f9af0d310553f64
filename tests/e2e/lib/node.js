// Starts paychan-node on free loopback ports for a test and guarantees it is stopped.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const running = new Set();
// Whatever happens to the test process, no node outlives it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function nodeBinary() {
  const target = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/paychan/target');
  const binary = process.env.PAYCHAN_NODE ?? join(target, 'release/paychan-node');
  if (!existsSync(binary)) throw new Error(`paychan-node not found at ${binary}; run ./scripts/build.sh`);
  return binary;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function rpc(port, method, params = []) {
  const response = await fetch(`http://127.0.0.1:${port}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: 1, jsonrpc: '2.0', method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/**
 * Starts `paychan-node --dev` with `args` and waits until its RPC answers.
 * Returns { wsUrl, rpcPort, rpc, logs, stop }.
 */
export async function startNode(args = [], { timeoutMs = 60_000 } = {}) {
  const rpcPort = await freePort();
  const p2pPort = await freePort();
  const basePath = mkdtempSync(join(tmpdir(), 'paychan-e2e-'));
  const child = spawn(
    nodeBinary(),
    [
      '--dev',
      '--base-path', basePath,
      '--rpc-port', String(rpcPort),
      '--port', String(p2pPort),
      '--no-prometheus',
      '--no-mdns',
      '--no-telemetry',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let logs = '';
  const collect = (chunk) => {
    logs = (logs + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
    rmSync(basePath, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`paychan-node exited with ${child.exitCode} before its RPC answered:\n${logs}`);
    }
    try {
      await rpc(rpcPort, 'system_chain');
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`paychan-node's RPC did not answer within ${timeoutMs} ms:\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    rpcPort,
    wsUrl: `ws://127.0.0.1:${rpcPort}`,
    rpc: (method, params) => rpc(rpcPort, method, params),
    logs: () => logs,
    stop,
  };
}
