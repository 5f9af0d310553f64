//! Test harness: a dev node with instant sealing and `paychan` processes, as a user runs them.

#![allow(dead_code)]

use serde_json::Value;
use std::{
	ffi::OsStr,
	io::{Read, Write},
	net::{TcpListener, TcpStream},
	path::PathBuf,
	process::{Child, Command, Output, Stdio},
	sync::{Mutex, MutexGuard},
	time::{Duration, Instant},
};

/// The tests start nodes and payment streams; one at a time keeps a 2-core machine steady.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
	SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub use paychan_client::UNIT;

/// A port nothing listens on now, below the kernel's ephemeral range (32768 and up): a port the
/// kernel handed out there could be taken as the local port of an outgoing connection (a
/// command dialing the node, a daemon dialing a peer) before the server meant to bind it starts.
pub fn free_port() -> u16 {
	static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
	// Each test process starts elsewhere in 20000..32000, so runs side by side rarely meet.
	let start = std::process::id().wrapping_mul(7919);
	loop {
		let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
		let port = 20_000 + (start.wrapping_add(n) % 12_000) as u16;
		if TcpListener::bind(("127.0.0.1", port)).is_ok() {
			return port;
		}
	}
}

fn paychan_binary() -> PathBuf {
	PathBuf::from(env!("CARGO_BIN_EXE_paychan"))
}

pub fn node_binary() -> PathBuf {
	if let Some(path) = std::env::var_os("PAYCHAN_NODE") {
		return PathBuf::from(path);
	}
	let beside = paychan_binary().with_file_name("paychan-node");
	if beside.exists() {
		return beside;
	}
	let release = paychan_binary().parent().unwrap().parent().unwrap().join("release/paychan-node");
	assert!(
		release.exists(),
		"paychan-node is not built: run ./scripts/build.sh or set PAYCHAN_NODE (looked beside {} and at {})",
		beside.display(),
		release.display()
	);
	release
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
	let dir = std::env::temp_dir().join(format!(
		"paychan-test-{}-{}-{name}",
		std::process::id(),
		free_port()
	));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(&dir).unwrap();
	dir
}

/// A dev node (`--dev --tmp --sealing instant`), killed when dropped.
pub struct Node {
	child: Child,
	pub port: u16,
	pub dir: PathBuf,
}

impl Node {
	/// A dev node with temporary state.
	pub fn start(name: &str) -> Node {
		let dir = temp_dir(name);
		Self::spawn(&dir, &["--dev", "--tmp", "--sealing", "instant"], "node")
	}

	/// A node started with `args` (which name the chain and where it keeps state); its log is
	/// `dir/<log>.log`, appended to across restarts.
	pub fn spawn(dir: &std::path::Path, args: &[&str], log: &str) -> Node {
		let port = free_port();
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(dir.join(format!("{log}.log")))
			.unwrap();
		let child = Command::new(node_binary())
			.args(args)
			.args(["--no-prometheus", "--no-telemetry", "--rpc-port", &port.to_string()])
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("start paychan-node");
		let node = Node { child, port, dir: dir.to_owned() };
		let started = Instant::now();
		while node.rpc("system_health", "[]").is_err() {
			assert!(started.elapsed() < Duration::from_secs(60), "the node did not answer RPC");
			std::thread::sleep(Duration::from_millis(200));
		}
		node
	}

	/// Kills the node with SIGKILL: no clean shutdown, no flush.
	pub fn kill(mut self) {
		self.child.kill().unwrap();
		self.child.wait().unwrap();
	}

	/// The best or finalized block number.
	pub fn block_number(&self, finalized: bool) -> u32 {
		let params = if finalized {
			let head = self.rpc("chain_getFinalizedHead", "[]").unwrap();
			format!("[{}]", head["result"])
		} else {
			"[]".to_owned()
		};
		let header = self.rpc("chain_getHeader", &params).unwrap();
		let number = header["result"]["number"].as_str().unwrap();
		u32::from_str_radix(number.trim_start_matches("0x"), 16).unwrap()
	}

	/// Waits until the (best or finalized) chain reaches block `number`.
	pub fn wait_for_block(&self, number: u32, finalized: bool, within: Duration) {
		let started = Instant::now();
		while self.block_number(finalized) < number {
			assert!(
				started.elapsed() < within,
				"block {number} ({}) not reached in {within:?}; at {}",
				if finalized { "finalized" } else { "best" },
				self.block_number(finalized)
			);
			std::thread::sleep(Duration::from_millis(250));
		}
	}

	pub fn url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.port)
	}

	/// A JSON-RPC call over plain HTTP (the Host header carries the port: nodes not in `--dev`
	/// mode filter hosts).
	pub fn rpc(&self, method: &str, params: &str) -> std::io::Result<Value> {
		let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
		let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
		write!(
			stream,
			"POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
			self.port,
			body.len()
		)?;
		let mut response = String::new();
		stream.read_to_string(&mut response)?;
		let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
		serde_json::from_str(json).map_err(|e| std::io::Error::other(e.to_string()))
	}

	/// Seals `count` empty blocks.
	pub fn make_blocks(&self, count: u32) {
		for _ in 0..count {
			let answer = self.rpc("engine_createBlock", "[true, true, null]").unwrap();
			assert!(answer.get("result").is_some(), "engine_createBlock failed: {answer}");
		}
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// One party: a dev key, its own store, talking to `node`.
pub struct Party {
	pub name: String,
	pub url: String,
	pub data: PathBuf,
}

impl Party {
	pub fn new(node: &Node, name: &str) -> Party {
		Party { name: name.into(), url: node.url(), data: node.dir.join(name) }
	}

	pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
		let mut command = Command::new(paychan_binary());
		command
			.args(["--url", &self.url, "--dev", &self.name, "--data"])
			.arg(&self.data)
			.arg("--json")
			.args(args);
		command
	}

	/// Runs a command that must succeed; its JSON output.
	pub fn run<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) -> Value {
		let output = self.command(args).output().unwrap();
		assert!(
			output.status.success(),
			"paychan {args:?} as {} failed: {}",
			self.name,
			String::from_utf8_lossy(&output.stderr)
		);
		last_json(&output)
	}

	/// Runs a command that must fail; its error line.
	pub fn fail<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) -> String {
		let output = self.command(args).output().unwrap();
		assert!(!output.status.success(), "paychan {args:?} as {} should have failed", self.name);
		String::from_utf8_lossy(&output.stderr).into_owned()
	}

	pub fn address(&self) -> String {
		self.run(&["address"])["account"].as_str().unwrap().to_owned()
	}

	pub fn free(&self) -> u128 {
		number(&self.run(&["balance"])["free"])
	}

	/// This party's view of one channel (`balance --channel`).
	pub fn channel(&self, id: u64) -> Value {
		self.run(&["balance", "--channel", &id.to_string()])["channels"][0].clone()
	}

	/// Opens a channel to `counterparty`; `(channel id, fee)`.
	pub fn open(&self, counterparty: &Party, deposit: u128, challenge_period: u32) -> (u64, u128) {
		let out = self.run(&[
			"open",
			"--counterparty",
			&counterparty.address(),
			"--deposit",
			&deposit.to_string(),
			"--challenge-period",
			&challenge_period.to_string(),
		]);
		(out["channel_id"].as_u64().unwrap(), number(&out["fee"]))
	}

	/// Starts `paychan listen` on a free port; waits until it accepts connections.
	pub fn listen(&self, extra: &[&str]) -> Listener {
		let port = free_port();
		let address = format!("127.0.0.1:{port}");
		let mut args = vec!["listen", "--listen", &address];
		args.extend_from_slice(extra);
		self.spawn_server(&args, port, address.clone())
	}

	/// Starts `paychan watch` (a watchtower) on a free port.
	pub fn watch(&self) -> Listener {
		let port = free_port();
		let address = format!("127.0.0.1:{port}");
		self.spawn_server(&["watch", "--listen", &address], port, address.clone())
	}

	/// Starts `paychan daemon` with its peer links on `peer_port` and its API on `api_port`;
	/// waits until both accept connections. A restart passes the same ports.
	pub fn daemon(&self, peer_port: u16, api_port: u16) -> Listener {
		self.daemon_with(peer_port, api_port, &[])
	}

	/// [`Party::daemon`] with `extra` options.
	pub fn daemon_with(&self, peer_port: u16, api_port: u16, extra: &[&str]) -> Listener {
		let peer = format!("127.0.0.1:{peer_port}");
		let api = format!("127.0.0.1:{api_port}");
		let mut args = vec!["daemon", "--listen", &peer, "--api", &api];
		args.extend_from_slice(extra);
		let mut listener = self.spawn_server(&args, peer_port, peer.clone());
		listener.wait_for(api_port);
		listener
	}

	/// Calls `method` of the daemon running for this party (`paychan rpc`); its answer.
	pub fn rpc(&self, method: &str, params: Value) -> Value {
		self.run(&["rpc", method, &params.to_string()])
	}

	fn spawn_server(&self, args: &[&str], port: u16, address: String) -> Listener {
		std::fs::create_dir_all(&self.data).unwrap();
		// A restart on the same port keeps the earlier run's output.
		static STARTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
		let start = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
		let out = self.data.join(format!("{}-{port}-{start}.out", args[0]));
		let err = self.data.join(format!("{}-{port}-{start}.err", args[0]));
		let child = self
			.command(args)
			.stdout(std::fs::File::create(&out).unwrap())
			.stderr(std::fs::File::create(&err).unwrap())
			.spawn()
			.unwrap();
		let mut listener = Listener { child, address, out, err };
		listener.wait_for(port);
		listener
	}

	pub fn pay(&self, channel: u64, peer: &str, amount: u128, count: u64) -> Value {
		self.run(&with_peer("pay", channel, peer, amount, &["--count", &count.to_string()]))
	}

	/// Asks the counterparty at `peer` to consent to a withdrawal, and submits it.
	pub fn withdraw(&self, channel: u64, peer: &str, amount: u128) -> std::process::Output {
		self.command(&with_peer("withdraw", channel, peer, amount, &[])).output().unwrap()
	}
}

/// `command --channel C --peer P --amount A`, then `extra`: the shape of `pay` and `withdraw`.
pub fn with_peer(
	command: &str,
	channel: u64,
	peer: &str,
	amount: u128,
	extra: &[&str],
) -> Vec<String> {
	let mut args: Vec<String> = [command, "--channel", &channel.to_string(), "--peer", peer]
		.iter()
		.chain(&["--amount", &amount.to_string()])
		.map(|arg| arg.to_string())
		.collect();
	args.extend(extra.iter().map(|arg| arg.to_string()));
	args
}

/// A running `paychan listen` (or `watch`).
pub struct Listener {
	pub child: Child,
	pub address: String,
	/// Where its standard output and error go.
	pub out: PathBuf,
	pub err: PathBuf,
}

impl Listener {
	/// Waits until it accepts connections on `port`; if it exits first, fails with what it
	/// printed on standard error.
	pub fn wait_for(&mut self, port: u16) {
		let started = Instant::now();
		while TcpStream::connect(("127.0.0.1", port)).is_err() {
			if let Some(status) = self.child.try_wait().unwrap() {
				panic!(
					"{} exited with {status} before listening on {port}: {}",
					self.address,
					self.errors()
				);
			}
			assert!(started.elapsed() < Duration::from_secs(30), "nothing listens on {port}");
			std::thread::sleep(Duration::from_millis(50));
		}
	}

	/// Stops it with SIGTERM, as a user's Ctrl-C would, and waits for it to exit cleanly.
	pub fn stop(mut self) {
		sigterm(self.child.id());
		let status = self.child.wait().unwrap();
		assert!(status.success(), "{} exited with {status}: {}", self.address, self.errors());
	}

	/// Stops it with SIGTERM and returns how it exited and what it printed on standard error.
	pub fn stop_status(mut self) -> (std::process::ExitStatus, String) {
		sigterm(self.child.id());
		let status = self.child.wait().unwrap();
		(status, self.errors())
	}

	/// What it printed on standard output so far.
	pub fn output(&self) -> String {
		std::fs::read_to_string(&self.out).unwrap_or_default()
	}

	/// What it printed on standard error so far.
	pub fn errors(&self) -> String {
		std::fs::read_to_string(&self.err).unwrap_or_default()
	}

	/// Kills it with SIGKILL: no chance to flush or clean up.
	pub fn kill(mut self) {
		self.child.kill().unwrap();
		self.child.wait().unwrap();
	}
}

impl Drop for Listener {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// Sends SIGTERM through `kill(1)`, so the tests need no libc binding.
fn sigterm(pid: u32) {
	let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
	assert!(status.success());
}

pub fn wait_for_port(port: u16) {
	let started = Instant::now();
	while TcpStream::connect(("127.0.0.1", port)).is_err() {
		assert!(started.elapsed() < Duration::from_secs(30), "nothing listens on {port}");
		std::thread::sleep(Duration::from_millis(50));
	}
}

/// The last JSON object (or array) a command printed.
pub fn last_json(output: &Output) -> Value {
	let stdout = String::from_utf8_lossy(&output.stdout);
	let line =
		stdout.lines().rev().find(|line| line.starts_with(['{', '['])).unwrap_or_else(|| {
			panic!(
				"no JSON in output: {stdout}\nstderr: {}",
				String::from_utf8_lossy(&output.stderr)
			)
		});
	serde_json::from_str(line).unwrap()
}

/// A number the client printed (as a JSON string for u128 values, or a JSON number).
pub fn number(value: &Value) -> u128 {
	match value {
		Value::String(s) => s.parse().unwrap(),
		Value::Number(n) => n.as_u64().unwrap() as u128,
		other => panic!("not a number: {other}"),
	}
}

/// Reads with `read` every 250 ms until `done` holds, at most `within`; the last value read.
pub fn wait_until<T: std::fmt::Debug>(
	what: &str,
	within: Duration,
	read: impl Fn() -> T,
	done: impl Fn(&T) -> bool,
) -> T {
	let started = Instant::now();
	loop {
		let seen = read();
		if done(&seen) {
			return seen;
		}
		assert!(started.elapsed() < within, "never saw {what}: {seen:?}");
		std::thread::sleep(Duration::from_millis(250));
	}
}
