//! `iamwatch respond ID --playbook NAME`: what a playbook would do about an incident (a dry
//! run), or, with `--execute`, doing it and recording it in the incident's history.

use super::StoreArgs;
use anyhow::{bail, Context};
use iamwatch_core::{time::now_ms, Lang};
use iamwatch_respond::Playbook;
use iamwatch_store::IncidentChange;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct RespondArgs {
    /// The incident to act on
    pub id: String,
    /// deactivate-key (the access key the event acted on, or its caller's), detach-policy (undo
    /// the policy or group the event granted), quarantine-user (deny the user everything and
    /// make its keys inactive), revoke-sessions (deny the caller's role every session issued
    /// until now), release-user (undo a quarantine: delete its deny-all policy; the keys stay
    /// inactive)
    #[arg(long)]
    pub playbook: Playbook,
    /// The user to quarantine (or release), instead of the one the incident points at
    #[arg(long)]
    pub user: Option<String>,
    /// Make the calls (credentials and region from the AWS environment); without it nothing is
    /// changed and the plan is printed
    #[arg(long)]
    pub execute: bool,
    /// Who is acting, for the incident's history
    #[arg(long, default_value = "respond")]
    pub actor: String,
    /// Language of the plan and results
    #[arg(long, env = "IAMWATCH_LANG", default_value = "en")]
    pub lang: Lang,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn run(args: RespondArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = args.store.open_existing(&runtime)?.shared();
    runtime.block_on(async {
        let Some(incident) = store.get(&args.id).await.context("cannot read incident")? else {
            bail!("no incident {}", args.id);
        };
        let steps = iamwatch_respond::plan(args.playbook, &incident, args.user.as_deref())?;
        if !args.execute {
            for step in &steps {
                println!("would: {}", step.describe().get(args.lang));
            }
            eprintln!(
                "{}",
                match args.lang {
                    Lang::En => "dry run: nothing was changed; --execute makes these calls",
                    Lang::Ko =>
                        "시험 실행: 아무것도 바뀌지 않았습니다. --execute로 실제 호출합니다",
                }
            );
            return Ok(ExitCode::SUCCESS);
        }
        let client = iamwatch_posture::client_from_env().await;
        let outcomes = iamwatch_respond::execute(&client, &steps).await;
        let failed = outcomes.iter().any(|outcome| outcome.result.is_err());
        for outcome in &outcomes {
            println!("{}", outcome.said().get(args.lang));
        }
        // Every execution is audited in the incident's history, in English (the store's
        // history has one text).
        let note = format!(
            "playbook {} executed: {}",
            args.playbook,
            outcomes
                .iter()
                .map(|outcome| outcome.said().en)
                .collect::<Vec<_>>()
                .join("; ")
        );
        store
            .update(
                &args.id,
                IncidentChange {
                    note: Some(note),
                    actor: args.actor.clone(),
                    at_ms: now_ms(),
                    ..Default::default()
                },
            )
            .await
            .with_context(|| {
                format!(
                    "the playbook ran, but incident {} could not record it",
                    args.id
                )
            })?;
        Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}
