// The channel lifecycle driven from @polkadot/api, with every off-chain payload encoded and
// signed in JavaScript from docs/protocol.md (lib/protocol.js). Types decode from the metadata
// alone. One instant-sealing node serves the whole file.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/api';
import { signatureVerify } from '@polkadot/util-crypto';
import { startNode } from './lib/node.js';
import {
  UNIT,
  bestNumber,
  connect,
  eventsOf,
  expectFailure,
  free,
  held,
  makeBlocks,
  submit,
} from './lib/chain.js';
import {
  balanceProofMessage,
  cooperativeCloseMessage,
  fundingConsentMessage,
  sign,
  signed,
  withdrawProofMessage,
} from './lib/protocol.js';

let node;
let api;
let genesisHash;
const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const bob = keyring.addFromUri('//Bob');
const charlie = keyring.addFromUri('//Charlie');
const CHALLENGE_PERIOD = 5;

before(async () => {
  node = await startNode(['--sealing', 'instant']);
  api = await connect(node);
  genesisHash = api.genesisHash.toHex();
});

after(async () => {
  await api?.disconnect();
  await node?.stop();
});

/** A balance proof from `pair`, as the extrinsics take it. */
function balanceProof(pair, channelId, nonce, transferred) {
  const payload = { genesisHash, channelId, nonce, transferred };
  return signed(payload, pair, balanceProofMessage(payload));
}

/** Opens a channel from `opener` to `counterparty`, optionally dual funded; returns its id. */
async function open(opener, counterparty, deposit, counterpartyAmount = 0n) {
  const channelId = (await api.call.paymentChannelsApi.nextChannelId()).toNumber();
  let consent = null;
  if (counterpartyAmount > 0n) {
    const payload = {
      genesisHash,
      opener: opener.address,
      openNonce: (await api.query.paymentChannels.openNonces(opener.address)).toNumber(),
      openerDeposit: deposit,
      amount: counterpartyAmount,
      challengePeriod: CHALLENGE_PERIOD,
      expiresAt: (await bestNumber(api)) + 100,
    };
    consent = signed(payload, counterparty, fundingConsentMessage(payload));
  }
  const { events } = await submit(
    api,
    api.tx.paymentChannels.openChannel(counterparty.address, deposit, CHALLENGE_PERIOD, consent),
    opener,
  );
  const [opened] = eventsOf(api, events, 'paymentChannels', 'ChannelOpened');
  assert.equal(opened.channelId.toNumber(), channelId);
  return channelId;
}

async function preview(channelId) {
  return (await api.call.paymentChannelsApi.settlementPreview(channelId)).unwrap().map((b) => b.toBigInt());
}

test('dual-funded open, deposit, off-chain payments, withdraw and cooperative close', async () => {
  const recordDeposit = api.consts.paymentChannels.channelRecordDeposit.toBigInt();
  const aliceStart = await free(api, alice.address);
  const bobStart = await free(api, bob.address);
  let aliceFees = 0n;
  let bobFees = 0n;

  // Open: Alice locks 10, Bob 5 with his signed funding consent.
  const channelId = await (async () => {
    const id = (await api.call.paymentChannelsApi.nextChannelId()).toNumber();
    const payload = {
      genesisHash,
      opener: alice.address,
      openNonce: (await api.query.paymentChannels.openNonces(alice.address)).toNumber(),
      openerDeposit: 10n * UNIT,
      amount: 5n * UNIT,
      challengePeriod: CHALLENGE_PERIOD,
      expiresAt: (await bestNumber(api)) + 100,
    };
    const consent = signed(payload, bob, fundingConsentMessage(payload));
    const { events, fee } = await submit(
      api,
      api.tx.paymentChannels.openChannel(bob.address, 10n * UNIT, CHALLENGE_PERIOD, consent),
      alice,
    );
    aliceFees += fee;
    const [opened] = eventsOf(api, events, 'paymentChannels', 'ChannelOpened');
    assert.equal(opened.channelId.toNumber(), id);
    assert.equal(opened.opener.toString(), alice.address);
    assert.equal(opened.counterparty.toString(), bob.address);
    assert.equal(opened.openerDeposit.toBigInt(), 10n * UNIT);
    assert.equal(opened.counterpartyDeposit.toBigInt(), 5n * UNIT);
    return id;
  })();
  assert.equal(await held(api, alice.address, 'ChannelFunds'), 10n * UNIT);
  assert.equal(await held(api, alice.address, 'ChannelRecord'), recordDeposit);
  assert.equal(await held(api, bob.address, 'ChannelFunds'), 5n * UNIT);

  // Splice-in: Bob adds 2.
  {
    const { events, fee } = await submit(api, api.tx.paymentChannels.deposit(channelId, 2n * UNIT), bob);
    bobFees += fee;
    const [deposited] = eventsOf(api, events, 'paymentChannels', 'Deposited');
    assert.equal(deposited.amount.toBigInt(), 2n * UNIT);
    assert.equal(deposited.totalDeposited.toBigInt(), 7n * UNIT);
    assert.equal(await held(api, bob.address, 'ChannelFunds'), 7n * UNIT);
  }

  // Off chain: Alice pays Bob 4 in three payments, Bob pays Alice 1. Each receiver checks the
  // signature it is handed, as a client does before acknowledging.
  let aliceProof;
  let transferred = 0n;
  for (const [nonce, amount] of [[1, 1n], [2, 2n], [3, 1n]]) {
    transferred += amount * UNIT;
    aliceProof = balanceProof(alice, channelId, nonce, transferred);
    const message = balanceProofMessage(aliceProof.payload);
    assert.ok(signatureVerify(message, aliceProof.signature.Raw.Sr25519, alice.address).isValid);
  }
  const bobProof = balanceProof(bob, channelId, 1, 1n * UNIT);
  assert.equal(transferred, 4n * UNIT);

  // Splice-out: Bob takes 1 out with Alice's withdraw consent.
  {
    const proof = {
      genesisHash,
      channelId,
      participant: bob.address,
      totalWithdrawn: 1n * UNIT,
      expiresAt: (await bestNumber(api)) + 20,
    };
    const before = await free(api, bob.address);
    const { events, fee } = await submit(
      api,
      api.tx.paymentChannels.withdraw(proof, sign(alice, withdrawProofMessage(proof))),
      bob,
    );
    bobFees += fee;
    const [withdrawn] = eventsOf(api, events, 'paymentChannels', 'Withdrawn');
    assert.equal(withdrawn.amount.toBigInt(), 1n * UNIT);
    assert.equal(await free(api, bob.address), before + 1n * UNIT - fee);
    // Replaying the same consent withdraws nothing more.
    bobFees += await expectFailure(
      api,
      api.tx.paymentChannels.withdraw(proof, sign(alice, withdrawProofMessage(proof))),
      bob,
      'paymentChannels.WithdrawProofStale',
    );
  }

  // The chain has seen no balance proof yet; the final split by the off-chain state is
  // Alice 10 - 4 + 1 = 7 and Bob 7 - 1 - 1 + 4 = 9 of the 16 the channel holds.
  assert.deepEqual(await preview(channelId), [10n * UNIT, 6n * UNIT]);
  assert.ok(aliceProof && bobProof);
  // The split is bound to the channel's state version (the deposit and the withdrawal raised
  // it), the nonces of both sides' newest proofs, and an expiry block.
  const { version } = (await api.call.paymentChannelsApi.channel(channelId)).unwrap();
  const settlement = {
    genesisHash,
    channelId,
    version: version.toNumber(),
    nonces: [3, 1],
    payoutOpener: 7n * UNIT,
    payoutCounterparty: 9n * UNIT,
    expiresAt: (await bestNumber(api)) + 20,
  };
  const message = cooperativeCloseMessage(settlement);
  // A split signed for an older state of the channel is refused.
  const stale = { ...settlement, version: settlement.version - 1 };
  const staleMessage = cooperativeCloseMessage(stale);
  aliceFees += await expectFailure(
    api,
    api.tx.paymentChannels.cooperativeClose(stale, sign(alice, staleMessage), sign(bob, staleMessage)),
    alice,
    'paymentChannels.StaleCooperativeClose',
  );
  // A wallet's <Bytes>-wrapped signature declared as raw is refused: the chain checks only
  // the declared form.
  const wrapped = sign(bob, message, { wrapped: true });
  aliceFees += await expectFailure(
    api,
    api.tx.paymentChannels.cooperativeClose(settlement, sign(alice, message), { Raw: wrapped.Wrapped }),
    alice,
    'paymentChannels.InvalidSignature',
  );
  // Bob signs as a polkadot.js wallet would (<Bytes>-wrapped) and declares it; the chain
  // accepts both forms, each as declared.
  const { events, fee } = await submit(
    api,
    api.tx.paymentChannels.cooperativeClose(settlement, sign(alice, message), wrapped),
    alice,
  );
  aliceFees += fee;
  const [closed] = eventsOf(api, events, 'paymentChannels', 'ChannelClosedCooperatively');
  assert.equal(closed.openerPayout.toBigInt(), 7n * UNIT);
  assert.equal(closed.counterpartyPayout.toBigInt(), 9n * UNIT);
  assert.ok((await api.call.paymentChannelsApi.channel(channelId)).isNone);

  // Nothing is left on hold; the free balances moved by the off-chain payments exactly.
  assert.equal(await held(api, alice.address, 'ChannelFunds'), 0n);
  assert.equal(await held(api, alice.address, 'ChannelRecord'), 0n);
  assert.equal(await held(api, bob.address, 'ChannelFunds'), 0n);
  assert.equal(await free(api, alice.address), aliceStart - 3n * UNIT - aliceFees);
  assert.equal(await free(api, bob.address), bobStart + 3n * UNIT - bobFees);
});

test('a unilateral close is disputed by a watchtower with a newer state and settles by it', async () => {
  const channelId = await open(alice, bob, 10n * UNIT);
  const bobStart = await free(api, bob.address);
  // Off chain: Alice pays Bob 2 then 5 in total; Bob pays Alice 1.
  const aliceOld = balanceProof(alice, channelId, 1, 2n * UNIT);
  const aliceNew = balanceProof(alice, channelId, 2, 5n * UNIT);
  const bobProof = balanceProof(bob, channelId, 1, 1n * UNIT);

  // Alice closes with Bob's proof and "forgets" her own payments.
  const { events } = await submit(api, api.tx.paymentChannels.close(channelId, bobProof), alice);
  const [started] = eventsOf(api, events, 'paymentChannels', 'CloseStarted');
  const deadline = started.deadline.toNumber();
  assert.equal(deadline, (await bestNumber(api)) + CHALLENGE_PERIOD);
  // By what the chain knows now Alice would get everything (10 + 1, clamped to the 10 held).
  assert.deepEqual(await preview(channelId), [10n * UNIT, 0n]);

  // Charlie, Bob's watchtower, answers with Alice's proofs; an older one than the chain has is refused.
  await submit(api, api.tx.paymentChannels.updateBalanceProof(channelId, aliceOld), charlie);
  const { events: disputeEvents } = await submit(
    api,
    api.tx.paymentChannels.updateBalanceProof(channelId, aliceNew),
    charlie,
  );
  const [recorded] = eventsOf(api, disputeEvents, 'paymentChannels', 'BalanceProofSubmitted');
  assert.equal(recorded.signer.toString(), alice.address);
  assert.equal(recorded.nonce.toNumber(), 2);
  assert.equal(recorded.submitter.toString(), charlie.address);
  await expectFailure(
    api,
    api.tx.paymentChannels.updateBalanceProof(channelId, aliceOld),
    charlie,
    'paymentChannels.StaleBalanceProof',
  );
  // A refused call that is included still pays its fee: Bob's is counted below.
  const bobFee = await expectFailure(
    api,
    api.tx.paymentChannels.close(channelId, null),
    bob,
    'paymentChannels.AlreadyClosing',
  );
  await expectFailure(api, api.tx.paymentChannels.settle(channelId), charlie, 'paymentChannels.ChallengePeriodNotOver');
  assert.deepEqual(await preview(channelId), [6n * UNIT, 4n * UNIT]);

  // Nobody calls settle: the runtime's hook settles the channel in the first block after the
  // deadline.
  const blocks = deadline + 1 - (await bestNumber(api));
  const lastEvents = await makeBlocks(api, node, blocks);
  const settled = lastEvents
    .filter(({ event }) => api.events.paymentChannels.ChannelSettled.is(event))
    .map(({ event }) => event.data);
  assert.equal(settled.length, 1);
  assert.equal(settled[0].channelId.toNumber(), channelId);
  assert.equal(settled[0].openerPayout.toBigInt(), 6n * UNIT);
  assert.equal(settled[0].counterpartyPayout.toBigInt(), 4n * UNIT);
  // Bob's only transaction was the refused second close; he has everything Alice paid him, net
  // of what he paid her, without having called dispute or settle.
  assert.ok(bobFee > 0n);
  assert.equal(await free(api, bob.address), bobStart + 4n * UNIT - bobFee);
  await expectFailure(api, api.tx.paymentChannels.settle(channelId), charlie, 'paymentChannels.UnknownChannel');
});

test('a payer cannot take its payments back with a higher nonce and a lower total', async () => {
  const channelId = await open(alice, bob, 10n * UNIT);
  // Alice paid Bob 2; Bob closes with her proof.
  await submit(api, api.tx.paymentChannels.close(channelId, balanceProof(alice, channelId, 3, 2n * UNIT)), bob);
  const before = (await api.call.paymentChannelsApi.channel(channelId)).toHex();
  // Alice signs a proof of a far higher nonce that says she paid nothing (and one that says
  // less), and submits them herself and through Charlie.
  for (const [who, nonce, transferred] of [[alice, 1_000_000, 0n], [charlie, 2 ** 52, 1n * UNIT]]) {
    await expectFailure(
      api,
      api.tx.paymentChannels.updateBalanceProof(channelId, balanceProof(alice, channelId, nonce, transferred)),
      who,
      'paymentChannels.StaleBalanceProof',
    );
  }
  assert.equal((await api.call.paymentChannelsApi.channel(channelId)).toHex(), before);
  assert.deepEqual(await preview(channelId), [8n * UNIT, 2n * UNIT]);
});

test('refused calls name their error and change nothing', async () => {
  const first = await open(alice, bob, 3n * UNIT);
  const second = await open(alice, bob, 3n * UNIT);
  const channelBefore = (await api.call.paymentChannelsApi.channel(first)).toHex();

  // A forged signature: Bob's proof with the signature bytes of another message.
  const forged = balanceProof(bob, first, 1, 1n * UNIT);
  forged.signature = sign(bob, balanceProofMessage({ genesisHash, channelId: first, nonce: 1, transferred: 2n * UNIT }));
  await expectFailure(api, api.tx.paymentChannels.close(first, forged), alice, 'paymentChannels.InvalidSignature');

  // Signed by the wrong party: Alice's own proof offered as the counterparty's.
  await expectFailure(
    api,
    api.tx.paymentChannels.close(first, balanceProof(alice, first, 1, 1n * UNIT)),
    alice,
    'paymentChannels.WrongSigner',
  );

  // Replay on another channel: a valid proof of the second channel used for the first.
  await expectFailure(
    api,
    api.tx.paymentChannels.close(first, balanceProof(bob, second, 1, 1n * UNIT)),
    alice,
    'paymentChannels.WrongChannel',
  );

  // Another chain: a proof bound to another genesis hash.
  const otherChain = { genesisHash: `0x${'11'.repeat(32)}`, channelId: first, nonce: 1, transferred: 1n * UNIT };
  await expectFailure(
    api,
    api.tx.paymentChannels.close(first, signed(otherChain, bob, balanceProofMessage(otherChain))),
    alice,
    'paymentChannels.WrongGenesis',
  );

  // Not a participant; zero amounts.
  await expectFailure(api, api.tx.paymentChannels.deposit(first, UNIT), charlie, 'paymentChannels.NotParticipant');
  await expectFailure(api, api.tx.paymentChannels.deposit(first, 0), alice, 'paymentChannels.ZeroAmount');

  assert.equal((await api.call.paymentChannelsApi.channel(first)).toHex(), channelBefore);
});
