//! The commands that move a channel's funds on chain: open, deposit, transfer, withdraw, close,
//! dispute and settle. Each is one [`Party`] call of `paychan_client::calls`; this module only
//! prints its outcome.

use super::*;
use paychan_client::calls::{Closed, SettledBy};

/// Runs `cli.command`, one of this module's commands.
pub async fn run(cli: &Cli, party: Party) -> Result<()> {
	match &cli.command {
		Command::Open { counterparty, deposit, challenge_period, counterparty_deposit, peer } => {
			let co_funding = counterparty_deposit.zip(peer.as_deref());
			let opened = party.open(counterparty, *deposit, *challenge_period, co_funding).await?;
			let co_funded = match opened.counterparty_deposit {
				0 => String::new(),
				theirs => format!(", the counterparty locked {theirs}"),
			};
			output(
				cli,
				serde_json::to_value(&opened)?,
				format!("opened channel {}{co_funded} (fee {})", opened.channel_id, opened.fee),
			);
		}
		Command::Deposit { channel, amount } => {
			report_totals(cli, &party.deposit(*channel, *amount).await?)?;
		}
		Command::Transfer { to, amount } => {
			let sent = party.transfer(to, *amount).await?;
			output(
				cli,
				serde_json::to_value(&sent)?,
				format!(
					"sent {} to {} (fee {})",
					paychan_client::amount::display(sent.amount),
					sent.to,
					sent.fee
				),
			);
		}
		Command::Withdraw(PeerAmount { channel, peer, amount }) => {
			let peer = required_peer(peer)?;
			report_totals(cli, &party.withdraw(*channel, peer, *amount).await?)?;
		}
		Command::Close { channel, peer, force } => {
			let closed = if *force {
				party.close_unilaterally(*channel).await?
			} else {
				party.close_cooperatively(*channel, required_peer(peer)?).await?
			};
			let line = match &closed {
				Closed::Cooperatively { payouts, fee, .. } => format!(
					"closed cooperatively: opener {} counterparty {} (fee {fee})",
					payouts[0], payouts[1]
				),
				Closed::Unilaterally { deadline, fee, .. } => format!(
					"unilateral close of channel {channel} started: the counterparty may dispute \
					 until block {deadline}; the channel settles after it (the chain does it, or \
					 `paychan settle --channel {channel}`) (fee {fee})"
				),
			};
			output(cli, serde_json::to_value(&closed)?, line);
		}
		Command::Dispute { channel, force } => {
			let disputed = party.dispute(*channel, *force).await?;
			let line = if disputed.disputed {
				format!(
					"submitted the counterparty's proof {} (fee {})",
					disputed.nonce, disputed.fee
				)
			} else {
				format!(
					"the chain already has the counterparty's proof {}; nothing to dispute",
					disputed.nonce
				)
			};
			output(cli, serde_json::to_value(&disputed)?, line);
		}
		Command::Settle { channel } => {
			let settled = party.settle(*channel).await?;
			let payouts = settled.payouts.map_or(String::new(), |payouts| {
				format!(": opener {} counterparty {}", payouts[0], payouts[1])
			});
			let line = match settled.settled {
				SettledBy::Already => format!("channel {channel} is already settled"),
				SettledBy::TheChain => {
					format!("channel {channel} was settled by the chain{payouts}")
				}
				SettledBy::ThisCall => {
					format!("channel {channel} settled{payouts} (fee {})", settled.fee)
				}
			};
			output(cli, serde_json::to_value(&settled)?, line);
		}
		_ => unreachable!("main hands only these commands to this module"),
	}
	Ok(())
}

/// Reports a call that changed a channel, with the channel's new totals and both balances.
pub(crate) fn report_totals(cli: &Cli, totals: &paychan_client::calls::Totals) -> Result<()> {
	output(
		cli,
		serde_json::to_value(totals)?,
		format!(
			"channel {}: {}; this side has deposited {} and withdrawn {} in total; balances mine {} \
			 theirs {} (fee {})",
			totals.channel_id,
			totals.done,
			totals.deposited,
			totals.withdrawn,
			totals.mine,
			totals.theirs,
			totals.fee
		),
	);
	Ok(())
}
