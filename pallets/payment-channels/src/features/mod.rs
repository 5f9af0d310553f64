//! The pallet's calls and hooks by feature, as `pallet-nfts` keeps them: `lib.rs` declares the
//! configuration, storage, events and errors and has each call check its origin and hand over
//! to a `do_*` body here.
//!
//! | module | what it holds |
//! |---|---|
//! | [`lifecycle`] | open (with dual funding), deposit (splice-in), withdraw (splice-out), shift |
//! | [`closing`] | cooperative close, unilateral close, disputes (recording balance proofs) |
//! | [`locks`] | the secret registry, locked proofs, holding locks at settlement, `unlock` |
//! | [`settlement`] | the settlement queue, the hook that settles expired channels, `settle` |
//! | [`payouts`] | moving channel funds from holds to free balances |
//! | [`rebalance_requests`] | requests and their pledges, expiries, the digest, rounds |
//! | [`rebalance_plans`] | circulation plans applied part by part |
//! | [`spill_queue`] | the block-keyed bounded queues both settlement and expiries use |
//! | [`queries`] | genesis hash, signature checks, reads for the runtime API |
//! | [`invariants`] | `try_state` and `integrity_test` |

pub(crate) mod closing;
pub(crate) mod invariants;
pub(crate) mod lifecycle;
pub mod locks;
pub(crate) mod payouts;
pub(crate) mod queries;
pub(crate) mod rebalance_plans;
pub(crate) mod rebalance_requests;
pub(crate) mod settlement;
pub(crate) mod spill_queue;
