//! Decoding of every signed payload, plan and call the chain accepts from outside: a decoder
//! must never panic, and whatever decodes must re-encode to exactly the bytes it came from
//! (SCALE is canonical here, so two encodings never mean the same payload).

#![no_main]

use codec::{Decode, DecodeLimit, Encode};
use frame_support::{traits::ConstU32, BoundedVec};
use libfuzzer_sys::fuzz_target;
use pallet_payment_channels::mock::RuntimeCall;
use paychan_primitives::{
	BalanceProof, CooperativeClose, FundingConsent, PlanEdge, RequestEntry, Signed, WithdrawProof,
};
use sp_core::H256;
use sp_runtime::{AccountId32, MultiSignature};

/// A signature as the calls take it: its declared form, then the `MultiSignature`.
type Signature = paychan_primitives::PayloadSignature<MultiSignature>;

type Balance = u128;
type BlockNumber = u32;

/// Decodes `bytes` as `T` (all of them, nesting bounded) and checks the round trip.
fn round_trip<T: Decode + Encode>(bytes: &[u8]) {
	if let Ok(value) = T::decode_all_with_depth_limit(32, &mut &bytes[..]) {
		assert_eq!(value.encode(), bytes, "{} re-encodes differently", core::any::type_name::<T>());
	}
}

fuzz_target!(|data: &[u8]| {
	let Some((&kind, bytes)) = data.split_first() else { return };
	match kind % 12 {
		0 => round_trip::<BalanceProof<H256, Balance>>(bytes),
		1 => round_trip::<WithdrawProof<AccountId32, Balance, BlockNumber, H256>>(bytes),
		2 => round_trip::<CooperativeClose<H256, Balance, BlockNumber>>(bytes),
		3 => round_trip::<FundingConsent<AccountId32, Balance, BlockNumber, H256>>(bytes),
		4 => round_trip::<Signed<BalanceProof<H256, Balance>, AccountId32, Signature>>(bytes),
		5 => round_trip::<
			Signed<
				FundingConsent<AccountId32, Balance, BlockNumber, H256>,
				AccountId32,
				Signature,
			>,
		>(bytes),
		6 => round_trip::<PlanEdge<AccountId32, Balance>>(bytes),
		7 => round_trip::<BoundedVec<PlanEdge<AccountId32, Balance>, ConstU32<128>>>(bytes),
		8 => round_trip::<RequestEntry<Balance>>(bytes),
		9 => round_trip::<BoundedVec<RequestEntry<Balance>, ConstU32<16>>>(bytes),
		10 => round_trip::<Signature>(bytes),
		// A whole call of the mock runtime, as an extrinsic carries it (any pallet's).
		_ => {
			let _ = RuntimeCall::decode_with_depth_limit(32, &mut &bytes[..]);
		}
	}
});
