//! The commands that move a channel's funds on chain: open, deposit, transfer, withdraw, close,
//! dispute and settle.

use super::*;

/// Runs `cli.command`, one of this module's commands.
pub async fn run(cli: &Cli, keys: &Keys, chain: &Chain, party: Party) -> Result<()> {
	match &cli.command {
		Command::Open { counterparty, deposit, challenge_period } => {
			let limits = chain.limits().await?;
			let counterparty = address::parse(counterparty, limits.ss58_prefix).map_err(refuse)?;
			if counterparty == keys.account() {
				return Err(refuse(
					"a channel needs two parties: the counterparty is this key's own account"
						.into(),
				));
			}
			if *deposit == 0 || *deposit < limits.min_deposit {
				return Err(refuse(format!(
					"the deposit {deposit} is below the chain's minimum of {} planck",
					limits.min_deposit
				)));
			}
			if !(limits.min_challenge_period..=limits.max_challenge_period)
				.contains(challenge_period)
			{
				return Err(refuse(format!(
					"the challenge period must be {} to {} blocks, not {challenge_period}",
					limits.min_challenge_period, limits.max_challenge_period
				)));
			}
			let call = runtime::tx().payment_channels().open_channel(
				MultiAddress::Id(counterparty),
				*deposit,
				*challenge_period,
				None,
			);
			let free = chain.free_balance(&keys.account()).await?;
			let fee = chain.estimate_fee(&call, keys).await.unwrap_or(0);
			let needed = deposit.saturating_add(limits.channel_record_deposit);
			ensure_funded(&keys.account().to_string(), free, needed, fee, &limits)?;
			let receipt = chain.submit("open", &call, keys).await?;
			let opened = receipt.event::<runtime::payment_channels::events::ChannelOpened>()?;
			output(
				cli,
				json!({ "channel_id": opened.channel_id, "deposit": deposit.to_string(), "fee": receipt.fee.to_string() }),
				format!("opened channel {} (fee {})", opened.channel_id, receipt.fee),
			);
		}
		Command::Deposit { channel, amount } => {
			let limits = chain.limits().await?;
			let ledger = match chain.channel(*channel).await? {
				Some(_) => party.ledger(*channel).await?,
				None => {
					return Err(refuse(format!(
						"channel {channel} does not exist on chain (never opened, or settled)"
					)))
				}
			};
			if ledger.view.closing.is_some() {
				return Err(refuse(format!("channel {channel} is closing: no more deposits")));
			}
			if *amount == 0 || *amount < limits.min_deposit {
				return Err(refuse(format!(
					"the amount {amount} is below the chain's minimum deposit of {} planck",
					limits.min_deposit
				)));
			}
			let call = runtime::tx().payment_channels().deposit(*channel, *amount);
			let free = chain.free_balance(&keys.account()).await?;
			let fee = chain.estimate_fee(&call, keys).await.unwrap_or(0);
			ensure_funded(&keys.account().to_string(), free, *amount, fee, &limits)?;
			let receipt = chain.submit("deposit", &call, keys).await?;
			report_totals(cli, &party, *channel, "deposited", &receipt).await?;
		}
		Command::Transfer { to, amount } => {
			let limits = chain.limits().await?;
			let to = address::parse(to, limits.ss58_prefix).map_err(refuse)?;
			if *amount == 0 {
				return Err(refuse("the amount must be positive".into()));
			}
			let call = runtime::tx().balances().transfer_keep_alive(MultiAddress::Id(to), *amount);
			let receipt = chain.submit("transfer", &call, keys).await?;
			output(
				cli,
				json!({ "to": to.to_string(), "amount": amount.to_string(), "fee": receipt.fee.to_string() }),
				format!(
					"sent {} to {to} (fee {})",
					paychan_client::amount::display(*amount),
					receipt.fee
				),
			);
		}
		Command::Withdraw(PeerAmount { channel, peer, amount }) => {
			let (total_withdrawn, expires_at, signature) =
				session::request_withdrawal(&party, *channel, peer, *amount).await?;
			let call = runtime::tx().payment_channels().withdraw(
				runtime_twin(&session::withdraw_proof(
					chain.genesis_hash,
					*channel,
					keys.public(),
					total_withdrawn,
					expires_at,
				)),
				sr25519(signature),
			);
			let receipt = chain.submit("withdraw", &call, keys).await?;
			report_totals(cli, &party, *channel, "withdrawn", &receipt).await?;
		}
		Command::Close { channel, peer, .. } => {
			let cooperative = match peer {
				Some(peer) => Some(
					session::request_close(&party, *channel, peer).await.with_context(|| {
						format!(
						"cooperative close of channel {channel} failed; nothing was submitted. To \
						 close without the counterparty, run `paychan close --channel {channel} --force`"
					)
					})?,
				),
				None => None,
			};
			match cooperative {
				Some((terms, signatures)) => {
					let payouts = terms.payouts;
					let call = runtime::tx().payment_channels().cooperative_close(
						runtime_twin(&terms.payload(chain.genesis_hash, *channel)),
						sr25519(signatures[0]),
						sr25519(signatures[1]),
					);
					let receipt = chain.submit("cooperative close", &call, keys).await?;
					output(
						cli,
						json!({ "channel_id": channel, "closed": "cooperatively", "payouts": [payouts[0].to_string(), payouts[1].to_string()], "fee": receipt.fee.to_string() }),
						format!(
							"closed cooperatively: opener {} counterparty {} (fee {})",
							payouts[0], payouts[1], receipt.fee
						),
					);
				}
				None => {
					let ledger = party.ledger(*channel).await?;
					let proof = ledger.record.received.as_ref().map(|proof| {
						signed_balance_proof(
							chain.genesis_hash,
							*channel,
							ledger.counterparty(),
							proof,
						)
					});
					let call = runtime::tx().payment_channels().close(*channel, proof);
					let receipt = chain.submit("close", &call, keys).await?;
					let started =
						receipt.event::<runtime::payment_channels::events::CloseStarted>()?;
					output(
						cli,
						json!({ "channel_id": channel, "closed": "unilaterally", "deadline": started.deadline, "fee": receipt.fee.to_string() }),
						format!(
							"unilateral close of channel {channel} started: the counterparty may \
							 dispute until block {}; the channel settles after it (the chain does \
							 it, or `paychan settle --channel {channel}`) (fee {})",
							started.deadline, receipt.fee
						),
					);
				}
			}
		}
		Command::Dispute { channel, force } => {
			let ledger = party.ledger(*channel).await?;
			ensure!(ledger.view.closing.is_some(), "channel {channel} is not closing");
			let Some(proof) = ledger.record.received.clone() else {
				bail!("there is no proof from the counterparty to submit");
			};
			let recorded = ledger.view.sides[ledger.other()].nonce;
			if recorded >= proof.nonce {
				output(
					cli,
					json!({ "channel_id": channel, "disputed": false, "fee": "0" }),
					format!("the chain already has the counterparty's proof {recorded}; nothing to dispute"),
				);
				return Ok(());
			}
			let call = runtime::tx().payment_channels().update_balance_proof(
				*channel,
				signed_balance_proof(chain.genesis_hash, *channel, ledger.counterparty(), &proof),
			);
			let gain =
				proof.transferred.saturating_sub(ledger.view.sides[ledger.other()].transferred);
			let fee = chain.estimate_fee(&call, keys).await?;
			if gain < fee && !force {
				return Err(refuse(format!(
					"the dispute would recover {gain} planck and cost about {fee} in fees; run it \
					 again with --force to dispute anyway"
				)));
			}
			let receipt = chain.submit("dispute", &call, keys).await?;
			output(
				cli,
				json!({ "channel_id": channel, "disputed": true, "nonce": proof.nonce, "recovered": gain.to_string(), "fee": receipt.fee.to_string() }),
				format!("submitted the counterparty's proof {} (fee {})", proof.nonce, receipt.fee),
			);
		}
		Command::Settle { channel } => {
			if chain.channel(*channel).await?.is_none()
				&& *channel < chain.next_channel_id().await?
			{
				// Ids are never reused: this one was opened and has been paid out.
				output(
					cli,
					json!({ "channel_id": channel, "settled": "already", "fee": "0" }),
					format!("channel {channel} is already settled"),
				);
				return Ok(());
			}
			let view = chain.existing_channel(*channel).await?;
			let Some((_, deadline)) = view.closing else {
				bail!("channel {channel} is not closing; close it first");
			};
			chain.wait_past(deadline, "challenge period").await?;
			let payouts = chain.settlement_preview(*channel).await?;
			// The runtime settles expired channels by itself at the start of a block.
			if chain.channel(*channel).await?.is_none() {
				// The preview read after the deadline is what the hook paid out.
				let payouts: Vec<String> =
					payouts.iter().flatten().map(ToString::to_string).collect();
				output(
					cli,
					json!({ "channel_id": channel, "settled": "by the chain", "payouts": payouts, "fee": "0" }),
					format!(
						"channel {channel} was settled by the chain after block {deadline}{}",
						if payouts.is_empty() {
							String::new()
						} else {
							format!(": opener {} counterparty {}", payouts[0], payouts[1])
						}
					),
				);
			} else {
				let call = runtime::tx().payment_channels().settle(*channel);
				let receipt = chain.submit("settle", &call, keys).await?;
				let payouts = receipt
					.event::<runtime::payment_channels::events::ChannelSettled>()
					.map(|settled| [settled.opener_payout, settled.counterparty_payout])
					.ok()
					.or(payouts)
					.unwrap_or_default();
				output(
					cli,
					json!({ "channel_id": channel, "settled": "by this call", "payouts": [payouts[0].to_string(), payouts[1].to_string()], "fee": receipt.fee.to_string() }),
					format!(
						"channel {channel} settled: opener {} counterparty {} (fee {})",
						payouts[0], payouts[1], receipt.fee
					),
				);
			}
		}
		_ => unreachable!("main hands only these commands to this module"),
	}
	Ok(())
}
