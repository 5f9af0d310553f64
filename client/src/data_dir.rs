//! Which chain a party's store belongs to.
//!
//! Channel ids start at 0 on every chain, so a store kept from another chain (a dev chain
//! started afresh, a testnet reset) names channels that are not the ones on this chain: its
//! proofs and close markers would be applied to a stranger's channel, freezing it or signing a
//! cooperative split for payments that never happened here. So the default store lives under
//! the chain's genesis hash, and every store directory records the genesis hash it was made for
//! (the file `genesis`); a command refuses a store of another chain.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The file in a store directory that names its chain.
const MARKER: &str = "genesis";

/// `0x` and the 64 hex digits of a genesis hash.
fn hex(genesis: &[u8; 32]) -> String {
	format!("0x{}", crate::keys::hex(genesis))
}

/// The default store directory of `account` on the chain with `genesis`:
/// `<home>/.paychan/<account>/<first 8 bytes of the genesis hash>`.
pub fn default_dir(home: &Path, account: &str, genesis: &[u8; 32]) -> PathBuf {
	home.join(".paychan").join(account).join(&hex(genesis)[2..18])
}

/// Checks that the store directory `dir` belongs to the chain with `genesis`, recording it if
/// the directory has no chain yet. `legacy`, for the default directory, is where an earlier
/// client kept the store without naming its chain: it is not guessed at, but named with the
/// command that moves it.
pub fn ensure_for_chain(dir: &Path, genesis: &[u8; 32], legacy: Option<&Path>) -> Result<()> {
	let marker = dir.join(MARKER);
	let expected = hex(genesis);
	match std::fs::read_to_string(&marker) {
		Ok(recorded) if recorded.trim() == expected => return Ok(()),
		Ok(recorded) => bail!(
			"the store in {} belongs to the chain with genesis {}, but the node is the chain \
			 with genesis {expected}: its channel ids name other channels. Give this chain its \
			 own --data directory, or move that store aside if its chain is gone",
			dir.display(),
			recorded.trim()
		),
		Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
		Err(error) => {
			return Err(error).with_context(|| format!("cannot read {}", marker.display()))
		}
	}
	if let Some(old) = legacy.map(|old| old.join("store.redb")).filter(|old| old.exists()) {
		if !dir.join("store.redb").exists() {
			bail!(
				"an earlier paychan kept this key's store in {} without naming its chain. If it \
				 is this chain's (genesis {expected}), move it: `mkdir -p {} && mv {} {}/`; if \
				 its chain is gone, move it aside. Nothing was changed",
				old.display(),
				dir.display(),
				old.display(),
				dir.display()
			);
		}
	}
	std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
	std::fs::write(&marker, format!("{expected}\n"))
		.with_context(|| format!("cannot write {}", marker.display()))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn temp(name: &str) -> PathBuf {
		let dir = std::env::temp_dir().join(format!("paychan-data-{name}-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		dir
	}

	#[test]
	fn each_chain_has_its_own_default_store() {
		let home = Path::new("/home/u");
		let a = default_dir(home, "5Grw", &[1; 32]);
		let b = default_dir(home, "5Grw", &[2; 32]);
		assert_ne!(a, b);
		assert_eq!(a, Path::new("/home/u/.paychan/5Grw/0101010101010101"));
	}

	#[test]
	fn a_store_of_another_chain_is_refused_and_left_as_it_was() {
		let dir = temp("other-chain");
		ensure_for_chain(&dir, &[1; 32], None).unwrap();
		ensure_for_chain(&dir, &[1; 32], None).unwrap();
		let error = ensure_for_chain(&dir, &[2; 32], None).unwrap_err().to_string();
		assert!(error.contains(&hex(&[1; 32])) && error.contains(&hex(&[2; 32])), "{error}");
		assert_eq!(std::fs::read_to_string(dir.join(MARKER)).unwrap().trim(), hex(&[1; 32]));
		std::fs::remove_dir_all(&dir).unwrap();
	}

	#[test]
	fn a_store_of_an_earlier_version_is_named_not_adopted() {
		let old = temp("legacy");
		std::fs::create_dir_all(&old).unwrap();
		std::fs::write(old.join("store.redb"), b"old").unwrap();
		let dir = old.join("0101010101010101");
		let error = ensure_for_chain(&dir, &[1; 32], Some(&old)).unwrap_err().to_string();
		assert!(error.contains("mv ") && error.contains("Nothing was changed"), "{error}");
		assert!(!dir.exists(), "nothing was created");
		// Moved as the message says, it is this chain's.
		std::fs::create_dir_all(&dir).unwrap();
		std::fs::rename(old.join("store.redb"), dir.join("store.redb")).unwrap();
		ensure_for_chain(&dir, &[1; 32], Some(&old)).unwrap();
		std::fs::remove_dir_all(&old).unwrap();
	}
}
