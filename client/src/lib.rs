//! The off-chain Paychan party.
pub mod chain;
pub mod keys;
pub mod store;
pub mod wire;
pub mod ledger;
pub mod session;
pub mod planner;
pub mod watchtower;
