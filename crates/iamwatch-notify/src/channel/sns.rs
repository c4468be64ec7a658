//! An SNS topic: one message per incident, which SNS fans out to its subscribers. Each protocol
//! gets what suits it (`MessageStructure = json`): email and SMS the plain text, queues,
//! functions and HTTP endpoints the incident as JSON. Message attributes (`severity`,
//! `rule_id`, `account`) let a subscription take only what it wants with a filter policy,
//! routing by severity inside AWS as well.

use super::{Outgoing, Payload, SendError};
use crate::config::Route;
use crate::message::{document, render};
use aws_sdk_sns::types::MessageAttributeValue;
use iamwatch_core::Incident;
use serde_json::json;
use std::sync::Arc;

pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

/// One `Publish`.
pub struct Publication {
    pub subject: String,
    /// The `MessageStructure = json` document: a message per protocol.
    pub message: String,
    pub attributes: Vec<(&'static str, String)>,
}

/// SNS's subject: ASCII, one line, under 100 characters.
const SUBJECT_CHARS: usize = 99;

impl Sns {
    /// A client from the AWS environment (credentials, region, endpoint), the region taken
    /// from the topic's ARN when the environment sets none.
    pub async fn from_env(topic_arn: String) -> Self {
        let shared = iamwatch_aws::sdk_config_from_env().await;
        let mut config = aws_sdk_sns::config::Builder::from(&shared);
        if shared.region().is_none() {
            if let Some(region) = topic_arn
                .split(':')
                .nth(3)
                .filter(|region| !region.is_empty())
            {
                config = config.region(aws_sdk_sns::config::Region::new(region.to_string()));
            }
        }
        Self {
            client: aws_sdk_sns::Client::from_conf(config.build()),
            topic_arn,
        }
    }

    pub async fn publish(&self, publication: &Publication) -> Result<(), SendError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&publication.subject)
            .message_structure("json")
            .message(&publication.message);
        for (name, value) in &publication.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|error| SendError::lasting(format!("attribute {name}: {error}")))?;
            request = request.message_attributes(*name, attribute);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => {
                let said = iamwatch_aws::explain(&error);
                let lasting = iamwatch_aws::code_and_message(&error).is_some_and(|(code, _)| {
                    !matches!(
                        code,
                        "Throttling"
                            | "Throttled"
                            | "ThrottlingException"
                            | "InternalError"
                            | "InternalFailure"
                            | "ServiceUnavailable"
                    )
                });
                Err(if lasting {
                    SendError::lasting(said)
                } else {
                    SendError::passing(said, None)
                })
            }
        }
    }
}

pub fn messages(batch: &[Arc<Incident>], route: &Route) -> Vec<Outgoing> {
    batch
        .iter()
        .map(|incident| {
            let rendered = render(incident, route);
            // The text is rendered once, for the document and for people.
            let document = document(incident, &rendered, route.lang);
            let text = &document["text"];
            let machine = document.to_string();
            let message = json!({
                "default": text,
                "email": text,
                "sms": rendered.headline,
                "sqs": machine,
                "lambda": machine,
                "http": machine,
                "https": machine,
                "firehose": machine,
            });
            Outgoing {
                incidents: 1,
                payload: Payload::Sns(Publication {
                    subject: subject(incident),
                    message: message.to_string(),
                    attributes: vec![
                        ("severity", incident.severity.as_str().to_string()),
                        ("rule_id", incident.rule_id.clone()),
                        ("account", incident.account.clone()),
                    ]
                    .into_iter()
                    .filter(|(_, value)| !value.is_empty())
                    .collect(),
                }),
            }
        })
        .collect()
}

/// `[iamwatch] HIGH DeleteAccessKey AKIA…`: SNS takes only ASCII here, so the API's name rather
/// than a label that may be Korean; anything else is replaced.
pub fn subject(incident: &Incident) -> String {
    let text = format!(
        "[iamwatch] {} {} {}",
        incident.severity.as_str(),
        incident.event_name,
        incident.resource
    );
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(SUBJECT_CHARS)
        .collect::<String>()
        .trim_end()
        .to_string()
}
