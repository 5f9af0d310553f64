// Rebalancing driven from @polkadot/api: three participants declare requests, a fourth account
// submits a three-channel circulation plan, and the channels' books move while every free and
// held balance stays where it was.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/api';
import { startNode } from './lib/node.js';
import { UNIT, bestNumber, connect, eventsOf, expectFailure, held, submit } from './lib/chain.js';

let node;
let api;
const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const bob = keyring.addFromUri('//Bob');
const charlie = keyring.addFromUri('//Charlie');
const dave = keyring.addFromUri('//Dave');

before(async () => {
  node = await startNode(['--sealing', 'instant']);
  api = await connect(node);
});

after(async () => {
  await api?.disconnect();
  await node?.stop();
});

async function open(opener, counterparty, deposit) {
  const { events } = await submit(api, api.tx.paymentChannels.openChannel(counterparty.address, deposit, 5, null), opener);
  return eventsOf(api, events, 'paymentChannels', 'ChannelOpened')[0].channelId.toNumber();
}

async function preview(channelId) {
  return (await api.call.paymentChannelsApi.settlementPreview(channelId)).unwrap().map((b) => b.toBigInt());
}

test('requests and a three-channel plan rebalance a depleted cycle', async () => {
  // A -> B -> C -> A, each channel funded by its opener only: every channel is 10 / 0.
  const ab = await open(alice, bob, 10n * UNIT);
  const bc = await open(bob, charlie, 10n * UNIT);
  const ca = await open(charlie, alice, 10n * UNIT);
  const requestDeposit = api.consts.paymentChannels.requestDeposit.toBigInt();
  const expiresAt = (await bestNumber(api)) + 50;
  const requests = [
    [alice, [{ channelId: ab, maxSend: 3n * UNIT, maxReceive: 0 }, { channelId: ca, maxSend: 0, maxReceive: 3n * UNIT }]],
    [bob, [{ channelId: bc, maxSend: 3n * UNIT, maxReceive: 0 }, { channelId: ab, maxSend: 0, maxReceive: 3n * UNIT }]],
    [charlie, [{ channelId: ca, maxSend: 3n * UNIT, maxReceive: 0 }, { channelId: bc, maxSend: 0, maxReceive: 3n * UNIT }]],
  ];
  for (const [who, entries] of requests) {
    const { events } = await submit(api, api.tx.paymentChannels.requestRebalance(entries, 0, expiresAt), who);
    const [requested] = eventsOf(api, events, 'paymentChannels', 'RebalanceRequested');
    assert.equal(requested.who.toString(), who.address);
    // Positional: `entries` on event data is the Array method of that name.
    const [declarer, declared, maxFee, expiry] = requested;
    assert.equal(declarer.toString(), who.address);
    assert.equal(declared.length, 2);
    assert.equal(maxFee.toBigInt(), 0n);
    assert.equal(expiry.toNumber(), expiresAt);
    assert.equal(await held(api, who.address, 'RequestRecord'), requestDeposit);
  }
  // A solver reads every open request with one runtime call.
  const open_ = await api.call.paymentChannelsApi.openRequests();
  assert.deepEqual(
    open_.map(([who]) => who.toString()).sort(),
    [alice, bob, charlie].map((p) => p.address).sort(),
  );

  // The circulation A -> B -> C -> A: each participant sends `amount` in the channel it opened.
  const cycle = (amount) => [
    { channelId: ab, from: alice.address, amount },
    { channelId: bc, from: bob.address, amount },
    { channelId: ca, from: charlie.address, amount },
  ];

  // A plan that does not balance (Alice only sends) is refused whole.
  await expectFailure(
    api,
    api.tx.paymentChannels.submitPlan([{ channelId: ab, from: alice.address, amount: 3n * UNIT }]),
    dave,
    'paymentChannels.FeeAboveMax',
  );
  // One over a declared bound is refused too.
  await expectFailure(
    api,
    api.tx.paymentChannels.submitPlan(cycle(4n * UNIT)),
    dave,
    'paymentChannels.ExceedsDeclaredBound',
  );
  assert.deepEqual(await preview(ab), [10n * UNIT, 0n]);

  const fundsBefore = await Promise.all([alice, bob, charlie].map((p) => held(api, p.address, 'ChannelFunds')));
  const { events } = await submit(
    api,
    api.tx.paymentChannels.submitPlan(cycle(3n * UNIT)),
    dave,
  );
  const moved = eventsOf(api, events, 'paymentChannels', 'ChannelRebalanced');
  assert.equal(moved.length, 3);
  const [executed] = eventsOf(api, events, 'paymentChannels', 'PlanExecuted');
  assert.equal(executed.submitter.toString(), dave.address);
  assert.equal(executed.edges.toNumber(), 3);
  assert.equal(executed.volume.toBigInt(), 9n * UNIT);

  // Every channel now settles 7 / 3; nobody's funds moved between accounts.
  for (const channelId of [ab, bc, ca]) assert.deepEqual(await preview(channelId), [7n * UNIT, 3n * UNIT]);
  const fundsAfter = await Promise.all([alice, bob, charlie].map((p) => held(api, p.address, 'ChannelFunds')));
  assert.deepEqual(fundsAfter, fundsBefore);
  const channel = (await api.call.paymentChannelsApi.channel(ab)).unwrap();
  assert.equal(channel.sides[0].rebalancedOut.toBigInt(), 3n * UNIT);
  assert.equal(channel.sides[1].rebalancedIn.toBigInt(), 3n * UNIT);

  // The pledges are used up: the same plan again exceeds what is left of them.
  await expectFailure(
    api,
    api.tx.paymentChannels.submitPlan(cycle(1n * UNIT)),
    dave,
    'paymentChannels.ExceedsDeclaredBound',
  );

  // Cancelling returns the request deposit.
  const { events: cancelEvents } = await submit(api, api.tx.paymentChannels.cancelRebalanceRequest(), alice);
  const [removed] = eventsOf(api, cancelEvents, 'paymentChannels', 'RebalanceRequestRemoved');
  assert.ok(removed.reason.isCancelled);
  assert.equal(await held(api, alice.address, 'RequestRecord'), 0n);
});
