//! Amounts as users type them: planck (`1500000`) or a decimal with a unit suffix (`1.5UNIT`,
//! `250mUNIT`, `3uUNIT`), and amounts in JSON output, which are decimal strings so that no
//! JSON reader rounds a `u128`.

use crate::UNIT;

/// The unit suffixes `parse` accepts, longest first, with their size in planck.
const SUFFIXES: [(&str, u128); 5] = [
	("planck", 1),
	("munit", UNIT / 1_000),
	("uunit", UNIT / 1_000_000),
	("µunit", UNIT / 1_000_000),
	("unit", UNIT),
];

/// Parses an amount: planck, or a decimal number followed by `UNIT`, `mUNIT`, `uUNIT` (or
/// `µUNIT`) or `planck`, in any case, with an optional space before the unit. The result must
/// be a whole number of planck.
pub fn parse(text: &str) -> Result<u128, String> {
	let trimmed = text.trim();
	let lower = trimmed.to_lowercase();
	let (number, scale) = SUFFIXES
		.iter()
		.find_map(|(suffix, scale)| {
			lower.strip_suffix(suffix).map(|number| (number.trim_end(), *scale))
		})
		.unwrap_or((lower.as_str(), 1));
	let invalid = || {
		format!(
			"`{text}` is not an amount: give planck (`1500000`) or a number with a unit \
			 (`1.5UNIT`, `250mUNIT`, `3uUNIT`)"
		)
	};
	let (whole, fraction) = match number.split_once('.') {
		Some((whole, fraction)) => (whole, fraction),
		None => (number, ""),
	};
	let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
	if !(digits(whole) || (whole.is_empty() && digits(fraction)))
		|| !(fraction.is_empty() || digits(fraction))
	{
		return Err(invalid());
	}
	let too_large = || format!("`{text}` is too large");
	let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
	let mut planck = whole.checked_mul(scale).ok_or_else(too_large)?;
	// Each fractional digit is worth a tenth of the one before; the last must land on a planck.
	let mut place = scale;
	for digit in fraction.bytes().map(|b| u128::from(b - b'0')) {
		if digit != 0 && place < 10 {
			return Err(format!("`{text}` is finer than one planck (10^-12 UNIT)"));
		}
		place /= 10;
		planck = planck.checked_add(digit * place).ok_or_else(too_large)?;
	}
	Ok(planck)
}

/// `amount` in UNIT with its fraction and no trailing zeros, for humans: `1.5 UNIT`.
pub fn display(amount: u128) -> String {
	let whole = amount / UNIT;
	let fraction = amount % UNIT;
	if fraction == 0 {
		return format!("{whole} UNIT");
	}
	let digits = format!("{fraction:012}");
	format!("{whole}.{} UNIT", digits.trim_end_matches('0'))
}

/// Serializes a `u128` as a decimal string (use with `#[serde(serialize_with = ...)]`).
pub fn as_string<S: serde::Serializer>(amount: &u128, serializer: S) -> Result<S::Ok, S::Error> {
	serializer.collect_str(amount)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn planck_and_unit_suffixes_parse_to_planck() {
		assert_eq!(parse("1500000"), Ok(1_500_000));
		assert_eq!(parse("1.5UNIT"), Ok(1_500_000_000_000));
		assert_eq!(parse("1.5 unit"), Ok(1_500_000_000_000));
		assert_eq!(parse("250mUNIT"), Ok(250_000_000_000));
		assert!(parse("mUNIT").is_err(), "a unit needs a number");
		assert_eq!(parse("3uUNIT"), Ok(3_000_000));
		assert_eq!(parse("3µUNIT"), Ok(3_000_000));
		assert_eq!(parse(".5UNIT"), Ok(500_000_000_000));
		assert_eq!(parse("0.000000000001UNIT"), Ok(1));
		assert_eq!(parse("42planck"), Ok(42));
	}

	#[test]
	fn malformed_fractional_and_oversized_amounts_are_refused() {
		for bad in ["", "UNIT", "-1", "1e12", "1.2.3UNIT", "1,5UNIT", "0x10", "5 kUNIT", "1.5"] {
			assert!(parse(bad).is_err(), "{bad} should be refused");
		}
		assert!(parse("0.0000000000001UNIT").unwrap_err().contains("finer than one planck"));
		assert!(parse("1.5planck").unwrap_err().contains("finer than one planck"));
		assert!(parse("340282366920938463463374607431768211456")
			.unwrap_err()
			.contains("too large"));
		assert!(parse("340282366920938463463374607431768211455UNIT")
			.unwrap_err()
			.contains("too large"));
	}

	#[test]
	fn display_shows_units_without_trailing_zeros() {
		assert_eq!(display(UNIT), "1 UNIT");
		assert_eq!(display(1_500_000_000_000), "1.5 UNIT");
		assert_eq!(display(1), "0.000000000001 UNIT");
	}
}
