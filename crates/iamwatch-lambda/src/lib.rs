//! iamwatch as an AWS Lambda function: the serverless shape of `serve` (`iamwatch lambda`,
//! packaged as the `bootstrap` of a `provided.al2023` function; `deploy/serverless` has the
//! template).
//!
//! Data flow: an invocation → [`invocation`] tells what it is. An API Gateway WebSocket route
//! adds or removes a connection in the [`connections`] table. Anything else is events, read by
//! the pipeline `scan` and `serve` use (an EventBridge event, an SQS batch, an SNS
//! notification, a CloudTrail log file, or an S3 notification, whose log files are read from
//! S3) → the stateful detections → the store (DynamoDB) → [`broadcast`] to every WebSocket
//! connection (gone ones deleted), the playbooks `[respond]` enables, and the notification
//! destinations. All of it is done before the invocation answers: Lambda freezes the
//! environment after, so nothing may be left queued. Unreadable input goes to the [`dead_letter`] queue; a failure that asking again
//! may cure (the store, S3) fails the invocation, and Lambda delivers it again.

pub mod broadcast;
pub mod connections;
pub mod dead_letter;
pub mod function;
pub mod ingest;
pub mod invocation;

pub use function::{Function, FunctionError, Settings};

/// Serves invocations from the Lambda runtime API until the environment is shut down.
///
/// # Errors
/// What the runtime client could not do (the runtime API unreachable).
pub async fn run(function: Function) -> Result<(), lambda_runtime::Error> {
    let function = std::sync::Arc::new(function);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Box<serde_json::value::RawValue>>| {
            let function = std::sync::Arc::clone(&function);
            async move {
                let deadline = std::time::UNIX_EPOCH
                    + std::time::Duration::from_millis(event.context.deadline);
                function
                    .handle(event.payload.get(), &event.context.request_id, deadline)
                    .await
            }
        },
    ))
    .await
}

/// The variables the Lambda runtime sets, which its client needs: their absence means the
/// command was not started by Lambda (or by an emulator of its runtime API).
pub const RUNTIME_VARIABLES: &[&str] = &[
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];
