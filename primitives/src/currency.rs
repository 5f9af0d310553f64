//! The chain token's denomination, shared by the runtime (fees, deposits, genesis) and the
//! clients (parsing and printing amounts), so that a UNIT means the same on both sides.

/// The base number of indivisible units in one token (12 decimals).
pub const UNIT: u128 = 1_000_000_000_000;
/// A thousandth of a token.
pub const MILLI_UNIT: u128 = UNIT / 1_000;
/// A millionth of a token.
pub const MICRO_UNIT: u128 = UNIT / 1_000_000;
/// The number of decimals of [`UNIT`], as wallets display it.
pub const DECIMALS: u8 = 12;
