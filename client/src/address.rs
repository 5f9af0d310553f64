//! SS58 account addresses, checked against the chain's network prefix.
//!
//! The same 32-byte account has one address per network; an address in another network's format
//! (a Kusama `H…` or Polkadot `1…` address on a chain whose prefix is 42) is most likely a
//! mistake, so it is refused unless it is in the chain's own format or the generic Substrate one.

use std::str::FromStr;
use subxt::utils::AccountId32;

/// The generic Substrate prefix, which every chain accepts.
pub const GENERIC_PREFIX: u16 = 42;

/// An SS58 account address, decoded once: its bytes (prefix, account, checksum) and the account.
///
/// The text is decoded with `bs58` first and must come to the 35 or 36 bytes of an account
/// address (one- or two-byte prefix, 32-byte account, 2-byte checksum) before subxt's parser
/// checks the checksum: that parser (base58 0.2) panics on text that decodes to more than 132
/// bytes and starts with `1`s (a slice index underflow the `api_request` fuzz target found).
fn decode(address: &str) -> Option<(Vec<u8>, AccountId32)> {
	let data = bs58::decode(address).into_vec().ok()?;
	if !matches!(data.len(), 35 | 36) {
		return None;
	}
	Some((data, AccountId32::from_str(address).ok()?))
}

/// `address` as a 32-byte SS58 account (checksum included), or `None`.
pub fn account(address: &str) -> Option<AccountId32> {
	decode(address).map(|(_, account)| account)
}

/// The network prefix an SS58 address was written with, if it is a valid 32-byte account
/// address (checksum included).
pub fn prefix_of(address: &str) -> Option<u16> {
	decode(address).and_then(|(data, _)| prefix_in(&data))
}

/// The network prefix at the start of a decoded SS58 address.
fn prefix_in(data: &[u8]) -> Option<u16> {
	match *data.first()? {
		// A one-byte prefix.
		first @ 0..=63 => Some(first.into()),
		// A two-byte prefix: 14 bits spread over both bytes (the SS58 format's layout).
		first @ 64..=127 => {
			let second = *data.get(1)?;
			let lower = ((first & 0b0011_1111) << 2) | (second >> 6);
			let upper = second & 0b0011_1111;
			Some(u16::from(lower) | (u16::from(upper) << 8))
		}
		_ => None,
	}
}

/// Parses `address` as an account of the chain with SS58 prefix `chain_prefix`.
pub fn parse(address: &str, chain_prefix: u16) -> Result<AccountId32, String> {
	let (data, account) = decode(address.trim())
		.ok_or_else(|| format!("`{address}` is not an SS58 account address"))?;
	let prefix = prefix_in(&data).ok_or_else(|| format!("`{address}` has no SS58 prefix"))?;
	if prefix != chain_prefix && prefix != GENERIC_PREFIX {
		return Err(format!(
			"`{address}` is an address of another network (SS58 prefix {prefix}); this chain's \
			 prefix is {chain_prefix}: if the account is right, write it as {}",
			account
		));
	}
	Ok(account)
}

#[cfg(test)]
mod tests {
	use super::*;

	const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
	/// Alice's account in Kusama's format (prefix 2) and Polkadot's (prefix 0).
	const ALICE_KUSAMA: &str = "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F";
	const ALICE_POLKADOT: &str = "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5";

	#[test]
	fn prefixes_are_read_from_the_address() {
		assert_eq!(prefix_of(ALICE), Some(42));
		assert_eq!(prefix_of(ALICE_KUSAMA), Some(2));
		assert_eq!(prefix_of(ALICE_POLKADOT), Some(0));
		assert_eq!(prefix_of("not an address"), None);
	}

	#[test]
	fn another_networks_address_is_refused_with_the_right_spelling() {
		assert_eq!(parse(ALICE, 42).unwrap().to_string(), ALICE);
		let error = parse(ALICE_KUSAMA, 42).unwrap_err();
		assert!(error.contains("SS58 prefix 2") && error.contains(ALICE), "{error}");
		assert!(parse(ALICE_POLKADOT, 42).is_err());
		// The chain's own prefix and the generic one are both accepted.
		assert!(parse(ALICE_POLKADOT, 0).is_ok());
		assert!(parse(ALICE, 0).is_ok());
		assert!(parse("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ", 42).is_err());
	}

	/// The `api_request` fuzz target's crash (fuzz/regressions/api_request/): a long run of
	/// base58 digits after two `1`s made subxt's SS58 parser index out of bounds.
	#[test]
	fn text_that_crashed_the_ss58_parser_is_refused() {
		let crash = format!("11{}11Q", "m".repeat(184));
		assert_eq!(account(&crash), None);
		assert!(parse(&crash, 42).is_err());
		assert_eq!(prefix_of(&crash), None);
		let long = format!("11{}", "z".repeat(300));
		assert_eq!(account(&long), None);
		assert_eq!(account(ALICE).map(|a| a.to_string()), Some(ALICE.to_owned()));
	}
}
