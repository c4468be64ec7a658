//! The function's secrets from a Secrets Manager secret (`IAMWATCH_SECRETS`): its token and a
//! notification destination's URL read from the secret, over what its environment says; a
//! secret it cannot read stops it at the cold start, naming the secret and never a value.

use super::harness::*;
use crate::lambda_runtime::{start_websocket_api, LambdaRuntime};
use crate::moto::Moto;
use crate::receiver::{self, posted_to};
use serde_json::json;
use std::time::Duration;

const SECRET_TOKEN: &str = "token-from-the-secret-0123456789abcdef";
/// A second token the secret lists while clients move to it.
const NEXT_TOKEN: &str = "next-token-from-the-secret-fedcba98765";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_reads_its_token_and_destinations_from_its_secret() {
    let moto = Moto::start_serial();
    let sdk = moto.sdk_config();
    create_connections_table(&aws_sdk_dynamodb::Client::new(&sdk)).await;
    let (endpoint, _posted) = start_websocket_api(&[]).await;
    let (base, received) = receiver::start().await;
    let hook = format!("{base}/from-the-secret");
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let arn = secrets
        .create_secret()
        .name("iamwatch/function")
        .secret_string(
            json!({"IAMWATCH_TOKEN": format!("{SECRET_TOKEN} {NEXT_TOKEN}"), "IAMWATCH_HOOK": hook})
                .to_string(),
        )
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let function = start_function(
        &dir,
        &runtime,
        &moto,
        &[
            config(
                &dir,
                "[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nmin_severity = \"LOW\"\nurl_env = \"IAMWATCH_HOOK\"\n",
            ),
            ("IAMWATCH_SECRETS", arn.clone()),
            ("IAMWATCH_CONNECTIONS_TABLE", CONNECTIONS.to_string()),
            ("IAMWATCH_WEBSOCKET_ENDPOINT", endpoint),
        ],
    );

    // The secret's token, not the environment's (`IAMWATCH_TOKEN` is set there too).
    let answer = |connection: &str, token: &str| websocket("CONNECT", connection, Some(token));
    let accepted = runtime.invoke(&answer("c1", SECRET_TOKEN)).await;
    assert_eq!(
        accepted,
        Ok(json!({"statusCode": 200})),
        "{}",
        function.log()
    );
    let refused = runtime.invoke(&answer("c2", TOKEN)).await.unwrap();
    assert_eq!(refused["statusCode"], 401, "{}", function.log());
    // Each token the secret lists, and not the two together.
    let next = runtime.invoke(&answer("c3", NEXT_TOKEN)).await.unwrap();
    assert_eq!(next["statusCode"], 200, "{}", function.log());
    let both = format!("{SECRET_TOKEN} {NEXT_TOKEN}");
    let refused = runtime.invoke(&answer("c4", &both)).await.unwrap();
    assert_eq!(refused["statusCode"], 401, "{}", function.log());

    // The destination's URL from the secret.
    let summary = runtime
        .invoke(&eventbridge(&seed_record(4)))
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
    assert_eq!(summary["incidents"], 1, "{summary}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while posted_to(&received, "/from-the-secret").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "not sent:\n{}",
            function.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The log names the secret and its variables, never their values.
    let log = function.log();
    assert!(log.contains(&arn) && log.contains("IAMWATCH_HOOK"), "{log}");
    assert!(
        !log.contains(SECRET_TOKEN)
            && !log.contains(NEXT_TOKEN)
            && !log.contains("/from-the-secret"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_the_function_cannot_read_stops_it_at_the_cold_start() {
    let moto = Moto::start_serial();
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    secrets
        .create_secret()
        .name("iamwatch/not-json")
        .secret_string(format!("IAMWATCH_TOKEN={SECRET_TOKEN}"))
        .send()
        .await
        .unwrap();
    let runtime = LambdaRuntime::start().await;
    for (secret, said) in [
        ("iamwatch/missing", "cannot read the secret iamwatch/missing (IAMWATCH_SECRETS): ResourceNotFoundException"),
        ("iamwatch/not-json", "the secret iamwatch/not-json (IAMWATCH_SECRETS) is not a JSON object of texts: not JSON (line 1, column 1)"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut function =
            start_function(&dir, &runtime, &moto, &[("IAMWATCH_SECRETS", secret.to_string())]);
        let status = function
            .exit_within(Duration::from_secs(20))
            .unwrap_or_else(|| panic!("still running:\n{}", function.log()));
        assert!(!status.success());
        let log = function.log();
        assert!(log.contains(said), "{log}");
        assert!(!log.contains(SECRET_TOKEN), "{log}");
    }
}
