//! The commands of off-chain payments: pay, listen, balance, and the watchtower.

use super::*;

/// Runs `cli.command`, one of this module's commands.
pub async fn run(cli: &Cli, keys: &Keys, party: Party) -> Result<()> {
	match &cli.command {
		Command::Pay(args) => {
			let report = session::pay(
				&party,
				args.target.channel,
				required_peer(&args.target.peer)?,
				args.target.amount,
				args.count,
				args.window,
			)
			.await?;
			let failed = report.error.clone();
			output(
				cli,
				serde_json::to_value(&report)?,
				format!(
					"{} payments acknowledged in {:.2} s ({:.0}/s, p50 {} µs, p99 {} µs); paid {} in this run, {} in total",
					report.acknowledged,
					report.seconds,
					report.payments_per_second,
					report.latency_p50_us,
					report.latency_p99_us,
					report.paid_this_run,
					report.paid_total
				),
			);
			if let Some(error) = failed {
				bail!("the payment stream stopped: {error}");
			}
		}
		Command::Listen { listen, watchtower: tower, watchtower_timeout, .. } => {
			let listener = TcpListener::bind(listen)
				.await
				.with_context(|| format!("cannot listen on {listen}"))?;
			let (queue, pusher) = match tower {
				Some(address) => {
					let (tx, rx) = mpsc::unbounded_channel();
					let pusher = tokio::spawn(watchtower::push(keys.clone(), address.clone(), rx));
					(Some(tx), Some(pusher))
				}
				None => (None, None),
			};
			let server = Listener::new(party.clone(), queue);
			eprintln!("listening on {listen} as {}", keys.account());
			let mut sessions = tokio::task::JoinSet::new();
			let stop = shutdown_signal();
			tokio::pin!(stop);
			loop {
				tokio::select! {
					accepted = listener.accept() => {
						let (stream, _) = accepted?;
						let server = server.clone();
						sessions.spawn(async move {
							if let Err(error) = server.serve(stream).await {
								eprintln!("session ended: {error:#}");
							}
						});
					}
					stopped = &mut stop => { stopped?; break }
				}
			}
			sessions.shutdown().await;
			if let (Some(pusher), Some(address)) = (pusher, tower) {
				// Hand the watchtower the newest proof of every channel as the store has it, not
				// only what the sessions queued: a session stopped mid-commit queued nothing.
				let queue = server.watch_queue.clone().expect("a watchtower is configured");
				let mut handed = 0;
				for (channel_id, record) in party.store.channels_after_pending_writes()? {
					let Some(proof) = record.received else { continue };
					// A settled channel no longer needs watching.
					let Ok(ledger) = party.ledger(channel_id).await else { continue };
					let _ = queue.send((channel_id, ledger.counterparty(), proof));
					handed += 1;
				}
				drop(queue);
				drop(server);
				eprintln!(
					"handing the newest proofs of {handed} channels to the watchtower at {address}"
				);
				let wait = std::time::Duration::from_secs(*watchtower_timeout);
				match tokio::time::timeout(wait, pusher).await {
					Ok(result) => result?.with_context(|| {
						format!("the watchtower at {address} did not take the newest proofs")
					})?,
					Err(_) => bail!(
						"the watchtower at {address} did not acknowledge the newest proofs within \
						 {} s; they are safe in this party's store, but nobody watches its channels \
						 while it is offline: start `paychan listen --watchtower {address}` again \
						 once the tower is reachable",
						wait.as_secs()
					),
				}
				eprintln!("the watchtower holds the newest proof of every channel");
			}
		}
		Command::Balance { channel } => {
			let balance = party.balance(*channel).await?;
			let mut lines = vec![format!("free {}", balance.free)];
			for c in &balance.channels {
				let status = match c.deadline {
					None => "open".to_string(),
					Some(deadline) => format!("closing (deadline {deadline})"),
				};
				lines.push(format!(
					"channel {}: mine {} theirs {} ({status}; paid {}, received {})",
					c.channel_id, c.mine, c.theirs, c.paid, c.received
				));
			}
			output(cli, serde_json::to_value(&balance)?, lines.join("\n"));
		}
		Command::Watch { listen } => {
			eprintln!("watchtower on {listen} as {}", keys.account());
			let json_output = cli.json;
			let tower = watchtower::run(party, listen, |dispute| {
				if json_output {
					println!("{}", serde_json::to_string(dispute).expect("serializable"));
				} else {
					println!(
						"disputed channel {}: {}'s proof {} (transferred {}), fee {}",
						dispute.channel_id,
						dispute.signer,
						dispute.nonce,
						dispute.transferred,
						dispute.fee
					);
				}
			});
			tokio::select! {
				result = tower => result?,
				stopped = shutdown_signal() => stopped?,
			}
		}
		_ => unreachable!("main hands only these commands to this module"),
	}
	Ok(())
}
