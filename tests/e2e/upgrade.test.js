// A runtime upgrade with funds in flight: a dev node starts on the storage-version-0 runtime
// (spec 100, the last one before the safety fixes; fixtures/README.md says how it was built),
// channels are opened, closed, disputed and requested there, and `sudo.setCode` installs the
// current runtime. The pallet's migration must keep every channel's payout, and the old
// channels must then close and settle under the new rules.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '@polkadot/api';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { xxhashAsU8a } from '@polkadot/util-crypto';
import { nodeBinary, startNode } from './lib/node.js';
import { UNIT, bestNumber, connect, eventsOf, free, makeBlocks, submit } from './lib/chain.js';
import { balanceProofMessage, cooperativeCloseMessage, multiSignature, sign } from './lib/protocol.js';

const V0_RUNTIME = new URL('./fixtures/paychan_runtime_spec100.compact.compressed.wasm', import.meta.url);
const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const bob = keyring.addFromUri('//Bob');
const charlie = keyring.addFromUri('//Charlie');
const CHALLENGE_PERIOD = 5;

let node;
let api;

after(async () => {
  await api?.disconnect();
  await node?.stop();
});

/** The key of a storage value `item` of `pallet`. */
function storageKey(pallet, item) {
  return u8aToHex(u8aConcat(xxhashAsU8a(pallet, 128), xxhashAsU8a(item, 128)));
}

/**
 * The dev chain's raw spec with the version-0 runtime as its genesis code. Returns the spec's
 * path and the current runtime (the node's own genesis code) to upgrade to.
 */
function v0ChainSpec() {
  const spec = JSON.parse(
    execFileSync(nodeBinary(), ['build-spec', '--chain', 'dev', '--raw'], {
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const top = spec.genesis.raw.top;
  const current = top['0x3a636f6465'];
  top['0x3a636f6465'] = u8aToHex(readFileSync(V0_RUNTIME));
  // The version-0 pallet had no storage version: what the new genesis wrote must go. So must
  // the record of the runtime version the genesis was built with (104): the old runtime then
  // records its own, and the upgrade to 104 runs the migrations.
  delete top[storageKey('PaymentChannels', ':__STORAGE_VERSION__:')];
  delete top[storageKey('System', 'LastRuntimeUpgrade')];
  const path = join(mkdtempSync(join(tmpdir(), 'paychan-upgrade-')), 'spec-v0.json');
  writeFileSync(path, JSON.stringify(spec));
  return { path, current };
}

async function preview(channelId) {
  return (await api.call.paymentChannelsApi.settlementPreview(channelId)).unwrap().map((b) => b.toBigInt());
}

async function open(opener, counterparty, deposit) {
  const { events } = await submit(
    api,
    api.tx.paymentChannels.openChannel(counterparty.address, deposit, CHALLENGE_PERIOD, null),
    opener,
  );
  return eventsOf(api, events, 'paymentChannels', 'ChannelOpened')[0].channelId.toNumber();
}

test('sudo.setCode from the version-0 runtime keeps open, closing and requested channels and pays them out', async () => {
  const spec = v0ChainSpec();
  node = await startNode(['--chain', spec.path, '--sealing', 'instant']);
  api = await connect(node);
  const genesisHash = api.genesisHash.toHex();
  assert.equal(api.runtimeVersion.specVersion.toNumber(), 100);

  // Under the old runtime: an open channel with requests on both sides, and a closing one in
  // which Charlie disputed Alice's stale close.
  const open_ab = await open(alice, bob, 10n * UNIT);
  const closing_ac = await open(alice, charlie, 8n * UNIT);
  const expiresAt = (await bestNumber(api)) + 200;
  await submit(
    api,
    api.tx.paymentChannels.requestRebalance([{ channelId: open_ab, maxSend: 3n * UNIT, maxReceive: 0 }], 0, expiresAt),
    alice,
  );
  await submit(
    api,
    api.tx.paymentChannels.requestRebalance([{ channelId: open_ab, maxSend: 0, maxReceive: 3n * UNIT }], 0, expiresAt),
    bob,
  );
  const { events: closeEvents } = await submit(api, api.tx.paymentChannels.close(closing_ac, null), alice);
  const deadline = eventsOf(api, closeEvents, 'paymentChannels', 'CloseStarted')[0].deadline.toNumber();
  const aliceProof = { genesisHash, channelId: closing_ac, nonce: 2, transferred: 3n * UNIT };
  await submit(
    api,
    // The version-0 runtime takes a bare MultiSignature, with no declared form.
    api.tx.paymentChannels.updateBalanceProof(closing_ac, {
      payload: aliceProof,
      signer: alice.address,
      signature: multiSignature(alice, balanceProofMessage(aliceProof)),
    }),
    charlie,
  );
  const before = { ab: await preview(open_ab), ac: await preview(closing_ac) };
  assert.deepEqual(before.ac, [5n * UNIT, 3n * UNIT]);

  // The upgrade. setCode's weight is a whole block; sudo_unchecked_weight lets it in.
  await submit(
    api,
    api.tx.sudo.sudoUncheckedWeight(api.tx.system.setCode(spec.current), { refTime: 0, proofSize: 0 }),
    alice,
  );
  await makeBlocks(api, node, 1); // Both migrations (0 to 1, 1 to 2) run at the start of this block.
  await api.disconnect();
  api = await connect(node);
  assert.equal(api.runtimeVersion.specVersion.toNumber(), 104);
  assert.equal((await api.query.paymentChannels.palletVersion()).toNumber(), 2);

  // Every channel and request is still there, translated, with the same payouts.
  assert.deepEqual(await preview(open_ab), before.ab);
  assert.deepEqual(await preview(closing_ac), before.ac);
  const ab = (await api.call.paymentChannelsApi.channel(open_ab)).unwrap();
  assert.equal(ab.version.toNumber(), 0);
  assert.equal(ab.counterpartyConsented.isTrue, true);
  // Version 2's sides: no locks pending.
  for (const side of ab.sides) {
    assert.equal(side.locked.toBigInt(), 0n);
    assert.equal(side.locksRoot.toHex(), `0x${'00'.repeat(32)}`);
    assert.equal(side.lockedNonce.toNumber(), 0);
  }
  const requests = await api.call.paymentChannelsApi.openRequests();
  assert.equal(requests.length, 2);
  const bobs = requests.find(([who]) => who.toString() === bob.address)[1];
  assert.equal(bobs.declaredReceive.toBigInt(), 3n * UNIT);

  // The closing channel settles by the hook under the new runtime, by the disputed proof.
  const aliceFree = await free(api, alice.address);
  const charlieFree = await free(api, charlie.address);
  const blocks = Math.max(0, deadline + 1 - (await bestNumber(api)));
  const events = await makeBlocks(api, node, blocks);
  const settled = events
    .filter(({ event }) => api.events.paymentChannels.ChannelSettled.is(event))
    .map(({ event }) => event.data);
  assert.equal(settled.length, 1);
  assert.equal(settled[0].openerPayout.toBigInt(), 5n * UNIT);
  assert.equal(settled[0].counterpartyPayout.toBigInt(), 3n * UNIT);
  const recordDeposit = api.consts.paymentChannels.channelRecordDeposit.toBigInt();
  assert.equal(await free(api, alice.address), aliceFree + 5n * UNIT + recordDeposit);
  assert.equal(await free(api, charlie.address), charlieFree + 3n * UNIT);

  // The open channel closes cooperatively with a split in the new format, bound to its state.
  const split = {
    genesisHash,
    channelId: open_ab,
    version: 0,
    nonces: [0, 0],
    payoutOpener: 10n * UNIT,
    payoutCounterparty: 0n,
    expiresAt: (await bestNumber(api)) + 10,
  };
  const message = cooperativeCloseMessage(split);
  const { events: closed } = await submit(
    api,
    api.tx.paymentChannels.cooperativeClose(split, sign(alice, message), sign(bob, message)),
    bob,
  );
  const [done] = eventsOf(api, closed, 'paymentChannels', 'ChannelClosedCooperatively');
  assert.equal(done.openerPayout.toBigInt(), 10n * UNIT);
});
