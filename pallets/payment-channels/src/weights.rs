//! Weights for `pallet_payment_channels`.
//!
//! PROVISIONAL: hand estimates until `./scripts/benchmark.sh` regenerates this file from the
//! pallet's benchmarks on the reference machine.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_payment_channels`.
pub trait WeightInfo {
	fn open_channel() -> Weight;
	fn open_channel_dual_funded() -> Weight;
	fn deposit() -> Weight;
	fn withdraw() -> Weight;
	fn cooperative_close() -> Weight;
	fn close() -> Weight;
	fn update_balance_proof() -> Weight;
	fn settle() -> Weight;
	fn settle_expired_channels(n: u32, ) -> Weight;
}

/// Weights for `pallet_payment_channels` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn open_channel() -> Weight {
		Weight::from_parts(150_000_000, 8_000).saturating_add(T::DbWeight::get().reads_writes(6, 8))
	}
	fn open_channel_dual_funded() -> Weight {
		Weight::from_parts(250_000_000, 8_000).saturating_add(T::DbWeight::get().reads_writes(7, 9))
	}
	fn deposit() -> Weight {
		Weight::from_parts(100_000_000, 5_000).saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(200_000_000, 7_000).saturating_add(T::DbWeight::get().reads_writes(5, 5))
	}
	fn cooperative_close() -> Weight {
		Weight::from_parts(300_000_000, 9_000).saturating_add(T::DbWeight::get().reads_writes(8, 9))
	}
	fn close() -> Weight {
		Weight::from_parts(200_000_000, 6_000).saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn update_balance_proof() -> Weight {
		Weight::from_parts(200_000_000, 5_000).saturating_add(T::DbWeight::get().reads_writes(2, 2))
	}
	fn settle() -> Weight {
		Weight::from_parts(200_000_000, 9_000).saturating_add(T::DbWeight::get().reads_writes(8, 9))
	}
	fn settle_expired_channels(n: u32, ) -> Weight {
		Weight::from_parts(10_000_000, 3_000)
			.saturating_add(Weight::from_parts(200_000_000, 9_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads_writes(2, 2))
			.saturating_add(T::DbWeight::get().reads_writes((8_u64).saturating_mul(n.into()), (9_u64).saturating_mul(n.into())))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn open_channel() -> Weight {
		Weight::from_parts(150_000_000, 8_000).saturating_add(RocksDbWeight::get().reads_writes(6, 8))
	}
	fn open_channel_dual_funded() -> Weight {
		Weight::from_parts(250_000_000, 8_000).saturating_add(RocksDbWeight::get().reads_writes(7, 9))
	}
	fn deposit() -> Weight {
		Weight::from_parts(100_000_000, 5_000).saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(200_000_000, 7_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5))
	}
	fn cooperative_close() -> Weight {
		Weight::from_parts(300_000_000, 9_000).saturating_add(RocksDbWeight::get().reads_writes(8, 9))
	}
	fn close() -> Weight {
		Weight::from_parts(200_000_000, 6_000).saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn update_balance_proof() -> Weight {
		Weight::from_parts(200_000_000, 5_000).saturating_add(RocksDbWeight::get().reads_writes(2, 2))
	}
	fn settle() -> Weight {
		Weight::from_parts(200_000_000, 9_000).saturating_add(RocksDbWeight::get().reads_writes(8, 9))
	}
	fn settle_expired_channels(n: u32, ) -> Weight {
		Weight::from_parts(10_000_000, 3_000)
			.saturating_add(Weight::from_parts(200_000_000, 9_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(2, 2))
			.saturating_add(RocksDbWeight::get().reads_writes((8_u64).saturating_mul(n.into()), (9_u64).saturating_mul(n.into())))
	}
}
