//! What every AWS client of iamwatch (S3 for `scan s3://…`, SQS for `serve`, DynamoDB as a
//! store) starts from: the environment's configuration, and errors said in a line.

pub mod secrets;

pub use secrets::{SecretVariables, SecretsError};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The environment's AWS configuration (credentials, region, endpoint), as the AWS CLI takes
/// it, with HTTPS through rustls on ring.
pub async fn sdk_config_from_env() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

/// What the service (or the way to it) answered, in a line: its code and message when it
/// answered (`NoSuchBucket: The specified bucket does not exist`), the whole chain of causes
/// when it could not be asked (no credentials, no connection).
pub fn explain<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match code_and_message(error) {
        Some((code, "")) => code.to_string(),
        Some((code, message)) => format!("{code}: {message}"),
        None => causes(error),
    }
}

/// The service's error code and message, when it answered with one.
pub fn code_and_message<E, R>(error: &SdkError<E, R>) -> Option<(&str, &str)>
where
    E: ProvideErrorMetadata,
{
    let SdkError::ServiceError(service) = error else {
        return None;
    };
    let inner = service.err();
    inner
        .code()
        .map(|code| (code, inner.message().unwrap_or("")))
}

/// An error and its causes, each said once (`dispatch failure: io error: … Connection
/// refused`), without the debug dump the SDK's own `DisplayErrorContext` ends with.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !line.contains(&said) {
            line.push_str(": ");
            line.push_str(&said);
        }
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    #[test]
    fn a_request_that_could_not_be_sent_is_said_with_its_causes_once() {
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let error: SdkError<aws_smithy_types::error::ErrorMetadata, ()> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let said = explain(&error);
        assert!(said.starts_with("dispatch failure"), "{said}");
        assert_eq!(said.matches("Connection refused").count(), 1, "{said}");
        assert!(!said.contains("DispatchFailure("), "no debug dump: {said}");
    }
}
