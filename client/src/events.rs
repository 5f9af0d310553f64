//! What a party reports as it happens: payments made and received, links to peers, and what the
//! chain did to its channels. The daemon's API streams these to subscribers.

use paychan_primitives::{ChannelId, Nonce};
use serde::Serialize;

/// One thing that happened to a party's channels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
	/// The counterparty's proof `nonce` is durable here and was acknowledged.
	PaymentReceived {
		channel_id: ChannelId,
		#[serde(serialize_with = "crate::amount::as_string")]
		amount: u128,
		nonce: Nonce,
		#[serde(serialize_with = "crate::amount::as_string")]
		transferred: u128,
	},
	/// The counterparty acknowledged this party's proof `nonce`, covering `payments` payments.
	PaymentSent {
		channel_id: ChannelId,
		#[serde(serialize_with = "crate::amount::as_string")]
		amount: u128,
		nonce: Nonce,
		#[serde(serialize_with = "crate::amount::as_string")]
		transferred: u128,
		payments: u32,
	},
	/// Payments this party submitted failed; nothing of them was acknowledged.
	PaymentFailed { channel_id: ChannelId, payments: u32, reason: String },
	/// A link to the counterparty of a channel is up (`dialed`: this party connected).
	LinkUp { channel_id: ChannelId, peer: String, dialed: bool },
	/// That link is down; a dialed link is redialed with backoff.
	LinkDown { channel_id: ChannelId, peer: String, reason: String },
	/// The chain has a channel of this party's that it did not know of (opened by either side).
	ChannelOpened { channel_id: ChannelId },
	/// A unilateral close of the channel started; `by_me` says whether this party started it.
	CloseStarted { channel_id: ChannelId, by_me: bool, deadline: u32 },
	/// This party submitted the counterparty's newer proof against a close.
	Disputed {
		channel_id: ChannelId,
		nonce: Nonce,
		#[serde(serialize_with = "crate::amount::as_string")]
		recovered: u128,
		#[serde(serialize_with = "crate::amount::as_string")]
		fee: u128,
	},
	/// A dispute was left out: it would recover `recovered` and cost about `fee` in fees.
	DisputeSkipped {
		channel_id: ChannelId,
		#[serde(serialize_with = "crate::amount::as_string")]
		recovered: u128,
		#[serde(serialize_with = "crate::amount::as_string")]
		fee: u128,
	},
	/// The channel is no longer on chain: settled, or closed cooperatively.
	ChannelGone { channel_id: ChannelId },
	/// This party signed a funding consent: `opener` may open a channel with it that locks
	/// `amount` of this party's funds, until block `expires_at`.
	FundingConsented {
		opener: String,
		#[serde(serialize_with = "crate::amount::as_string")]
		amount: u128,
		expires_at: u32,
	},
	/// This party declared a rebalance request (`automatic`: its policy did).
	RebalanceRequested {
		entries: Vec<crate::daemon::rebalance::EntryView>,
		expires_at: u32,
		automatic: bool,
	},
	/// This party, as a solver, submitted the plans of a round.
	RebalanceSolved {
		channels: u32,
		plans: u32,
		#[serde(serialize_with = "crate::amount::as_string")]
		volume: u128,
	},
	/// A plan moved funds in a channel of this party's: `received` into its side, `sent` out.
	ChannelRebalanced {
		channel_id: ChannelId,
		#[serde(serialize_with = "crate::amount::as_string")]
		received: u128,
		#[serde(serialize_with = "crate::amount::as_string")]
		sent: u128,
	},
	/// An automatic request or solve failed; the policy tries again at a later block.
	RebalanceFailed { action: String, reason: String },
	/// Something this party tried on chain by itself (a dispute, a settle) failed.
	ChainActionFailed { channel_id: ChannelId, action: String, reason: String },
}

/// Where a party's components report events; sending never blocks or fails when nobody listens.
pub type Events = tokio::sync::broadcast::Sender<Event>;

/// Reports `event` on `events`, if there is an `events`.
pub fn report(events: &Option<Events>, event: Event) {
	if let Some(events) = events {
		let _ = events.send(event);
	}
}

/// Milliseconds since the Unix epoch, for the payment history.
pub fn unix_ms() -> u64 {
	std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map_or(0, |elapsed| elapsed.as_millis() as u64)
}
