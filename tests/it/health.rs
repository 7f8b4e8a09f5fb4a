//! `status` judges whether data flows, not only whether the stack is built: on the emulator the
//! dead-letter queue is real (moto's SQS) and a pipe created directly in moto's Pipes is
//! described; Firehose and the transform run in-process (the relay) and say so.

use serde_json::Value;

use crate::common::{Session, describe_table, post, run, session_up};

fn salesctl(s: &Session, args: &[&str]) -> (i32, String, String) {
    run(s.salesctl().args(["--output", "json"]).args(args))
}

/// The `state` of `status`'s row named `resource`.
fn state_of(stdout: &str, resource: &str) -> String {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .find(|r| r["resource"] == resource)
        .and_then(|r| r["state"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no row '{resource}': {stdout}"))
}

/// Puts moto's pipe state machine back to its default when the test ends, however it ends.
struct PipeTransitions(u16);

impl PipeTransitions {
    /// Each describe moves a pipe one step (STOPPING -> STOPPED -> STARTING -> RUNNING)
    /// instead of all at once, so a stopped pipe can be seen STOPPED.
    fn one_step_per_call(port: u16) -> PipeTransitions {
        post(
            port,
            "/moto-api/state-manager/set-transition",
            r#"{"model_name": "pipes::pipe", "transition": {"progression": "manual", "times": 1}}"#,
        );
        PipeTransitions(port)
    }
}

impl Drop for PipeTransitions {
    fn drop(&mut self) {
        post(
            self.0,
            "/moto-api/state-manager/unset-transition",
            r#"{"model_name": "pipes::pipe"}"#,
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_fails_on_dead_letters_and_a_stopped_pipe_and_names_them() {
    let s = session_up(&["up"]);

    // Healthy: what moto does not run is run in-process, and the queue is empty.
    let (code, stdout, stderr) = salesctl(&s, &["status"]);
    assert_eq!(code, 0, "healthy: {stdout} {stderr}");
    for (resource, state) in [
        ("pipe state", "in-process: relay"),
        ("dead-letter messages", "0"),
        ("firehose last 15 min", "in-process: relay"),
        ("transform last 15 min", "in-process: relay"),
    ] {
        assert_eq!(state_of(&stdout, resource), state, "{resource}");
    }

    // A batch the pipe gave up on: status exits 1 and says so in one line.
    let clients = s.clients().await;
    let queue = clients
        .sqs
        .get_queue_url()
        .queue_name("salesctl-cdc-pipe-dlq")
        .send()
        .await
        .expect("the stack built the dead-letter queue")
        .queue_url
        .unwrap();
    clients
        .sqs
        .send_message()
        .queue_url(&queue)
        .message_body(r#"{"context":{"condition":"RetryAttemptsExhausted"}}"#)
        .send()
        .await
        .unwrap();
    let (code, stdout, stderr) = salesctl(&s, &["status"]);
    assert_eq!(code, 1, "a dead letter is not healthy: {stdout} {stderr}");
    assert_eq!(state_of(&stdout, "dead-letter messages"), "1");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("1 failed batch in dead-letter queue 'salesctl-cdc-pipe-dlq'")
            && stderr.contains("replay"),
        "{stderr}"
    );
    clients
        .sqs
        .purge_queue()
        .queue_url(&queue)
        .send()
        .await
        .unwrap();

    // A pipe moto stores is described: RUNNING passes, STOPPED fails with its name.
    let table = describe_table(&clients, "salesctl-orders").await;
    let stream = clients
        .kinesis
        .describe_stream_summary()
        .stream_name("salesctl-cdc")
        .send()
        .await
        .unwrap()
        .stream_description_summary
        .unwrap();
    clients
        .pipes
        .create_pipe()
        .name("salesctl-cdc-pipe")
        .source(table.latest_stream_arn.unwrap())
        .target(stream.stream_arn)
        .role_arn("arn:aws:iam::123456789012:role/salesctl-us-east-1-pipe-role")
        .send()
        .await
        .expect("moto stores a pipe");
    let (code, stdout, stderr) = salesctl(&s, &["status"]);
    assert_eq!(code, 0, "a running pipe is healthy: {stdout} {stderr}");
    assert_eq!(state_of(&stdout, "pipe state"), "RUNNING");

    let _transitions = PipeTransitions::one_step_per_call(s.emulator.port);
    clients
        .pipes
        .stop_pipe()
        .name("salesctl-cdc-pipe")
        .send()
        .await
        .unwrap();
    let (code, stdout, stderr) = salesctl(&s, &["status"]);
    assert_eq!(code, 1, "a stopped pipe is not healthy: {stdout} {stderr}");
    assert_eq!(state_of(&stdout, "pipe state"), "STOPPED");
    assert!(
        stderr.contains("pipe 'salesctl-cdc-pipe' is STOPPED, desired STOPPED")
            && stderr.contains("aws pipes start-pipe --name salesctl-cdc-pipe"),
        "{stderr}"
    );
}
