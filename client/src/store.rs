//! The client's durable store: an embedded ACID database (redb) with one record per channel.
//!
//! A payment is acknowledged only after the transaction holding its proof has committed, and a
//! commit with [`Durability::Immediate`] returns only once the data is on disk, so every payment
//! a peer saw acknowledged survives a crash. Many payments share one commit (group commit): the
//! receiver commits whatever arrived while the previous commit was being written.

use anyhow::{Context, Result};
use codec::{Decode, Encode};
use paychan_primitives::ChannelId;
use redb::{
	ConcurrencyMode, Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable,
	ReadableTableMetadata, TableDefinition, WriteTransaction,
};
use std::path::Path;

use crate::wire::{Hop, ProofState};

/// Channel records by channel id.
const CHANNELS: TableDefinition<ChannelId, &[u8]> = TableDefinition::new("channels");
/// Watched proofs (watchtower) by channel id and signer.
const WATCHED: TableDefinition<(ChannelId, [u8; 32]), &[u8]> = TableDefinition::new("watched");

/// The payment history, by sequence number: one entry per acknowledged proof (a proof may
/// cover many coalesced payments), pruned to the newest entries a setting keeps.
const PAYMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("payments");

/// Routed payments this party takes part in, by their secret hash ([`HtlcEntry`]).
const HTLCS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("htlcs");

/// What a party knows of one routed payment (all its locks share one secret hash): as its payer,
/// a forwarding party or its payee.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct HtlcEntry {
	/// The secret, once known: the payee's own (its invoice), or revealed from downstream.
	pub secret: Option<[u8; 32]>,
	/// Whether this party tells its senders the secret (so they pay its incoming locks): a
	/// payee once its invoice's amount arrived, a forwarding party once it learned the secret.
	pub reveal: bool,
	/// Why this party will not claim the payment's incoming locks (told to their senders).
	pub failed: Option<String>,
	/// The amount asked, if this party issued the invoice.
	pub invoice: Option<u128>,
	/// Whether this party is the payer.
	pub origin: bool,
	/// The locks received for the payment: channel, amount, expiry, and where each is to go on.
	pub incoming: Vec<(ChannelId, u128, u32, Vec<Hop>)>,
	/// The channels this party sent the payment's locks in.
	pub outgoing: Vec<ChannelId>,
	/// When the entry was made, in milliseconds since the Unix epoch.
	pub unix_ms: u64,
}

/// The entry of `hash` in `table`, or a new one made now.
fn htlc_entry(table: &redb::Table<[u8; 32], &[u8]>, hash: &[u8; 32]) -> Result<HtlcEntry> {
	Ok(match table.get(hash)? {
		Some(bytes) => HtlcEntry::decode(&mut bytes.value())
			.context("a routed payment's entry in the store is corrupt")?,
		None => HtlcEntry { unix_ms: crate::events::unix_ms(), ..HtlcEntry::default() },
	})
}

/// A proof without locks as the first record layouts and the watched table store it.
#[derive(Encode, Decode)]
struct PlainProof {
	nonce: paychan_primitives::Nonce,
	transferred: u128,
	signature: [u8; 64],
}

impl From<PlainProof> for ProofState {
	fn from(plain: PlainProof) -> ProofState {
		let PlainProof { nonce, transferred, signature } = plain;
		ProofState { nonce, transferred, signature, locks: None }
	}
}

/// The first byte of a channel record of layout 4, whose proofs carry their locks; records of
/// the earlier layouts start with an `Option` tag (0 or 1).
const RECORD_LAYOUT_4: u8 = 4;

/// Which way a payment went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
	Sent,
	Received,
}

/// One entry of the payment history: what one acknowledged proof moved.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize)]
pub struct PaymentEntry {
	pub channel_id: ChannelId,
	pub direction: Direction,
	/// What this proof moved: its total less the previous proof's.
	#[serde(serialize_with = "crate::amount::as_string")]
	pub amount: u128,
	/// The proof's nonce and cumulative total.
	pub nonce: paychan_primitives::Nonce,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub transferred: u128,
	/// How many payments the proof covered (one for each the application submitted).
	pub payments: u32,
	/// When it was acknowledged, in milliseconds since the Unix epoch.
	pub unix_ms: u64,
}

/// Whether commits wait for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
	/// A commit returns once the data is on disk (fsync); the default.
	Immediate,
	/// A commit returns before the data is on disk: only for measuring what durability costs.
	None,
}

/// What a party keeps about one of its channels.
///
/// Stored SCALE-encoded after the byte [`RECORD_LAYOUT_4`] (docs/client.md, "The store").
/// Records of the earlier layouts are still read: their proofs have no locks; written before
/// `close_signed_until` existed (three fields) the missing fields are 0; written before
/// `opened_in` existed (four fields) it is unknown (all zero) until the record is next bound to
/// its channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelRecord {
	/// The newest proof this party signed and the counterparty acknowledged (what it paid).
	pub sent: Option<ProofState>,
	/// The newest valid proof from the counterparty (what this party was paid).
	pub received: Option<ProofState>,
	/// The highest withdrawn total this party consented to for the counterparty; counted as
	/// withdrawn until the chain shows more, because the consent may be used at any time before
	/// it expires.
	pub consented_withdrawal: u128,
	/// The last block at which a cooperative close this party signed can land: until then it
	/// neither pays nor accepts payments in the channel, which the split would not account for.
	pub close_signed_until: u32,
	/// The hash of the block in which the channel this record is about was opened. Channel ids
	/// restart at 0 on a chain started afresh with the same genesis (a `--dev` chain), so an id
	/// alone does not say that the record is about the channel the chain has under it now.
	pub opened_in: [u8; 32],
	/// The counterparty's account (zero until the record is first written in layout 4): the
	/// locks a settled channel still holds are found by it after the chain forgot the channel.
	pub counterparty: [u8; 32],
}

impl Encode for ChannelRecord {
	fn encode_to<T: codec::Output + ?Sized>(&self, dest: &mut T) {
		dest.push_byte(RECORD_LAYOUT_4);
		self.sent.encode_to(dest);
		self.received.encode_to(dest);
		self.consented_withdrawal.encode_to(dest);
		self.close_signed_until.encode_to(dest);
		self.opened_in.encode_to(dest);
		self.counterparty.encode_to(dest);
	}
}

impl Decode for ChannelRecord {
	fn decode<I: codec::Input>(input: &mut I) -> Result<Self, codec::Error> {
		let layout_4;
		let (sent, received) = match input.read_byte()? {
			RECORD_LAYOUT_4 => {
				layout_4 = true;
				(Decode::decode(input)?, Decode::decode(input)?)
			}
			// An earlier layout: the byte read is `sent`'s `Option` tag.
			tag => {
				layout_4 = false;
				let sent = match tag {
					0 => None,
					1 => Some(PlainProof::decode(input)?.into()),
					_ => return Err("a channel record of an unknown layout".into()),
				};
				let received: Option<PlainProof> = Decode::decode(input)?;
				(sent, received.map(ProofState::from))
			}
		};
		let consented_withdrawal = Decode::decode(input)?;
		// Absent in records of the first layout.
		let close_signed_until = match input.remaining_len()? {
			Some(0) => 0,
			_ => Decode::decode(input)?,
		};
		// Absent in records of the first two layouts.
		let opened_in = match input.remaining_len()? {
			Some(0) => [0; 32],
			_ => Decode::decode(input)?,
		};
		let counterparty = if layout_4 { Decode::decode(input)? } else { [0; 32] };
		Ok(ChannelRecord {
			sent,
			received,
			consented_withdrawal,
			close_signed_until,
			opened_in,
			counterparty,
		})
	}
}

impl ChannelRecord {
	/// Binds this record to the channel the chain has under its id now, opened in the block
	/// `opened_in`: a new record (or one of an earlier layout) takes it; a record about a channel
	/// opened in another block is of an earlier chain and is refused, so that none of its proofs
	/// or close markers is applied to this channel.
	pub fn bind_to(&mut self, channel_id: ChannelId, opened_in: [u8; 32]) -> Result<()> {
		if self.opened_in == [0; 32] {
			self.opened_in = opened_in;
			return Ok(());
		}
		anyhow::ensure!(
			self.opened_in == opened_in,
			"this party's store has a record of a channel {channel_id} that was opened in another \
			 block (0x{}) than the chain's channel {channel_id} (0x{}): the store is from an \
			 earlier chain with the same genesis (a dev chain started afresh). Nothing was \
			 changed; give this chain its own --data directory",
			crate::keys::hex(&self.opened_in),
			crate::keys::hex(&opened_in)
		);
		Ok(())
	}

	/// Takes from `other` whatever is newer than this record holds: the newer proof each way
	/// (by nonce), the larger consented withdrawal and close freeze, and the opening block if
	/// this record has none. Every field only ever grows, so merging two copies of a record
	/// loses nothing either copy knew.
	pub fn merge(&mut self, other: &ChannelRecord) {
		let newer = |mine: &mut Option<ProofState>, theirs: &Option<ProofState>| {
			if let Some(theirs) = theirs {
				if mine.as_ref().is_none_or(|held| theirs.supersedes(held)) {
					*mine = Some(theirs.clone());
				}
			}
		};
		newer(&mut self.sent, &other.sent);
		newer(&mut self.received, &other.received);
		self.consented_withdrawal = self.consented_withdrawal.max(other.consented_withdrawal);
		self.close_signed_until = self.close_signed_until.max(other.close_signed_until);
		if self.opened_in == [0; 32] {
			self.opened_in = other.opened_in;
		}
		if self.counterparty == [0; 32] {
			self.counterparty = other.counterparty;
		}
	}

	/// What this party has paid (0 before its first payment).
	pub fn paid(&self) -> u128 {
		self.sent.as_ref().map_or(0, |proof| proof.transferred)
	}

	/// What this party has been paid.
	pub fn earned(&self) -> u128 {
		self.received.as_ref().map_or(0, |proof| proof.transferred)
	}
}

/// The store of one party (or one watchtower).
pub struct Store {
	db: Handle,
	durability: redb::Durability,
}

/// One process writes a store; others (`paychan balance` beside a running listener) may read it.
enum Handle {
	Writer(Database),
	Reader(Option<ReadOnlyDatabase>),
}

impl Store {
	/// Opens the store at `path`, creating it if needed.
	pub fn open(path: &Path, durability: Durability) -> Result<Store> {
		if let Some(parent) = path.parent() {
			std::fs::create_dir_all(parent)?;
		}
		// Durable stores admit readers from other processes (`paychan balance` beside a running
		// listener); redb allows non-durable commits only to a process that has the file alone.
		let mode = match durability {
			Durability::Immediate => ConcurrencyMode::SingleWriter,
			Durability::None => ConcurrencyMode::ExclusiveWriter,
		};
		let db = Database::builder()
			.set_concurrency_mode(mode)
			.create(path)
			.with_context(|| format!("cannot open the store {}", path.display()))?;
		let txn = db.begin_write()?;
		txn.open_table(CHANNELS)?;
		txn.open_table(WATCHED)?;
		txn.open_table(PAYMENTS)?;
		txn.open_table(HTLCS)?;
		txn.commit()?;
		let durability = match durability {
			Durability::Immediate => redb::Durability::Immediate,
			Durability::None => redb::Durability::None,
		};
		Ok(Store { db: Handle::Writer(db), durability })
	}

	/// Opens the store at `path` for reading beside the process that writes it. A store that
	/// does not exist yet reads as empty.
	pub fn open_read_only(path: &Path) -> Result<Store> {
		if !path.exists() {
			return Ok(Store { db: Handle::Reader(None), durability: redb::Durability::Immediate });
		}
		let reader = || {
			Database::builder()
				.set_concurrency_mode(ConcurrencyMode::SingleWriter)
				.open_read_only(path)
		};
		let db = match reader() {
			// A writer that was killed (a daemon's SIGKILL, a power cut) leaves the file to be
			// repaired, which a reader may not do: the first writer repairs it, then it reads.
			Err(redb::DatabaseError::RepairAborted) => {
				drop(Store::open(path, Durability::Immediate).with_context(|| {
					format!("the store {} needs a repair after an unclean stop", path.display())
				})?);
				reader()
			}
			other => other,
		}
		.with_context(|| format!("cannot read the store {}", path.display()))?;
		let db = Some(db);
		Ok(Store { db: Handle::Reader(db), durability: redb::Durability::Immediate })
	}

	fn begin_read(&self) -> Result<Option<ReadTransaction>> {
		Ok(match &self.db {
			Handle::Writer(db) => Some(db.begin_read()?),
			Handle::Reader(Some(db)) => Some(db.begin_read()?),
			Handle::Reader(None) => None,
		})
	}

	fn begin_write(&self) -> Result<WriteTransaction> {
		let Handle::Writer(db) = &self.db else {
			anyhow::bail!("the store is open read-only (another process writes it)");
		};
		let mut txn = db.begin_write()?;
		txn.set_durability(self.durability)?;
		Ok(txn)
	}

	/// The record of `channel_id` (empty if none was stored).
	pub fn channel(&self, channel_id: ChannelId) -> Result<ChannelRecord> {
		let Some(txn) = self.begin_read()? else { return Ok(ChannelRecord::default()) };
		let table = txn.open_table(CHANNELS)?;
		Ok(match table.get(channel_id)? {
			Some(bytes) => ChannelRecord::decode(&mut bytes.value())
				.context("a channel record in the store is corrupt")?,
			None => ChannelRecord::default(),
		})
	}

	/// Every stored channel record.
	pub fn channels(&self) -> Result<Vec<(ChannelId, ChannelRecord)>> {
		let mut out = Vec::new();
		let Some(txn) = self.begin_read()? else { return Ok(out) };
		let table = txn.open_table(CHANNELS)?;
		for entry in table.iter()? {
			let (id, bytes) = entry?;
			let record = ChannelRecord::decode(&mut bytes.value())
				.context("a channel record in the store is corrupt")?;
			out.push((id.value(), record));
		}
		Ok(out)
	}

	/// Every stored channel record, once every write in progress (a commit of a session that was
	/// just stopped, say) has finished: one writer at a time, so waiting for the write lock is
	/// waiting for them.
	pub fn channels_after_pending_writes(&self) -> Result<Vec<(ChannelId, ChannelRecord)>> {
		if let Handle::Writer(db) = &self.db {
			db.begin_write()?.abort()?;
		}
		self.channels()
	}

	/// Writes `record` as it is and returns once it is durable (as configured). Writers that
	/// may run beside another session of the same channel use [`Store::merge_channel`].
	pub fn put_channel(&self, channel_id: ChannelId, record: &ChannelRecord) -> Result<()> {
		self.update_channel(channel_id, |stored| {
			*stored = record.clone();
			Ok(())
		})
		.map(|_| ())
	}

	/// Merges `record` into the stored one ([`ChannelRecord::merge`]) and returns the result
	/// once it is durable: a payer and a receiver session of one channel in one process each
	/// commit their own proofs without overwriting the other's.
	pub fn merge_channel(
		&self,
		channel_id: ChannelId,
		record: &ChannelRecord,
	) -> Result<ChannelRecord> {
		self.update_channel(channel_id, |stored| {
			stored.merge(record);
			Ok(())
		})
		.map(|(record, ())| record)
	}

	/// Reads `channel_id`'s record, lets `change` change it and writes it, in one write
	/// transaction (one writer at a time, so nothing else changes the record in between); returns
	/// the record written and what `change` returned once it is durable. If `change` fails,
	/// nothing is written.
	pub fn update_channel<T>(
		&self,
		channel_id: ChannelId,
		change: impl FnOnce(&mut ChannelRecord) -> Result<T>,
	) -> Result<(ChannelRecord, T)> {
		self.update_channel_logged(channel_id, &[], 0, change)
	}

	/// [`Store::update_channel`], appending `payments` to the payment history in the same
	/// transaction (so the history never shows a payment the record does not, or the reverse)
	/// and keeping only the newest `keep` entries (`0`: keep none).
	pub fn update_channel_logged<T>(
		&self,
		channel_id: ChannelId,
		payments: &[PaymentEntry],
		keep: u64,
		change: impl FnOnce(&mut ChannelRecord) -> Result<T>,
	) -> Result<(ChannelRecord, T)> {
		self.update_channel_noting_locks(channel_id, payments, keep, change, |_| Vec::new())
	}

	/// [`Store::update_channel_logged`], noting in the same transaction the locks `notes` names
	/// for what `change` returned (each a secret hash and the lock received: channel, amount,
	/// expiry and where it goes on), so that a lock is never in the record without the note that
	/// says where to forward it.
	#[allow(clippy::type_complexity)]
	pub fn update_channel_noting_locks<T>(
		&self,
		channel_id: ChannelId,
		payments: &[PaymentEntry],
		keep: u64,
		change: impl FnOnce(&mut ChannelRecord) -> Result<T>,
		notes: impl FnOnce(&T) -> Vec<([u8; 32], (ChannelId, u128, u32, Vec<Hop>))>,
	) -> Result<(ChannelRecord, T)> {
		let txn = self.begin_write()?;
		if !payments.is_empty() && keep > 0 {
			let mut table = txn.open_table(PAYMENTS)?;
			let mut next = table.last()?.map_or(0, |(seq, _)| seq.value() + 1);
			for entry in payments {
				table.insert(next, entry.encode().as_slice())?;
				next += 1;
			}
			// Pruned in the same transaction: the log never holds more than `keep` entries.
			let oldest_kept = next.saturating_sub(keep);
			if table.first()?.is_some_and(|(seq, _)| seq.value() < oldest_kept) {
				table.retain_in(..oldest_kept, |_, _| false)?;
			}
		}
		let (record, out) = {
			let mut table = txn.open_table(CHANNELS)?;
			let mut record = match table.get(channel_id)? {
				Some(bytes) => ChannelRecord::decode(&mut bytes.value())
					.context("a channel record in the store is corrupt")?,
				None => ChannelRecord::default(),
			};
			let out = change(&mut record)?;
			table.insert(channel_id, record.encode().as_slice())?;
			(record, out)
		};
		let notes = notes(&out);
		if !notes.is_empty() {
			let mut table = txn.open_table(HTLCS)?;
			for (hash, note) in notes {
				let mut entry = htlc_entry(&table, &hash)?;
				entry.incoming.push(note);
				table.insert(hash, entry.encode().as_slice())?;
			}
		}
		txn.commit()?;
		Ok((record, out))
	}

	/// Up to `limit` history entries, newest first, older than sequence number `before` (all
	/// if `None`): `(sequence number, entry)`. Page by passing the last sequence number seen.
	pub fn payments(&self, before: Option<u64>, limit: usize) -> Result<Vec<(u64, PaymentEntry)>> {
		let mut out = Vec::new();
		let Some(txn) = self.begin_read()? else { return Ok(out) };
		let table = txn.open_table(PAYMENTS)?;
		let range = table.range(..before.unwrap_or(u64::MAX))?;
		for entry in range.rev().take(limit) {
			let (seq, bytes) = entry?;
			let entry = PaymentEntry::decode(&mut bytes.value())
				.context("a payment history entry in the store is corrupt")?;
			out.push((seq.value(), entry));
		}
		Ok(out)
	}

	/// How many entries the payment history holds.
	pub fn payment_count(&self) -> Result<u64> {
		let Some(txn) = self.begin_read()? else { return Ok(0) };
		Ok(txn.open_table(PAYMENTS)?.len()?)
	}

	/// Stores `proof` from `signer` for a watched channel if it counts for more than the one
	/// stored: a higher `transferred`, the total the chain orders proofs by. Never by nonce: the
	/// signer itself may hand the tower a proof with a higher nonce and a lower total, which
	/// would shut out its newest proof and leave its stale close undisputed. Returns whether it
	/// was stored.
	pub fn watch(
		&self,
		channel_id: ChannelId,
		signer: [u8; 32],
		proof: &ProofState,
	) -> Result<bool> {
		anyhow::ensure!(
			proof.locks.is_none(),
			"a locked proof counts only when its beneficiary submits it: a watchtower cannot \
			 enforce it"
		);
		let txn = self.begin_write()?;
		let newer = {
			let mut table = txn.open_table(WATCHED)?;
			let stored = match table.get((channel_id, signer))? {
				Some(bytes) => Some(ProofState::from(PlainProof::decode(&mut bytes.value())?)),
				None => None,
			};
			let newer = stored.is_none_or(|stored| proof.supersedes(&stored));
			if newer {
				let ProofState { nonce, transferred, signature, .. } = proof.clone();
				let plain = PlainProof { nonce, transferred, signature };
				table.insert((channel_id, signer), plain.encode().as_slice())?;
			}
			newer
		};
		txn.commit()?;
		Ok(newer)
	}

	/// Every watched proof: `(channel id, signer, proof)`.
	pub fn watched(&self) -> Result<Vec<(ChannelId, [u8; 32], ProofState)>> {
		let mut out = Vec::new();
		let Some(txn) = self.begin_read()? else { return Ok(out) };
		let table = txn.open_table(WATCHED)?;
		for entry in table.iter()? {
			let (key, bytes) = entry?;
			let (channel_id, signer) = key.value();
			let proof = PlainProof::decode(&mut bytes.value())?.into();
			out.push((channel_id, signer, proof));
		}
		Ok(out)
	}

	/// What this party knows of the routed payment of `secret_hash`, if anything.
	pub fn htlc(&self, secret_hash: &[u8; 32]) -> Result<Option<HtlcEntry>> {
		let Some(txn) = self.begin_read()? else { return Ok(None) };
		let table = txn.open_table(HTLCS)?;
		let Some(bytes) = table.get(secret_hash)? else { return Ok(None) };
		Ok(Some(
			HtlcEntry::decode(&mut bytes.value())
				.context("a routed payment's entry in the store is corrupt")?,
		))
	}

	/// Every routed payment this party knows of: `(secret hash, entry)`.
	pub fn htlcs(&self) -> Result<Vec<([u8; 32], HtlcEntry)>> {
		let mut out = Vec::new();
		let Some(txn) = self.begin_read()? else { return Ok(out) };
		let table = txn.open_table(HTLCS)?;
		for entry in table.iter()? {
			let (hash, bytes) = entry?;
			let entry = HtlcEntry::decode(&mut bytes.value())
				.context("a routed payment's entry in the store is corrupt")?;
			out.push((hash.value(), entry));
		}
		Ok(out)
	}

	/// Changes the entries of `hashes` (a new one for each hash without) by `change`, all in one
	/// transaction: one commit for what a group of proofs or a frame brought.
	pub fn update_htlcs(
		&self,
		hashes: &[[u8; 32]],
		mut change: impl FnMut(usize, &mut HtlcEntry),
	) -> Result<()> {
		if hashes.is_empty() {
			return Ok(());
		}
		let txn = self.begin_write()?;
		{
			let mut table = txn.open_table(HTLCS)?;
			for (index, hash) in hashes.iter().enumerate() {
				let mut entry = htlc_entry(&table, hash)?;
				change(index, &mut entry);
				table.insert(hash, entry.encode().as_slice())?;
			}
		}
		txn.commit()?;
		Ok(())
	}

	/// Reads the entry of `secret_hash` (a new one if none), lets `change` change it and writes
	/// it in one transaction; returns the entry written and what `change` returned. If `change`
	/// fails, nothing is written.
	pub fn update_htlc<T>(
		&self,
		secret_hash: [u8; 32],
		change: impl FnOnce(&mut HtlcEntry) -> Result<T>,
	) -> Result<(HtlcEntry, T)> {
		let txn = self.begin_write()?;
		let (entry, out) = {
			let mut table = txn.open_table(HTLCS)?;
			let mut entry = htlc_entry(&table, &secret_hash)?;
			let out = change(&mut entry)?;
			table.insert(secret_hash, entry.encode().as_slice())?;
			(entry, out)
		};
		txn.commit()?;
		Ok((entry, out))
	}

	/// Forgets the watched proofs of a channel that no longer exists on chain.
	pub fn unwatch(&self, channel_id: ChannelId) -> Result<()> {
		let txn = self.begin_write()?;
		{
			let mut table = txn.open_table(WATCHED)?;
			table.retain(|(id, _), _| id != channel_id)?;
		}
		txn.commit()?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use paychan_primitives::Nonce;

	fn proof(nonce: Nonce) -> ProofState {
		ProofState { nonce, transferred: nonce as u128 * 10, signature: [1; 64], locks: None }
	}

	#[test]
	fn a_store_left_by_a_killed_writer_is_repaired_for_its_first_reader() {
		let dir =
			std::env::temp_dir().join(format!("paychan-store-unclean-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		std::fs::create_dir_all(&dir).unwrap();
		let (live, copy) = (dir.join("live.redb"), dir.join("copy.redb"));
		let writer = Store::open(&live, Durability::Immediate).unwrap();
		let record = ChannelRecord { received: Some(proof(9)), ..Default::default() };
		writer.put_channel(3, &record).unwrap();
		// A copy taken while the writer runs is what a SIGKILL leaves: marked for repair.
		std::fs::copy(&live, &copy).unwrap();
		let plain_reader = Database::builder()
			.set_concurrency_mode(ConcurrencyMode::SingleWriter)
			.open_read_only(&copy);
		assert!(matches!(plain_reader, Err(redb::DatabaseError::RepairAborted)));
		let reader = Store::open_read_only(&copy).unwrap();
		assert_eq!(reader.channel(3).unwrap(), record, "nothing committed is lost");
		drop(writer);
		let _ = std::fs::remove_dir_all(&dir);
	}

	#[test]
	fn a_watched_proof_is_not_replaced_by_a_higher_nonce_with_a_lower_total() {
		let path =
			std::env::temp_dir().join(format!("paychan-store-watch-{}.redb", std::process::id()));
		let _ = std::fs::remove_file(&path);
		let store = Store::open(&path, Durability::Immediate).unwrap();
		let honest = ProofState { nonce: 7, transferred: 45, signature: [1; 64], locks: None };
		assert!(store.watch(3, [2; 32], &honest).unwrap());
		// What the signer hands the tower before it closes with none of its payments.
		let planted =
			ProofState { nonce: u64::MAX, transferred: 0, signature: [3; 64], locks: None };
		assert!(!store.watch(3, [2; 32], &planted).unwrap());
		let lower = ProofState { nonce: 8, transferred: 44, signature: [4; 64], locks: None };
		assert!(!store.watch(3, [2; 32], &lower).unwrap());
		let same = ProofState { nonce: 7, transferred: 45, signature: [5; 64], locks: None };
		assert!(!store.watch(3, [2; 32], &same).unwrap(), "the same proof is not newer");
		assert_eq!(store.watched().unwrap(), vec![(3, [2; 32], honest)], "the honest proof stays");
		drop(store);
		let _ = std::fs::remove_file(&path);
	}

	#[test]
	fn records_survive_reopening() {
		let path = std::env::temp_dir().join(format!("paychan-store-{}.redb", std::process::id()));
		let _ = std::fs::remove_file(&path);
		{
			let store = Store::open(&path, Durability::Immediate).unwrap();
			let record = ChannelRecord {
				sent: Some(proof(3)),
				received: Some(proof(9)),
				consented_withdrawal: 5,
				close_signed_until: 12,
				opened_in: [6; 32],
				counterparty: [0; 32],
			};
			store.put_channel(7, &record).unwrap();
			assert!(store.watch(7, [2; 32], &proof(4)).unwrap());
			assert!(!store.watch(7, [2; 32], &proof(4)).unwrap(), "the same total is not newer");
			assert!(!store.watch(7, [2; 32], &proof(2)).unwrap(), "a lower total is not newer");
		}
		let store = Store::open(&path, Durability::Immediate).unwrap();
		assert_eq!(store.channel(7).unwrap().received, Some(proof(9)));
		assert_eq!(store.channel(8).unwrap(), ChannelRecord::default());
		assert_eq!(store.watched().unwrap(), vec![(7, [2; 32], proof(4))]);
		store.unwatch(7).unwrap();
		assert!(store.watched().unwrap().is_empty());
		std::fs::remove_file(&path).unwrap();
	}

	#[test]
	fn merging_keeps_the_newer_of_every_field() {
		let mut stored = ChannelRecord {
			sent: Some(proof(5)),
			received: Some(proof(2)),
			consented_withdrawal: 30,
			close_signed_until: 0,
			opened_in: [0; 32],
			counterparty: [0; 32],
		};
		// A receiver session's copy: older `sent`, newer `received`, a close freeze.
		let session = ChannelRecord {
			sent: Some(proof(4)),
			received: Some(proof(8)),
			consented_withdrawal: 10,
			close_signed_until: 40,
			opened_in: [3; 32],
			counterparty: [0; 32],
		};
		stored.merge(&session);
		assert_eq!(
			stored,
			ChannelRecord {
				sent: Some(proof(5)),
				received: Some(proof(8)),
				consented_withdrawal: 30,
				close_signed_until: 40,
				opened_in: [3; 32],
				counterparty: [0; 32],
			}
		);
		// A received proof of a higher nonce over a lower total never displaces the one held.
		let planted =
			ProofState { nonce: u64::MAX, transferred: 0, signature: [9; 64], locks: None };
		stored.merge(&ChannelRecord { received: Some(planted), ..ChannelRecord::default() });
		assert_eq!(stored.received, Some(proof(8)));
		// An opening block once bound stays.
		stored.merge(&ChannelRecord { opened_in: [9; 32], ..ChannelRecord::default() });
		assert_eq!(stored.opened_in, [3; 32]);
	}

	#[test]
	fn concurrent_sessions_of_one_channel_keep_both_proofs_and_the_history_stays_bounded() {
		let path =
			std::env::temp_dir().join(format!("paychan-store-merge-{}.redb", std::process::id()));
		let _ = std::fs::remove_file(&path);
		let store = Store::open(&path, Durability::Immediate).unwrap();
		let entry = |nonce: Nonce| PaymentEntry {
			channel_id: 1,
			direction: Direction::Sent,
			amount: 10,
			nonce,
			transferred: nonce as u128 * 10,
			payments: 1,
			unix_ms: 0,
		};
		// The payer and the receiver each hold a copy read before the other's commit.
		let payer = ChannelRecord { sent: Some(proof(3)), ..ChannelRecord::default() };
		let receiver = ChannelRecord { received: Some(proof(7)), ..ChannelRecord::default() };
		store.merge_channel(1, &receiver).unwrap();
		let merged = store.merge_channel(1, &payer).unwrap();
		assert_eq!((merged.sent, merged.received), (Some(proof(3)), Some(proof(7))));
		// A failed change writes nothing, history included.
		let failed = store.update_channel_logged(1, &[entry(1)], 3, |record| -> Result<()> {
			record.sent = None;
			anyhow::bail!("refused")
		});
		assert!(failed.is_err());
		assert_eq!(store.channel(1).unwrap().sent, Some(proof(3)));
		assert_eq!(store.payment_count().unwrap(), 0);
		for nonce in 1..=5 {
			store.update_channel_logged(1, &[entry(nonce)], 3, |_| Ok(())).unwrap();
		}
		let newest: Vec<Nonce> =
			store.payments(None, 10).unwrap().into_iter().map(|(_, e)| e.nonce).collect();
		assert_eq!(newest, vec![5, 4, 3], "only the newest three are kept");
		let page = store.payments(Some(3), 10).unwrap();
		assert_eq!(page.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![2]);
		std::fs::remove_file(&path).unwrap();
	}

	#[test]
	fn records_of_the_first_layout_still_read() {
		// sent, received, consented_withdrawal: what the client wrote before it kept
		// `close_signed_until`.
		let plain = |nonce: Nonce| {
			Some(PlainProof { nonce, transferred: nonce as u128 * 10, signature: [1; 64] })
		};
		let old = (plain(3), plain(9), 5u128).encode();
		let record = ChannelRecord::decode(&mut &old[..]).unwrap();
		assert_eq!(
			record,
			ChannelRecord {
				sent: Some(proof(3)),
				received: Some(proof(9)),
				consented_withdrawal: 5,
				close_signed_until: 0,
				opened_in: [0; 32],
				counterparty: [0; 32],
			}
		);
		// The second layout: the four fields before `opened_in`.
		let second = (plain(3), plain(9), 5u128, 7u32).encode();
		let record = ChannelRecord::decode(&mut &second[..]).unwrap();
		assert_eq!((record.close_signed_until, record.opened_in), (7, [0; 32]));
		let new = ChannelRecord { opened_in: [4; 32], ..record }.encode();
		let read = ChannelRecord::decode(&mut &new[..]).unwrap();
		assert_eq!((read.close_signed_until, read.opened_in), (7, [4; 32]));
		// The third layout: five fields, proofs without locks; no sent proof.
		let third = (None::<PlainProof>, plain(9), 5u128, 7u32, [4u8; 32]).encode();
		let record = ChannelRecord::decode(&mut &third[..]).unwrap();
		assert_eq!((record.sent, record.received), (None, Some(proof(9))));
		assert_eq!((record.close_signed_until, record.opened_in), (7, [4; 32]));
	}

	#[test]
	fn records_of_layout_4_keep_their_proofs_locks_and_start_with_the_layout_byte() {
		let lock = crate::htlc::HtlcLock { amount: 5, expires_at: 90, secret_hash: [3; 32] };
		let locked = ProofState { locks: Some(vec![lock]), ..proof(4) };
		let record = ChannelRecord {
			sent: Some(proof(3)),
			received: Some(locked),
			consented_withdrawal: 1,
			close_signed_until: 2,
			opened_in: [5; 32],
			counterparty: [6; 32],
		};
		let bytes = record.encode();
		assert_eq!(bytes[0], RECORD_LAYOUT_4);
		assert_eq!(ChannelRecord::decode(&mut &bytes[..]).unwrap(), record);
		assert!(ChannelRecord::decode(&mut &[2u8][..]).is_err(), "an unknown layout");
	}

	#[test]
	fn a_watchtower_store_refuses_a_locked_proof_and_keeps_the_plain_layout() {
		let path =
			std::env::temp_dir().join(format!("paychan-store-locked-{}.redb", std::process::id()));
		let _ = std::fs::remove_file(&path);
		let store = Store::open(&path, Durability::Immediate).unwrap();
		let locked = ProofState { locks: Some(vec![]), ..proof(5) };
		let refused = store.watch(3, [2; 32], &locked).unwrap_err().to_string();
		assert!(refused.contains("a watchtower cannot enforce it"), "{refused}");
		assert!(store.watched().unwrap().is_empty(), "nothing stored");
		assert!(store.watch(3, [2; 32], &proof(5)).unwrap());
		assert_eq!(store.watched().unwrap(), vec![(3, [2; 32], proof(5))]);
		store
			.update_htlc([8; 32], |entry| {
				entry.invoice = Some(7);
				Ok(())
			})
			.unwrap();
		// A lock is noted in the commit that takes it, and not at all if the change fails.
		let note = |hash: u8| vec![([hash; 32], (3, 5, 90, vec![]))];
		let refused = store.update_channel_noting_locks(
			3,
			&[],
			0,
			|_| -> Result<()> { anyhow::bail!("refused") },
			|_| note(9),
		);
		assert!(refused.is_err());
		assert_eq!(store.htlc(&[9; 32]).unwrap(), None);
		store.update_channel_noting_locks(3, &[], 0, |_| Ok(()), |_| note(9)).unwrap();
		assert_eq!(store.htlc(&[9; 32]).unwrap().unwrap().incoming, vec![(3, 5, 90, vec![])]);
		assert_eq!(store.htlc(&[8; 32]).unwrap().map(|e| e.invoice), Some(Some(7)));
		assert_eq!(store.htlcs().unwrap().len(), 2);
		drop(store);
		let _ = std::fs::remove_file(&path);
	}

	#[test]
	fn a_record_of_a_channel_opened_in_another_block_is_refused_unchanged() {
		// A new record, or one of an earlier layout, takes the channel it is first used for.
		let mut record = ChannelRecord { received: Some(proof(9)), ..ChannelRecord::default() };
		record.bind_to(0, [1; 32]).unwrap();
		assert_eq!(record.opened_in, [1; 32]);
		record.bind_to(0, [1; 32]).unwrap();
		// Channel 0 of a dev chain started afresh was opened in another block.
		let before = record.clone();
		let error = record.bind_to(0, [2; 32]).unwrap_err().to_string();
		assert!(error.contains("earlier chain") && error.contains("--data"), "{error}");
		assert_eq!(record, before, "the record is left as it was");
	}
}
