//! The pallet's events: what each call and hook reports.

use frame_support::pallet_macros::pallet_section;

/// The pallet's events, imported into [`crate::pallet`] by `#[import_section]`.
#[pallet_section]
mod events {
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A channel was opened.
		ChannelOpened {
			channel_id: ChannelId,
			opener: T::AccountId,
			counterparty: T::AccountId,
			opener_deposit: BalanceOf<T>,
			counterparty_deposit: BalanceOf<T>,
			challenge_period: BlockNumberFor<T>,
		},
		/// A participant added funds to its side (splice-in).
		Deposited {
			channel_id: ChannelId,
			who: T::AccountId,
			amount: BalanceOf<T>,
			total_deposited: BalanceOf<T>,
		},
		/// A participant took funds out of the channel with its counterparty's consent
		/// (splice-out).
		Withdrawn {
			channel_id: ChannelId,
			who: T::AccountId,
			amount: BalanceOf<T>,
			total_withdrawn: BalanceOf<T>,
		},
		/// A participant closed the channel unilaterally; proofs are accepted until `deadline`.
		CloseStarted { channel_id: ChannelId, closer: T::AccountId, deadline: BlockNumberFor<T> },
		/// A balance proof newer than the chain's was recorded for `signer`.
		BalanceProofSubmitted {
			channel_id: ChannelId,
			signer: T::AccountId,
			nonce: u64,
			transferred: BalanceOf<T>,
			submitter: T::AccountId,
		},
		/// Both participants agreed on the final split; the channel was paid out and removed.
		ChannelClosedCooperatively {
			channel_id: ChannelId,
			opener_payout: BalanceOf<T>,
			counterparty_payout: BalanceOf<T>,
		},
		/// A closing channel's challenge period ended; it was paid out and removed.
		ChannelSettled {
			channel_id: ChannelId,
			opener_payout: BalanceOf<T>,
			counterparty_payout: BalanceOf<T>,
		},
		/// A participant declared what it is willing to move when rebalancing.
		RebalanceRequested {
			who: T::AccountId,
			entries: BoundedVec<RequestEntryOf<T>, T::MaxRequestEntries>,
			max_fee: BalanceOf<T>,
			expires_at: BlockNumberFor<T>,
		},
		/// A rebalance request was removed.
		RebalanceRequestRemoved { who: T::AccountId, reason: RequestRemoval },
		/// A plan moved `amount` from `from`'s side of a channel to the other side.
		ChannelRebalanced { channel_id: ChannelId, from: T::AccountId, amount: BalanceOf<T> },
		/// A rebalancing plan was applied: `edges` of its edges, moving `volume`. Parts that
		/// could not apply are reported by `PlanPartRefused`.
		PlanExecuted { submitter: T::AccountId, edges: u32, volume: BalanceOf<T> },
		/// A part of a plan (the edges among one group of participants) could not apply and was
		/// left out; the rest of the plan applied.
		PlanPartRefused { first_channel: ChannelId, edges: u32, error: DispatchError },
		/// A withdrawal or shift took funds out of a channel in which open rebalance requests
		/// had pledged them: the pledges were lowered by what left (`max_send` of `who`,
		/// `max_receive` of its counterparty).
		PledgesConsumed { channel_id: ChannelId, who: T::AccountId, amount: BalanceOf<T> },
		/// A participant moved funds from its side of one channel to its side of another.
		FundsShifted {
			who: T::AccountId,
			from_channel: ChannelId,
			to_channel: ChannelId,
			amount: BalanceOf<T>,
		},
		/// A rebalancing round opened: solvers read the open requests and submit plans.
		RoundOpened { round: u32, open_requests: u32, requests_digest: [u8; 32] },
		/// The preimage of `secret_hash` was revealed on chain at `block`: every lock under it
		/// that expires at `block` or later pays its receiver.
		SecretRegistered {
			secret_hash: [u8; 32],
			secret: [u8; 32],
			block: BlockNumberFor<T>,
			who: T::AccountId,
		},
		/// The beneficiary recorded a locked balance proof of `signer`, newer by nonce.
		LockedBalanceProofSubmitted {
			channel_id: ChannelId,
			signer: T::AccountId,
			nonce: u64,
			transferred: BalanceOf<T>,
			locked: BalanceOf<T>,
			locks_root: [u8; 32],
		},
		/// A settling channel held back `amount` in `sender`'s account for its pending locks
		/// under `locks_root`, to be unlocked one by one.
		LocksHeld {
			channel_id: ChannelId,
			sender: T::AccountId,
			receiver: T::AccountId,
			amount: BalanceOf<T>,
			locks_root: [u8; 32],
		},
		/// A pending lock was unlocked: `amount` paid to `to` (the receiver if the secret was
		/// registered in time, the sender otherwise).
		LockUnlocked {
			channel_id: ChannelId,
			sender: T::AccountId,
			secret_hash: [u8; 32],
			amount: BalanceOf<T>,
			to: T::AccountId,
		},
		/// Every lock of `sender`'s set was unlocked (or nothing is left held for them); the
		/// record is removed. `returned` is what was left over and went back to the sender.
		LocksResolved { channel_id: ChannelId, sender: T::AccountId, returned: BalanceOf<T> },
	}
}
