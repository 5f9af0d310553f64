//! The user's signing key: one sr25519 key signs extrinsics, balance proofs, consents and the
//! peer link's authentication.
//!
//! The key lives in a JSON key file that only its owner may read (mode 0600). The secret is a
//! Substrate secret URI: a hex seed (`0x…`), a BIP-39 phrase, or a dev name (`//Alice`), with
//! optional derivation junctions. Nothing in this module prints or logs the secret.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::{fs, io::Write, path::Path, str::FromStr};
use subxt::utils::AccountId32;
use subxt_signer::{
	sr25519::{self, Keypair},
	SecretUri,
};

/// The on-disk form of a key file.
#[derive(Serialize, Deserialize)]
struct KeyFile {
	/// Bumped if the format ever changes.
	version: u32,
	/// A Substrate secret URI.
	secret_uri: String,
}

const KEY_FILE_VERSION: u32 = 1;

/// A loaded signing key.
#[derive(Clone)]
pub struct Keys {
	pair: Keypair,
}

impl Keys {
	/// A key from a secret URI (`//Alice`, a phrase or `0x` seed).
	pub fn from_uri(uri: &str) -> Result<Self> {
		let uri = SecretUri::from_str(uri).map_err(|_| anyhow::anyhow!("invalid secret URI"))?;
		let pair = Keypair::from_uri(&uri).map_err(|_| anyhow::anyhow!("invalid secret URI"))?;
		Ok(Keys { pair })
	}

	/// Loads a key file written by [`Keys::save`] or `paychan key`. Like ssh with a private
	/// key, it refuses a file that others than its owner may read or write.
	pub fn load(path: &Path) -> Result<Self> {
		ensure_private(path)?;
		let text = fs::read_to_string(path)
			.with_context(|| format!("cannot read key file {}", path.display()))?;
		let file: KeyFile = serde_json::from_str(&text)
			.with_context(|| format!("key file {} is not valid JSON", path.display()))?;
		if file.version != KEY_FILE_VERSION {
			bail!("key file {} has unknown version {}", path.display(), file.version);
		}
		Self::from_uri(&file.secret_uri)
			.with_context(|| format!("key file {} holds an invalid secret URI", path.display()))
	}

	/// Writes a key file from a secret URI a user typed or piped in: refuses an empty one, and
	/// the public development phrase (`//Alice`, a bare `//` path, or the dev phrase itself) unless
	/// `allow_dev` says the user means it: anyone can spend from those accounts.
	pub fn import(uri: &str, path: &Path, allow_dev: bool) -> Result<Self> {
		let uri = uri.trim();
		if uri.is_empty() {
			bail!(
				"no secret URI on standard input: pipe in a BIP-39 phrase or a 0x seed \
				 (`paychan key import --out FILE < secret.txt`); nothing was written"
			);
		}
		if is_well_known(uri) && !allow_dev {
			bail!(
				"that secret URI derives from the public development phrase: anyone can spend \
				 from its accounts. Pass --allow-dev-key to import it anyway (dev chains only); \
				 nothing was written"
			);
		}
		Self::save(uri, path)
	}

	/// Writes `uri` to a new key file readable by its owner only; refuses to overwrite.
	pub fn save(uri: &str, path: &Path) -> Result<Self> {
		let keys = Self::from_uri(uri)?;
		let file = KeyFile { version: KEY_FILE_VERSION, secret_uri: uri.to_owned() };
		let mut options = fs::OpenOptions::new();
		options.write(true).create_new(true);
		#[cfg(unix)]
		{
			use std::os::unix::fs::OpenOptionsExt;
			options.mode(0o600);
		}
		let mut out = options
			.open(path)
			.with_context(|| format!("cannot create key file {}", path.display()))?;
		out.write_all(serde_json::to_string_pretty(&file)?.as_bytes())?;
		Ok(keys)
	}

	/// A fresh random key (a 32-byte seed from the operating system's generator).
	pub fn generate(path: &Path) -> Result<Self> {
		let seed: [u8; 32] = rand::random();
		let uri = format!("0x{}", hex(&seed));
		Self::save(&uri, path)
	}

	/// The account this key signs for.
	pub fn account(&self) -> AccountId32 {
		self.pair.public_key().to_account_id()
	}

	/// The raw public key (the account id's bytes).
	pub fn public(&self) -> [u8; 32] {
		self.pair.public_key().0
	}

	/// Signs `message` (already domain-tagged by the caller).
	pub fn sign(&self, message: &[u8]) -> [u8; 64] {
		self.pair.sign(message).0
	}

	/// The signer for extrinsics.
	pub fn signer(&self) -> &Keypair {
		&self.pair
	}
}

/// Whether the secret URI derives from the public development phrase: a bare derivation path
/// (`//Alice`, `//x/y`), which implies it, or the phrase itself with any path.
pub fn is_well_known(uri: &str) -> bool {
	let uri = uri.trim();
	if uri.starts_with('/') {
		return true;
	}
	let phrase = uri.split('/').next().unwrap_or_default();
	phrase.split_whitespace().eq(subxt_signer::DEV_PHRASE.split_whitespace())
}

/// Refuses a key file that group or others may read or write, naming the fix.
fn ensure_private(path: &Path) -> Result<()> {
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		let metadata = fs::metadata(path)
			.with_context(|| format!("cannot read key file {}", path.display()))?;
		let mode = metadata.permissions().mode() & 0o777;
		if mode & 0o077 != 0 {
			bail!(
				"key file {} is accessible by others (mode {mode:04o}): anyone on this machine \
				 could take its funds. Run `chmod 600 {}` (and move the funds to a new key if others \
				 may have read it)",
				path.display(),
				path.display()
			);
		}
	}
	Ok(())
}

/// Whether `signature` is `signer`'s sr25519 signature over `message`.
pub fn verify(signer: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
	sr25519::verify(&sr25519::Signature(*signature), message, &sr25519::PublicKey(*signer))
}

/// Lower-case hex without prefix.
pub fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn dev_name_gives_the_well_known_account() {
		let alice = Keys::from_uri("//Alice").unwrap();
		assert_eq!(alice.account().to_string(), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
	}

	#[test]
	fn signatures_verify_only_for_their_message_and_signer() {
		let alice = Keys::from_uri("//Alice").unwrap();
		let bob = Keys::from_uri("//Bob").unwrap();
		let signature = alice.sign(b"pay 5");
		assert!(verify(&alice.public(), b"pay 5", &signature));
		assert!(!verify(&alice.public(), b"pay 6", &signature));
		assert!(!verify(&bob.public(), b"pay 5", &signature));
	}

	#[test]
	fn key_file_round_trips_and_is_private() {
		let dir = std::env::temp_dir().join(format!("paychan-keys-{}", std::process::id()));
		fs::create_dir_all(&dir).unwrap();
		let path = dir.join("key.json");
		let _ = fs::remove_file(&path);
		let generated = Keys::generate(&path).unwrap();
		let loaded = Keys::load(&path).unwrap();
		assert_eq!(generated.public(), loaded.public());
		assert!(Keys::generate(&path).is_err(), "an existing key file is never overwritten");
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = fs::metadata(&path).unwrap().permissions().mode();
			assert_eq!(mode & 0o777, 0o600);
		}
		fs::remove_dir_all(&dir).unwrap();
	}

	fn scratch(name: &str) -> std::path::PathBuf {
		let dir = std::env::temp_dir().join(format!("paychan-keys-{}-{name}", std::process::id()));
		let _ = fs::remove_dir_all(&dir);
		fs::create_dir_all(&dir).unwrap();
		dir
	}

	#[test]
	fn empty_input_and_the_dev_phrase_are_not_imported() {
		let dir = scratch("import");
		let path = dir.join("key.json");
		for empty in ["", "  ", "\n", " \t\n"] {
			let error = Keys::import(empty, &path, false).err().expect("refused").to_string();
			assert!(error.contains("no secret URI"), "{error}");
			assert!(!path.exists(), "nothing is written for {empty:?}");
		}
		let dev = format!("{}//Alice", subxt_signer::DEV_PHRASE);
		for public in ["//Alice", "//alice//stash", "/soft", subxt_signer::DEV_PHRASE, dev.as_str()]
		{
			let error = Keys::import(public, &path, false).err().expect("refused").to_string();
			assert!(error.contains("--allow-dev-key"), "{public}: {error}");
			assert!(!path.exists());
		}
		let alice = Keys::import("//Alice\n", &path, true).unwrap();
		assert_eq!(alice.account().to_string(), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
		let other = dir.join("other.json");
		let seed = format!("0x{}", "11".repeat(32));
		assert!(Keys::import(&seed, &other, false).is_ok(), "a private seed needs no flag");
		fs::remove_dir_all(&dir).unwrap();
	}

	#[cfg(unix)]
	#[test]
	fn key_files_others_can_read_are_refused_with_the_fix() {
		use std::os::unix::fs::PermissionsExt;
		let dir = scratch("modes");
		let path = dir.join("key.json");
		Keys::generate(&path).unwrap();
		for mode in [0o644, 0o666, 0o640, 0o604, 0o620] {
			fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
			let error = Keys::load(&path).err().expect("refused").to_string();
			assert!(error.contains(&format!("chmod 600 {}", path.display())), "{error}");
			assert!(error.contains(&format!("{mode:04o}")), "{error}");
		}
		fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
		assert!(Keys::load(&path).is_ok(), "owner-only read is fine");
		fs::remove_dir_all(&dir).unwrap();
	}

	#[cfg(unix)]
	#[test]
	fn a_bad_secret_uri_names_its_file() {
		use std::os::unix::fs::PermissionsExt;
		let dir = scratch("bad-uri");
		let path = dir.join("key.json");
		fs::write(&path, r#"{"version":1,"secret_uri":"0xnot-hex"}"#).unwrap();
		fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
		let error = format!("{:#}", Keys::load(&path).err().expect("refused"));
		assert!(
			error.contains(&path.display().to_string()) && error.contains("secret URI"),
			"{error}"
		);
		fs::remove_dir_all(&dir).unwrap();
	}
}
