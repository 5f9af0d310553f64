// Measures how long a signed balances transfer takes from submission to finalization on a
// paychan-node with instant sealing. Run by scripts/bench-inclusion.sh; prints a markdown row.

import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import { startNode } from '../lib/node.js';

const transfers = Number(process.env.TRANSFERS ?? 100);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const node = await startNode(['--sealing', 'instant']);
const api = await ApiPromise.create({ provider: new WsProvider(node.wsUrl), noInitWarn: true });
try {
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const latencies = [];
  for (let i = 0; i < transfers; i++) {
    const started = performance.now();
    await new Promise((resolve, reject) => {
      api.tx.balances
        .transferKeepAlive(bob.address, 1_000_000_000_000n)
        .signAndSend(alice, { nonce: -1 }, ({ status, dispatchError }) => {
          if (dispatchError) reject(new Error(dispatchError.toString()));
          else if (status.isInBlock || status.isFinalized) resolve();
        })
        .catch(reject);
    });
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  const ms = (v) => `${v.toFixed(1)} ms`;
  console.log('| transfers | p50 | p99 | max |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| ${transfers} | ${ms(percentile(latencies, 50))} | ${ms(percentile(latencies, 99))} | ${ms(latencies.at(-1))} |`);
} finally {
  await api.disconnect();
  await node.stop();
}
