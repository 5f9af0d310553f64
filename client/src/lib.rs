//! The off-chain Paychan party.
pub mod address;
pub mod amount;
pub mod calls;
pub mod chain;
pub mod daemon;
pub mod data_dir;
pub mod events;
pub mod htlc;
pub mod keys;
pub mod ledger;
pub mod load;
pub mod locks_on_chain;
pub mod planner;
pub mod session;
pub mod store;
pub mod watchtower;
pub mod wire;

/// The chain token's denomination, as the runtime defines it.
pub use paychan_primitives::currency::{MILLI_UNIT, UNIT};
