// Helpers for driving a node from @polkadot/api in tests: connect, submit and wait for
// inclusion, decode module errors by name, read holds, make empty blocks.

import { ApiPromise, WsProvider } from '@polkadot/api';

// One token: paychan_primitives::currency::UNIT (the smoke test checks it against the chain's
// tokenDecimals).
export const UNIT = 1_000_000_000_000n;

export async function connect(node) {
  return ApiPromise.create({ provider: new WsProvider(node.wsUrl), noInitWarn: true, throwOnConnect: true });
}

/** The `section.Name` of a dispatch error, decoded from the metadata. */
export function errorName(api, dispatchError) {
  if (dispatchError.isModule) {
    const { section, name } = api.registry.findMetaError(dispatchError.asModule);
    return `${section}.${name}`;
  }
  return dispatchError.toString();
}

/** An error thrown when an extrinsic is included but fails; `name` is e.g. `paymentChannels.WrongSigner`. */
export class DispatchFailed extends Error {
  constructor(name, events) {
    super(`dispatch failed: ${name}`);
    this.name = name;
    this.events = events;
  }
}

/**
 * Signs and sends `tx`, resolving when it is included with `{ blockHash, events, fee }`, where
 * `events` are the extrinsic's own events and `fee` what the signer paid. Rejects with
 * `DispatchFailed` if it was included but failed. Instant sealing finalizes at once, so the pool
 * may report `Finalized` without an `InBlock` first.
 */
export function submit(api, tx, signer, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not included within ${timeoutMs} ms`)), timeoutMs);
    let unsubscribe = () => {};
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (!(status.isInBlock || status.isFinalized)) return;
      clearTimeout(timer);
      unsubscribe();
      const feeEvent = events.find(({ event }) => api.events.transactionPayment.TransactionFeePaid.is(event));
      const fee = feeEvent ? feeEvent.event.data.actualFee.toBigInt() : 0n;
      if (dispatchError) {
        reject(new DispatchFailed(errorName(api, dispatchError), events));
      } else {
        resolve({ blockHash: status.isInBlock ? status.asInBlock : status.asFinalized, events, fee });
      }
    })
      .then((u) => {
        unsubscribe = u;
      })
      .catch((error) => {
        clearTimeout(timer);
        reject(error);
      });
  });
}

/** Submits `tx` expecting it to fail with `name` (e.g. `paymentChannels.StaleBalanceProof`); returns the fee paid. */
export async function expectFailure(api, tx, signer, name) {
  try {
    await submit(api, tx, signer);
  } catch (error) {
    if (error instanceof DispatchFailed) {
      if (error.name !== name) throw new Error(`expected ${name}, got ${error.name}`);
      const feeEvent = error.events.find(({ event }) => api.events.transactionPayment.TransactionFeePaid.is(event));
      return feeEvent ? feeEvent.event.data.actualFee.toBigInt() : 0n;
    }
    throw error;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}

/** The events of `section.method` among `events`, as their data. */
export function eventsOf(api, events, section, method) {
  return events.filter(({ event }) => api.events[section][method].is(event)).map(({ event }) => event.data);
}

export async function free(api, address) {
  return (await api.query.system.account(address)).data.free.toBigInt();
}

/** What `address` has on hold under payment-channels hold `reason` (e.g. `ChannelFunds`). */
export async function held(api, address, reason) {
  const holds = await api.query.balances.holds(address);
  return holds
    .filter((hold) => hold.id.isPaymentChannels && hold.id.asPaymentChannels[`is${reason}`])
    .reduce((sum, hold) => sum + hold.amount.toBigInt(), 0n);
}

export async function bestNumber(api) {
  return (await api.rpc.chain.getHeader()).number.toNumber();
}

/** Makes `count` empty blocks (instant or manual sealing), returning the events of the last. */
export async function makeBlocks(api, node, count) {
  for (let i = 0; i < count; i++) await node.rpc('engine_createBlock', [true, true, null]);
  return api.query.system.events();
}
