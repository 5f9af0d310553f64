//! Benchmarks of every call and of the settlement hook, each in its worst case: signatures that
//! must be verified, and payouts that move funds between the participants' holds.

use super::*;
use crate::{benchmark_helper::BenchmarkHelper, Pallet as PaymentChannels};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get};
use frame_support::BoundedVec;
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use paychan_primitives::{
	locks::{self, Lock},
	BalanceProof, ChannelId, CooperativeClose, FundingConsent, LockedBalanceProof,
	PayloadSignature, PlanEdge, RequestEntry, Signed, SignedPayload, WithdrawProof,
};
use sp_runtime::traits::{One, Saturating, StaticLookup, Zero};

/// A unit of funds: the minimum deposit times 100.
fn unit<T: Config>() -> BalanceOf<T> {
	T::MinDeposit::get().saturating_mul(100u32.into())
}

/// A signing account with plenty of funds.
fn funded<T: Config>(seed: u32) -> T::AccountId {
	let who = T::BenchmarkHelper::signing_account(seed);
	let endowment =
		unit::<T>().saturating_mul(1_000u32.into()).saturating_add(T::ChannelRecordDeposit::get());
	T::Currency::set_balance(&who, endowment);
	who
}

/// Signs the `<Bytes>`-wrapped message, as a browser wallet does, and declares it so. The chain
/// verifies the declared form only; the wrapped message is the longer one to hash, so this is
/// the worst case of the one signature check.
fn sign<T: Config, P: SignedPayload>(who: &T::AccountId, payload: &P) -> PayloadSignatureOf<T> {
	let wrapped = paychan_primitives::wrap_bytes(&payload.signing_message());
	PayloadSignature::Wrapped(T::BenchmarkHelper::sign(who, &wrapped))
}

fn now<T: Config>() -> BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number()
}

/// Opens a channel funded by both sides with `unit` each.
fn open<T: Config>(opener: &T::AccountId, counterparty: &T::AccountId) -> ChannelId {
	let channel_id = NextChannelId::<T>::get();
	PaymentChannels::<T>::open_channel(
		RawOrigin::Signed(opener.clone()).into(),
		T::Lookup::unlookup(counterparty.clone()),
		unit::<T>(),
		T::MinChallengePeriod::get(),
		None,
	)
	.expect("the opener is funded");
	PaymentChannels::<T>::deposit(
		RawOrigin::Signed(counterparty.clone()).into(),
		channel_id,
		unit::<T>(),
	)
	.expect("the counterparty is funded");
	channel_id
}

fn balance_proof<T: Config>(
	signer: &T::AccountId,
	channel_id: ChannelId,
	nonce: u64,
	transferred: BalanceOf<T>,
) -> SignedBalanceProofOf<T> {
	let payload = BalanceProof {
		genesis_hash: PaymentChannels::<T>::genesis_hash(),
		channel_id,
		nonce,
		transferred,
	};
	Signed { signature: sign::<T, _>(signer, &payload), signer: signer.clone(), payload }
}

/// Closes a channel whose counterparty paid the opener half its deposit, so that settling it
/// moves funds from the counterparty's hold to the opener. Returns the deadline.
fn close_with_transfer<T: Config>(
	channel_id: ChannelId,
	opener: &T::AccountId,
	counterparty: &T::AccountId,
) -> BlockNumberFor<T> {
	let half = unit::<T>() / 2u32.into();
	let proof = balance_proof::<T>(counterparty, channel_id, 1, half);
	PaymentChannels::<T>::close(RawOrigin::Signed(opener.clone()).into(), channel_id, Some(proof))
		.expect("the channel is open");
	now::<T>().saturating_add(T::MinChallengePeriod::get())
}

fn locked_proof<T: Config>(
	signer: &T::AccountId,
	channel_id: ChannelId,
	nonce: u64,
	transferred: BalanceOf<T>,
	locked: BalanceOf<T>,
	locks_root: [u8; 32],
) -> SignedLockedBalanceProofOf<T> {
	let payload = LockedBalanceProof {
		genesis_hash: PaymentChannels::<T>::genesis_hash(),
		channel_id,
		nonce,
		transferred,
		locked,
		locks_root,
	};
	Signed { signature: sign::<T, _>(signer, &payload), signer: signer.clone(), payload }
}

/// The secret of benchmark lock `i`.
fn secret(i: u32) -> [u8; 32] {
	let mut secret = [7u8; 32];
	secret[..4].copy_from_slice(&i.to_le_bytes());
	secret
}

/// `MAX_LOCKS` locks of `amount` each, expiring long after now.
fn max_locks<T: Config>(amount: BalanceOf<T>) -> alloc::vec::Vec<LockOf<T>> {
	let expires_at = now::<T>().saturating_add(1_000u32.into());
	(0..locks::MAX_LOCKS)
		.map(|i| Lock { amount, expires_at, secret_hash: locks::secret_hash(&secret(i)) })
		.collect()
}

/// Closes a channel like [`close_with_transfer`], and then each side records the other's
/// locked proof, so that settlement holds locks back on both sides and must bring part of the
/// opener's from the counterparty's hold: its worst case. Returns the deadline.
fn close_with_locks<T: Config>(
	channel_id: ChannelId,
	opener: &T::AccountId,
	counterparty: &T::AccountId,
) -> BlockNumberFor<T> {
	let deadline = close_with_transfer::<T>(channel_id, opener, counterparty);
	let (unit, half) = (unit::<T>(), unit::<T>() / 2u32.into());
	// The opener is owed 1.5 units and locks 1.25 of them; the counterparty locks 1/8 of its 0.5.
	let opener_locks = unit.saturating_add(unit / 4u32.into());
	let proof = locked_proof::<T>(opener, channel_id, 2, Zero::zero(), opener_locks, [1; 32]);
	PaymentChannels::<T>::update_locked_proof(
		RawOrigin::Signed(counterparty.clone()).into(),
		channel_id,
		proof,
	)
	.expect("the counterparty is the opener's beneficiary");
	let proof = locked_proof::<T>(counterparty, channel_id, 2, half, unit / 8u32.into(), [2; 32]);
	PaymentChannels::<T>::update_locked_proof(
		RawOrigin::Signed(opener.clone()).into(),
		channel_id,
		proof,
	)
	.expect("the opener is the counterparty's beneficiary");
	deadline
}

/// Declares a request for `who` over `entries`, valid for ten blocks.
fn declare<T: Config>(who: &T::AccountId, entries: alloc::vec::Vec<RequestEntryOf<T>>) {
	PaymentChannels::<T>::request_rebalance(
		RawOrigin::Signed(who.clone()).into(),
		entries.try_into().expect("within MaxRequestEntries"),
		Zero::zero(),
		now::<T>().saturating_add(10u32.into()),
	)
	.expect("the request is valid");
}

/// Both participants pledge in `channel_id`: `who` to send, `counterparty` to receive, so that
/// a withdrawal by `who` lowers both pledges (the worst case of `withdraw` and `shift`).
fn pledge_both_sides<T: Config>(
	channel_id: ChannelId,
	who: &T::AccountId,
	counterparty: &T::AccountId,
) {
	let bound = unit::<T>();
	declare::<T>(
		who,
		alloc::vec![RequestEntry { channel_id, max_send: bound, max_receive: Zero::zero() }],
	);
	declare::<T>(
		counterparty,
		alloc::vec![RequestEntry { channel_id, max_send: Zero::zero(), max_receive: bound }],
	);
}

/// A ring of `n` participants: participant `i` opens a channel to `i + 1` and declares to send
/// in it and receive in the channel from `i - 1`. Returns the plan moving one unit round it.
fn ring<T: Config>(n: u32) -> alloc::vec::Vec<PlanEdgeOf<T>> {
	let people: alloc::vec::Vec<_> = (0..n).map(funded::<T>).collect();
	let first = NextChannelId::<T>::get();
	let channel_of = |i: u32| first + u64::from(i % n);
	for i in 0..n {
		PaymentChannels::<T>::open_channel(
			RawOrigin::Signed(people[i as usize].clone()).into(),
			T::Lookup::unlookup(people[((i + 1) % n) as usize].clone()),
			unit::<T>(),
			T::MinChallengePeriod::get(),
			None,
		)
		.expect("funded");
	}
	for i in 0..n {
		declare::<T>(
			&people[i as usize],
			alloc::vec![
				RequestEntry {
					channel_id: channel_of(i),
					max_send: unit::<T>(),
					max_receive: Zero::zero()
				},
				RequestEntry {
					channel_id: channel_of(i + n - 1),
					max_send: Zero::zero(),
					max_receive: unit::<T>(),
				},
			],
		);
	}
	(0..n)
		.map(|i| PlanEdge {
			channel_id: channel_of(i),
			from: people[i as usize].clone(),
			amount: unit::<T>() / 2u32.into(),
		})
		.collect()
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn open_channel() {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(opener),
			T::Lookup::unlookup(counterparty),
			unit::<T>(),
			T::MinChallengePeriod::get(),
			None,
		);

		assert!(Channels::<T>::contains_key(0));
	}

	#[benchmark]
	fn open_channel_dual_funded() {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let payload = FundingConsent {
			genesis_hash: PaymentChannels::<T>::genesis_hash(),
			opener: opener.clone(),
			open_nonce: OpenNonces::<T>::get(&opener),
			opener_deposit: unit::<T>(),
			amount: unit::<T>(),
			challenge_period: T::MinChallengePeriod::get(),
			expires_at: now::<T>().saturating_add(10u32.into()),
		};
		let consent = Signed {
			signature: sign::<T, _>(&counterparty, &payload),
			signer: counterparty.clone(),
			payload,
		};

		#[extrinsic_call]
		open_channel(
			RawOrigin::Signed(opener),
			T::Lookup::unlookup(counterparty),
			unit::<T>(),
			T::MinChallengePeriod::get(),
			Some(consent),
		);

		assert_eq!(Channels::<T>::get(0).map(|c| c.total()), Some(unit::<T>() * 2u32.into()));
	}

	#[benchmark]
	fn deposit() {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let channel_id = open::<T>(&opener, &counterparty);

		#[extrinsic_call]
		_(RawOrigin::Signed(counterparty), channel_id, unit::<T>());

		assert_eq!(
			Channels::<T>::get(channel_id).map(|c| c.total()),
			Some(unit::<T>() * 3u32.into())
		);
	}

	#[benchmark]
	fn withdraw() {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let channel_id = open::<T>(&opener, &counterparty);
		// Both sides pledged in the channel: the withdrawal lowers both pledges.
		pledge_both_sides::<T>(channel_id, &opener, &counterparty);
		// More than the opener's own custody: part comes from the counterparty's hold.
		let amount = unit::<T>() + unit::<T>() / 2u32.into();
		let proof = WithdrawProof {
			genesis_hash: PaymentChannels::<T>::genesis_hash(),
			channel_id,
			participant: opener.clone(),
			total_withdrawn: amount,
			expires_at: now::<T>().saturating_add(10u32.into()),
		};
		let signature = sign::<T, _>(&counterparty, &proof);

		#[extrinsic_call]
		_(RawOrigin::Signed(opener), proof, signature);

		assert_eq!(
			Channels::<T>::get(channel_id).map(|c| c.total()),
			Some(unit::<T>() / 2u32.into())
		);
	}

	#[benchmark]
	fn cooperative_close() {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let channel_id = open::<T>(&opener, &counterparty);
		// A closing channel: the close also takes it out of the settlement queue.
		close_with_transfer::<T>(channel_id, &opener, &counterparty);
		let channel = Channels::<T>::get(channel_id).expect("closing");
		let settlement = CooperativeClose {
			genesis_hash: PaymentChannels::<T>::genesis_hash(),
			channel_id,
			version: channel.version,
			nonces: [channel.books(Side::Opener).nonce, channel.books(Side::Counterparty).nonce],
			payout_opener: unit::<T>() + unit::<T>() / 2u32.into(),
			payout_counterparty: unit::<T>() / 2u32.into(),
			expires_at: now::<T>().saturating_add(10u32.into()),
		};
		let opener_signature = sign::<T, _>(&opener, &settlement);
		let counterparty_signature = sign::<T, _>(&counterparty, &settlement);

		#[extrinsic_call]
		_(RawOrigin::Signed(opener), settlement, opener_signature, counterparty_signature);

		assert!(!Channels::<T>::contains_key(channel_id));
	}

	#[benchmark]
	fn close() {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let channel_id = open::<T>(&opener, &counterparty);
		let proof = balance_proof::<T>(&counterparty, channel_id, 1, unit::<T>() / 2u32.into());

		#[extrinsic_call]
		_(RawOrigin::Signed(opener), channel_id, Some(proof));

		assert!(Channels::<T>::get(channel_id).is_some_and(|c| !c.is_open()));
	}

	#[benchmark]
	fn update_balance_proof() {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let watchtower = funded::<T>(2);
		let channel_id = open::<T>(&opener, &counterparty);
		close_with_transfer::<T>(channel_id, &opener, &counterparty);
		let proof = balance_proof::<T>(&opener, channel_id, 7, unit::<T>() / 4u32.into());

		#[extrinsic_call]
		_(RawOrigin::Signed(watchtower), channel_id, proof);

		assert_eq!(Channels::<T>::get(channel_id).map(|c| c.books(Side::Opener).nonce), Some(7));
	}

	#[benchmark]
	fn settle() {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let channel_id = open::<T>(&opener, &counterparty);
		let deadline = close_with_locks::<T>(channel_id, &opener, &counterparty);
		frame_system::Pallet::<T>::set_block_number(deadline.saturating_add(One::one()));

		#[extrinsic_call]
		_(RawOrigin::Signed(counterparty), channel_id);

		assert!(!Channels::<T>::contains_key(channel_id));
		assert!(PendingLocks::<T>::contains_key(channel_id, &opener));
	}

	/// `on_initialize` settling `n` expired channels queued in the current block.
	#[benchmark]
	fn settle_expired_channels(n: Linear<0, { T::MaxSettlementsPerBlock::get() }>) {
		let mut channels = alloc::vec::Vec::new();
		let mut deadline = now::<T>();
		for i in 0..n {
			let opener = funded::<T>(2 * i);
			let counterparty = funded::<T>(2 * i + 1);
			let channel_id = open::<T>(&opener, &counterparty);
			deadline = close_with_locks::<T>(channel_id, &opener, &counterparty);
			channels.push(channel_id);
		}
		let block = deadline.saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(block);
		SettlementCursor::<T>::put(block);

		#[block]
		{
			PaymentChannels::<T>::settle_expired_channels(block);
		}

		assert!(channels.iter().all(|id| !Channels::<T>::contains_key(id)));
	}

	#[benchmark]
	fn request_rebalance(e: Linear<1, { T::MaxRequestEntries::get() }>) {
		let who = funded::<T>(0);
		let entries: alloc::vec::Vec<_> = (0..e)
			.map(|i| {
				let channel_id = open::<T>(&who, &funded::<T>(i + 1));
				RequestEntry { channel_id, max_send: unit::<T>(), max_receive: unit::<T>() }
			})
			.collect();
		// Replacing an existing request is the worst case.
		declare::<T>(&who, entries[..1].to_vec());
		let entries: BoundedVec<_, _> = entries.try_into().expect("within bound");

		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			entries,
			unit::<T>(),
			now::<T>().saturating_add(10u32.into()),
		);

		assert_eq!(RebalanceRequests::<T>::get(&who).map(|r| r.entries.len() as u32), Some(e));
	}

	#[benchmark]
	fn cancel_rebalance_request() {
		let who = funded::<T>(0);
		let channel_id = open::<T>(&who, &funded::<T>(1));
		declare::<T>(
			&who,
			alloc::vec![RequestEntry {
				channel_id,
				max_send: unit::<T>(),
				max_receive: Zero::zero()
			}],
		);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert!(!RebalanceRequests::<T>::contains_key(&who));
	}

	#[benchmark]
	fn submit_plan(n: Linear<2, { T::MaxPlanEdges::get() }>) {
		let edges = ring::<T>(n);
		let solver = funded::<T>(n + 1);
		let edges: BoundedVec<_, _> = edges.try_into().expect("within bound");

		#[extrinsic_call]
		_(RawOrigin::Signed(solver), edges);

		let first = NextChannelId::<T>::get() - u64::from(n);
		assert_eq!(
			Channels::<T>::get(first).map(|c| c.books(Side::Opener).rebalanced_out),
			Some(unit::<T>() / 2u32.into())
		);
	}

	#[benchmark]
	fn shift() {
		let who = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let from_channel = open::<T>(&who, &counterparty);
		let to_channel = open::<T>(&who, &funded::<T>(2));
		pledge_both_sides::<T>(from_channel, &who, &counterparty);
		// More than the shifter's own custody: part comes from the counterparty's hold.
		let proof = WithdrawProof {
			genesis_hash: PaymentChannels::<T>::genesis_hash(),
			channel_id: from_channel,
			participant: who.clone(),
			total_withdrawn: unit::<T>() + unit::<T>() / 2u32.into(),
			expires_at: now::<T>().saturating_add(10u32.into()),
		};
		let signature = sign::<T, _>(&counterparty, &proof);

		#[extrinsic_call]
		_(RawOrigin::Signed(who), proof, signature, to_channel);

		assert_eq!(
			Channels::<T>::get(to_channel).map(|c| c.total()),
			Some(unit::<T>() * 3u32.into() + unit::<T>() / 2u32.into())
		);
	}

	/// `on_initialize` removing `n` expired requests queued for the current block.
	#[benchmark]
	fn expire_requests(n: Linear<0, { T::MaxRequestExpiriesPerBlock::get() }>) {
		let expires_at = now::<T>().saturating_add(1u32.into());
		let mut declarers = alloc::vec::Vec::new();
		for i in 0..n {
			let who = funded::<T>(2 * i);
			let channel_id = open::<T>(&who, &funded::<T>(2 * i + 1));
			PaymentChannels::<T>::request_rebalance(
				RawOrigin::Signed(who.clone()).into(),
				alloc::vec![RequestEntry {
					channel_id,
					max_send: unit::<T>(),
					max_receive: Zero::zero()
				}]
				.try_into()
				.expect("one entry"),
				Zero::zero(),
				expires_at,
			)
			.expect("valid");
			declarers.push(who);
		}
		let block = expires_at.saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(block);

		#[block]
		{
			PaymentChannels::<T>::expire_requests(block);
		}

		assert!(declarers.iter().all(|who| !RebalanceRequests::<T>::contains_key(who)));
	}

	/// `on_initialize` opening a rebalancing round.
	#[benchmark]
	fn open_round() {
		let block = T::RebalancePeriod::get();
		frame_system::Pallet::<T>::set_block_number(block);

		#[block]
		{
			PaymentChannels::<T>::open_round_if_due(block);
		}

		assert_eq!(CurrentRound::<T>::get(), 1);
	}

	#[benchmark]
	fn register_secret() {
		let who = funded::<T>(0);

		#[extrinsic_call]
		_(RawOrigin::Signed(who), secret(0));

		assert!(Secrets::<T>::contains_key(locks::secret_hash(&secret(0))));
	}

	/// The beneficiary records a locked proof over a recorded one, with a wrapped signature.
	#[benchmark]
	fn update_locked_proof() {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let channel_id = open::<T>(&opener, &counterparty);
		close_with_transfer::<T>(channel_id, &opener, &counterparty);
		let older = locked_proof::<T>(&opener, channel_id, 2, Zero::zero(), unit::<T>(), [1; 32]);
		PaymentChannels::<T>::update_locked_proof(
			RawOrigin::Signed(counterparty.clone()).into(),
			channel_id,
			older,
		)
		.expect("the counterparty is the beneficiary");
		let quarter = unit::<T>() / 4u32.into();
		let proof = locked_proof::<T>(&opener, channel_id, 7, quarter, quarter, [3; 32]);

		#[extrinsic_call]
		_(RawOrigin::Signed(counterparty), channel_id, proof);

		assert_eq!(Channels::<T>::get(channel_id).map(|c| c.books(Side::Opener).nonce), Some(7));
	}

	/// Unlocking `k` of a settled channel's `MAX_LOCKS` locks, each claimed (its secret
	/// registered, so each is a transfer between accounts) with a proof of the longest length.
	#[benchmark]
	fn unlock(k: Linear<1, { locks::MAX_LOCKS }>) {
		let opener = funded::<T>(0);
		let counterparty = funded::<T>(1);
		let channel_id = open::<T>(&opener, &counterparty);
		let amount = unit::<T>() / 1_000u32.into();
		let pending = max_locks::<T>(amount);
		let root = locks::locks_root(&pending).expect("MAX_LOCKS locks");
		PaymentChannels::<T>::close(RawOrigin::Signed(opener.clone()).into(), channel_id, None)
			.expect("the channel is open");
		let locked = amount.saturating_mul(locks::MAX_LOCKS.into());
		let proof = locked_proof::<T>(&opener, channel_id, 1, Zero::zero(), locked, root);
		PaymentChannels::<T>::update_locked_proof(
			RawOrigin::Signed(counterparty.clone()).into(),
			channel_id,
			proof,
		)
		.expect("the counterparty is the beneficiary");
		for i in 0..locks::MAX_LOCKS {
			PaymentChannels::<T>::register_secret(
				RawOrigin::Signed(counterparty.clone()).into(),
				secret(i),
			)
			.expect("a new secret");
		}
		let deadline = now::<T>().saturating_add(T::MinChallengePeriod::get());
		frame_system::Pallet::<T>::set_block_number(deadline.saturating_add(One::one()));
		PaymentChannels::<T>::settle(RawOrigin::Signed(counterparty.clone()).into(), channel_id)
			.expect("the challenge period is over");
		let unlocks: alloc::vec::Vec<_> = (0..k as usize)
			.map(|i| (pending[i].clone(), locks::lock_proof(&pending, i).expect("a lock")))
			.collect();
		let unlocks = BoundedVec::try_from(unlocks).expect("at most MAX_LOCKS");

		#[extrinsic_call]
		_(
			RawOrigin::Signed(counterparty),
			channel_id,
			T::Lookup::unlookup(opener.clone()),
			unlocks,
		);

		assert_eq!(PendingLocks::<T>::contains_key(channel_id, &opener), k < locks::MAX_LOCKS);
	}

	impl_benchmark_test_suite!(PaymentChannels, crate::mock::new_test_ext(), crate::mock::Test);
}
