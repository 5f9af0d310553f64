//! The payer of one channel: one task that owns the outgoing link to the counterparty, keeps it
//! open (redialing with backoff after a drop) and turns the payments an application submits
//! into balance proofs.
//!
//! Payments that arrive faster than one signature each are coalesced: every proof covers all
//! payments queued when it is signed, so a burst costs one signature and one frame. Each payment
//! is still answered on its own, and only once the receiver acknowledged the proof covering it
//! (its commit is durable) and this party's own record of it is too.
//!
//! After a drop, the proofs in flight are resent unchanged on the new link, once the receiver's
//! `Welcome` said which of them it already holds: an in-flight payment ends acknowledged or
//! failed, never both and never twice.

use anyhow::{anyhow, Result};
use futures::future::BoxFuture;
use paychan_primitives::{ChannelId, Nonce};
use serde::Serialize;
use std::{
	collections::VecDeque,
	time::{Duration, Instant},
};
use subxt::utils::AccountId32;
use tokio::sync::{mpsc, oneshot};

use super::Shared;
use crate::{
	events::{report, unix_ms, Event},
	htlc::{HtlcLock, LockedState},
	ledger::Ledger,
	session::{proof_message, Party},
	store::{Direction, PaymentEntry},
	wire::{Hop, LinkWriter, Message, ProofState},
};
use paychan_primitives::locks::secret_hash;

/// Proofs in flight at most before the payer waits for an acknowledgement.
pub const WINDOW: usize = 64;
/// Most payments one proof covers; more wait for the next proof.
const MAX_COALESCED: usize = 65_536;
/// How often the payer re-reads what it may spend (pledges, the chain's view, the freeze).
const REFRESH: Duration = Duration::from_millis(500);
/// Redial delays: doubling from the first to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));
/// Dial attempts after which payments not yet signed fail (signed ones keep waiting).
const DIAL_ATTEMPTS_BEFORE_FAILING: u32 = 4;
/// How often the payer looks for its locks that expired.
const LOCKS_TICK: Duration = Duration::from_secs(2);

/// A payment that was acknowledged.
#[derive(Clone, Debug, Serialize)]
pub struct Paid {
	pub channel_id: ChannelId,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub amount: u128,
	/// The proof that covers it, and its cumulative total.
	pub nonce: Nonce,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub transferred: u128,
	/// From submission to acknowledgement.
	pub latency_us: u64,
}

/// A job that needs the channel's link to itself (a cooperative close or a withdrawal, which
/// open their own session): it runs once every proof in flight is resolved and the payer's link
/// is closed.
pub type Exclusive = Box<
	dyn Fn(Party, String) -> BoxFuture<'static, Result<serde_json::Value>> + Send + Sync + 'static,
>;

/// What an application asks of a channel's payer.
pub enum Order {
	Pay {
		amount: u128,
		submitted: Instant,
		reply: PayReply,
	},
	Exclusive {
		job: Exclusive,
		reply: oneshot::Sender<Result<serde_json::Value, String>>,
	},
	/// Keep `amount` unspent from now on (a rebalance request pledging it is on its way), if
	/// this party still holds that much after the proofs in flight.
	Reserve {
		amount: u128,
		reply: oneshot::Sender<Result<(), String>>,
	},
	/// The request is on chain or failed: the chain's pledges count again.
	Release,
	/// Add `lock` for a routed payment, to be forwarded along `onward`; answered once the
	/// receiver acknowledged it.
	Lock {
		lock: HtlcLock,
		onward: Vec<Hop>,
		reply: LockReply,
	},
	/// Resolve the pending lock of `secret_hash`: pay it (its secret came out in time), or drop
	/// it (it expired unclaimed). The payer queues these itself.
	Resolve {
		secret_hash: [u8; 32],
		pay: bool,
	},
}

/// Where a payment's outcome goes.
type PayReply = oneshot::Sender<Result<Paid, String>>;
/// Where a lock's outcome goes: acknowledged, or why not.
type LockReply = oneshot::Sender<Result<(), String>>;

/// A proof sent and not yet acknowledged, with the payments it covers: each one's amount,
/// submission time and reply; for a lock, where it goes on and who waits for it.
struct InFlight {
	proof: ProofState,
	/// What the proof commits beyond the one before: its payments' sum, or its new lock.
	amount: u128,
	/// What the proof pays beyond the one before: its payments' sum, or a lock it pays.
	paid: u128,
	payments: Vec<(u128, Instant, PayReply)>,
	lock: Option<(Vec<Hop>, LockReply)>,
}

impl InFlight {
	/// The message that carries this proof (again, after a redial).
	fn message(&self) -> Message {
		match &self.lock {
			Some((onward, _)) => {
				Message::Lock { proof: self.proof.clone(), onward: onward.clone() }
			}
			None => Message::Pay(self.proof.clone()),
		}
	}
}

/// The link and what the payer knows of the channel while it is up.
struct Connected {
	writer: LinkWriter,
	frames: mpsc::Receiver<Result<Vec<Message>>>,
	reader_task: tokio::task::JoinHandle<()>,
}

impl Drop for Connected {
	fn drop(&mut self) {
		self.reader_task.abort();
	}
}

/// Spending limits, refreshed every [`REFRESH`].
struct Limits {
	ledger: Ledger,
	pledged: u128,
	block: u32,
	read_at: Instant,
}

/// Runs the payer of `channel_id` until its order queue closes or the channel leaves.
pub async fn run(shared: Shared, channel_id: ChannelId, mut orders: mpsc::Receiver<Order>) {
	let mut payer = Payer {
		shared,
		channel_id,
		in_flight: VecDeque::new(),
		queued: VecDeque::new(),
		link: None,
		limits: None,
		attempts: 0,
		reserved: 0,
		awaiting: false,
	};
	let reason = match payer.serve(&mut orders).await {
		Ok(()) => format!("channel {channel_id} is no longer open"),
		Err(error) => format!("{error:#}"),
	};
	payer.fail_all(&reason);
	payer.shared.forget_payer(channel_id);
	// Orders that raced with the end fail for the same reason.
	orders.close();
	while let Ok(order) = orders.try_recv() {
		payer.queue(order);
	}
	payer.fail_all(&reason);
}

/// The payments at the front of `queued` that one proof covers, and their sum: each that fits in
/// `spendable` (what this party may still sign for, `pledged` being kept back) in turn, up to
/// [`MAX_COALESCED`]. A payment that does not fit is answered with the reason and dropped, and
/// the next one is tried; the first order that is not a payment ends the proof (a close or
/// withdrawal waits for the proofs before it). Pure, so the rule is unit-tested.
fn coalesce(
	queued: &mut VecDeque<Order>,
	mut spendable: i128,
	pledged: u128,
	channel_id: ChannelId,
) -> (Vec<(u128, Instant, PayReply)>, u128) {
	let mut payments = Vec::new();
	let mut amount = 0u128;
	while payments.len() < MAX_COALESCED && matches!(queued.front(), Some(Order::Pay { .. })) {
		let Some(Order::Pay { amount: each, submitted, reply }) = queued.pop_front() else {
			unreachable!("matched above")
		};
		if each == 0 || each as i128 > spendable {
			let kept = if pledged > 0 {
				format!("; {pledged} is pledged to rebalancing")
			} else {
				String::new()
			};
			let _ = reply.send(Err(format!(
				"channel {channel_id}: a payment of {each} exceeds what this party may still \
				 spend ({}{kept})",
				spendable.max(0)
			)));
			continue;
		}
		spendable -= each as i128;
		amount += each;
		payments.push((each, submitted, reply));
	}
	(payments, amount)
}

struct Payer {
	shared: Shared,
	channel_id: ChannelId,
	in_flight: VecDeque<InFlight>,
	queued: VecDeque<Order>,
	link: Option<Connected>,
	limits: Option<Limits>,
	attempts: u32,
	/// What a rebalance request on its way pledges ([`Order::Reserve`]).
	reserved: u128,
	/// Whether locks this party sent are pending in the channel (it keeps the link up).
	awaiting: bool,
}

impl Payer {
	async fn serve(&mut self, orders: &mut mpsc::Receiver<Order>) -> Result<()> {
		let mut locks_tick = tokio::time::interval(LOCKS_TICK);
		locks_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
		self.awaiting = !self.pending_locks().is_empty();
		loop {
			// A link is kept while locks are pending: their secrets come back over it.
			let wanted = !(self.queued.is_empty() && self.in_flight.is_empty()) || self.awaiting;
			if self.link.is_none() && wanted {
				if matches!(self.queued.front(), Some(Order::Exclusive { .. }))
					&& self.in_flight.is_empty()
				{
					self.run_exclusive().await;
					continue;
				}
				self.dial().await?;
				continue;
			}
			if self.link.is_some() {
				self.send_queued().await;
				if self.link.is_none() {
					continue;
				}
			}
			let room = self.in_flight.len() < WINDOW;
			let frames = async {
				match self.link.as_mut() {
					Some(link) => link.frames.recv().await,
					None => std::future::pending().await,
				}
			};
			tokio::select! {
				order = orders.recv(), if room => match order {
					Some(order) => {
						self.take(order).await;
						while let Ok(more) = orders.try_recv() {
							self.take(more).await;
							if self.queued.len() >= MAX_COALESCED { break }
						}
					}
					None if self.in_flight.is_empty() && self.queued.is_empty() => return Ok(()),
					None => {}
				},
				frame = frames => {
					let frame = frame.unwrap_or_else(|| Err(anyhow!("the link closed")));
					self.on_frame(frame).await?;
				}
				_ = locks_tick.tick() => {
					self.awaiting = !self.pending_locks().is_empty();
					if let Err(error) = self.resolve_expired().await {
						eprintln!("channel {}: cannot resolve expired locks: {error:#}", self.channel_id);
					}
				}
			}
		}
	}

	fn queue(&mut self, order: Order) {
		self.queued.push_back(order);
	}

	/// Queues a payment or an exclusive job; takes a reservation at once.
	async fn take(&mut self, order: Order) {
		match order {
			Order::Reserve { amount, reply } => {
				let _ = reply.send(self.reserve(amount).await);
			}
			Order::Release => {
				self.reserved = 0;
				self.limits = None;
			}
			order => self.queue(order),
		}
	}

	/// Reserves `amount` if this party holds it after the proofs in flight (the request it is
	/// for replaces any earlier one, so the earlier pledges do not count against it).
	async fn reserve(&mut self, amount: u128) -> Result<(), String> {
		self.limits = None;
		self.refresh_limits()
			.await
			.map_err(|error| format!("cannot read channel {}: {error:#}", self.channel_id))?;
		let limits = self.limits.as_ref().expect("refreshed above");
		let in_flight = self.in_flight_amount();
		let holds = limits.ledger.spendable(0) - in_flight as i128;
		if amount as i128 > holds {
			return Err(format!(
				"channel {}: cannot pledge to send {amount}: this party holds {} on its side after \
				 the {in_flight} in flight",
				self.channel_id,
				holds.max(0)
			));
		}
		self.reserved = amount;
		Ok(())
	}

	/// Fails every order: queued ones were never signed; in-flight ones could not be resolved.
	fn fail_all(&mut self, reason: &str) {
		for order in self.queued.drain(..) {
			match order {
				Order::Pay { reply, .. } => drop(reply.send(Err(reason.to_owned()))),
				Order::Exclusive { reply, .. } => drop(reply.send(Err(reason.to_owned()))),
				Order::Reserve { reply, .. } => drop(reply.send(Err(reason.to_owned()))),
				Order::Lock { reply, .. } => drop(reply.send(Err(reason.to_owned()))),
				Order::Release | Order::Resolve { .. } => {}
			}
		}
		for flight in self.in_flight.drain(..) {
			if let Some((_, reply)) = flight.lock {
				let _ = reply.send(Err(format!(
					"{reason}; the lock was signed and sent but not acknowledged"
				)));
			}
			for (_, _, reply) in flight.payments {
				let _ = reply.send(Err(format!(
					"{reason}; the payment was signed and sent but not acknowledged: the balance \
					 shows whether the receiver holds it"
				)));
			}
		}
	}

	/// Fails the payments not yet signed (a close or withdrawal queued behind them stays), and
	/// the locks too unless `keep_locks`: a lock may wait for an unreachable counterparty, since
	/// a lock acknowledged upstream is pending until it expires anyway, and the lock is checked
	/// against the time left when it is signed.
	fn fail_queued(&mut self, reason: &str, keep_locks: bool) {
		let mut failed = 0;
		let mut kept = VecDeque::new();
		for order in self.queued.drain(..) {
			match order {
				Order::Pay { reply, .. } => {
					failed += 1;
					let _ = reply.send(Err(reason.to_owned()));
				}
				Order::Lock { reply, .. } if !keep_locks => {
					failed += 1;
					let _ = reply.send(Err(reason.to_owned()));
				}
				other => kept.push_back(other),
			}
		}
		self.queued = kept;
		if failed > 0 {
			report(
				&self.shared.events,
				Event::PaymentFailed {
					channel_id: self.channel_id,
					payments: failed,
					reason: reason.into(),
				},
			);
		}
	}

	async fn dial(&mut self) -> Result<()> {
		let party = self.shared.party.clone();
		let view = party.chain.existing_channel(self.channel_id).await?;
		if view.closing.is_some() {
			anyhow::bail!("channel {} is closing", self.channel_id);
		}
		let me = party.keys.public();
		let counterparty = view.participants[usize::from(view.participants[0] == me)];
		let peer = AccountId32(counterparty).to_string();
		let Some(address) = self.shared.peer_address(&counterparty) else {
			anyhow::bail!(
				"no address is known for the counterparty {peer}: add it with paychan_addPeer \
				 (or `paychan peer add`)"
			);
		};
		match party.connect(self.channel_id, &address).await {
			Ok((link, ledger)) => {
				self.attempts = 0;
				let crate::wire::Link { reader, writer, .. } = link;
				let (frames, reader_task) = reader.read_ahead(256);
				report(
					&self.shared.events,
					Event::LinkUp { channel_id: self.channel_id, peer, dialed: true },
				);
				let held = ledger.record.sent.as_ref().map_or(0, |proof| proof.nonce);
				self.limits = None;
				self.link = Some(Connected { writer, frames, reader_task });
				// What the receiver already holds is acknowledged; the rest is resent as it was.
				self.acknowledge(held).await?;
				let resend: Vec<Message> = self.in_flight.iter().map(InFlight::message).collect();
				for message in resend {
					self.push(message).await;
				}
				self.flush().await;
				Ok(())
			}
			Err(error) => {
				self.attempts += 1;
				let reason = format!("{error:#}");
				report(
					&self.shared.events,
					Event::LinkDown { channel_id: self.channel_id, peer, reason: reason.clone() },
				);
				if self.attempts >= DIAL_ATTEMPTS_BEFORE_FAILING {
					self.fail_queued(&format!("the counterparty is unreachable: {reason}"), true);
				}
				let delay = BACKOFF.0 * 2u32.saturating_pow(self.attempts.min(16));
				tokio::time::sleep(delay.min(BACKOFF.1)).await;
				Ok(())
			}
		}
	}

	async fn run_exclusive(&mut self) {
		let Some(Order::Exclusive { job, reply }) = self.queued.pop_front() else { return };
		let party = self.shared.party.clone();
		let result = async {
			let view = party.chain.existing_channel(self.channel_id).await?;
			let me = party.keys.public();
			let counterparty = view.participants[usize::from(view.participants[0] == me)];
			let address = self.shared.peer_address(&counterparty).ok_or_else(|| {
				anyhow!("no address is known for the counterparty {}", AccountId32(counterparty))
			})?;
			// The receiver frees the channel's session slot once it saw this payer's link go; a
			// session it refused as busy changed nothing and is tried again.
			let mut attempt = 0;
			loop {
				match job(party.clone(), address.clone()).await {
					Err(error) if attempt < 20 && format!("{error:#}").contains("in progress") => {
						attempt += 1;
						tokio::time::sleep(Duration::from_millis(100)).await;
					}
					result => return result,
				}
			}
		}
		.await;
		let _ = reply.send(result.map_err(|error| format!("{error:#}")));
		self.limits = None;
	}

	/// Whether the first queued payment exceeds what limits read more than a moment ago allow.
	fn refused_by_cached_limits(&self) -> bool {
		let (Some(limits), Some(Order::Pay { amount, .. })) = (&self.limits, self.queued.front())
		else {
			return false;
		};
		*amount as i128 > self.spendable(limits).0
			&& limits.read_at.elapsed() > Duration::from_millis(5)
	}

	/// What the proofs in flight pay, together.
	fn in_flight_amount(&self) -> u128 {
		self.in_flight.iter().map(|flight| flight.amount).sum()
	}

	/// What the payer may still sign for by `limits`, and the pledge that keeps it lower: the
	/// larger of the chain's pledges and a request's on its way (that replaces the other), and
	/// what is in flight.
	fn spendable(&self, limits: &Limits) -> (i128, u128) {
		let in_flight = self.in_flight_amount();
		let pledged = limits.pledged.max(self.reserved);
		(limits.ledger.spendable(pledged) - in_flight as i128, pledged)
	}

	/// Signs one proof for as many queued payments as the channel allows and sends it.
	async fn send_queued(&mut self) {
		if matches!(self.queued.front(), Some(Order::Exclusive { .. })) {
			// A close or withdrawal waits for the proofs in flight, then takes the channel.
			if self.in_flight.is_empty() {
				self.link = None;
			}
			return;
		}
		if self.queued.is_empty() || self.in_flight.len() >= WINDOW {
			return;
		}
		if let Err(error) = self.refresh_limits().await {
			self.fail_queued(&format!("cannot read the channel: {error:#}"), false);
			return;
		}
		// The limits may be up to REFRESH old; a payment they would refuse is checked against
		// the chain as it is now (a deposit or a rebalancing may have just raised them).
		if self.refused_by_cached_limits() {
			self.limits = None;
			if let Err(error) = self.refresh_limits().await {
				self.fail_queued(&format!("cannot read the channel: {error:#}"), false);
				return;
			}
		}
		let limits = self.limits.as_ref().expect("refreshed above");
		if limits.block <= limits.ledger.record.close_signed_until {
			let reason = format!(
				"a cooperative close signed for channel {} can land until block {}; no payments \
				 until then",
				self.channel_id, limits.ledger.record.close_signed_until
			);
			self.fail_queued(&reason, false);
			return;
		}
		let (spendable, pledged) = self.spendable(limits);
		// The state the next proof changes: the newest in flight, else the newest acknowledged.
		let base = match self.in_flight.back() {
			Some(flight) => flight.proof.clone(),
			None => ProofState {
				nonce: limits.ledger.record.sent.as_ref().map_or(0, |proof| proof.nonce),
				transferred: limits.ledger.paid(),
				signature: [0; 64],
				locks: limits.ledger.record.sent.as_ref().and_then(|proof| proof.locks.clone()),
			},
		};
		let mut next = ProofState { nonce: base.nonce + 1, ..base.clone() };
		let (amount, payments, lock) = match self.queued.front() {
			Some(Order::Lock { .. }) => {
				let Some(Order::Lock { lock, onward, reply }) = self.queued.pop_front() else {
					unreachable!("matched above")
				};
				let refusal = if lock.amount as i128 > spendable {
					Some(format!(
						"a lock of {} exceeds what this party may still spend ({})",
						lock.amount,
						spendable.max(0)
					))
				} else if lock.expires_at
					< limits.block.saturating_add(self.shared.config.locks.reveal_margin)
				{
					Some(format!(
						"the lock would expire at block {}, too soon after block {}",
						lock.expires_at, limits.block
					))
				} else {
					None
				};
				// The amount, the count and a lock of the same payment: `with_lock`'s checks.
				let locked = match refusal {
					Some(reason) => Err(reason),
					None => LockedState::of(&base)
						.with_lock(lock.clone())
						.map_err(|error| format!("{error:#}")),
				};
				let locked = match locked {
					Ok(locked) => locked,
					Err(reason) => {
						let _ = reply.send(Err(format!("channel {}: {reason}", self.channel_id)));
						return;
					}
				};
				next.locks = Some(locked.locks);
				(lock.amount, Vec::new(), Some((onward, reply)))
			}
			Some(Order::Resolve { .. }) => {
				let Some(Order::Resolve { secret_hash, pay }) = self.queued.pop_front() else {
					unreachable!("matched above")
				};
				let state = LockedState::of(&base);
				let resolved = match pay {
					true => state.with_claim_of(&secret_hash),
					false => state.with_expired(&secret_hash, limits.block),
				};
				// Resolved by an earlier order, or not expired by the limits' block yet.
				let Ok(resolved) = resolved else { return };
				next.transferred = resolved.transferred;
				next.locks = Some(resolved.locks);
				(0, Vec::new(), None)
			}
			_ => {
				let (payments, amount) =
					coalesce(&mut self.queued, spendable, pledged, self.channel_id);
				if payments.is_empty() {
					return;
				}
				next.transferred += amount;
				(amount, payments, None)
			}
		};
		let paid = next.transferred - base.transferred;
		let party = &self.shared.party;
		next.signature =
			party.keys.sign(&proof_message(party.chain.genesis_hash, self.channel_id, &next));
		let flight = InFlight { proof: next, amount, paid, payments, lock };
		let message = flight.message();
		self.in_flight.push_back(flight);
		self.push(message).await;
		self.flush().await;
	}

	async fn refresh_limits(&mut self) -> Result<()> {
		if self.limits.as_ref().is_some_and(|limits| limits.read_at.elapsed() < REFRESH) {
			// The record is read each time: another session may have signed a close.
			let stored = self.shared.party.store.channel(self.channel_id)?;
			let limits = self.limits.as_mut().expect("checked above");
			limits.ledger.record.merge(&stored);
			return Ok(());
		}
		let party = &self.shared.party;
		let ledger = party.ledger(self.channel_id).await?;
		let pledged = party.pledged(self.channel_id).await?;
		let block = party.chain.block_number().await?;
		self.limits = Some(Limits { ledger, pledged, block, read_at: Instant::now() });
		Ok(())
	}

	async fn push(&mut self, message: Message) {
		if let Some(link) = self.link.as_mut() {
			if link.writer.push(message).await.is_err() {
				self.link = None;
			}
		}
	}

	async fn flush(&mut self) {
		if let Some(link) = self.link.as_mut() {
			if link.writer.flush().await.is_err() {
				self.link = None;
			}
		}
	}

	async fn on_frame(&mut self, frame: Result<Vec<Message>>) -> Result<()> {
		let messages = match frame {
			Ok(messages) => messages,
			Err(error) => {
				self.drop_link(format!("{error:#}"));
				return Ok(());
			}
		};
		let mut newest = None;
		let reveals: Vec<[u8; 32]> = messages
			.iter()
			.filter_map(|message| match message {
				Message::Reveal { secret } => Some(*secret),
				_ => None,
			})
			.collect();
		self.on_reveals(reveals).await?;
		for message in messages {
			match message {
				Message::Ack { nonce } => newest = Some(nonce),
				Message::Reveal { .. } => {}
				Message::Fail { secret_hash, reason } => self.on_fail(secret_hash, reason)?,
				Message::Refused { nonce, reason } => {
					if let Some(acked) = newest.take() {
						self.acknowledge(acked).await?;
					}
					self.refused(nonce, &reason);
					self.drop_link(format!("the receiver refused payment {nonce}: {reason}"));
					return Ok(());
				}
				Message::Error(reason) => {
					if let Some(acked) = newest.take() {
						self.acknowledge(acked).await?;
					}
					self.drop_link(format!("the receiver ended the session: {reason}"));
					return Ok(());
				}
				other => {
					self.drop_link(format!("unexpected message {other:?}"));
					return Ok(());
				}
			}
		}
		if let Some(nonce) = newest {
			let sent = self.in_flight.back().map_or(0, |flight| flight.proof.nonce);
			if nonce > sent {
				self.drop_link(format!("the receiver acknowledged nonce {nonce}, never sent"));
				return Ok(());
			}
			self.acknowledge(nonce).await?;
		}
		Ok(())
	}

	/// The pending locks of the newest state this payer signed (in flight or acknowledged).
	fn pending_locks(&self) -> Vec<HtlcLock> {
		let newest = match self.in_flight.back() {
			Some(flight) => Some(&flight.proof),
			None => self.limits.as_ref().and_then(|limits| limits.ledger.record.sent.as_ref()),
		};
		match newest {
			Some(proof) => proof.pending_locks().to_vec(),
			None => self
				.shared
				.party
				.store
				.channel(self.channel_id)
				.ok()
				.and_then(|record| record.sent)
				.map(|proof| proof.pending_locks().to_vec())
				.unwrap_or_default(),
		}
	}

	/// Whether a resolution of the lock of `secret_hash` is queued already.
	fn resolving(&self, hash: &[u8; 32]) -> bool {
		self.queued
			.iter()
			.any(|order| matches!(order, Order::Resolve { secret_hash, .. } if secret_hash == hash))
	}

	/// The receiver revealed the secrets of some of this party's locks: they are noted (so this
	/// party's own senders are told in turn, one commit for them all) and the locks are paid.
	///
	/// A secret revealed after its lock expired does not make this party pay: the lock is then
	/// the receiver's only if the secret was registered on chain in time, which
	/// [`Payer::resolve_expired`] checks. (The secret is still noted: this party's own incoming
	/// lock may not have expired yet.)
	async fn on_reveals(&mut self, secrets: Vec<[u8; 32]>) -> Result<()> {
		let pending = self.pending_locks();
		let revealed: Vec<([u8; 32], HtlcLock)> = secrets
			.into_iter()
			.filter_map(|secret| {
				let hash = secret_hash(&secret);
				let lock = pending.iter().find(|lock| lock.secret_hash == hash)?;
				Some((secret, lock.clone()))
			})
			.collect();
		if revealed.is_empty() {
			return Ok(()); // paid already, or not ours
		}
		let secrets: Vec<[u8; 32]> = revealed.iter().map(|(secret, _)| *secret).collect();
		let shared = self.shared.clone();
		tokio::task::spawn_blocking(move || shared.learned_secrets(&secrets)).await??;
		// The block is read at most once a refresh period: a lock within a block of its expiry
		// is left to the expiry check, which reads the chain.
		let now = match &self.limits {
			Some(limits) if limits.read_at.elapsed() < REFRESH => limits.block.saturating_add(1),
			_ => self.shared.party.chain.block_number().await?,
		};
		for (_, lock) in revealed {
			if now <= lock.expires_at && !self.resolving(&lock.secret_hash) {
				self.queue(Order::Resolve { secret_hash: lock.secret_hash, pay: true });
			}
		}
		Ok(())
	}

	/// The receiver says the payment of `secret_hash` failed downstream: news only, the lock
	/// stays until it is paid or expires (the receiver could still use a proof that holds it).
	fn on_fail(&mut self, hash: [u8; 32], reason: String) -> Result<()> {
		if !self.pending_locks().iter().any(|lock| lock.secret_hash == hash) {
			return Ok(());
		}
		self.shared.payment_failed(hash, &format!("{reason} (the lock stays until it expires)"))
	}

	/// Resolves this party's locks that expired: paid if their secret was registered on chain
	/// in time (the chain would pay them anyway; the secret is read from the registration and
	/// passed upstream), dropped otherwise.
	async fn resolve_expired(&mut self) -> Result<()> {
		let locks = self.pending_locks();
		if locks.is_empty() {
			return Ok(());
		}
		let chain = self.shared.party.chain.clone();
		let now = chain.block_number().await?;
		for lock in locks {
			if now <= lock.expires_at || self.resolving(&lock.secret_hash) {
				continue;
			}
			let registered = chain.registered_secret(lock.secret_hash).await?;
			let pay = match registered {
				Some((block, secret)) if block <= lock.expires_at => {
					self.shared.learned_secret(secret)?;
					true
				}
				_ => {
					let reason = format!("the lock expired at block {} unclaimed", lock.expires_at);
					self.shared.payment_failed(lock.secret_hash, &reason)?;
					false
				}
			};
			self.queue(Order::Resolve { secret_hash: lock.secret_hash, pay });
		}
		Ok(())
	}

	fn drop_link(&mut self, reason: String) {
		if self.link.take().is_some() {
			report(
				&self.shared.events,
				Event::LinkDown { channel_id: self.channel_id, peer: String::new(), reason },
			);
		}
	}

	/// The receiver refused the proofs from `nonce` on: their payments fail.
	fn refused(&mut self, nonce: Nonce, reason: &str) {
		let mut count = 0;
		while self.in_flight.back().is_some_and(|flight| flight.proof.nonce >= nonce) {
			let flight = self.in_flight.pop_back().expect("checked above");
			count += flight.payments.len() as u32;
			if let Some((_, reply)) = flight.lock {
				count += 1;
				let _ = reply.send(Err(format!("the receiver refused the lock: {reason}")));
			}
			for (_, _, reply) in flight.payments {
				let _ = reply.send(Err(format!("the receiver refused the payment: {reason}")));
			}
		}
		report(
			&self.shared.events,
			Event::PaymentFailed {
				channel_id: self.channel_id,
				payments: count,
				reason: reason.into(),
			},
		);
		self.limits = None;
	}

	/// Every proof up to `nonce` is durable at the receiver: makes the newest durable here, with
	/// the history, then answers its payments.
	async fn acknowledge(&mut self, nonce: Nonce) -> Result<()> {
		let mut done = Vec::new();
		while self.in_flight.front().is_some_and(|flight| flight.proof.nonce <= nonce) {
			done.push(self.in_flight.pop_front().expect("checked above"));
		}
		let Some(newest) = done.last().map(|flight| flight.proof.clone()) else { return Ok(()) };
		let now = unix_ms();
		// A proof that paid nothing (a lock, or a lock dropped at its expiry) is no payment.
		let entries: Vec<PaymentEntry> = done
			.iter()
			.filter(|flight| flight.paid > 0)
			.map(|flight| PaymentEntry {
				channel_id: self.channel_id,
				direction: Direction::Sent,
				amount: flight.paid,
				nonce: flight.proof.nonce,
				transferred: flight.proof.transferred,
				payments: flight.payments.len().max(1) as u32,
				unix_ms: now,
			})
			.collect();
		let store = self.shared.party.store.clone();
		let (channel_id, keep) = (self.channel_id, self.shared.config.history_keep);
		let counterparty =
			self.limits.as_ref().map_or([0; 32], |limits| limits.ledger.counterparty());
		let record = tokio::task::spawn_blocking(move || {
			store.update_channel_logged(channel_id, &entries, keep, |stored| {
				stored.merge(&crate::store::ChannelRecord {
					sent: Some(newest),
					counterparty,
					..Default::default()
				});
				Ok(())
			})
		})
		.await??
		.0;
		if let Some(limits) = self.limits.as_mut() {
			limits.ledger.record = record;
		}
		let acknowledged = Instant::now();
		for mut flight in done {
			if let Some((_, reply)) = flight.lock.take() {
				let _ = reply.send(Ok(()));
				continue;
			}
			if flight.payments.is_empty() {
				continue;
			}
			report(
				&self.shared.events,
				Event::PaymentSent {
					channel_id,
					amount: flight.amount,
					nonce: flight.proof.nonce,
					transferred: flight.proof.transferred,
					payments: flight.payments.len() as u32,
				},
			);
			self.shared.metrics.sent(&flight.payments, acknowledged);
			for (amount, submitted, reply) in flight.payments {
				let _ = reply.send(Ok(Paid {
					channel_id,
					amount,
					nonce: flight.proof.nonce,
					transferred: flight.proof.transferred,
					latency_us: acknowledged.duration_since(submitted).as_micros() as u64,
				}));
			}
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn pay(amount: u128) -> (Order, oneshot::Receiver<Result<Paid, String>>) {
		let (reply, answer) = oneshot::channel();
		(Order::Pay { amount, submitted: Instant::now(), reply }, answer)
	}

	fn queue_of(
		amounts: &[u128],
	) -> (VecDeque<Order>, Vec<oneshot::Receiver<Result<Paid, String>>>) {
		amounts.iter().map(|&amount| pay(amount)).unzip()
	}

	#[test]
	fn one_proof_covers_every_queued_payment_that_fits_and_the_rest_are_refused_alone() {
		let (mut queued, mut answers) = queue_of(&[10, 30, 0, 20, 6]);
		let (payments, amount) = coalesce(&mut queued, 35, 0, 9);
		assert_eq!(payments.iter().map(|(each, ..)| *each).collect::<Vec<_>>(), vec![10, 20]);
		assert_eq!(amount, 30);
		assert!(queued.is_empty());
		assert_eq!(
			answers[1].try_recv().unwrap().unwrap_err(),
			"channel 9: a payment of 30 exceeds what this party may still spend (25)"
		);
		assert!(answers[2].try_recv().unwrap().is_err(), "a payment of 0 is refused");
		assert_eq!(
			answers[4].try_recv().unwrap().unwrap_err(),
			"channel 9: a payment of 6 exceeds what this party may still spend (5)"
		);
		assert!(answers[0].try_recv().is_err(), "a covered payment waits for its acknowledgement");
	}

	#[test]
	fn a_refusal_names_the_pledge_that_keeps_funds_back() {
		let (mut queued, mut answers) = queue_of(&[50]);
		let (payments, _) = coalesce(&mut queued, 40, 60, 2);
		assert!(payments.is_empty());
		assert_eq!(
			answers[0].try_recv().unwrap().unwrap_err(),
			"channel 2: a payment of 50 exceeds what this party may still spend (40; 60 is pledged \
			 to rebalancing)"
		);
	}

	#[test]
	fn a_proof_stops_at_a_close_or_withdrawal_and_at_the_coalescing_limit() {
		let (mut queued, _answers) = queue_of(&[1, 2]);
		let (reply, _) = oneshot::channel();
		let job: Exclusive = Box::new(|_, _| Box::pin(async { Ok(serde_json::Value::Null) }));
		queued.push_back(Order::Exclusive { job, reply });
		let (after, _after_answer) = pay(3);
		queued.push_back(after);
		let (payments, amount) = coalesce(&mut queued, 100, 0, 1);
		assert_eq!((payments.len(), amount), (2, 3));
		assert!(matches!(queued.front(), Some(Order::Exclusive { .. })), "the close waits");
		assert_eq!(queued.len(), 2, "and the payment behind it too");

		let (mut queued, _answers) = queue_of(&vec![1; MAX_COALESCED + 2]);
		let (payments, amount) = coalesce(&mut queued, i128::MAX, 0, 1);
		assert_eq!((payments.len(), amount), (MAX_COALESCED, MAX_COALESCED as u128));
		assert_eq!(queued.len(), 2, "the rest go in the next proof");
	}
}
