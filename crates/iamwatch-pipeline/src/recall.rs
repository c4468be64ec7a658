//! A process that starts (`serve`, the serverless function's cold start) recalls the stored
//! incidents of the last `[correlate] recall_days` into its stateful detections: the windows,
//! sequences, MFA grace periods and first-seen baselines a restart would otherwise forget. The
//! incidents come oldest first, a page at a time (memory holds one page); the correlator
//! counts them as it did when they were made, and raises nothing already raised. Then the
//! counts of rules with a threshold the store kept (events only counted are no incidents), those
//! still in use.

use iamwatch_correlate::Correlator;
use iamwatch_store::{recall_counts_each, recall_each, IncidentStore, StoreError};
use std::time::{Duration, Instant};

/// What a recall read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recalled {
    /// Incidents of events at or after this epoch-ms time were read (`None`: no incident, the
    /// stateful detections being off).
    pub since_ms: Option<i64>,
    pub incidents: usize,
    /// Counts of rules with a threshold, whose window ends at or after `counts_since_ms`.
    pub counts: usize,
    pub counts_since_ms: i64,
    pub took: Duration,
}

impl std::fmt::Display for Recalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let time = iamwatch_core::time::format_rfc3339_ms;
        match self.since_ms {
            Some(since_ms) => write!(
                f,
                "the stateful detections recalled {} stored incidents of events since {}",
                self.incidents,
                time(since_ms)
            )?,
            None => write!(f, "the stateful detections are off, no incident recalled")?,
        }
        write!(
            f,
            ", and {} counts of rules with a threshold whose window ends after {}, in {} ms",
            self.counts,
            time(self.counts_since_ms),
            self.took.as_millis()
        )
    }
}

/// Recalls into `correlator` what `store` holds from its look-back before `now_ms`; `None`
/// when the correlator recalls nothing (`recall_days = 0`).
///
/// # Errors
/// [`StoreError`] when the store fails; the correlator keeps what was recalled before it.
pub async fn recall(
    correlator: &mut Correlator,
    store: &dyn IncidentStore,
    now_ms: i64,
) -> Result<Option<Recalled>, StoreError> {
    let Some(counts_since_ms) = correlator.counts_since(now_ms) else {
        return Ok(None);
    };
    let started = Instant::now();
    let since_ms = correlator.recall_since(now_ms);
    let incidents = match since_ms {
        Some(since_ms) => {
            recall_each(store, since_ms, |incident| correlator.recall(incident)).await?
        }
        None => 0,
    };
    let counts =
        recall_counts_each(store, counts_since_ms, |kept| correlator.recall_count(kept)).await?;
    Ok(Some(Recalled {
        since_ms,
        incidents,
        counts,
        counts_since_ms,
        took: started.elapsed(),
    }))
}

/// [`recall`] as a process starts: what it read said in the log, or why it read nothing (the
/// detections then go on from what comes next: a start does not fail for it). Past `limit`
/// (the serverless function's cold start) it goes on with the oldest incidents recalled.
pub async fn recall_at_start(
    correlator: &mut Correlator,
    store: &dyn IncidentStore,
    limit: Option<Duration>,
) {
    let recalling = recall(correlator, store, iamwatch_core::time::now_ms());
    let outcome = match limit {
        Some(limit) => tokio::time::timeout(limit, recalling).await,
        None => Ok(recalling.await),
    };
    match outcome {
        Ok(Ok(Some(recalled))) => tracing::info!("{recalled}"),
        Ok(Ok(None)) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot recall the stored incidents: the stateful detections start from what comes next");
        }
        Err(_) => tracing::warn!(
            limit_ms = limit.unwrap_or_default().as_millis() as u64,
            "recalling the stored incidents took too long: the stateful detections go on with the oldest of them"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::recall;
    use iamwatch_core::Target;
    use iamwatch_correlate::{CorrelateConfig, Correlator};
    use iamwatch_store::contract::sample_incident_for;
    use iamwatch_store::{IncidentStore, SqliteStore};

    /// A `CreateUser` of `user` by an administrator at `time_ms`.
    fn created(user: &str, time_ms: i64) -> iamwatch_core::Incident {
        let mut incident = sample_incident_for(
            &format!("create-{user}"),
            time_ms,
            iamwatch_core::Severity::Medium,
            "111122223333",
        );
        incident.event_name = "CreateUser".to_string();
        incident.meta.api = "CreateUser".to_string();
        incident.meta.event_source = "iam.amazonaws.com".to_string();
        incident.meta.actor.name = "admin".to_string();
        incident.meta.actor.arn = "arn:aws:iam::111122223333:user/admin".to_string();
        incident.meta.target = Some(Target {
            kind: "user".to_string(),
            id: user.to_string(),
            principal: String::new(),
        });
        incident
    }

    #[tokio::test]
    async fn users_created_within_the_look_back_are_recalled_and_their_grace_runs_out_after() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(directory.path().join("recall.db")).unwrap();
        let day = 24 * 60 * 60 * 1000;
        let now = 1_764_000_000_000;
        store
            .insert_batch(vec![
                created("old", now - 40 * day),
                created("recent", now - 2 * day),
            ])
            .await
            .unwrap();
        let mut correlator = Correlator::new(CorrelateConfig::default());
        let recalled = recall(&mut correlator, &store, now).await.unwrap().unwrap();
        assert_eq!(recalled.since_ms, Some(now - 30 * day));
        assert_eq!(
            recalled.incidents, 1,
            "the user created 40 days ago is past the look-back"
        );
        // Its grace ran out while nobody watched: the first check by the clock raises it.
        let raised = correlator.expire(now);
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].resource, "recent");
        assert_eq!(
            raised[0].event_id,
            "create-recent/correlate.user_without_mfa"
        );

        let mut off = Correlator::new(CorrelateConfig {
            recall_days: 0,
            ..CorrelateConfig::default()
        });
        assert_eq!(recall(&mut off, &store, now).await.unwrap(), None);
        assert!(off.expire(now).is_empty());
    }
}
