//! SS58 account addresses, checked against the chain's network prefix.
//!
//! The same 32-byte account has one address per network; an address in another network's format
//! (a Kusama `H…` or Polkadot `1…` address on a chain whose prefix is 42) is most likely a
//! mistake, so it is refused unless it is in the chain's own format or the generic Substrate one.

use std::str::FromStr;
use subxt::utils::AccountId32;

/// The generic Substrate prefix, which every chain accepts.
pub const GENERIC_PREFIX: u16 = 42;

/// The network prefix an SS58 address was written with, if it is a valid 32-byte account
/// address (checksum included).
pub fn prefix_of(address: &str) -> Option<u16> {
	AccountId32::from_str(address).ok()?;
	let data = bs58::decode(address).into_vec().ok()?;
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
	let account = AccountId32::from_str(address.trim())
		.map_err(|_| format!("`{address}` is not an SS58 account address"))?;
	let prefix =
		prefix_of(address.trim()).ok_or_else(|| format!("`{address}` has no SS58 prefix"))?;
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
}
