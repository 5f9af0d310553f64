//! The runtime API through which wallets, clients and solvers read channels.

use crate::types::Channel;
use alloc::vec::Vec;
use codec::Codec;
use paychan_primitives::ChannelId;

sp_api::decl_runtime_apis! {
	/// Reads channels, previews their settlement, and lists the open rebalance requests.
	pub trait PaymentChannelsApi<AccountId, Balance, BlockNumber, Request>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
		Request: Codec,
	{
		/// The channel with this id, if it is open or closing.
		fn channel(channel_id: ChannelId) -> Option<Channel<AccountId, Balance, BlockNumber>>;

		/// The ids of the channels `who` participates in.
		fn channels_of(who: AccountId) -> Vec<ChannelId>;

		/// What the opener and the counterparty would receive if the channel settled now, with
		/// the balance proofs the chain has.
		fn settlement_preview(channel_id: ChannelId) -> Option<[Balance; 2]>;

		/// The id the next opened channel will get (what a funding consent must name).
		fn next_channel_id() -> ChannelId;

		/// Every open rebalance request with its declarer: a solver's whole input for a round
		/// (with the channels they name).
		fn open_requests() -> Vec<(AccountId, Request)>;
	}
}
