//! The bare signature limit of a payment: how fast one core signs and verifies the 88-byte
//! balance-proof message with sr25519, the scheme the client uses. `scripts/bench-client.sh`
//! prints it beside the measured payment rates.
//!
//! `cargo run --release -p paychan-client --example sign_verify [COUNT]`

use paychan_client::{keys, keys::Keys, session::proof_message, wire::ProofState};
use std::time::Instant;

fn main() {
	let count: u64 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
	let alice = Keys::from_uri("//Alice").expect("dev key");
	let genesis = [0x11; 32];
	let messages: Vec<Vec<u8>> = (1..=count)
		.map(|nonce| {
			let proof = ProofState {
				nonce,
				transferred: nonce as u128 * 1_000,
				signature: [0; 64],
				locks: None,
			};
			proof_message(genesis, 7, &proof)
		})
		.collect();

	let started = Instant::now();
	let signatures: Vec<[u8; 64]> = messages.iter().map(|message| alice.sign(message)).collect();
	let sign = started.elapsed().as_secs_f64() / count as f64;

	let started = Instant::now();
	let valid = messages
		.iter()
		.zip(&signatures)
		.filter(|(message, signature)| keys::verify(&alice.public(), message, signature))
		.count();
	let verify = started.elapsed().as_secs_f64() / count as f64;
	assert_eq!(valid as u64, count, "every signature verifies");

	println!(
		"{{\"count\":{count},\"sign_us\":{:.2},\"verify_us\":{:.2},\"one_core_per_second\":{:.0},\"pipelined_per_second\":{:.0}}}",
		sign * 1e6,
		verify * 1e6,
		1.0 / (sign + verify),
		1.0 / sign.max(verify)
	);
}
