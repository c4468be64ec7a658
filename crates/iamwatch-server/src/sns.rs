//! SNS HTTPS subscriptions: a new subscription first posts a SubscriptionConfirmation whose
//! SubscribeURL must be visited. Only topics named in the config are confirmed, and only when
//! the URL points where SNS lives, so a forged handshake cannot make the server fetch
//! arbitrary URLs.

use crate::state::AppState;
use iamwatch_pipeline::SubscriptionConfirmation;

/// Whether `url` may be visited to confirm a subscription to `topic_arn`.
pub fn may_confirm(
    config: &crate::config::SnsConfig,
    confirmation: &SubscriptionConfirmation,
) -> Result<(), String> {
    if !config
        .confirm_topics
        .iter()
        .any(|topic| topic == &confirmation.topic_arn)
    {
        return Err(format!(
            "topic {} is not in [sns] confirm_topics",
            confirmation.topic_arn
        ));
    }
    let url = &confirmation.subscribe_url;
    let allowed = if config.subscribe_url_prefixes.is_empty() {
        // arn:aws:sns:<region>:<account>:<name>
        let region = confirmation.topic_arn.split(':').nth(3).unwrap_or_default();
        !region.is_empty() && url.starts_with(&format!("https://sns.{region}.amazonaws.com/"))
    } else {
        config
            .subscribe_url_prefixes
            .iter()
            .any(|prefix| url.starts_with(prefix.as_str()))
    };
    if allowed {
        Ok(())
    } else {
        Err(format!("SubscribeURL {url} is not an SNS endpoint"))
    }
}

/// Confirms in the background (the handshake request is answered at once).
pub fn confirm(state: &AppState, confirmation: SubscriptionConfirmation) {
    if let Err(reason) = may_confirm(&state.config.sns, &confirmation) {
        tracing::warn!(
            topic = %confirmation.topic_arn,
            subscribe_url = %confirmation.subscribe_url,
            %reason,
            "SNS subscription not confirmed automatically; visit the SubscribeURL to confirm it"
        );
        return;
    }
    let http = state.http.clone();
    tokio::spawn(async move {
        let result = http
            .get(&confirmation.subscribe_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        match result {
            Ok(_) => tracing::info!(topic = %confirmation.topic_arn, "SNS subscription confirmed"),
            Err(error) => {
                tracing::error!(topic = %confirmation.topic_arn, %error, "SNS subscription confirmation failed")
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SnsConfig;

    fn handshake(url: &str) -> SubscriptionConfirmation {
        SubscriptionConfirmation {
            topic_arn: "arn:aws:sns:eu-west-1:111122223333:trail".to_string(),
            subscribe_url: url.to_string(),
        }
    }

    #[test]
    fn only_listed_topics_and_sns_urls_are_confirmed() {
        let mut config = SnsConfig::default();
        let genuine =
            handshake("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x");
        assert!(may_confirm(&config, &genuine)
            .unwrap_err()
            .contains("confirm_topics"));
        config.confirm_topics.push(genuine.topic_arn.clone());
        assert!(may_confirm(&config, &genuine).is_ok());
        for forged in [
            "https://sns.eu-west-1.amazonaws.com.evil.example/?x",
            "http://sns.eu-west-1.amazonaws.com/?x",
            "https://169.254.169.254/latest/meta-data/",
            "https://sns.us-east-1.amazonaws.com/?x",
        ] {
            assert!(
                may_confirm(&config, &handshake(forged)).is_err(),
                "{forged}"
            );
        }
        config
            .subscribe_url_prefixes
            .push("http://127.0.0.1:9/".to_string());
        assert!(may_confirm(&config, &handshake("http://127.0.0.1:9/confirm")).is_ok());
        assert!(may_confirm(&config, &genuine).is_err());
    }
}
