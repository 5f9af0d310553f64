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
	TableDefinition, WriteTransaction,
};
use std::path::Path;

use crate::wire::ProofState;

/// Channel records by channel id.
const CHANNELS: TableDefinition<ChannelId, &[u8]> = TableDefinition::new("channels");
/// Watched proofs (watchtower) by channel id and signer.
const WATCHED: TableDefinition<(ChannelId, [u8; 32]), &[u8]> = TableDefinition::new("watched");

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
/// Stored SCALE-encoded. Records of the earlier layouts are still read: written before
/// `close_signed_until` existed (three fields) the missing fields are 0; written before
/// `opened_in` existed (four fields) it is unknown (all zero) until the record is next bound to
/// its channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode)]
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
}

impl Decode for ChannelRecord {
	fn decode<I: codec::Input>(input: &mut I) -> Result<Self, codec::Error> {
		let sent = Decode::decode(input)?;
		let received = Decode::decode(input)?;
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
		Ok(ChannelRecord { sent, received, consented_withdrawal, close_signed_until, opened_in })
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
		let db = if path.exists() {
			Some(
				Database::builder()
					.set_concurrency_mode(ConcurrencyMode::SingleWriter)
					.open_read_only(path)
					.with_context(|| format!("cannot read the store {}", path.display()))?,
			)
		} else {
			None
		};
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

	/// Writes `record` and returns once it is durable (as configured).
	pub fn put_channel(&self, channel_id: ChannelId, record: &ChannelRecord) -> Result<()> {
		let txn = self.begin_write()?;
		{
			let mut table = txn.open_table(CHANNELS)?;
			table.insert(channel_id, record.encode().as_slice())?;
		}
		txn.commit()?;
		Ok(())
	}

	/// Stores `proof` from `signer` for a watched channel if it is newer than the one stored.
	/// Returns whether it was newer.
	pub fn watch(
		&self,
		channel_id: ChannelId,
		signer: [u8; 32],
		proof: &ProofState,
	) -> Result<bool> {
		let txn = self.begin_write()?;
		let newer = {
			let mut table = txn.open_table(WATCHED)?;
			let stored = match table.get((channel_id, signer))? {
				Some(bytes) => Some(ProofState::decode(&mut bytes.value())?.nonce),
				None => None,
			};
			let newer = stored.is_none_or(|nonce| nonce < proof.nonce);
			if newer {
				table.insert((channel_id, signer), proof.encode().as_slice())?;
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
			out.push((channel_id, signer, ProofState::decode(&mut bytes.value())?));
		}
		Ok(out)
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
		ProofState { nonce, transferred: nonce as u128 * 10, signature: [1; 64] }
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
			};
			store.put_channel(7, &record).unwrap();
			assert!(store.watch(7, [2; 32], &proof(4)).unwrap());
			assert!(!store.watch(7, [2; 32], &proof(4)).unwrap(), "same nonce is not newer");
			assert!(!store.watch(7, [2; 32], &proof(2)).unwrap(), "older is not newer");
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
	fn records_of_the_first_layout_still_read() {
		// sent, received, consented_withdrawal: what the client wrote before it kept
		// `close_signed_until`.
		let old = (Some(proof(3)), Some(proof(9)), 5u128).encode();
		let record = ChannelRecord::decode(&mut &old[..]).unwrap();
		assert_eq!(
			record,
			ChannelRecord {
				sent: Some(proof(3)),
				received: Some(proof(9)),
				consented_withdrawal: 5,
				close_signed_until: 0,
				opened_in: [0; 32],
			}
		);
		// The second layout: the four fields before `opened_in`.
		let second = (Some(proof(3)), Some(proof(9)), 5u128, 7u32).encode();
		let record = ChannelRecord::decode(&mut &second[..]).unwrap();
		assert_eq!((record.close_signed_until, record.opened_in), (7, [0; 32]));
		let new = ChannelRecord { opened_in: [4; 32], ..record }.encode();
		let read = ChannelRecord::decode(&mut &new[..]).unwrap();
		assert_eq!((read.close_signed_until, read.opened_in), (7, [4; 32]));
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
