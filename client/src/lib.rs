//! The off-chain Paychan party.
pub mod address;
pub mod amount;
pub mod chain;
pub mod data_dir;
pub mod keys;
pub mod ledger;
pub mod load;
pub mod planner;
pub mod session;
pub mod store;
pub mod watchtower;
pub mod wire;

/// One UNIT of the dev chain's token (12 decimals).
pub const UNIT: u128 = 1_000_000_000_000;
/// A thousandth of a UNIT.
pub const MILLI_UNIT: u128 = UNIT / 1000;
