// Node smoke tests: the built node starts, makes blocks, accepts transactions from
// @polkadot/api and stops.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/api';
import { startNode } from './lib/node.js';
import { UNIT, connect, submit } from './lib/chain.js';

test('under Aura the dev node produces a block, answers system_chain and stops', async () => {
  const node = await startNode();
  try {
    assert.equal(await node.rpc('system_chain'), 'Paychan Development');
    let number = 0;
    for (let i = 0; i < 60 && number < 1; i++) {
      await new Promise((r) => setTimeout(r, 500));
      number = parseInt((await node.rpc('chain_getHeader')).number, 16);
    }
    assert.ok(number >= 1, `no block after 30 s:\n${node.logs()}`);
  } finally {
    await node.stop();
  }
});

test('with instant sealing a transfer is included and finalized without waiting for a slot', async () => {
  const node = await startNode(['--sealing', 'instant']);
  const api = await connect(node);
  try {
    const keyring = new Keyring({ type: 'sr25519' });
    const alice = keyring.addFromUri('//Alice');
    const bob = keyring.addFromUri('//Bob');
    // The suite's UNIT is the chain's own (paychan_primitives::currency, tokenDecimals).
    assert.equal(10n ** BigInt(api.registry.chainDecimals[0]), UNIT);
    const before = (await api.query.system.account(bob.address)).data.free.toBigInt();
    const { blockHash, events } = await submit(api, api.tx.balances.transferKeepAlive(bob.address, UNIT), alice);
    assert.ok(events.some(({ event }) => api.events.balances.Transfer.is(event)));
    const after = (await api.query.system.account(bob.address)).data.free.toBigInt();
    assert.equal(after - before, UNIT);
    // Instant sealing finalizes each block it makes.
    assert.equal((await api.rpc.chain.getFinalizedHead()).toHex(), blockHash.toHex());
    // engine_createBlock makes empty blocks on demand, e.g. to pass a challenge period.
    const height = (await api.rpc.chain.getHeader()).number.toNumber();
    await node.rpc('engine_createBlock', [true, true, null]);
    assert.equal((await api.rpc.chain.getHeader()).number.toNumber(), height + 1);
  } finally {
    await api.disconnect();
    await node.stop();
  }
});

test('the dev chain accepts open_channel and the runtime API reads the channel back', async () => {
  const node = await startNode(['--sealing', 'instant']);
  const api = await connect(node);
  try {
    const keyring = new Keyring({ type: 'sr25519' });
    const alice = keyring.addFromUri('//Alice');
    const bob = keyring.addFromUri('//Bob');
    const channelId = (await api.call.paymentChannelsApi.nextChannelId()).toNumber();
    const { events } = await submit(
      api,
      api.tx.paymentChannels.openChannel(bob.address, 10n * UNIT, 10, null),
      alice,
    );
    const opened = events.find(({ event }) => api.events.paymentChannels.ChannelOpened.is(event));
    assert.ok(opened, 'ChannelOpened was emitted');
    assert.equal(opened.event.data.channelId.toNumber(), channelId);
    assert.equal(opened.event.data.openerDeposit.toBigInt(), 10n * UNIT);

    const channel = (await api.call.paymentChannelsApi.channel(channelId)).unwrap();
    assert.equal(channel.participants[0].toString(), alice.address);
    assert.equal(channel.sides[0].custody.toBigInt(), 10n * UNIT);
    assert.deepEqual(
      (await api.call.paymentChannelsApi.settlementPreview(channelId)).unwrap().map((b) => b.toBigInt()),
      [10n * UNIT, 0n],
    );
    const held = await api.query.balances.holds(alice.address);
    assert.ok(held.some((hold) => hold.id.isPaymentChannels && hold.amount.toBigInt() === 10n * UNIT));
  } finally {
    await api.disconnect();
    await node.stop();
  }
});
