//! `paychan daemon`, and the commands a running daemon serves: while one runs for the key and
//! data directory, `pay`, `withdraw`, `close`, `balance`, `peer`, `payments` and `rpc` go
//! through its API (as `lncli` talks to `lnd`), so they share its links and its store.

use super::*;
use futures::StreamExt;
use jsonrpsee::{
	core::client::ClientT,
	ws_client::{WsClient, WsClientBuilder},
};
use paychan_client::daemon::{self as paychand, auth, API_ADDRESS_FILE, COOKIE_FILE};
use serde_json::Value;
use std::{path::Path, time::Instant};

/// Runs the daemon until Ctrl-C or SIGTERM.
pub async fn run(cli: &Cli, args: &DaemonArgs, party: Party, data: &Path) -> Result<()> {
	let config = paychand::Config {
		peer_listen: args.listen.clone(),
		api_listen: args.api.clone(),
		data: data.to_owned(),
		watchtower: args.watchtower.clone(),
		metrics: args.metrics.clone(),
		dashboard: args.dashboard.clone(),
		history_keep: args.history_keep,
		max_funding: args.fund_up_to,
		rebalance: paychand::rebalance::Policy {
			band: args.rebalance_band,
			max_fee: args.rebalance_max_fee,
			expires_in: args.rebalance_expiry,
			solve_every: args.solve_every.filter(|&every| every > 0),
		},
		locks: paychand::routed::LockPolicy {
			fee: paychan_rebalancer::routing::FeePolicy {
				base: args.forward_fee_base,
				ppm: args.forward_fee_ppm,
			},
			final_margin: args.lock_final_margin,
			hop_margin: args.lock_hop_margin,
			reveal_margin: args.lock_reveal_margin,
			..Default::default()
		},
	};
	let account = party.keys.account().to_string();
	let mut running = paychand::start(party, config).await?;
	for (peer, address) in &args.peers {
		let key: subxt::utils::AccountId32 =
			peer.parse().map_err(|_| anyhow::anyhow!("`{peer}` is not an SS58 account"))?;
		running.shared.add_peer(key.0, address.clone())?;
	}
	let cookie = data.join(COOKIE_FILE);
	output(
		cli,
		json!({ "daemon": {
			"account": account,
			"peer_listen": running.peer_address.to_string(),
			"api": format!("ws://{}", running.api_address),
			"cookie": cookie.display().to_string(),
			"dashboard": running.dashboard_address.map(|address| format!("http://{address}")),
		}}),
		format!(
			"paychan daemon for {account}: links on {}, API on ws://{} (token in {}){}",
			running.peer_address,
			running.api_address,
			cookie.display(),
			match running.dashboard_address {
				Some(address) => format!(", dashboard on http://{address} (`paychan dashboard` prints a link that logs in)"),
				None => String::new(),
			}
		),
	);
	// Each link and chain event is a line on standard output, a log a user can follow and a
	// script can read; payments (thousands a second) are in the API's subscription and metrics.
	if let Some(events) = running.shared.events.as_ref() {
		let mut events = events.subscribe();
		let json_lines = cli.json;
		tokio::spawn(async move {
			use tokio::sync::broadcast::error::RecvError;
			loop {
				match events.recv().await {
					Ok(
						paychan_client::events::Event::PaymentSent { .. }
						| paychan_client::events::Event::PaymentReceived { .. },
					) => {}
					Ok(event) => print_event(json_lines, &event),
					Err(RecvError::Lagged(missed)) => {
						eprintln!("paychan daemon: {missed} events not logged (output too slow)")
					}
					Err(RecvError::Closed) => return,
				}
			}
		});
	}
	let result = tokio::select! {
		stopped = running.stopped() => stopped,
		signal = shutdown_signal() => signal,
	};
	running.stop();
	result
}

fn print_event(json_lines: bool, event: &paychan_client::events::Event) {
	let value = serde_json::to_value(event).expect("events serialize");
	if json_lines {
		println!("{value}");
	} else {
		let name = value["event"].as_str().unwrap_or("event").to_owned();
		let mut fields = value.as_object().cloned().unwrap_or_default();
		fields.remove("event");
		let details: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
		println!("{name} {}", details.join(" "));
	}
}

/// The API client of the daemon running for `data`, if one answers.
async fn client(data: &Path) -> Option<Result<WsClient>> {
	let address = std::fs::read_to_string(data.join(API_ADDRESS_FILE)).ok()?;
	let token = match auth::read_cookie(&data.join(COOKIE_FILE)) {
		Ok(token) => token,
		Err(error) => return Some(Err(error)),
	};
	let mut headers = http::HeaderMap::new();
	let bearer = format!("Bearer {token}").parse().expect("a token is printable ASCII");
	headers.insert(http::header::AUTHORIZATION, bearer);
	let url = format!("ws://{}", address.trim());
	// A daemon killed without a clean stop leaves its files: then nothing answers.
	let client = WsClientBuilder::default()
		.set_headers(headers)
		.max_concurrent_requests(1 << 16)
		.request_timeout(std::time::Duration::from_secs(600))
		.build(&url)
		.await
		.ok()?;
	Some(Ok(client))
}

/// Serves `cli.command` through the daemon running for `data`, if the daemon serves it and one
/// runs; `None` leaves the command to run on its own.
pub async fn serve_through(cli: &Cli, data: &Path) -> Option<Result<()>> {
	let needs_daemon = matches!(
		cli.command,
		Command::Peer(_)
			| Command::Payments { .. }
			| Command::Rpc { .. }
			| Command::Dashboard
			| Command::Invoice { .. }
			| Command::PayInvoice { .. }
			| Command::Routed
			| Command::Rebalance(RebalanceCommand::Status)
	);
	// A request goes through the daemon so that its payers keep the pledge unspent.
	let served = needs_daemon
		|| matches!(
			cli.command,
			Command::Pay(_)
				| Command::Withdraw(_)
				| Command::Balance { .. }
				| Command::Close { force: false, .. }
				| Command::Rebalance(RebalanceCommand::Request { .. })
		);
	if !served {
		return None;
	}
	let client = match client(data).await {
		Some(Ok(client)) => client,
		Some(Err(error)) => return Some(Err(error)),
		// No daemon answers: the command runs on its own (the daemon-only ones then say so).
		None => return None,
	};
	if let Command::Dashboard = cli.command {
		return Some(dashboard_link(cli, data));
	}
	Some(through(cli, &client).await)
}

/// Prints the running daemon's dashboard address with its token in the fragment, which the
/// browser keeps to itself (it is not sent to the server, nor in a `Referer`).
fn dashboard_link(cli: &Cli, data: &Path) -> Result<()> {
	let address =
		std::fs::read_to_string(data.join(paychand::DASHBOARD_ADDRESS_FILE)).map_err(|_| {
			anyhow::anyhow!("the daemon runs without a dashboard: restart it with --dashboard")
		})?;
	let token = auth::read_cookie(&data.join(COOKIE_FILE))?;
	let link = format!("http://{}/#token={token}", address.trim());
	output(cli, json!({ "dashboard": link }), link.clone());
	Ok(())
}

async fn call(client: &WsClient, method: &str, params: Value) -> Result<Value> {
	let mut builder = jsonrpsee::core::params::ObjectParams::new();
	if let Value::Object(fields) = params {
		for (key, value) in fields {
			builder.insert(&key, value).expect("a JSON value serializes");
		}
	}
	client.request(method, builder).await.map_err(|error| match error {
		jsonrpsee::core::ClientError::Call(error) => {
			let message = error.message().to_owned();
			match error.code() {
				paychand::api::REFUSED_LOCALLY => paychan_client::calls::refuse(message),
				paychand::api::CHAIN_REFUSED => {
					anyhow::Error::new(paychan_client::chain::ChainRefused(message))
				}
				_ => anyhow::anyhow!("{message}"),
			}
		}
		other => anyhow::anyhow!("the daemon did not answer: {other}"),
	})
}

async fn through(cli: &Cli, client: &WsClient) -> Result<()> {
	match &cli.command {
		Command::Pay(args) => pay(cli, client, args).await,
		Command::Withdraw(target) => {
			let value = call(
				client,
				"paychan_withdraw",
				json!({ "channel_id": target.channel, "amount": target.amount.to_string() }),
			)
			.await?;
			let line = format!(
				"withdrawn: {} in total from channel {}; mine {} theirs {} (fee {})",
				value["withdrawn"].as_str().unwrap_or("?"),
				target.channel,
				value["mine"].as_str().unwrap_or("?"),
				value["theirs"].as_str().unwrap_or("?"),
				value["fee"].as_str().unwrap_or("?")
			);
			output(cli, value, line);
			Ok(())
		}
		Command::Close { channel, .. } => {
			let value = call(client, "paychan_close", json!({ "channel_id": channel })).await?;
			let line = format!(
				"closed cooperatively: opener {} counterparty {} (fee {})",
				value["payouts"][0].as_str().unwrap_or("?"),
				value["payouts"][1].as_str().unwrap_or("?"),
				value["fee"].as_str().unwrap_or("?")
			);
			output(cli, value, line);
			Ok(())
		}
		Command::Balance { channel } => {
			let value = call(client, "paychan_balance", json!({ "channel_id": channel })).await?;
			let mut lines = vec![format!("free {}", value["free"].as_str().unwrap_or("?"))];
			for c in value["channels"].as_array().into_iter().flatten() {
				lines.push(format!(
					"channel {}: mine {} theirs {} ({}; paid {}, received {})",
					c["channel_id"],
					c["mine"].as_str().unwrap_or("?"),
					c["theirs"].as_str().unwrap_or("?"),
					match c["deadline"].as_u64() {
						Some(deadline) => format!("closing (deadline {deadline})"),
						None => "open".into(),
					},
					c["paid"].as_str().unwrap_or("?"),
					c["received"].as_str().unwrap_or("?"),
				));
			}
			output(cli, value, lines.join("\n"));
			Ok(())
		}
		Command::Peer(PeerCommand::Add { account, address }) => {
			let value =
				call(client, "paychan_addPeer", json!({ "account": account, "address": address }))
					.await?;
			output(cli, value, format!("{account} listens at {address}"));
			Ok(())
		}
		Command::Peer(PeerCommand::List) => {
			let value = call(client, "paychan_peers", json!({})).await?;
			let lines: Vec<String> = value
				.as_array()
				.into_iter()
				.flatten()
				.map(|peer| {
					format!(
						"{} {}",
						peer["account"].as_str().unwrap_or("?"),
						peer["address"].as_str().unwrap_or("?")
					)
				})
				.collect();
			output(cli, value, lines.join("\n"));
			Ok(())
		}
		Command::Payments { before, limit } => {
			let value =
				call(client, "paychan_payments", json!({ "before": before, "limit": limit }))
					.await?;
			let lines: Vec<String> = value["entries"]
				.as_array()
				.into_iter()
				.flatten()
				.map(|e| {
					format!(
						"#{} channel {} {} {} (proof {}, {} payments)",
						e["seq"],
						e["channel_id"],
						e["direction"].as_str().unwrap_or("?"),
						e["amount"].as_str().unwrap_or("?"),
						e["nonce"],
						e["payments"]
					)
				})
				.collect();
			output(cli, value, lines.join("\n"));
			Ok(())
		}
		Command::Rebalance(RebalanceCommand::Request { entries, max_fee, expires_in }) => {
			let entries: Vec<Value> = entries
				.iter()
				.map(|(channel_id, max_send, max_receive)| {
					json!({
						"channel_id": channel_id,
						"max_send": max_send.to_string(),
						"max_receive": max_receive.to_string(),
					})
				})
				.collect();
			let params = json!({
				"entries": entries,
				"max_fee": max_fee.to_string(),
				"expires_in": expires_in,
			});
			let value = call(client, "paychan_rebalanceRequest", params).await?;
			let line = format!(
				"rebalance request declared, open until block {} (fee {})",
				value["expires_at"],
				value["fee"].as_str().unwrap_or("?")
			);
			output(cli, value, line);
			Ok(())
		}
		Command::Rebalance(RebalanceCommand::Status) => {
			let value = call(client, "paychan_rebalanceStatus", json!({})).await?;
			let line = serde_json::to_string_pretty(&value)?;
			output(cli, value, line);
			Ok(())
		}
		Command::Invoice { amount } => {
			let value =
				call(client, "paychan_invoice", json!({ "amount": amount.to_string() })).await?;
			let line = format!(
				"invoice for {}: pay {} with secret hash {}",
				value["amount"].as_str().unwrap_or("?"),
				value["payee"].as_str().unwrap_or("?"),
				value["secret_hash"].as_str().unwrap_or("?")
			);
			output(cli, value, line);
			Ok(())
		}
		Command::PayInvoice { to, amount, secret_hash, max_hops, timeout } => {
			let params = json!({
				"to": to,
				"amount": amount.to_string(),
				"secret_hash": secret_hash,
				"max_hops": max_hops,
				"timeout_seconds": timeout,
			});
			let value = call(client, "paychan_payRouted", params).await?;
			let parts = value["attempts"]
				.as_array()
				.and_then(|a| a.last())
				.map_or(0, |last| last["parts"].as_array().map_or(0, Vec::len));
			let line = format!(
				"paid {} to {to} in {parts} part(s), fees {}, in {} ms; the secret (the payee's \
				 receipt) is {}",
				value["amount"].as_str().unwrap_or("?"),
				value["fees"].as_str().unwrap_or("?"),
				value["latency_us"].as_u64().unwrap_or(0) / 1000,
				value["secret"].as_str().unwrap_or("?")
			);
			output(cli, value, line);
			Ok(())
		}
		Command::Routed => {
			let value = call(client, "paychan_routedPayments", json!({})).await?;
			let lines: Vec<String> = value
				.as_array()
				.into_iter()
				.flatten()
				.map(|p| {
					format!(
						"{} {} {}{}",
						p["secret_hash"].as_str().unwrap_or("?"),
						p["role"].as_str().unwrap_or("?"),
						p["status"].as_str().unwrap_or("?"),
						p["failed"].as_str().map(|why| format!(": {why}")).unwrap_or_default()
					)
				})
				.collect();
			output(cli, value, lines.join("\n"));
			Ok(())
		}
		Command::Rpc { method, params } => {
			let params: Value = serde_json::from_str(params)
				.with_context(|| format!("the parameters `{params}` are not JSON"))?;
			let value = call(client, method, params).await?;
			println!("{value}");
			Ok(())
		}
		_ => unreachable!("serve_through picks only these commands"),
	}
}

/// `count` payments of `amount` through the daemon, at most `window` unanswered at a time.
async fn pay(cli: &Cli, client: &WsClient, args: &PayArgs) -> Result<()> {
	let channel = args.target.channel;
	let amount = args.target.amount.to_string();
	let started = Instant::now();
	let window = args.window.clamp(1, 1 << 16);
	let batch = args.batch.min(window);
	// Calls of `batch` payments each (the last one shorter), `window / batch` unanswered.
	let calls = args.count.div_ceil(batch);
	let mut answers = futures::stream::iter(0..calls)
		.map(|index| {
			let amount = amount.clone();
			let size = batch.min(args.count - index * batch);
			async move {
				let sent = Instant::now();
				let paid = if args.batch == 1 {
					call(client, "paychan_pay", json!({ "channel_id": channel, "amount": amount }))
						.await
						.map(|paid| vec![paid])
				} else {
					let amounts = vec![amount; size as usize];
					call(
						client,
						"paychan_payMany",
						json!({ "channel_id": channel, "amounts": amounts }),
					)
					.await
					.map(|paid| paid.as_array().cloned().unwrap_or_default())
				};
				(paid, size, sent.elapsed())
			}
		})
		.buffer_unordered((window / batch).max(1) as usize);
	let (mut acknowledged, mut nonce, mut total, mut this_run) = (0u64, 0u64, 0u128, 0u128);
	let mut latencies = Vec::with_capacity(args.count as usize);
	let mut daemon_latencies = Vec::with_capacity(args.count as usize);
	let mut error = None;
	while let Some((answer, size, latency)) = answers.next().await {
		let results = match answer {
			Ok(results) => results,
			Err(failure) => {
				error.get_or_insert_with(|| format!("{failure:#}"));
				continue;
			}
		};
		if results.len() as u64 != size {
			error.get_or_insert_with(|| format!("the daemon answered {} of {size}", results.len()));
		}
		for paid in results {
			if let Some(failed) = paid.get("error") {
				error.get_or_insert_with(|| failed["message"].as_str().unwrap_or("?").to_owned());
				continue;
			}
			acknowledged += 1;
			// What the application waited (its call's round trip), and the daemon's part of
			// it (the payment's arrival to its acknowledgement).
			latencies.push(latency.as_micros() as u64);
			daemon_latencies.push(paid["latency_us"].as_u64().unwrap_or(0));
			nonce = nonce.max(paid["nonce"].as_u64().unwrap_or(0));
			let transferred: u128 =
				paid["transferred"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
			total = total.max(transferred);
			this_run += args.target.amount;
		}
	}
	let seconds = started.elapsed().as_secs_f64();
	latencies.sort_unstable();
	daemon_latencies.sort_unstable();
	let at = |sorted: &[u64], p: usize| {
		sorted
			.get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
			.copied()
			.unwrap_or(0)
	};
	let percentile = |p: usize| at(&latencies, p);
	let report = json!({
		"channel_id": channel,
		"acknowledged": acknowledged,
		"acknowledged_nonce": nonce,
		"paid_total": total.to_string(),
		"paid_this_run": this_run.to_string(),
		"seconds": seconds,
		"payments_per_second": acknowledged as f64 / seconds.max(1e-9),
		"latency_p50_us": percentile(50),
		"latency_p99_us": percentile(99),
		"daemon_latency_p50_us": at(&daemon_latencies, 50),
		"daemon_latency_p99_us": at(&daemon_latencies, 99),
		"batch": args.batch,
		"window": window,
		"error": error,
		"through_daemon": true,
	});
	output(
		cli,
		report.clone(),
		format!(
			"{acknowledged} payments acknowledged through the daemon in {seconds:.2} s ({:.0}/s, p50 {} µs, p99 {} µs); paid {this_run} in this run, {total} in total",
			acknowledged as f64 / seconds.max(1e-9),
			percentile(50),
			percentile(99)
		),
	);
	if let Some(error) = report["error"].as_str() {
		bail!("the payment stream stopped: {error}");
	}
	Ok(())
}
