//! The peer protocol: versioned SCALE messages inside Noise-encrypted frames over TCP.
//!
//! A link starts with a Noise `XX` handshake (X25519, ChaCha20-Poly1305, BLAKE2s), as
//! Lightning's BOLT 8 uses Noise. Noise's static keys here are fresh per connection; what
//! authenticates a party is its sr25519 channel key: each side's first transport message is an
//! [`Auth`] whose signature covers the handshake hash and the side's role, so the link is bound to
//! the key that signs the channel's balance proofs, and a recorded `Auth` is useless in any other
//! session.
//!
//! On the wire a frame is a 2-byte big-endian length and one Noise message (at most 65 535
//! bytes). Its plaintext is one version byte ([`WIRE_VERSION`]) and a SCALE `Vec<Message>`, so a
//! sender can put hundreds of payments in one frame.

use anyhow::{anyhow, bail, ensure, Context, Result};
use codec::{Decode, DecodeLimit, Encode};
use paychan_primitives::{
	locks::MAX_LOCKS, BalanceProof, ChannelId, LockedBalanceProof, Nonce, SignedPayload,
	StateVersion,
};
use std::sync::Arc;
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter},
	net::{
		tcp::{OwnedReadHalf, OwnedWriteHalf},
		TcpStream,
	},
};

use crate::{
	htlc::HtlcLock,
	keys::{self, Keys},
};

/// The plaintext format version; a peer that sends another is refused. Version 2: proofs carry
/// their pending locks, and the lock, reveal and fail messages of routed payments.
pub const WIRE_VERSION: u8 = 2;
/// The Noise protocol of every link.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// Domain tag of the link authentication signature.
pub const LINK_AUTH_TAG: &[u8] = b"paychan:link-auth:v1";
/// Largest Noise message.
const MAX_NOISE_MESSAGE: usize = 65_535;
/// Noise's authentication tag on every transport message.
const NOISE_TAG_LEN: usize = 16;
/// Plaintext a sender fills a frame up to before it starts a new one.
pub const FRAME_BUDGET: usize = 60_000;

/// A counterparty's signed balance proof as it travels between parties: the payload fields
/// that vary (the genesis hash and channel id are fixed by the session) and the signature.
///
/// `locks` says which payload the signature covers: `None` a [`BalanceProof`] (§2.1), `Some`
/// a [`LockedBalanceProof`] (§10.3) over these pending locks, in order (possibly none: once a
/// signer used locks in a channel it signs every later proof in this form).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProofState {
	pub nonce: Nonce,
	pub transferred: u128,
	pub signature: [u8; 64],
	pub locks: Option<Vec<HtlcLock>>,
}

impl ProofState {
	/// Whether this proof counts for more than `other` of the same signer and channel.
	///
	/// Between plain proofs: a higher total, the only order the chain knows (a proof is recorded
	/// if it raises its signer's `transferred`), and the higher nonce between equal totals. Every
	/// place that keeps one proof of two uses this, never the nonce alone: a signer can sign a
	/// higher nonce over a lower total, and a proof kept by nonce would then lose what the signer
	/// had paid. Where either is locked, the higher nonce, which is how the chain orders locked
	/// proofs; a receiver takes a locked proof only after checking what it changed
	/// ([`crate::htlc::check_transition`]), so only its own checked proofs meet here.
	pub fn supersedes(&self, other: &ProofState) -> bool {
		if self.locks.is_some() || other.locks.is_some() {
			return self.nonce > other.nonce;
		}
		(self.transferred, self.nonce) > (other.transferred, other.nonce)
	}

	/// The sum of the pending locks (0 for a plain proof).
	pub fn locked(&self) -> u128 {
		self.locks.iter().flatten().map(|lock| lock.amount).sum()
	}

	/// The pending locks (none for a plain proof).
	pub fn pending_locks(&self) -> &[HtlcLock] {
		self.locks.as_deref().unwrap_or(&[])
	}

	/// The balance proof this is a signature over, in `channel_id` of the chain `genesis_hash`,
	/// read as a plain proof (the locked form's [`ProofState::locked_payload`]).
	pub fn payload(
		&self,
		genesis_hash: [u8; 32],
		channel_id: ChannelId,
	) -> BalanceProof<[u8; 32], u128> {
		BalanceProof { genesis_hash, channel_id, nonce: self.nonce, transferred: self.transferred }
	}

	/// The locked balance proof this is a signature over (with no locks if it is plain).
	pub fn locked_payload(
		&self,
		genesis_hash: [u8; 32],
		channel_id: ChannelId,
	) -> LockedBalanceProof<[u8; 32], u128> {
		crate::htlc::locked_payload(
			genesis_hash,
			channel_id,
			self.nonce,
			self.transferred,
			self.pending_locks(),
		)
	}

	/// The bytes the signature covers: the plain or the locked payload, as `locks` says.
	pub fn signing_message(&self, genesis_hash: [u8; 32], channel_id: ChannelId) -> Vec<u8> {
		match self.locks {
			None => self.payload(genesis_hash, channel_id).signing_message(),
			Some(_) => self.locked_payload(genesis_hash, channel_id).signing_message(),
		}
	}
}

/// One hop after the receiver of a lock, for a lock that is forwarded: the channel to forward
/// it in (from the receiver), and the amount and expiry the next lock carries. What the
/// receiver keeps is what its incoming lock carries over `amount`: its fee.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Hop {
	pub channel_id: ChannelId,
	pub amount: u128,
	pub expires_at: u32,
}

/// The most hops a routed payment may take after its first.
pub const MAX_ONWARD_HOPS: usize = 19;

/// Proves which channel key is at the other end of a link.
#[derive(Clone, Debug, Encode, Decode)]
pub struct Auth {
	pub account: [u8; 32],
	pub signature: [u8; 64],
}

/// Everything parties and watchtowers say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Message {
	/// First message of a payment session, from the party that connected.
	Hello { genesis_hash: [u8; 32], channel_id: ChannelId },
	/// The answer to `Hello`: the newest proof the listener holds from the connecting party (where
	/// its payments resume) and the newest the listener has signed itself.
	Welcome { held_from_you: Option<ProofState>, signed_by_me: Option<ProofState> },
	/// A payment: the sender's new cumulative balance proof.
	Pay(ProofState),
	/// Every payment up to this nonce is durable at the receiver.
	Ack { nonce: Nonce },
	/// The receiver refused the payments from this nonce on; the session ends.
	Refused { nonce: Nonce, reason: String },
	/// A cooperative close: the proposed payouts, the channel state they are for (the chain's
	/// state version and the nonces of both sides' newest proofs), the last block it may land in,
	/// and the proposer's signature over all of it.
	CloseRequest {
		payout_opener: u128,
		payout_counterparty: u128,
		version: StateVersion,
		nonces: [Nonce; 2],
		expires_at: u32,
		signature: [u8; 64],
	},
	/// The other participant's signature over the proposed close.
	CloseSigned { signature: [u8; 64] },
	/// Ask the other participant to consent to a withdrawal of `amount` from the channel.
	WithdrawRequest { amount: u128 },
	/// The consent: a withdraw proof's variable fields and its signature.
	WithdrawSigned { total_withdrawn: u128, expires_at: u32, signature: [u8; 64] },
	/// Hands a watchtower a counterparty's proof to enforce if the counterparty closes.
	Watch { channel_id: ChannelId, signer: [u8; 32], proof: ProofState },
	/// The watchtower stored every proof up to this one.
	Watching { channel_id: ChannelId, nonce: Nonce },
	/// A request could not be served; the text says why.
	Error(String),
	/// Dual funding: the connector asks the listener to consent to lock `amount` in the channel
	/// the connector opens next (its `open_nonce`) with `opener_deposit` and `challenge_period`;
	/// the first message of its link instead of `Hello`.
	FundingRequest {
		open_nonce: u64,
		opener_deposit: u128,
		amount: u128,
		challenge_period: u32,
		expires_at: u32,
	},
	/// The listener's signature over the funding consent those terms describe.
	FundingSigned { signature: [u8; 64] },
	/// A conditional payment: the sender's proof with one lock added (its last), and where the
	/// receiver is to forward it; no hops: the receiver is the payee.
	Lock { proof: ProofState, onward: Vec<Hop> },
	/// From a lock's receiver: the secret that opens it. The sender answers with a proof that
	/// pays the lock (a `Pay` whose proof moves its amount into `transferred`).
	Reveal { secret: [u8; 32] },
	/// From a lock's receiver: the payment of `secret_hash` failed downstream (it could not be
	/// forwarded, or the payee refused it). Only news: the lock stays until it is paid or
	/// expires, since the receiver could still submit a proof that holds it (§10.7).
	Fail { secret_hash: [u8; 32], reason: String },
}

/// Which end of the handshake a party was.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
	Initiator,
	Responder,
}

fn auth_message(handshake_hash: &[u8], role: Role) -> Vec<u8> {
	let mut message = LINK_AUTH_TAG.to_vec();
	message.push(match role {
		Role::Initiator => 0,
		Role::Responder => 1,
	});
	message.extend_from_slice(handshake_hash);
	message
}

/// The receiving half of an authenticated link.
pub struct LinkReader {
	stream: BufReader<OwnedReadHalf>,
	noise: Arc<snow::StatelessTransportState>,
	nonce: Nonce,
	ciphertext: Vec<u8>,
	plaintext: Vec<u8>,
}

/// The sending half of an authenticated link.
pub struct LinkWriter {
	stream: BufWriter<OwnedWriteHalf>,
	noise: Arc<snow::StatelessTransportState>,
	nonce: Nonce,
	pending: Vec<Message>,
	pending_size: usize,
	ciphertext: Vec<u8>,
}

/// An authenticated, encrypted link to a peer whose channel key is `peer`.
pub struct Link {
	pub reader: LinkReader,
	pub writer: LinkWriter,
	pub peer: [u8; 32],
}

async fn read_raw(stream: &mut BufReader<OwnedReadHalf>, into: &mut Vec<u8>) -> Result<()> {
	let len = stream.read_u16().await.context("the peer closed the link")? as usize;
	into.resize(len, 0);
	stream.read_exact(into).await.context("the peer closed the link mid-frame")?;
	Ok(())
}

async fn write_raw(stream: &mut BufWriter<OwnedWriteHalf>, bytes: &[u8]) -> Result<()> {
	stream.write_u16(bytes.len() as u16).await?;
	stream.write_all(bytes).await?;
	Ok(())
}

impl Link {
	/// Connects to `address` and authenticates; `expected_peer`, when given, must be the key
	/// at the other end.
	pub async fn connect(
		address: &str,
		keys: &Keys,
		expected_peer: Option<[u8; 32]>,
	) -> Result<Link> {
		let stream = TcpStream::connect(address)
			.await
			.with_context(|| format!("cannot connect to peer at {address}"))?;
		Self::handshake(stream, keys, Role::Initiator, expected_peer).await
	}

	/// Authenticates an accepted connection.
	pub async fn accept(stream: TcpStream, keys: &Keys) -> Result<Link> {
		Self::handshake(stream, keys, Role::Responder, None).await
	}

	async fn handshake(
		stream: TcpStream,
		keys: &Keys,
		role: Role,
		expected_peer: Option<[u8; 32]>,
	) -> Result<Link> {
		stream.set_nodelay(true)?;
		let (read, write) = stream.into_split();
		let mut reader = BufReader::with_capacity(1 << 17, read);
		let mut writer = BufWriter::with_capacity(1 << 17, write);

		let builder = snow::Builder::new(NOISE_PARAMS.parse()?);
		let static_key = builder.generate_keypair()?;
		let builder = builder.local_private_key(&static_key.private);
		let mut noise = match role {
			Role::Initiator => builder.build_initiator()?,
			Role::Responder => builder.build_responder()?,
		};
		let mut buffer = vec![0u8; MAX_NOISE_MESSAGE];
		let mut incoming = Vec::new();
		// XX: -> e; <- e, ee, s, es; -> s, se.
		let initiator_writes = [true, false, true];
		for initiator_turn in initiator_writes {
			if initiator_turn == (role == Role::Initiator) {
				let len = noise.write_message(&[], &mut buffer)?;
				write_raw(&mut writer, &buffer[..len]).await?;
				writer.flush().await?;
			} else {
				read_raw(&mut reader, &mut incoming).await?;
				noise.read_message(&incoming, &mut buffer).context("Noise handshake failed")?;
			}
		}
		let handshake_hash = noise.get_handshake_hash().to_vec();
		let noise = Arc::new(noise.into_stateless_transport_mode()?);

		let mut link_reader = LinkReader {
			stream: reader,
			noise: noise.clone(),
			nonce: 0,
			ciphertext: Vec::new(),
			plaintext: Vec::new(),
		};
		let mut link_writer = LinkWriter {
			stream: writer,
			noise,
			nonce: 0,
			pending: Vec::new(),
			pending_size: 0,
			ciphertext: vec![0u8; MAX_NOISE_MESSAGE],
		};

		let auth = Auth {
			account: keys.public(),
			signature: keys.sign(&auth_message(&handshake_hash, role)),
		};
		link_writer.send_bytes(&auth.encode()).await?;
		link_writer.flush().await?;
		let peer_auth = Auth::decode(&mut &link_reader.receive_bytes().await?[..])
			.map_err(|_| anyhow!("the peer sent a malformed authentication"))?;
		let peer_role = match role {
			Role::Initiator => Role::Responder,
			Role::Responder => Role::Initiator,
		};
		ensure!(
			keys::verify(
				&peer_auth.account,
				&auth_message(&handshake_hash, peer_role),
				&peer_auth.signature
			),
			"the peer's link authentication signature is invalid"
		);
		if let Some(expected) = expected_peer {
			ensure!(
				expected == peer_auth.account,
				"the peer authenticated as {} instead of the expected {}",
				keys::hex(&peer_auth.account),
				keys::hex(&expected)
			);
		}
		Ok(Link { reader: link_reader, writer: link_writer, peer: peer_auth.account })
	}
}

/// The messages of a frame's plaintext: the version byte, then a SCALE `Vec<Message>` and
/// nothing after it. What a peer sends is decoded here and nowhere else (the fuzz target
/// `peer_frame` drives it).
pub fn decode_frame(plaintext: &[u8]) -> Result<Vec<Message>> {
	let Some((&version, mut body)) = plaintext.split_first() else {
		bail!("the peer sent an empty frame");
	};
	ensure!(version == WIRE_VERSION, "the peer speaks wire version {version}, not {WIRE_VERSION}");
	// Nesting is flat (no message holds a message), so the depth bound only guards the decoder.
	let messages = Vec::<Message>::decode_with_depth_limit(8, &mut body)
		.map_err(|_| anyhow!("the peer sent a malformed frame"))?;
	ensure!(body.is_empty(), "the peer sent trailing bytes in a frame");
	messages.iter().try_for_each(Message::check_bounds)?;
	Ok(messages)
}

impl Message {
	/// Refuses what no honest peer sends and the code after the decoder assumes away: a proof
	/// with more than [`MAX_LOCKS`] locks (it has no locks root), a route longer than
	/// [`MAX_ONWARD_HOPS`].
	fn check_bounds(&self) -> Result<()> {
		let proofs: Vec<&ProofState> = match self {
			Message::Welcome { held_from_you, signed_by_me } => {
				held_from_you.iter().chain(signed_by_me).collect()
			}
			Message::Pay(proof) | Message::Watch { proof, .. } => vec![proof],
			Message::Lock { proof, onward } => {
				ensure!(
					onward.len() <= MAX_ONWARD_HOPS,
					"the peer sent a route of {} hops",
					onward.len()
				);
				vec![proof]
			}
			_ => vec![],
		};
		for proof in proofs {
			ensure!(
				proof.pending_locks().len() <= MAX_LOCKS as usize,
				"the peer sent a proof with {} locks, more than {MAX_LOCKS}",
				proof.pending_locks().len()
			);
		}
		Ok(())
	}
}

/// A frame's plaintext for `messages`: what [`decode_frame`] reads back.
pub fn encode_frame(messages: &[Message]) -> Vec<u8> {
	let mut plaintext = Vec::with_capacity(1 + messages.size_hint());
	plaintext.push(WIRE_VERSION);
	messages.encode_to(&mut plaintext);
	plaintext
}

impl LinkReader {
	async fn receive_bytes(&mut self) -> Result<&[u8]> {
		read_raw(&mut self.stream, &mut self.ciphertext).await?;
		self.plaintext.resize(self.ciphertext.len(), 0);
		let len = self
			.noise
			.read_message(self.nonce, &self.ciphertext, &mut self.plaintext)
			.map_err(|_| anyhow!("a frame from the peer failed authentication"))?;
		self.nonce += 1;
		Ok(&self.plaintext[..len])
	}

	/// The messages of the next frame.
	pub async fn receive(&mut self) -> Result<Vec<Message>> {
		decode_frame(self.receive_bytes().await?)
	}

	/// Reads frames ahead on a task of their own, up to `capacity` unread, so a reader can work
	/// (commit, sign) while the next frames arrive. The first error is the last item; the task
	/// ends then, or when the receiver is dropped (abort the handle to stop it at once).
	pub fn read_ahead(
		mut self,
		capacity: usize,
	) -> (tokio::sync::mpsc::Receiver<Result<Vec<Message>>>, tokio::task::JoinHandle<()>) {
		let (frames_tx, frames) = tokio::sync::mpsc::channel(capacity);
		let task = tokio::spawn(async move {
			loop {
				let frame = self.receive().await;
				let end = frame.is_err();
				if frames_tx.send(frame).await.is_err() || end {
					return;
				}
			}
		});
		(frames, task)
	}

	/// The next message, if it is the only one in its frame (request/answer exchanges).
	pub async fn receive_one(&mut self) -> Result<Message> {
		let mut messages = self.receive().await?;
		ensure!(messages.len() == 1, "expected one message, the peer sent {}", messages.len());
		Ok(messages.pop().expect("length checked"))
	}
}

impl LinkWriter {
	async fn send_bytes(&mut self, plaintext: &[u8]) -> Result<()> {
		ensure!(plaintext.len() + NOISE_TAG_LEN <= MAX_NOISE_MESSAGE, "frame too large");
		let len = self.noise.write_message(self.nonce, plaintext, &mut self.ciphertext)?;
		self.nonce += 1;
		write_raw(&mut self.stream, &self.ciphertext[..len]).await
	}

	/// Queues `message`; a full frame is encrypted and written at once.
	pub async fn push(&mut self, message: Message) -> Result<()> {
		let size = message.size_hint();
		if self.pending_size + size > FRAME_BUDGET {
			self.seal_frame().await?;
		}
		self.pending_size += size;
		self.pending.push(message);
		Ok(())
	}

	async fn seal_frame(&mut self) -> Result<()> {
		if self.pending.is_empty() {
			return Ok(());
		}
		let plaintext = encode_frame(&self.pending);
		self.pending.clear();
		self.pending_size = 0;
		self.send_bytes(&plaintext).await
	}

	/// Sends everything queued.
	pub async fn flush(&mut self) -> Result<()> {
		self.seal_frame().await?;
		self.stream.flush().await?;
		Ok(())
	}

	/// Sends one message at once.
	pub async fn send(&mut self, message: Message) -> Result<()> {
		self.push(message).await?;
		self.flush().await
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use tokio::net::TcpListener;

	async fn pair(
		listener_keys: Keys,
		connector_keys: Keys,
		expected: Option<[u8; 32]>,
	) -> (Result<Link>, Result<Link>) {
		let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
		let address = listener.local_addr().unwrap().to_string();
		let accept = tokio::spawn(async move {
			let (stream, _) = listener.accept().await.unwrap();
			Link::accept(stream, &listener_keys).await
		});
		let connected = Link::connect(&address, &connector_keys, expected).await;
		(accept.await.unwrap(), connected)
	}

	#[tokio::test]
	async fn both_ends_learn_the_other_key_and_exchange_messages() {
		let alice = Keys::from_uri("//Alice").unwrap();
		let bob = Keys::from_uri("//Bob").unwrap();
		let (accepted, connected) = pair(bob.clone(), alice.clone(), Some(bob.public())).await;
		let (mut accepted, mut connected) = (accepted.unwrap(), connected.unwrap());
		assert_eq!(accepted.peer, alice.public());
		assert_eq!(connected.peer, bob.public());

		// Many payments in few frames, and the answer the other way.
		for nonce in 1..=2000 as Nonce {
			let proof =
				ProofState { nonce, transferred: nonce as u128, signature: [7; 64], locks: None };
			connected.writer.push(Message::Pay(proof)).await.unwrap();
		}
		connected.writer.flush().await.unwrap();
		let mut received = Vec::new();
		while received.len() < 2000 {
			received.extend(accepted.reader.receive().await.unwrap());
		}
		assert_eq!(
			received.last(),
			Some(&Message::Pay(ProofState {
				nonce: 2000,
				transferred: 2000,
				signature: [7; 64],
				locks: None
			}))
		);
		accepted.writer.send(Message::Ack { nonce: 2000 }).await.unwrap();
		assert_eq!(connected.reader.receive_one().await.unwrap(), Message::Ack { nonce: 2000 });
	}

	#[tokio::test]
	async fn a_connector_expecting_another_key_refuses_the_link() {
		let alice = Keys::from_uri("//Alice").unwrap();
		let bob = Keys::from_uri("//Bob").unwrap();
		let charlie = Keys::from_uri("//Charlie").unwrap();
		let (_, connected) = pair(charlie, alice, Some(bob.public())).await;
		let error = connected.err().expect("the link must be refused").to_string();
		assert!(error.contains("instead of the expected"), "{error}");
	}

	#[test]
	fn a_frame_with_a_proof_of_too_many_locks_or_too_long_a_route_is_refused() {
		let lock = HtlcLock { amount: 1, expires_at: 9, secret_hash: [1; 32] };
		let proof = |locks: usize| ProofState {
			nonce: 1,
			transferred: 0,
			signature: [0; 64],
			locks: Some(vec![lock.clone(); locks]),
		};
		let frame = |message: Message| encode_frame(&[message]);
		assert!(decode_frame(&frame(Message::Pay(proof(64)))).is_ok());
		let refused = decode_frame(&frame(Message::Pay(proof(65)))).unwrap_err().to_string();
		assert_eq!(refused, "the peer sent a proof with 65 locks, more than 64");
		let welcome = Message::Welcome { held_from_you: None, signed_by_me: Some(proof(65)) };
		assert!(decode_frame(&frame(welcome)).is_err());
		let hop = Hop { channel_id: 1, amount: 1, expires_at: 9 };
		let long = Message::Lock { proof: proof(1), onward: vec![hop; MAX_ONWARD_HOPS + 1] };
		assert_eq!(
			decode_frame(&frame(long)).unwrap_err().to_string(),
			"the peer sent a route of 20 hops"
		);
	}

	#[test]
	fn the_message_indices_are_those_docs_protocol_md_gives() {
		let proof = ProofState { nonce: 1, transferred: 2, signature: [3; 64], locks: None };
		let index = |message: Message| message.encode()[0];
		assert_eq!(index(Message::Pay(proof.clone())), 2);
		assert_eq!(index(Message::Lock { proof, onward: vec![] }), 14);
		assert_eq!(index(Message::Reveal { secret: [0; 32] }), 15);
		assert_eq!(index(Message::Fail { secret_hash: [0; 32], reason: String::new() }), 16);
		// A plain proof ends with a 0 (no locks); a locked one with 1, a compact length, the locks.
		let plain = ProofState { nonce: 1, transferred: 2, signature: [3; 64], locks: None };
		assert_eq!(plain.encode().len(), 8 + 16 + 64 + 1);
		let lock = HtlcLock { amount: 5, expires_at: 7, secret_hash: [9; 32] };
		let locked = ProofState { locks: Some(vec![lock]), ..plain };
		assert_eq!(locked.encode().len(), 8 + 16 + 64 + 1 + 1 + 52);
	}
}
