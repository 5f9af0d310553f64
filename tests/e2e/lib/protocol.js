// The off-chain payloads of docs/protocol.md §2, encoded and signed in JavaScript from that page
// alone: signing_message = TAG ‖ SCALE(payload), SCALE integers little-endian, fixed-size arrays
// as they are. Nothing here reads Rust code or hand-written type definitions.

import { bnToU8a, hexToU8a, stringToU8a, u8aConcat, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';

export const TAGS = {
  balanceProof: 'paychan:balance-proof:v1',
  withdrawProof: 'paychan:withdraw-proof:v1',
  cooperativeClose: 'paychan:cooperative-close:v2',
  fundingConsent: 'paychan:funding-consent:v2',
};

const u32 = (value) => bnToU8a(value, { bitLength: 32, isLe: true });
const u64 = (value) => bnToU8a(value, { bitLength: 64, isLe: true });
const u128 = (value) => bnToU8a(value, { bitLength: 128, isLe: true });
const account = (address) => decodeAddress(address);

function hashBytes(genesisHash) {
  const bytes = typeof genesisHash === 'string' ? hexToU8a(genesisHash) : genesisHash;
  if (bytes.length !== 32) throw new Error('a genesis hash is 32 bytes');
  return bytes;
}

/** §2.1: what a payer signs with every payment (88 bytes). */
export function balanceProofMessage({ genesisHash, channelId, nonce, transferred }) {
  return u8aConcat(stringToU8a(TAGS.balanceProof), hashBytes(genesisHash), u64(channelId), u64(nonce), u128(transferred));
}

/** §2.2: the non-withdrawing participant's consent to a splice-out (117 bytes). */
export function withdrawProofMessage({ genesisHash, channelId, participant, totalWithdrawn, expiresAt }) {
  return u8aConcat(
    stringToU8a(TAGS.withdrawProof),
    hashBytes(genesisHash),
    u64(channelId),
    account(participant),
    u128(totalWithdrawn),
    u32(expiresAt),
  );
}

/** §2.3: the final split both participants sign, bound to the channel's state (128 bytes). */
export function cooperativeCloseMessage({
  genesisHash,
  channelId,
  version,
  nonces,
  payoutOpener,
  payoutCounterparty,
  expiresAt,
}) {
  return u8aConcat(
    stringToU8a(TAGS.cooperativeClose),
    hashBytes(genesisHash),
    u64(channelId),
    u64(version),
    u64(nonces[0]),
    u64(nonces[1]),
    u128(payoutOpener),
    u128(payoutCounterparty),
    u32(expiresAt),
  );
}

/** §2.4: the counterparty's consent to fund at open, bound to the opener's open nonce (138 bytes). */
export function fundingConsentMessage({
  genesisHash,
  opener,
  openNonce,
  openerDeposit,
  amount,
  challengePeriod,
  expiresAt,
}) {
  return u8aConcat(
    stringToU8a(TAGS.fundingConsent),
    hashBytes(genesisHash),
    account(opener),
    u64(openNonce),
    u128(openerDeposit),
    u128(amount),
    u32(challengePeriod),
    u32(expiresAt),
  );
}

/** A keyring pair's signature over `bytes` as a `MultiSignature` object. */
export function multiSignature(pair, bytes) {
  const variant = { sr25519: 'Sr25519', ed25519: 'Ed25519', ecdsa: 'Ecdsa' }[pair.type];
  return { [variant]: u8aToHex(pair.sign(bytes)) };
}

/**
 * Signs a message with a keyring pair as the chain's calls take it: a `PayloadSignature` that
 * declares its form (§2.6). `wrapped` signs `<Bytes>message</Bytes>` instead and declares it
 * `Wrapped`, as a polkadot.js wallet's signRaw signs.
 */
export function sign(pair, message, { wrapped = false } = {}) {
  return wrapped ? { Wrapped: multiSignature(pair, u8aWrapBytes(message)) } : { Raw: multiSignature(pair, message) };
}

/** `Signed<Payload>` (§2.5) as polkadot.js takes it in a call argument. */
export function signed(payload, pair, message, options) {
  return { payload, signer: pair.address, signature: sign(pair, message, options) };
}
