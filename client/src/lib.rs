//! The off-chain Paychan party.
pub mod chain;
pub mod keys;
pub mod ledger;
pub mod planner;
pub mod session;
pub mod store;
pub mod watchtower;
pub mod wire;
