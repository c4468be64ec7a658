//! Secrets from one Secrets Manager secret (`IAMWATCH_SECRETS`, its name or ARN): a JSON object
//! whose keys are the variables iamwatch reads (`IAMWATCH_TOKEN`, `IAMWATCH_DB`, and those
//! `[[notify]]` names in `url_env`, `password_env`, `secret_env`) and whose values are theirs.
//! A Lambda function's environment is shown to whoever may read its configuration (the
//! console, `lambda:GetFunctionConfiguration`), a server's to whoever may read its process or
//! unit; a secret only to whoever may read the secret, and each read is in CloudTrail. Read
//! once, when `serve` or the function starts.

use iamwatch_core::secret::Secret;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// How long reading the secret may take, every retry included.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The variables a secret holds; a value here takes the place of the environment's.
#[derive(Clone, Default)]
pub struct SecretVariables {
    values: BTreeMap<String, Secret>,
}

/// What went wrong reading the secret. Never says a value: only the secret's id, a key, and
/// where its text stops being JSON.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read the secret {id} (IAMWATCH_SECRETS): {reason}")]
    Read { id: String, reason: String },
    #[error("the secret {id} (IAMWATCH_SECRETS) is not a JSON object of texts: {reason}")]
    Shape { id: String, reason: String },
}

impl SecretVariables {
    /// Reads the secret `id` with the environment's AWS configuration.
    ///
    /// # Errors
    /// As [`fetch`](Self::fetch).
    pub async fn read(id: &str) -> Result<Self, SecretsError> {
        let sdk = crate::sdk_config_from_env().await;
        // Bounded, retries included: an endpoint that takes connections and never answers (a
        // proxy, a VPC endpoint misconfigured) would otherwise hold the start for ever, and a
        // Lambda cold start has 10 s in all.
        let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
            .operation_timeout(READ_TIMEOUT)
            .build();
        let config = aws_sdk_secretsmanager::config::Builder::from(&sdk)
            .timeout_config(timeouts)
            .build();
        let client = aws_sdk_secretsmanager::Client::from_conf(config);
        let secrets = Self::fetch(&client, id).await?;
        let names: Vec<&str> = secrets.names().collect();
        tracing::info!(secret = %id, variables = ?names, "read the secrets");
        Ok(secrets)
    }

    /// Reads the secret `id` (its current version).
    ///
    /// # Errors
    /// [`SecretsError::Read`] when Secrets Manager cannot be asked or refuses (no such secret,
    /// no `secretsmanager:GetSecretValue`); [`SecretsError::Shape`] when it holds no JSON
    /// object of texts.
    pub async fn fetch(
        client: &aws_sdk_secretsmanager::Client,
        id: &str,
    ) -> Result<Self, SecretsError> {
        let answer = client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|error| SecretsError::Read {
                id: id.to_string(),
                reason: crate::explain(&error),
            })?;
        let text = answer.secret_string().ok_or_else(|| SecretsError::Shape {
            id: id.to_string(),
            reason: "it holds binary data, not text".to_string(),
        })?;
        Self::parse(id, text)
    }

    /// The variables in a secret's text.
    ///
    /// # Errors
    /// [`SecretsError::Shape`] naming the key whose value is not a text, or the line and
    /// column where the text stops being JSON.
    pub fn parse(id: &str, text: &str) -> Result<Self, SecretsError> {
        let shape = |reason: String| SecretsError::Shape {
            id: id.to_string(),
            reason,
        };
        // serde_json's own message may quote what it read: only its place is said.
        let value: Value = serde_json::from_str(text).map_err(|error| {
            shape(format!(
                "not JSON (line {}, column {})",
                error.line(),
                error.column()
            ))
        })?;
        let Value::Object(members) = value else {
            return Err(shape("not an object".to_string()));
        };
        let mut values = BTreeMap::new();
        for (name, value) in members {
            let Value::String(text) = value else {
                return Err(shape(format!("the value of {name} is not a text")));
            };
            values.insert(name, Secret::new(text));
        }
        Ok(Self { values })
    }

    /// These variables too (read from files), where the secret has none of the name.
    pub fn with_files(mut self, files: Vec<(String, Secret)>) -> Self {
        for (name, value) in files {
            self.values.entry(name).or_insert(value);
        }
        self
    }

    /// The secret's value of the variable `name`, when it has one that is not empty.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .map(|secret| secret.expose().to_string())
            .filter(|value| !value.is_empty())
    }

    /// The variables the secret holds, by name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// `name` from the secret, else from `environment`.
    pub fn lookup(
        &self,
        name: &str,
        environment: impl Fn(&str) -> Option<String>,
    ) -> Option<String> {
        self.get(name).or_else(|| environment(name))
    }
}

impl fmt::Debug for SecretVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretVariables")
            .field("names", &self.names().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{SecretVariables, SecretsError};

    #[test]
    fn a_secret_holds_variables_and_what_is_wrong_with_it_is_said_without_its_values() {
        let secrets = SecretVariables::parse(
            "iamwatch",
            r#"{"IAMWATCH_TOKEN": "t0ken", "IAMWATCH_SLACK_WEBHOOK": "https://hooks/x", "EMPTY": ""}"#,
        )
        .unwrap();
        assert_eq!(secrets.get("IAMWATCH_TOKEN").as_deref(), Some("t0ken"));
        assert_eq!(secrets.get("EMPTY"), None);
        assert_eq!(secrets.get("OTHER"), None);
        // The secret's value first, the environment's for what it lacks.
        let environment = |name: &str| Some(format!("env:{name}"));
        assert_eq!(
            secrets.lookup("IAMWATCH_TOKEN", environment).as_deref(),
            Some("t0ken")
        );
        assert_eq!(
            secrets.lookup("IAMWATCH_DB", environment).as_deref(),
            Some("env:IAMWATCH_DB")
        );
        let printed = format!("{secrets:?}");
        assert!(
            printed.contains("IAMWATCH_TOKEN") && !printed.contains("t0ken"),
            "{printed}"
        );

        for (text, said) in [
            (
                r#"{"IAMWATCH_TOKEN": 123456}"#,
                "the value of IAMWATCH_TOKEN is not a text",
            ),
            (r#"["hunter2"]"#, "not an object"),
            ("IAMWATCH_TOKEN=hunter2", "not JSON (line 1, column 1)"),
            (r#"{"IAMWATCH_TOKEN": "hunter2""#, "not JSON (line 1"),
        ] {
            let error = SecretVariables::parse("arn:aws:secretsmanager:us-east-1:1:secret:s", text)
                .unwrap_err();
            assert!(matches!(error, SecretsError::Shape { .. }));
            let message = error.to_string();
            assert!(message.contains(said), "{message}");
            assert!(message.contains("arn:aws:secretsmanager"), "{message}");
            assert!(
                !message.contains("hunter2") && !message.contains("123456"),
                "{message}"
            );
        }
    }
}
