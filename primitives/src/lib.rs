//! Types and signed-payload formats shared by `pallet-payment-channels` and its off-chain
//! clients (the `paychan` client, the rebalancer and the polkadot.js suite).
//!
//! Every off-chain message that the chain may later be asked to verify is one of the payload
//! structs below. What a participant signs is [`SignedPayload::signing_message`]: the payload's
//! domain tag followed by the payload's SCALE encoding. Each payload starts with the genesis hash
//! of the chain and the channel id, so a signature is bound to one chain, one channel and one
//! purpose. `docs/protocol.md` gives the byte layout of each.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

pub mod currency;
pub mod locks;
mod settlement;
pub use settlement::{
	opener_claim, settlement, settlement_with_locks, LockedSettlement, SideTotals, SignedBalance,
};

/// Identifies a channel. Ids come from a counter on chain and are never reused.
pub type ChannelId = u64;

/// Numbers the balance proofs of one signer in one channel, one more with each payment.
pub type Nonce = u64;

/// Counts the on-chain changes of one channel: every call that changes a channel's books raises
/// it, so a [`CooperativeClose`] signed before the change no longer applies.
pub type StateVersion = u64;

/// The domain tag of a [`BalanceProof`].
pub const BALANCE_PROOF_TAG: &[u8] = b"paychan:balance-proof:v1";
/// The domain tag of a [`LockedBalanceProof`]: a balance proof that also commits to the
/// signer's pending hash-time locks ([`locks`]).
pub const LOCKED_BALANCE_PROOF_TAG: &[u8] = b"paychan:locked-balance-proof:v1";
/// The domain tag of a [`WithdrawProof`].
pub const WITHDRAW_PROOF_TAG: &[u8] = b"paychan:withdraw-proof:v1";
/// The domain tag of a [`CooperativeClose`]. `v2`: bound to the channel's state version, both
/// sides' nonces and an expiry block (a `v1` split never went stale).
pub const COOPERATIVE_CLOSE_TAG: &[u8] = b"paychan:cooperative-close:v2";
/// The domain tag of a [`FundingConsent`]. `v2`: bound to the opener's open nonce and deposit
/// instead of the chain-wide next channel id (which any third party could move).
pub const FUNDING_CONSENT_TAG: &[u8] = b"paychan:funding-consent:v2";

/// What polkadot.js wallets put before raw bytes they are asked to sign (`signRaw`).
pub const WRAPPED_BYTES_PREFIX: &[u8] = b"<Bytes>";
/// What polkadot.js wallets put after raw bytes they are asked to sign (`signRaw`).
pub const WRAPPED_BYTES_SUFFIX: &[u8] = b"</Bytes>";

/// A payload that participants sign off chain and the chain verifies.
pub trait SignedPayload: Encode {
	/// Separates this payload's signatures from every other kind of signed message.
	const TAG: &'static [u8];

	/// The exact bytes a participant signs: the domain tag, then the SCALE encoding.
	fn signing_message(&self) -> Vec<u8> {
		let mut message = Vec::with_capacity(Self::TAG.len() + self.size_hint());
		message.extend_from_slice(Self::TAG);
		self.encode_to(&mut message);
		message
	}
}

/// `message` wrapped the way a polkadot.js wallet wraps raw bytes before it signs them.
pub fn wrap_bytes(message: &[u8]) -> Vec<u8> {
	let mut wrapped =
		Vec::with_capacity(WRAPPED_BYTES_PREFIX.len() + message.len() + WRAPPED_BYTES_SUFFIX.len());
	wrapped.extend_from_slice(WRAPPED_BYTES_PREFIX);
	wrapped.extend_from_slice(message);
	wrapped.extend_from_slice(WRAPPED_BYTES_SUFFIX);
	wrapped
}

/// A signature over a payload's signing message, with the form its signer declares: over the
/// message itself, or over the message wrapped in `<Bytes>…</Bytes>`, which is what a
/// polkadot.js wallet signs when asked to sign raw bytes (`signRaw`). The chain verifies the
/// declared form only, so a signature costs one verification, never two; a signature declared in
/// the wrong form is invalid.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum PayloadSignature<Signature> {
	/// Over [`SignedPayload::signing_message`]: what the `paychan` client and `@polkadot/api`'s
	/// keyring sign.
	#[codec(index = 0)]
	Raw(Signature),
	/// Over [`wrap_bytes`] of the signing message: what a browser wallet's `signRaw` signs.
	#[codec(index = 1)]
	Wrapped(Signature),
}

impl<Signature> PayloadSignature<Signature> {
	/// The signature, whatever its form.
	pub fn signature(&self) -> &Signature {
		match self {
			Self::Raw(signature) | Self::Wrapped(signature) => signature,
		}
	}

	/// The bytes this signature claims to sign, for the payload's `message`.
	pub fn signed_bytes<'a>(&self, message: &'a [u8]) -> alloc::borrow::Cow<'a, [u8]> {
		match self {
			Self::Raw(_) => alloc::borrow::Cow::Borrowed(message),
			Self::Wrapped(_) => alloc::borrow::Cow::Owned(wrap_bytes(message)),
		}
	}
}

/// A participant's cumulative statement of what it has paid its counterparty in one channel.
///
/// The signer sends a new proof with every payment: `transferred` only grows and `nonce`
/// increases by at least one each time. On chain a proof only ever counts against its signer:
/// it replaces the recorded one only if it raises what the signer has transferred, whoever
/// submits it, so no proof its signer makes up later can take back a payment.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct BalanceProof<Hash, Balance> {
	/// The genesis hash of the chain the channel lives on.
	pub genesis_hash: Hash,
	/// The channel the payments were made in.
	pub channel_id: ChannelId,
	/// Numbers this signer's proofs; the chain records it with the proof it keeps.
	pub nonce: Nonce,
	/// Everything the signer has paid the counterparty in this channel, in total.
	pub transferred: Balance,
}

impl<Hash: Encode, Balance: Encode> SignedPayload for BalanceProof<Hash, Balance> {
	const TAG: &'static [u8] = BALANCE_PROOF_TAG;
}

/// A [`BalanceProof`] that also commits to the signer's pending hash-time locks: `locked` is
/// their sum and `locks_root` their Merkle root ([`locks::locks_root`]). The locked amount is
/// the signer's, promised to the counterparty under each lock's condition; a later proof moves
/// a lock's amount into `transferred` (the secret was revealed) or drops it (it expired). With
/// no locks (`locked` 0, [`locks::EMPTY_LOCKS_ROOT`]) it says what a `BalanceProof` of the same
/// nonce and total says. docs/protocol.md §10.3 gives the bytes.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct LockedBalanceProof<Hash, Balance> {
	/// The genesis hash of the chain the channel lives on.
	pub genesis_hash: Hash,
	/// The channel the payments were made in.
	pub channel_id: ChannelId,
	/// Numbers this signer's proofs, locked or not: one sequence per signer and channel.
	pub nonce: Nonce,
	/// Everything the signer has paid unconditionally, in total.
	pub transferred: Balance,
	/// The sum of the pending locks' amounts.
	pub locked: Balance,
	/// The root of the pending locks.
	pub locks_root: [u8; 32],
}

impl<Hash: Encode, Balance: Encode> SignedPayload for LockedBalanceProof<Hash, Balance> {
	const TAG: &'static [u8] = LOCKED_BALANCE_PROOF_TAG;
}

/// A counterparty's consent that `participant` may take funds out of the channel without
/// closing it (a splice-out).
///
/// `total_withdrawn` is cumulative, so a proof can be used once: after it is executed the chain's
/// withdrawn total equals it and the same proof withdraws nothing more.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct WithdrawProof<AccountId, Balance, BlockNumber, Hash> {
	/// The genesis hash of the chain the channel lives on.
	pub genesis_hash: Hash,
	/// The channel to withdraw from.
	pub channel_id: ChannelId,
	/// The participant who may withdraw (the one who did not sign).
	pub participant: AccountId,
	/// The participant's withdrawn total after this withdrawal.
	pub total_withdrawn: Balance,
	/// The last block at which the proof may be used.
	pub expires_at: BlockNumber,
}

impl<AccountId: Encode, Balance: Encode, BlockNumber: Encode, Hash: Encode> SignedPayload
	for WithdrawProof<AccountId, Balance, BlockNumber, Hash>
{
	const TAG: &'static [u8] = WITHDRAW_PROOF_TAG;
}

/// Both participants' agreement on the final split of a channel; paid out at once.
///
/// It is bound to the channel's state: the chain refuses it once the channel's on-chain books
/// have changed since it was signed (`version`), once a balance proof newer than the ones it
/// accounts for was recorded (`nonces`), and after `expires_at`. A client that signs one stops
/// paying and being paid in the channel until it lands or expires.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct CooperativeClose<Hash, Balance, BlockNumber> {
	/// The genesis hash of the chain the channel lives on.
	pub genesis_hash: Hash,
	/// The channel to close.
	pub channel_id: ChannelId,
	/// The channel's state version on chain when the split was agreed.
	pub version: StateVersion,
	/// The nonces of the newest balance proofs of the opener and of the counterparty that the
	/// split accounts for.
	pub nonces: [Nonce; 2],
	/// What the opener (participant 0) receives.
	pub payout_opener: Balance,
	/// What the counterparty (participant 1) receives.
	pub payout_counterparty: Balance,
	/// The last block at which the split may be used.
	pub expires_at: BlockNumber,
}

impl<Hash: Encode, Balance: Encode, BlockNumber: Encode> SignedPayload
	for CooperativeClose<Hash, Balance, BlockNumber>
{
	const TAG: &'static [u8] = COOPERATIVE_CLOSE_TAG;
}

/// The counterparty's consent to fund a channel that the opener is about to open (dual funding).
///
/// Bound to the opener's open nonce (how many channels it has opened), which only the opener's
/// own opens move: it opens one channel at most, and no third party can void it by opening a
/// channel first.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct FundingConsent<AccountId, Balance, BlockNumber, Hash> {
	/// The genesis hash of the chain the channel lives on.
	pub genesis_hash: Hash,
	/// Who opens the channel.
	pub opener: AccountId,
	/// The opener's open nonce when it opens this channel (`OpenNonces` on chain).
	pub open_nonce: u64,
	/// What the opener deposits at open.
	pub opener_deposit: Balance,
	/// What the counterparty deposits at open.
	pub amount: Balance,
	/// The challenge period the counterparty agrees to.
	pub challenge_period: BlockNumber,
	/// The last block at which the consent may be used.
	pub expires_at: BlockNumber,
}

impl<AccountId: Encode, Balance: Encode, BlockNumber: Encode, Hash: Encode> SignedPayload
	for FundingConsent<AccountId, Balance, BlockNumber, Hash>
{
	const TAG: &'static [u8] = FUNDING_CONSENT_TAG;
}

/// One move of a rebalancing plan: `amount` goes from `from`'s side of channel `channel_id` to the
/// other participant's side. A plan is a list of these that the chain applies all or none.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PlanEdge<AccountId, Balance> {
	/// The channel the funds move in.
	pub channel_id: ChannelId,
	/// The participant whose side gives the funds.
	pub from: AccountId,
	/// How much moves.
	pub amount: Balance,
}

/// What a participant declares it is willing to move in one of its channels when rebalancing.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct RequestEntry<Balance> {
	/// The channel.
	pub channel_id: ChannelId,
	/// At most this much may leave the declarer's side (it is pledged until used or expired).
	pub max_send: Balance,
	/// At most this much may arrive on the declarer's side.
	pub max_receive: Balance,
}

/// A payload with its signer and signature, as extrinsics carry it.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Signed<Payload, AccountId, Signature> {
	/// What was signed.
	pub payload: Payload,
	/// Who signed it.
	pub signer: AccountId,
	/// The signature over `payload.signing_message()`; [`PayloadSignature`] where the chain
	/// takes it, which declares whether it is raw or `<Bytes>`-wrapped.
	pub signature: Signature,
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn signing_message_is_tag_then_scale_encoding() {
		let proof =
			BalanceProof { genesis_hash: [7u8; 32], channel_id: 3, nonce: 9, transferred: 5u128 };
		let message = proof.signing_message();
		assert_eq!(&message[..BALANCE_PROOF_TAG.len()], BALANCE_PROOF_TAG);
		assert_eq!(&message[BALANCE_PROOF_TAG.len()..], &proof.encode()[..]);
		// 32 (hash) + 8 (channel id) + 8 (nonce) + 16 (u128), no length prefixes.
		assert_eq!(message.len(), BALANCE_PROOF_TAG.len() + 64);
	}

	/// The offsets docs/protocol.md §2.3 and §2.4 give, byte by byte.
	#[test]
	fn the_locked_balance_proof_layout_matches_the_protocol_page() {
		let proof = LockedBalanceProof {
			genesis_hash: [0x11u8; 32],
			channel_id: 2,
			nonce: 3,
			transferred: 4u128,
			locked: 5u128,
			locks_root: [0x66u8; 32],
		};
		let message = proof.signing_message();
		let tag = LOCKED_BALANCE_PROOF_TAG.len();
		assert_eq!(tag, 31);
		assert_eq!(message.len(), tag + 32 + 8 + 8 + 16 + 16 + 32);
		assert_eq!(&message[..tag], LOCKED_BALANCE_PROOF_TAG);
		assert_eq!(&message[tag..tag + 32], &[0x11u8; 32]);
		assert_eq!(&message[tag + 32..tag + 40], &2u64.to_le_bytes());
		assert_eq!(&message[tag + 40..tag + 48], &3u64.to_le_bytes());
		assert_eq!(&message[tag + 48..tag + 64], &4u128.to_le_bytes());
		assert_eq!(&message[tag + 64..tag + 80], &5u128.to_le_bytes());
		assert_eq!(&message[tag + 80..], &[0x66u8; 32]);
	}

	#[test]
	fn cooperative_close_and_funding_consent_layouts_match_the_protocol_page() {
		let close = CooperativeClose {
			genesis_hash: [0x11u8; 32],
			channel_id: 2,
			version: 3,
			nonces: [4, 5],
			payout_opener: 6u128,
			payout_counterparty: 7u128,
			expires_at: 8u32,
		};
		let message = close.signing_message();
		assert_eq!(message.len(), 128);
		assert_eq!(&message[..28], COOPERATIVE_CLOSE_TAG);
		assert_eq!(&message[28..60], &[0x11u8; 32]);
		assert_eq!(&message[60..68], &2u64.to_le_bytes());
		assert_eq!(&message[68..76], &3u64.to_le_bytes());
		assert_eq!(&message[76..84], &4u64.to_le_bytes());
		assert_eq!(&message[84..92], &5u64.to_le_bytes());
		assert_eq!(&message[92..108], &6u128.to_le_bytes());
		assert_eq!(&message[108..124], &7u128.to_le_bytes());
		assert_eq!(&message[124..128], &8u32.to_le_bytes());

		let consent = FundingConsent {
			genesis_hash: [0x11u8; 32],
			opener: [0x22u8; 32],
			open_nonce: 3,
			opener_deposit: 4u128,
			amount: 5u128,
			challenge_period: 6u32,
			expires_at: 7u32,
		};
		let message = consent.signing_message();
		assert_eq!(message.len(), 138);
		assert_eq!(&message[..26], FUNDING_CONSENT_TAG);
		assert_eq!(&message[26..58], &[0x11u8; 32]);
		assert_eq!(&message[58..90], &[0x22u8; 32]);
		assert_eq!(&message[90..98], &3u64.to_le_bytes());
		assert_eq!(&message[98..114], &4u128.to_le_bytes());
		assert_eq!(&message[114..130], &5u128.to_le_bytes());
		assert_eq!(&message[130..134], &6u32.to_le_bytes());
		assert_eq!(&message[134..138], &7u32.to_le_bytes());
	}

	#[test]
	fn no_tag_is_a_prefix_of_another() {
		let tags = [
			BALANCE_PROOF_TAG,
			LOCKED_BALANCE_PROOF_TAG,
			WITHDRAW_PROOF_TAG,
			COOPERATIVE_CLOSE_TAG,
			FUNDING_CONSENT_TAG,
		];
		for (i, a) in tags.iter().enumerate() {
			for (j, b) in tags.iter().enumerate() {
				if i != j {
					assert!(!b.starts_with(a), "{:?} is a prefix of {:?}", a, b);
				}
			}
		}
	}

	#[test]
	fn wrapped_bytes_match_polkadot_js() {
		assert_eq!(wrap_bytes(b"abc"), b"<Bytes>abc</Bytes>".to_vec());
	}

	/// docs/protocol.md §2.5: one byte of form, then the `MultiSignature` (its variant byte and
	/// the 64 signature bytes for sr25519): 66 bytes.
	#[test]
	fn a_payload_signature_is_its_form_byte_then_the_multi_signature() {
		let signature =
			sp_runtime::MultiSignature::Sr25519(sp_core::sr25519::Signature::from_raw([9u8; 64]));
		let raw = PayloadSignature::Raw(signature.clone()).encode();
		let wrapped = PayloadSignature::Wrapped(signature).encode();
		assert_eq!(raw.len(), 66);
		assert_eq!(&raw[..2], &[0x00, 0x01]);
		assert_eq!(&wrapped[..2], &[0x01, 0x01]);
		assert_eq!(&raw[2..], &[9u8; 64]);
		assert_eq!(&raw[1..], &wrapped[1..]);
	}

	#[test]
	fn each_form_names_the_bytes_it_signs() {
		let raw = PayloadSignature::Raw([0u8; 64]);
		let wrapped = PayloadSignature::Wrapped([0u8; 64]);
		assert_eq!(&raw.signed_bytes(b"abc")[..], b"abc");
		assert_eq!(&wrapped.signed_bytes(b"abc")[..], b"<Bytes>abc</Bytes>");
		assert_eq!(raw.signature(), wrapped.signature());
	}
}

/// A vector produced by polkadot.js (`@polkadot/keyring`, sr25519, `//Alice`) following
/// `docs/protocol.md`: the same bytes must come out of the Rust encoding, and the JavaScript
/// signature must verify here.
#[cfg(test)]
mod polkadot_js_vector {
	use super::*;
	use sp_core::{crypto::Pair as _, sr25519};

	const MESSAGE: &str = "7061796368616e3a62616c616e63652d70726f6f663a76311111111111111111111111111111111111111111111111111111111111111111070000000000000003000000000000000098f73e5d0100000000000000000000";
	const ALICE: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
	const SIGNATURE: &str = "76fae818eb492c9423d1b6ca2abeafa50e07dd2b557f013a7a357d257597da6455f049eee4781132c60c8cdcc94c7c4cd63153d3c3da5001e9b382dc20bd068f";

	fn bytes<const N: usize>(hex: &str) -> [u8; N] {
		let decoded: Vec<u8> = (0..hex.len())
			.step_by(2)
			.map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
			.collect();
		decoded.try_into().unwrap()
	}

	#[test]
	fn rust_encoding_matches_the_documented_bytes() {
		let proof = BalanceProof {
			genesis_hash: [0x11u8; 32],
			channel_id: 7,
			nonce: 3,
			transferred: 1_500_000_000_000u128,
		};
		assert_eq!(proof.signing_message(), bytes::<88>(MESSAGE).to_vec());
	}

	#[test]
	fn polkadot_js_signature_verifies() {
		let public = sr25519::Public::from_raw(bytes::<32>(ALICE));
		let signature = sr25519::Signature::from_raw(bytes::<64>(SIGNATURE));
		assert!(sr25519::Pair::verify(&signature, bytes::<88>(MESSAGE), &public));
	}
}
