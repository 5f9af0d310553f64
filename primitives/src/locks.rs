//! Conditional payments: hash-time locks, and the commitment a balance proof makes to the locks
//! pending in it (docs/protocol.md §10).
//!
//! A lock pays `amount` to the receiver if the preimage of `secret_hash` was registered on chain
//! at a block no later than `expires_at`, and returns it to the sender otherwise. A balance
//! proof that carries locks commits to them by `locked` (their sum) and `locks_root`, the root
//! of a binary Merkle tree over the locks in order, so that after a close each lock can be
//! unlocked on its own with a proof of a few hashes, and the chain never stores the list.
//!
//! The tree: each leaf is `blake2_256(LOCK_LEAF_TAG ‖ SCALE(lock))`; each inner node is
//! `blake2_256(LOCK_NODE_TAG ‖ left ‖ right)`; at a level with an odd number of nodes the last
//! one is carried up unchanged. The root is `blake2_256(count as u32 LE ‖ tree root)`, so that a
//! proof also fixes how many locks there are, and the root of no locks is [`EMPTY_LOCKS_ROOT`].

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_crypto_hashing::blake2_256;

/// The most locks one balance proof may carry (so a lock's index fits a 64-bit set, and a proof
/// of inclusion is at most 6 hashes).
pub const MAX_LOCKS: u32 = 64;
/// The longest inclusion proof: `ceil(log2(MAX_LOCKS))` hashes.
pub const MAX_LOCK_PROOF_HASHES: u32 = 6;
/// Separates lock leaves from inner nodes and from every other hash.
pub const LOCK_LEAF_TAG: &[u8] = b"paychan:lock";
/// Separates inner nodes from leaves.
pub const LOCK_NODE_TAG: &[u8] = b"paychan:lock-node";
/// The `locks_root` of a proof with no pending locks.
pub const EMPTY_LOCKS_ROOT: [u8; 32] = [0; 32];

/// A hash-time lock: `amount` for the receiver if the preimage of `secret_hash` is registered
/// on chain by block `expires_at`, back to the sender otherwise.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Lock<Balance, BlockNumber> {
	pub amount: Balance,
	pub expires_at: BlockNumber,
	pub secret_hash: [u8; 32],
}

/// Where a lock sits in its tree, and the sibling hashes from its leaf up to the tree's root
/// (levels where it has no sibling contribute none).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct LockProof {
	/// The lock's position among the proof's locks, from 0.
	pub index: u32,
	/// How many locks the proof carries.
	pub count: u32,
	/// At most [`MAX_LOCK_PROOF_HASHES`]; [`verify_lock`] refuses more.
	pub siblings: Vec<[u8; 32]>,
}

/// The hash a secret is locked under.
pub fn secret_hash(secret: &[u8; 32]) -> [u8; 32] {
	blake2_256(secret)
}

/// The leaf of `lock` in a tree of locks.
pub fn lock_leaf<Balance: Encode, BlockNumber: Encode>(
	lock: &Lock<Balance, BlockNumber>,
) -> [u8; 32] {
	let mut bytes = Vec::with_capacity(LOCK_LEAF_TAG.len() + lock.size_hint());
	bytes.extend_from_slice(LOCK_LEAF_TAG);
	lock.encode_to(&mut bytes);
	blake2_256(&bytes)
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
	let mut bytes = [0u8; LOCK_NODE_TAG.len() + 64];
	bytes[..LOCK_NODE_TAG.len()].copy_from_slice(LOCK_NODE_TAG);
	bytes[LOCK_NODE_TAG.len()..LOCK_NODE_TAG.len() + 32].copy_from_slice(left);
	bytes[LOCK_NODE_TAG.len() + 32..].copy_from_slice(right);
	blake2_256(&bytes)
}

fn committed(count: u32, tree_root: &[u8; 32]) -> [u8; 32] {
	let mut bytes = [0u8; 36];
	bytes[..4].copy_from_slice(&count.to_le_bytes());
	bytes[4..].copy_from_slice(tree_root);
	blake2_256(&bytes)
}

/// The next level up of a tree level.
fn level_up(level: &[[u8; 32]]) -> Vec<[u8; 32]> {
	level
		.chunks(2)
		.map(|pair| match pair {
			[left, right] => node(left, right),
			[alone] => *alone,
			_ => unreachable!("chunks of two"),
		})
		.collect()
}

/// The `locks_root` of `locks`, in order, or `None` for more than [`MAX_LOCKS`].
pub fn locks_root<Balance: Encode, BlockNumber: Encode>(
	locks: &[Lock<Balance, BlockNumber>],
) -> Option<[u8; 32]> {
	if locks.len() > MAX_LOCKS as usize {
		return None;
	}
	if locks.is_empty() {
		return Some(EMPTY_LOCKS_ROOT);
	}
	let mut level: Vec<[u8; 32]> = locks.iter().map(lock_leaf).collect();
	while level.len() > 1 {
		level = level_up(&level);
	}
	Some(committed(locks.len() as u32, &level[0]))
}

/// The inclusion proof of `locks[index]`, or `None` if there is no such lock or too many.
pub fn lock_proof<Balance: Encode, BlockNumber: Encode>(
	locks: &[Lock<Balance, BlockNumber>],
	index: usize,
) -> Option<LockProof> {
	if index >= locks.len() || locks.len() > MAX_LOCKS as usize {
		return None;
	}
	let mut level: Vec<[u8; 32]> = locks.iter().map(lock_leaf).collect();
	let mut position = index;
	let mut siblings = Vec::new();
	while level.len() > 1 {
		let sibling = position ^ 1;
		if sibling < level.len() {
			siblings.push(level[sibling]);
		}
		level = level_up(&level);
		position /= 2;
	}
	Some(LockProof { index: index as u32, count: locks.len() as u32, siblings })
}

/// Whether `proof` shows that `lock` is among the locks `root` commits to, at `proof.index`.
pub fn verify_lock<Balance: Encode, BlockNumber: Encode>(
	root: &[u8; 32],
	lock: &Lock<Balance, BlockNumber>,
	proof: &LockProof,
) -> bool {
	let LockProof { index, count, siblings } = proof;
	if *count == 0
		|| *count > MAX_LOCKS
		|| index >= count
		|| siblings.len() > MAX_LOCK_PROOF_HASHES as usize
	{
		return false;
	}
	let mut hash = lock_leaf(lock);
	let (mut position, mut width) = (*index as usize, *count as usize);
	let mut used = 0;
	while width > 1 {
		let sibling = position ^ 1;
		if sibling < width {
			let Some(other) = siblings.get(used) else { return false };
			used += 1;
			hash = if position % 2 == 0 { node(&hash, other) } else { node(other, &hash) };
		}
		position /= 2;
		width = width.div_ceil(2);
	}
	used == siblings.len() && committed(*count, &hash) == *root
}

#[cfg(test)]
mod tests {
	use super::*;

	type TestLock = Lock<u128, u32>;

	fn locks(count: usize) -> Vec<TestLock> {
		(0..count)
			.map(|i| Lock {
				amount: 1_000 + i as u128,
				expires_at: 100 + i as u32,
				secret_hash: secret_hash(&[i as u8; 32]),
			})
			.collect()
	}

	#[test]
	fn every_lock_of_every_tree_size_proves_its_place_and_no_other() {
		for count in 1..=MAX_LOCKS as usize {
			let set = locks(count);
			let root = locks_root(&set).unwrap();
			for (index, lock) in set.iter().enumerate() {
				let proof = lock_proof(&set, index).unwrap();
				assert!(proof.siblings.len() <= MAX_LOCK_PROOF_HASHES as usize);
				assert!(verify_lock(&root, lock, &proof), "count {count} index {index}");
				// Another lock of the set does not pass at this place.
				if count > 1 {
					let other = &set[(index + 1) % count];
					assert!(!verify_lock(&root, other, &proof), "count {count} index {index}");
				}
			}
		}
	}

	#[test]
	fn a_forged_proof_or_lock_is_refused() {
		let set = locks(5);
		let root = locks_root(&set).unwrap();
		let proof = lock_proof(&set, 2).unwrap();
		let lock = &set[2];
		let mut richer = lock.clone();
		richer.amount += 1;
		assert!(!verify_lock(&root, &richer, &proof), "a raised amount");
		let mut later = lock.clone();
		later.expires_at += 1;
		assert!(!verify_lock(&root, &later, &proof), "a later expiry");
		let moved = LockProof { index: 3, ..proof.clone() };
		assert!(!verify_lock(&root, lock, &moved), "another index");
		let recounted = LockProof { count: 6, ..proof.clone() };
		assert!(!verify_lock(&root, lock, &recounted), "another count");
		let mut tampered = proof.clone();
		tampered.siblings[0][0] ^= 1;
		assert!(!verify_lock(&root, lock, &tampered), "a tampered sibling");
		let mut longer = proof.clone();
		longer.siblings.push([0; 32]);
		assert!(!verify_lock(&root, lock, &longer), "a sibling too many");
		let mut shorter = proof.clone();
		shorter.siblings.pop();
		assert!(!verify_lock(&root, lock, &shorter), "a sibling too few");
		assert!(!verify_lock(&EMPTY_LOCKS_ROOT, lock, &proof), "no locks");
		let past_end = LockProof { index: 5, count: 5, siblings: proof.siblings.clone() };
		assert!(!verify_lock(&root, lock, &past_end), "an index past the count");
	}

	#[test]
	fn the_root_commits_to_every_lock_their_order_and_their_count() {
		let set = locks(4);
		let root = locks_root(&set).unwrap();
		let mut swapped = set.clone();
		swapped.swap(0, 1);
		assert_ne!(locks_root(&swapped).unwrap(), root, "order");
		assert_ne!(locks_root(&set[..3]).unwrap(), root, "count");
		// A tree of one lock is not its leaf: the count is committed too.
		assert_ne!(locks_root(&set[..1]).unwrap(), lock_leaf(&set[0]));
		assert_eq!(locks_root::<u128, u32>(&[]), Some(EMPTY_LOCKS_ROOT));
		assert_eq!(locks_root(&locks(MAX_LOCKS as usize + 1)), None, "too many locks");
		assert_eq!(lock_proof(&locks(MAX_LOCKS as usize + 1), 0), None);
		assert_eq!(lock_proof(&set, 4), None);
	}

	#[test]
	fn a_lock_encodes_as_docs_protocol_md_says() {
		let lock: TestLock = Lock { amount: 5, expires_at: 7, secret_hash: [9; 32] };
		let bytes = lock.encode();
		assert_eq!(bytes.len(), 16 + 4 + 32);
		assert_eq!(&bytes[..16], &5u128.to_le_bytes());
		assert_eq!(&bytes[16..20], &7u32.to_le_bytes());
		assert_eq!(&bytes[20..], &[9; 32]);
		// The secret-hash rule and a leaf, as test vectors for other clients.
		assert_eq!(
			hex(&secret_hash(&[0; 32])),
			"89eb0d6a8a691dae2cd15ed0369931ce0a949ecafa5c3f93f8121833646e15c3"
		);
		// Checked independently with Python's hashlib.blake2b(digest_size=32).
		assert_eq!(
			hex(&lock_leaf(&lock)),
			"6c024e33d9f402488938c95ded6e8d4ab68317d535e3cb6d31b5e593856dc5e8"
		);
		let pair = [lock.clone(), Lock { amount: 6, expires_at: 8, secret_hash: [10; 32] }];
		assert_eq!(
			hex(&locks_root(&pair).unwrap()),
			"1efb7389d53e4387ead94489e511169abef1d07ca5acd33f5c65446853e5e3d0"
		);
	}

	fn hex(bytes: &[u8]) -> String {
		bytes.iter().map(|b| format!("{b:02x}")).collect()
	}
}
