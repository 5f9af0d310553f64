//! Signing accounts for benchmarks and tests that run without a wallet.

use sp_core::{crypto::KeyTypeId, sr25519};
use sp_runtime::{
	traits::{IdentifyAccount, Verify},
	AccountId32, MultiSignature, MultiSigner,
};

/// Makes accounts that can sign off-chain payloads, and signs for them.
pub trait BenchmarkHelper<AccountId, Signature> {
	/// An account whose key is in the keystore, derived from `seed`.
	fn signing_account(seed: u32) -> AccountId;
	/// `account`'s signature over `message`.
	fn sign(account: &AccountId, message: &[u8]) -> Signature;
}

/// The key type under which benchmark keys are kept in the keystore.
pub const BENCHMARK_KEY_TYPE: KeyTypeId = KeyTypeId(*b"pchn");

/// sr25519 keys in the host keystore, for runtimes whose accounts are `AccountId32` and whose
/// signatures are `MultiSignature` (the usual polkadot-sdk choice).
pub struct Sr25519Keystore;

impl BenchmarkHelper<AccountId32, MultiSignature> for Sr25519Keystore {
	fn signing_account(seed: u32) -> AccountId32 {
		let seed = alloc::format!("//paychan-benchmark-{seed}");
		let public = sp_io::crypto::sr25519_generate(BENCHMARK_KEY_TYPE, Some(seed.into_bytes()));
		MultiSigner::from(public).into_account()
	}

	fn sign(account: &AccountId32, message: &[u8]) -> MultiSignature {
		let public = sr25519::Public::from_raw(*account.as_ref());
		let signature = sp_io::crypto::sr25519_sign(BENCHMARK_KEY_TYPE, &public, message)
			.expect("the benchmark key was generated in the keystore");
		debug_assert!(MultiSignature::from(signature).verify(message, account));
		signature.into()
	}
}
