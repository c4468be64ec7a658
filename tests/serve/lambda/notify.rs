//! The function's notifications are owed in its table until sent: an instance that dies after
//! storing an incident and before its destination has it leaves it to the invocation Lambda
//! delivers again, which finds the incident stored and still sends it.

use super::harness::*;
use crate::lambda_runtime::LambdaRuntime;
use crate::moto::Moto;
use crate::receiver::{self, posted_to};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_stored_by_an_instance_that_died_before_notifying_is_notified_by_the_retry() {
    let moto = Moto::start_serial();
    // Its first post is kept and never answered: the function is sending when it dies.
    let (base, received) = receiver::start().await;
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [config(
        &dir,
        &format!(
            "[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nmin_severity = \"LOW\"\nurl = \"{base}/hang-once\"\n"
        ),
    )];
    let event = eventbridge(&seed_record(4));

    let first = start_function(&dir, &runtime, &moto, &env);
    runtime.invoke_unanswered(&event).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while posted_to(&received, "/hang-once").is_empty() {
        assert!(Instant::now() < deadline, "not sending:\n{}", first.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The instance dies (a timeout, an out-of-memory kill) with its incident stored.
    drop(first);
    assert_eq!(stored(&dir, &moto).len(), 1);

    // Lambda delivers the invocation again, to a new instance.
    let second = start_function(&dir, &runtime, &moto, &env);
    let summary = runtime
        .invoke(&event)
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", second.log()));
    assert_eq!(summary["incidents"], 0, "stored before: {summary}");
    let posted = posted_to(&received, "/hang-once");
    assert_eq!(
        posted.len(),
        2,
        "sent again by the retry:\n{}",
        second.log()
    );
    assert_eq!(
        posted[1].2["incident"]["incident_id"],
        posted[0].2["incident"]["incident_id"]
    );
    // Sent: delivered again and again (each delivery marks it owed before storing, then finds
    // it stored and sent long ago and clears its mark), nothing is sent.
    for _ in 0..2 {
        runtime
            .invoke(&event)
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", second.log()));
        assert_eq!(posted_to(&received, "/hang-once").len(), 2);
    }
}
