//! The daemon's watch over routed payments' locks on chain (docs/protocol.md §10.6, §10.7):
//!
//! - a lock this party received and knows the secret of, whose sender has not paid it, gets
//!   the secret registered on chain before it expires (within the reveal margin), so that it is
//!   claimable whatever the sender does;
//! - if the sender still has not paid a claimable lock some blocks after its expiry, the channel
//!   is closed with the sender's locked proof, so that the lock can be unlocked;
//! - once such a channel is settled, this party unlocks what its locks hold: the claimed locks
//!   it received, and the expired ones it sent (which come back to it).
//!
//! The decisions are [`decide`]'s, free of I/O; [`check`] reads the store and the chain and
//! submits.

use anyhow::Result;
use paychan_primitives::ChannelId;
use std::collections::{BTreeMap, HashMap};

use super::Shared;
use crate::{chain::ChannelView, events::Event, htlc::HtlcLock, keys::hex, store::ChannelRecord};

/// Blocks after a claimable lock's expiry that its sender has to pay it off chain before this
/// party closes the channel over it.
pub const PAY_GRACE: u32 = 3;
/// Blocks after which a submission that changed nothing is tried again.
const RETRY_AFTER: u32 = 10;

/// Something the lock watch submits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockAction {
	/// Register `secret` on chain: a lock this party received under it expires soon.
	Register { secret: [u8; 32] },
	/// Close `channel_id`: its sender did not pay a lock whose secret was registered in time.
	Close { channel_id: ChannelId },
	/// Unlock the locks at `indices` of `locks`, `sender`'s in settled channel `channel_id`.
	Unlock { channel_id: ChannelId, sender: [u8; 32], locks: Vec<HtlcLock>, indices: Vec<usize> },
}

/// What the watch knows of one of this party's channels: its record, and the chain's view of it
/// (`None` once it is settled).
pub struct Known<'a> {
	pub channel_id: ChannelId,
	pub record: &'a ChannelRecord,
	pub view: Option<&'a ChannelView>,
	/// Whether the chain still holds locks of each side for this settled channel:
	/// `[the counterparty's, this party's]`.
	pub held: [bool; 2],
}

/// The watch's decisions at block `now` for `me`: `secret_of` gives the secrets this party
/// reveals, `registered` the block a secret hash was registered in. Pure, so every case is
/// unit-tested.
pub fn decide(
	me: [u8; 32],
	now: u32,
	reveal_margin: u32,
	channels: &[Known],
	secret_of: impl Fn(&[u8; 32]) -> Option<[u8; 32]>,
	registered: impl Fn(&[u8; 32]) -> Option<u32>,
) -> Vec<LockAction> {
	let mut actions = Vec::new();
	let claimed =
		|lock: &HtlcLock| registered(&lock.secret_hash).is_some_and(|b| b <= lock.expires_at);
	for known in channels {
		let received =
			known.record.received.as_ref().map_or(&[][..], |proof| proof.pending_locks());
		let sent = known.record.sent.as_ref().map_or(&[][..], |proof| proof.pending_locks());
		for lock in received {
			let Some(secret) = secret_of(&lock.secret_hash) else { continue };
			let due = now.saturating_add(reveal_margin) >= lock.expires_at;
			if due && now <= lock.expires_at && registered(&lock.secret_hash).is_none() {
				let action = LockAction::Register { secret };
				if !actions.contains(&action) {
					actions.push(action);
				}
			}
		}
		match known.view {
			Some(view) if view.closing.is_none() => {
				let unpaid = received
					.iter()
					.any(|lock| claimed(lock) && now > lock.expires_at.saturating_add(PAY_GRACE));
				if unpaid {
					actions.push(LockAction::Close { channel_id: known.channel_id });
				}
			}
			Some(_) => {}
			None => {
				let counterparty = known.record.counterparty;
				let claims: Vec<usize> =
					(0..received.len()).filter(|&i| claimed(&received[i])).collect();
				if known.held[0] && !claims.is_empty() && counterparty != [0; 32] {
					actions.push(LockAction::Unlock {
						channel_id: known.channel_id,
						sender: counterparty,
						locks: received.to_vec(),
						indices: claims,
					});
				}
				let refunds: Vec<usize> = (0..sent.len())
					.filter(|&i| !claimed(&sent[i]) && now > sent[i].expires_at)
					.collect();
				if known.held[1] && !refunds.is_empty() {
					actions.push(LockAction::Unlock {
						channel_id: known.channel_id,
						sender: me,
						locks: sent.to_vec(),
						indices: refunds,
					});
				}
			}
		}
	}
	actions
}

/// The lock watch's memory: what it submitted and when, so that each submission goes once and
/// is tried again only after [`RETRY_AFTER`] blocks.
#[derive(Default)]
pub struct LockWatch {
	submitted: HashMap<String, u32>,
}

/// Looks at this party's locks at block `now` and submits what [`decide`] says.
pub async fn check(
	shared: &Shared,
	now: u32,
	views: &[ChannelView],
	watch: &mut LockWatch,
) -> Result<()> {
	let party = &shared.party;
	let me = party.keys.public();
	let records: Vec<(ChannelId, ChannelRecord)> = party
		.store
		.channels()?
		.into_iter()
		.filter(|(_, record)| {
			[&record.sent, &record.received]
				.iter()
				.any(|proof| proof.as_ref().is_some_and(|proof| !proof.pending_locks().is_empty()))
		})
		.collect();
	if records.is_empty() {
		return Ok(());
	}
	let by_id: BTreeMap<ChannelId, &ChannelView> =
		views.iter().map(|view| (view.id, view)).collect();
	let mut secrets = HashMap::new();
	let mut registrations = HashMap::new();
	let mut known = Vec::new();
	for (channel_id, record) in &records {
		let view = by_id.get(channel_id).copied();
		let mut held = [false, false];
		if view.is_none() {
			if record.counterparty != [0; 32] {
				held[0] =
					party.chain.pending_locks(*channel_id, record.counterparty).await?.is_some();
			}
			held[1] = party.chain.pending_locks(*channel_id, me).await?.is_some();
			if !held[0] && !held[1] {
				continue;
			}
		}
		for proof in [&record.sent, &record.received].into_iter().flatten() {
			for lock in proof.pending_locks() {
				let hash = lock.secret_hash;
				if let std::collections::hash_map::Entry::Vacant(slot) = registrations.entry(hash) {
					slot.insert(party.chain.secret_registered_at(hash).await?);
				}
				let entry = party.store.htlc(&hash)?.unwrap_or_default();
				match (entry.reveal, entry.secret) {
					(true, Some(secret)) => {
						secrets.insert(hash, secret);
					}
					// Someone registered the secret of a lock this party sent: it learns it
					// there, and tells its own senders.
					_ if registrations[&hash].is_some() => {
						if let Some((_, secret)) = party.chain.registered_secret(hash).await? {
							shared.learned_secret(secret)?;
						}
					}
					_ => {}
				}
			}
		}
		known.push(Known { channel_id: *channel_id, record, view, held });
	}
	let actions = decide(
		me,
		now,
		shared.config.locks.reveal_margin,
		&known,
		|hash| secrets.get(hash).copied(),
		|hash| registrations.get(hash).copied().flatten(),
	);
	// What was submitted long enough ago may be submitted again, and is forgotten.
	watch.submitted.retain(|_, at| now < *at + RETRY_AFTER);
	for action in actions {
		let key = format!("{action:?}");
		if watch.submitted.contains_key(&key) {
			continue;
		}
		watch.submitted.insert(key, now);
		let shared = shared.clone();
		tokio::spawn(async move { submit(&shared, action).await });
	}
	Ok(())
}

async fn submit(shared: &Shared, action: LockAction) {
	let party = &shared.party;
	let (channel_id, what, result) = match &action {
		LockAction::Register { secret } => {
			let result = party.register_secret(*secret).await.map(|registered| {
				format!(
					"secret of 0x{} registered at block {}",
					hex(&registered.secret_hash),
					registered.block
				)
			});
			(None, "register secret", result)
		}
		LockAction::Close { channel_id } => {
			let result = party
				.close_unilaterally(*channel_id)
				.await
				.map(|_| "closed: a claimable lock was not paid off chain".to_string());
			(Some(*channel_id), "close over an unpaid lock", result)
		}
		LockAction::Unlock { channel_id, sender, locks, indices } => {
			let result = party
				.unlock(*channel_id, *sender, locks, indices)
				.await
				.map(|unlocked| format!("{} locks unlocked", unlocked.unlocked.len()));
			(Some(*channel_id), "unlock", result)
		}
	};
	match result {
		Ok(done) => eprintln!("locks: {done}"),
		Err(error) => {
			eprintln!("locks: {what} failed: {error:#}");
			shared.report(Event::ChainActionFailed {
				channel_id: channel_id.unwrap_or_default(),
				action: what.into(),
				reason: format!("{error:#}"),
			})
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::wire::ProofState;

	/// This party.
	const ME: [u8; 32] = [1; 32];

	fn lock(amount: u128, expires_at: u32, hash: u8) -> HtlcLock {
		HtlcLock { amount, expires_at, secret_hash: [hash; 32] }
	}

	fn locked(locks: Vec<HtlcLock>) -> Option<ProofState> {
		Some(ProofState { nonce: 3, transferred: 10, signature: [0; 64], locks: Some(locks) })
	}

	fn record(received: Vec<HtlcLock>, sent: Vec<HtlcLock>) -> ChannelRecord {
		ChannelRecord {
			received: locked(received),
			sent: locked(sent),
			counterparty: [2; 32],
			..ChannelRecord::default()
		}
	}

	#[test]
	fn a_known_secret_is_registered_within_the_reveal_margin_and_not_before_or_twice() {
		let record = record(vec![lock(5, 50, 1), lock(6, 50, 9)], vec![]);
		let view = ChannelView::funded(4, [100, 50]);
		let known = [Known { channel_id: 4, record: &record, view: Some(&view), held: [false; 2] }];
		let secret = |hash: &[u8; 32]| (hash[0] == 1).then_some([7; 32]);
		assert!(decide(ME, 39, 10, &known, secret, |_| None).is_empty(), "too early");
		assert_eq!(
			decide(ME, 40, 10, &known, secret, |_| None),
			vec![LockAction::Register { secret: [7; 32] }],
			"the lock of an unknown secret (9) is left alone"
		);
		assert!(decide(ME, 45, 10, &known, secret, |_| Some(44)).is_empty(), "registered already");
		assert!(decide(ME, 51, 10, &known, secret, |_| None).is_empty(), "too late to count");
	}

	#[test]
	fn an_unpaid_claimable_lock_closes_the_channel_after_the_grace() {
		let record = record(vec![lock(5, 50, 1)], vec![]);
		let view = ChannelView::funded(4, [100, 50]);
		let known = [Known { channel_id: 4, record: &record, view: Some(&view), held: [false; 2] }];
		let none = |_: &[u8; 32]| None;
		assert!(decide(ME, 50 + PAY_GRACE, 10, &known, none, |_| Some(45)).is_empty());
		assert_eq!(
			decide(ME, 51 + PAY_GRACE, 10, &known, none, |_| Some(45)),
			vec![LockAction::Close { channel_id: 4 }]
		);
		assert!(
			decide(ME, 51 + PAY_GRACE, 10, &known, none, |_| Some(51)).is_empty(),
			"registered after the expiry: the lock is the sender's, nothing to close over"
		);
		let mut closing = view.clone();
		closing.closing = Some(([2; 32], 90));
		let known =
			[Known { channel_id: 4, record: &record, view: Some(&closing), held: [false; 2] }];
		assert!(decide(ME, 60, 10, &known, none, |_| Some(45)).is_empty(), "closing already");
	}

	#[test]
	fn a_settled_channel_unlocks_the_claims_received_and_the_refunds_sent() {
		let record =
			record(vec![lock(5, 50, 1), lock(6, 50, 2)], vec![lock(7, 40, 3), lock(8, 70, 4)]);
		let known = [Known { channel_id: 4, record: &record, view: None, held: [true, true] }];
		let registered = |hash: &[u8; 32]| (hash[0] == 1).then_some(45);
		assert_eq!(
			decide(ME, 60, 10, &known, |_| None, registered),
			vec![
				LockAction::Unlock {
					channel_id: 4,
					sender: [2; 32],
					locks: vec![lock(5, 50, 1), lock(6, 50, 2)],
					indices: vec![0],
				},
				LockAction::Unlock {
					channel_id: 4,
					sender: ME,
					locks: vec![lock(7, 40, 3), lock(8, 70, 4)],
					indices: vec![0],
				},
			],
			"lock 2 expired unclaimed is the sender's to unlock; lock 4 is not decided yet"
		);
		let nothing_held = [Known { channel_id: 4, record: &record, view: None, held: [false; 2] }];
		assert!(decide(ME, 60, 10, &nothing_held, |_| None, registered).is_empty());
	}
}
