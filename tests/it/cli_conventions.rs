//! The command line as a person and a script meet it, through the real binary: clap's own
//! errors, fast one-line network and config failures, no panics, widths, pipes, formats.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{run, salesctl_without_ambient_settings, session};

/// The binary with no emulator, no ambient AWS settings and no user config.
fn bare() -> Command {
    let mut cmd = salesctl_without_ambient_settings();
    cmd.env(
        "XDG_CONFIG_HOME",
        std::env::temp_dir().join("salesctl-no-user-config"),
    )
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    .env("AWS_SECRET_ACCESS_KEY", "secret");
    cmd
}

fn bare_run(args: &[&str]) -> (i32, String, String) {
    run(bare().args(args))
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn clap_errors_keep_suggestions_allowed_values_and_missing_names() {
    let (code, stdout, stderr) = bare_run(&[]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    for verb in ["generate", "tail-cdc", "query", "completions"] {
        assert!(
            stderr.contains(verb),
            "bare salesctl lists {verb}:\n{stderr}"
        );
    }

    let (code, _, stderr) = bare_run(&["tail"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("tail-cdc"), "did-you-mean:\n{stderr}");

    let (code, _, stderr) = bare_run(&["tail-cdc", "--form", "latest"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--from"),
        "did-you-mean for a flag:\n{stderr}"
    );

    let (code, _, stderr) = bare_run(&["-o", "yaml", "template"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("table") && stderr.contains("json") && stderr.contains("csv"),
        "allowed values:\n{stderr}"
    );

    let (code, _, stderr) = bare_run(&["query"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("<SQL>"),
        "names the missing argument:\n{stderr}"
    );
}

#[test]
fn no_typed_value_panics_and_negative_numbers_say_positive() {
    for (args, needle) in [
        (vec!["generate", "--rate", "1e-20"], "slowest rate"),
        (vec!["generate", "--rate", "-3"], "not positive"),
        (vec!["generate", "--count", "-3"], "negative"),
        (
            vec!["tail-cdc", "--follow", "--timeout", "500000000000years"],
            "too long",
        ),
        (vec!["tail-cdc", "--max", "-1"], "negative"),
        (vec!["relay", "--buffer-mb", "-5"], "negative"),
        (vec!["up", "--memory", "99999999999"], "from 128 to 10240"),
        (
            vec!["query", "--price-per-tb", "-1", "select 1"],
            "not an amount",
        ),
    ] {
        let (code, _, stderr) = bare_run(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_refused_endpoint_fails_within_seconds_in_one_line() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    for verb in [
        &["tail-cdc"][..],
        &["status"],
        &["generate", "--count", "1"],
    ] {
        let started = Instant::now();
        let (code, _, stderr) = bare_run(
            &[
                &["--region", "us-east-1", "--endpoint-url", &endpoint][..],
                verb,
            ]
            .concat(),
        );
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{verb:?} took {took:?}");
        assert_eq!(code, 253, "{verb:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{verb:?}: one line:\n{stderr}");
        assert!(stderr.contains("cannot connect to"), "{stderr}");
        assert!(stderr.contains(&endpoint), "names the endpoint: {stderr}");
        assert!(!stderr.contains("DispatchFailure"), "{stderr}");
    }
    // The local mode names the emulator and how to start it.
    let (code, _, stderr) = run(bare()
        .env("SALESCTL_LOCAL_ENDPOINT", &endpoint)
        .args(["--local", "tail-cdc"]));
    assert_eq!(code, 253);
    assert!(stderr.contains("scripts/local-aws start"), "{stderr}");
}

#[test]
fn an_endpoint_that_accepts_and_never_answers_fails_in_bounded_time() {
    // A server that takes connections and never says a word (a hung emulator).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in listener.incoming() {
            held.push(connection);
        }
    });
    let started = Instant::now();
    let (code, _, stderr) = run(bare()
        .env("SALESCTL_LOCAL_ENDPOINT", &endpoint)
        .args(["--local", "status"]));
    let took = started.elapsed();
    assert_eq!(code, 254, "{stderr}");
    assert!(took < Duration::from_secs(90), "took {took:?}");
    assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
    assert!(stderr.contains("never answered"), "{stderr}");
    assert!(!stderr.contains("TimeoutError"), "{stderr}");
}

#[test]
fn bad_urls_regions_and_missing_settings_are_one_line_at_once() {
    for (args, needle) in [
        (
            vec![
                "--endpoint-url",
                "ftp://127.0.0.1:4566",
                "--region",
                "us-east-1",
                "status",
            ],
            "scheme 'ftp'",
        ),
        (
            vec![
                "--endpoint-url",
                "127.0.0.1:4566",
                "--region",
                "us-east-1",
                "status",
            ],
            "127.0.0.1:4566",
        ),
        (
            vec!["--region", "mars-north-9", "status"],
            "not an AWS region name",
        ),
    ] {
        let started = Instant::now();
        let (code, _, stderr) = bare_run(&args);
        assert!(started.elapsed() < Duration::from_secs(2), "{args:?}");
        assert_eq!(code, 253, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}:\n{stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "no colour codes in a log: {stderr}"
        );
    }
    // No region at all: one line, no SDK warnings before it.
    let (code, _, stderr) = run(bare()
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .args(["status"]));
    assert_eq!(code, 253, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--region"), "{stderr}");
}

#[test]
fn wrong_settings_on_the_emulator_fail_at_once_naming_the_value_and_the_fix() {
    let s = session();
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("binary");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x81]).unwrap();
    let binary = binary.to_str().unwrap();
    let endpoint = s.endpoint().to_string();
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec!["--region", "eu-west-9", "status"],
            &["'eu-west-9'", "--region us-east-1"],
        ),
        (
            vec![
                "--endpoint-url",
                &endpoint,
                "--region",
                "bad_region",
                "status",
            ],
            &["'bad_region'", "--region"],
        ),
        (
            vec!["--table", "", "status"],
            &["table name is empty", "--table"],
        ),
        (
            vec!["--config", "/", "status"],
            &["is a directory", "TOML file"],
        ),
        (
            vec!["--config", binary, "status"],
            &["not text", "TOML file"],
        ),
        (
            vec!["tail-cdc", "--checkpoint", binary],
            &["not a tail-cdc checkpoint", "--checkpoint"],
        ),
        (
            vec!["query", "--engine", "athena", "SELECT 1"],
            &["drop --engine athena", "local engine"],
        ),
        (
            vec![
                "-o",
                "json",
                "watch",
                "--stream",
                "no-such",
                "--samples",
                "1",
            ],
            &["'no-such'", "--stream"],
        ),
    ];
    for (args, needles) in cases {
        let started = Instant::now();
        let (code, stdout, stderr) = run(s.salesctl().args(&args));
        assert_ne!(code, 0, "{args:?}: {stdout}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{args:?} took {:?}",
            started.elapsed()
        );
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "{args:?}: {needle:?} in {stderr}");
        }
    }
    let (code, _, stderr) = run(s
        .salesctl()
        .env("SALESCTL_LOCAL_ENDPOINT", "garbage")
        .args(["status"]));
    assert_eq!(code, 253);
    assert!(
        stderr.contains("SALESCTL_LOCAL_ENDPOINT=\"garbage\""),
        "{stderr}"
    );
}

/// stdout (and stderr) whose reader is already gone.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

#[test]
fn a_closed_stdout_ends_quietly_and_a_closed_stderr_never_panics() {
    let status = bare()
        .args(["template"])
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    assert!(
        status.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    let status = bare()
        .args(["--region", "mars-north-9", "status"])
        .stderr(closed_pipe())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(253),
        "an error with nowhere to print it"
    );
}

/// Runs `args` with stdout already closed (`| head -0`): returns exit code and stderr.
fn with_closed_stdout(cmd: &mut Command) -> (i32, String) {
    let out = cmd
        .stdin(Stdio::null())
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_verb_and_format_ends_quietly_when_stdout_is_closed() {
    let s = session();
    let (code, _, stderr) = run(s.salesctl().args(["up", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) =
        run(s
            .salesctl()
            .args(["generate", "--interval", "0s", "--count", "20"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(s
        .salesctl()
        .args(["relay", "--drain", "--buffer-interval", "1s"]));
    assert_eq!(code, 0, "{stderr}");
    let id = crate::common::any_lake_order_id(&s);
    let input = crate::common::fixture("pipe-insert.json");
    let input = input.to_str().unwrap();
    let verbs: Vec<Vec<&str>> = vec![
        vec!["up"],
        vec!["status"],
        vec!["generate", "--interval", "0s", "--count", "3"],
        vec!["relay", "--drain", "--buffer-interval", "1s"],
        vec!["tail-cdc"],
        vec!["query", "SELECT order_id, total FROM orders_cdc"],
        vec!["report"],
        vec!["report", "--section", "cdc_mix"],
        vec!["reconcile"],
        vec!["trace", &id],
        vec!["watch", "--samples", "1"],
        vec!["template"],
        vec!["template", "--parameters"],
        vec!["policy"],
        vec!["transform", input],
        vec!["completions", "bash"],
        vec!["completions", "fish"],
        vec!["completions", "powershell"],
        vec!["man"],
    ];
    let mut ran = 0;
    for verb in &verbs {
        for format in [None, Some("json"), Some("csv"), Some("table")] {
            let mut cmd = s.salesctl();
            cmd.args(verb);
            if let Some(format) = format {
                cmd.args(["-o", format]);
            }
            let (code, stderr) = with_closed_stdout(&mut cmd);
            let lower = stderr.to_lowercase();
            assert!(
                !lower.contains("broken pipe") && !lower.contains("panicked"),
                "{verb:?} -o {format:?}: {stderr}"
            );
            // A format the verb refuses is a usage error said before anything is written;
            // everything else ends with success however little of it was read.
            if code == 2 {
                assert!(
                    stderr.contains("-o") || stderr.contains("drop"),
                    "{verb:?} -o {format:?}: {stderr}"
                );
                continue;
            }
            assert_eq!(code, 0, "{verb:?} -o {format:?}: {stderr}");
            ran += 1;
        }
    }
    assert!(ran >= 50, "only {ran} verb and format pairs ran");

    // `| head -1`: the reader leaves after the first line, mid-output (the rows are more
    // than a pipe buffers, so a later write fails).
    for format in ["csv", "json", "table"] {
        let mut child = s
            .salesctl()
            .args([
                "query",
                "-o",
                format,
                "SELECT * FROM orders_cdc CROSS JOIN (VALUES (1), (2), (3), (4)) AS t(n)",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 1];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "query -o {format} | head -1: {stderr}"
        );
        assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");
    }
}

#[test]
fn each_verbs_help_lists_its_own_options_then_the_global_ones() {
    for verb in ["query", "up", "generate", "tail-cdc", "reconcile", "status"] {
        let (code, help, _) = bare_run(&[verb, "--help"]);
        assert_eq!(code, 0);
        let own = help.find("Options:").expect("an Options heading");
        let global = help
            .find("Global options:")
            .expect("a Global options heading");
        assert!(own < global, "{verb}: own options first:\n{help}");
        // A flag's own line starts with it (after its short form, if any).
        let declares =
            |part: &str, flag: &str| {
                part.lines().any(|line| {
                    let line = line.trim_start();
                    let line = line.split_once(", ").map_or(line, |(short, rest)| {
                        if short.len() == 2 { rest } else { line }
                    });
                    line.starts_with(&format!("{flag} ")) || line == flag
                })
            };
        for flag in [
            "--profile",
            "--region",
            "--endpoint-url",
            "--local",
            "--output",
            "--config",
            "--table",
        ] {
            assert!(
                declares(&help[global..], flag),
                "{verb}: {flag} under Global options:\n{help}"
            );
            assert!(
                !declares(&help[own..global], flag),
                "{verb}: {flag} is not one of the verb's own options"
            );
        }
    }
}

#[test]
fn completions_man_page_and_version_details() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, stdout, stderr) = bare_run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(stdout.contains("tail-cdc"), "{shell} completes the verbs");
    }
    let (code, stdout, _) = bare_run(&["man"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with(".ie") || stdout.contains(".TH"), "roff");
    assert!(stdout.contains("tail\\-cdc") || stdout.contains("tail-cdc"));

    let (code, stdout, _) = bare_run(&["--version"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("salesctl 0."), "{stdout}");
    assert!(stdout.contains("commit: "), "{stdout}");
    assert!(stdout.contains("target: "), "{stdout}");
}

#[test]
fn the_user_config_sits_under_the_project_file() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("salesctl")).unwrap();
    std::fs::write(
        home.path().join("salesctl/config.toml"),
        "region = \"mars-north-9\"\nstack_prefix = \"from-user\"\n",
    )
    .unwrap();
    // The user's file alone: its (bad) region is used, so the error names it.
    let (code, _, stderr) = run(bare()
        .env("XDG_CONFIG_HOME", home.path())
        .current_dir(project.path())
        .args(["status"]));
    assert_eq!(code, 253);
    assert!(stderr.contains("mars-north-9"), "{stderr}");
    // The project's file wins over it, key by key.
    std::fs::write(
        project.path().join("salesctl.toml"),
        "region = \"eu-west-1\"\n",
    )
    .unwrap();
    let (_, _, stderr) = run(bare()
        .env("XDG_CONFIG_HOME", home.path())
        .current_dir(project.path())
        .args(["status"]));
    assert!(!stderr.contains("mars-north-9"), "{stderr}");
    // A misspelt key is named.
    std::fs::write(project.path().join("salesctl.toml"), "tabel = \"x\"\n").unwrap();
    let (code, _, stderr) = run(bare()
        .env("XDG_CONFIG_HOME", home.path())
        .current_dir(project.path())
        .args(["status"]));
    assert_eq!(code, 253);
    assert!(stderr.contains("tabel"), "{stderr}");
}

#[test]
fn every_verb_honours_or_rejects_each_output_format() {
    let s = session();
    let (code, _, stderr) = run(s.salesctl().args(["up", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");

    // generate: CSV rows under a header, the summary beside them on stderr.
    let (code, stdout, stderr) =
        run(s
            .salesctl()
            .args(["generate", "--interval", "0s", "--count", "20", "-o", "csv"]));
    assert_eq!(code, 0, "{stderr}");
    let mut rows = csv::Reader::from_reader(stdout.as_bytes());
    assert_eq!(&rows.headers().unwrap()[0], "operation");
    assert!(rows.records().count() >= 20);

    // tail-cdc: a local stack's Kinesis stream is empty until the relay runs; say so.
    let (code, stdout, stderr) = run(s.salesctl().args(["tail-cdc", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("salesctl --local relay"),
        "local hint: {stderr}"
    );

    // relay: one row in every format.
    let (code, stdout, stderr) =
        run(s
            .salesctl()
            .args(["relay", "--drain", "--buffer-interval", "1s", "-o", "csv"]));
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("piped,rows_written"), "{stdout}");

    // tail-cdc at 80 columns: one line per change, none wider; --wide keeps them whole.
    let (code, stdout, stderr) = run(s
        .salesctl()
        .env("COLUMNS", "80")
        .args(["tail-cdc", "-o", "table"]));
    assert_eq!(code, 0, "{stderr}");
    let shown = stdout.lines().count();
    assert!(shown > 20, "{stdout}");
    for line in stdout.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    let (_, wide, _) = run(s
        .salesctl()
        .env("COLUMNS", "80")
        .args(["tail-cdc", "-o", "table", "--wide"]));
    assert_eq!(wide.lines().count(), shown);
    assert!(wide.lines().any(|l| l.chars().count() > 80));
    // tail-cdc CSV is parsed by a real CSV reader.
    let (_, stdout, _) = run(s.salesctl().args(["tail-cdc", "-o", "csv"]));
    let mut changes = csv::Reader::from_reader(stdout.as_bytes());
    assert_eq!(&changes.headers().unwrap()[0], "cdc_event_type");
    assert_eq!(changes.records().count(), shown - 1);

    // query: a wide row at 80 columns becomes a record block; --vertical asks for it.
    let (code, stdout, stderr) = run(s.salesctl().env("COLUMNS", "80").args([
        "query",
        "-o",
        "table",
        "SELECT * FROM orders_cdc LIMIT 1",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("-[ RECORD 1 ]"), "{stdout}");
    assert!(stdout.lines().all(|l| l.chars().count() <= 80), "{stdout}");

    // report: JSON lines with their section; CSV needs one section.
    let (code, stdout, stderr) = run(s.salesctl().args(["report", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    for line in stdout.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(value["section"].is_string(), "{line}");
    }
    let (code, _, stderr) = run(s.salesctl().args(["report", "-o", "csv"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("--section"), "{stderr}");
    let (code, stdout, stderr) =
        run(s
            .salesctl()
            .args(["report", "-o", "csv", "--section", "cdc_mix"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains('#'), "{stdout}");
    assert!(stdout.starts_with("cdc_event_type"), "{stdout}");
    let (code, stdout, _) = run(s
        .salesctl()
        .env("COLUMNS", "80")
        .args(["report", "-o", "table"]));
    assert_eq!(code, 0);
    assert!(stdout.lines().all(|l| l.chars().count() <= 80), "{stdout}");
    // A lake of today's orders only: no forecast, no empty tables, one line for every
    // currency's reason, and the command that gives it history.
    assert!(stdout.contains("none yet"), "{stdout}");
    assert!(stdout.contains("generate --backfill"), "{stdout}");
    assert_eq!(
        stdout.matches("only 0 full days").count(),
        1,
        "one line for all currencies:\n{stdout}"
    );
    assert!(stdout.contains("no backtest yet"), "{stdout}");
    assert!(!stdout.contains("origins start at"), "{stdout}");

    // transform: JSON only, said at once.
    let (code, _, stderr) = run(s.salesctl().args(["transform", "-o", "csv"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("JSON only"), "{stderr}");

    // The verbs that print rows: JSON lines, CSV with one header and even rows, a table.
    let id = crate::common::any_lake_order_id(&s);
    let verbs: [&[&str]; 6] = [
        &["status"],
        &["reconcile"],
        &["trace", &id],
        &["query", "SELECT order_id, total FROM orders_cdc LIMIT 3"],
        &["template", "--parameters"],
        &["policy"],
    ];
    for verb in verbs {
        let with = |format: &str| {
            let (code, stdout, stderr) = run(s
                .salesctl()
                .env("COLUMNS", "80")
                .args(verb)
                .args(["-o", format]));
            assert_eq!(code, 0, "{verb:?} -o {format}: {stderr}");
            assert!(
                !stdout.trim().is_empty(),
                "{verb:?} -o {format} printed nothing"
            );
            stdout
        };
        let json = with("json");
        if verb[0] == "policy" || verb[0] == "template" {
            // Documents other tools take as they are: IAM's policy, CloudFormation's parameters.
            serde_json::from_str::<serde_json::Value>(&json)
                .unwrap_or_else(|e| panic!("{verb:?} -o json: {e}: {json}"));
        } else {
            for line in json.lines() {
                let row: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{verb:?} -o json line {line:?}: {e}"));
                assert!(row.is_object(), "{verb:?}: {line}");
            }
        }
        let csv_text = with("csv");
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let width = reader.headers().unwrap().len();
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert!(!records.is_empty(), "{verb:?} -o csv: {csv_text}");
        assert!(records.iter().all(|r| r.len() == width), "{csv_text}");
        let table = with("table");
        assert!(
            table.lines().all(|l| l.chars().count() <= 80),
            "{verb:?} -o table at 80 columns:\n{table}"
        );
    }

    // demo prints several kinds of rows: CSV is refused before anything runs.
    let (code, stdout, stderr) = run(s.salesctl().args(["demo", "-o", "csv"]));
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.is_empty() && stderr.contains("-o json"), "{stderr}");

    // The template is the YAML up deploys: another -o is refused, not ignored.
    let (code, stdout, stderr) = run(s.salesctl().args(["template", "-o", "json"]));
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("drop -o"), "{stderr}");

    // watch: a live screen needs a terminal; JSON lines suit a pipe; CSV is refused.
    let (code, _, stderr) = run(s
        .salesctl()
        .args(["watch", "-o", "table", "--samples", "1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("-o json"), "{stderr}");
    let (code, _, stderr) = run(s.salesctl().args(["watch", "-o", "csv", "--samples", "1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("-o json"), "{stderr}");
    let (code, stdout, stderr) = run(s.salesctl().args(["watch", "--samples", "1"]));
    assert_eq!(code, 0, "{stderr}");
    let sample: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(sample["stream_changes_per_second"].is_number(), "{sample}");
}

#[test]
fn deploy_lambda_never_installs_without_asking() {
    let s = session();
    let (code, _, stderr) = run(s.salesctl().args(["up"]));
    assert_eq!(code, 0, "{stderr}");
    let root = crate::common::project_root();
    let venv = root.join(".local/zig-venv");
    let had_venv = venv.exists();
    // A PATH with cargo but neither zig nor cargo-zigbuild.
    let bin = tempfile::tempdir().unwrap();
    let cargo = bin.path().join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\nif [ \"$1\" = \"--version\" ]; then echo 'cargo 1.95.0'; exit 0; fi\nexit 1\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&cargo).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&cargo, perms).unwrap();
    let started = Instant::now();
    let mut cmd = s.salesctl();
    cmd.env("PATH", bin.path())
        .current_dir(&root)
        .args(["deploy-lambda"]);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(253), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(stderr.contains("cargo-zigbuild"), "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(!stderr.contains("installing"), "{stderr}");
    assert_eq!(venv.exists(), had_venv, "nothing written into the checkout");

    // Run from outside any checkout, it names the fix instead of finding one.
    let (code, _, stderr) = run(s.salesctl().args(["deploy-lambda"]));
    assert_eq!(code, 253, "{stderr}");
    assert!(stderr.contains("--zip"), "{stderr}");
}

/// Runs salesctl in a real pseudo-terminal (util-linux `script`) of `columns`, returning what
/// the terminal showed without colour codes and carriage returns.
fn in_terminal(s: &crate::common::Session, columns: u16, args: &str) -> String {
    let (code, stdout, stderr) = run(&mut crate::common::in_pty(s, columns, 50, args));
    assert_eq!(code, 0, "{args}: {stderr}");
    console::strip_ansi_codes(&stdout).replace('\r', "")
}

#[test]
fn in_a_real_terminal_output_fits_80_and_160_columns() {
    let s = session();
    let (code, _, stderr) = run(s.salesctl().args(["up", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    crate::common::generate_changes(&s, "30");
    let (code, _, stderr) = run(s
        .salesctl()
        .args(["relay", "--drain", "--buffer-interval", "1s"]));
    assert_eq!(code, 0, "{stderr}");
    for columns in [80usize, 160] {
        for args in [
            "tail-cdc",
            "status",
            "report --top 5",
            "query 'SELECT * FROM orders_cdc LIMIT 1'",
        ] {
            let shown = in_terminal(&s, columns as u16, args);
            let widest = shown
                .lines()
                .map(console::measure_text_width)
                .max()
                .unwrap_or(0);
            assert!(
                widest <= columns,
                "{args} at {columns} columns is {widest} wide:\n{shown}"
            );
        }
        let tail = in_terminal(&s, columns as u16, "tail-cdc");
        let changes = tail
            .lines()
            .filter(|l| l.contains("INSERT") || l.contains("MODIFY") || l.contains("REMOVE"))
            .count();
        assert!(
            changes >= 30,
            "one line per change at {columns} columns:\n{tail}"
        );
    }
}

/// [`in_terminal`] for a verb whose exit code says what it found: the code and the text.
fn in_terminal_with_code(s: &crate::common::Session, columns: u16, args: &str) -> (i32, String) {
    let (code, stdout, _) = run(&mut crate::common::in_pty(s, columns, 50, args));
    (code, console::strip_ansi_codes(&stdout).replace('\r', ""))
}

fn widest(text: &str) -> usize {
    text.lines()
        .map(console::measure_text_width)
        .max()
        .unwrap_or(0)
}

/// The cells of a comfy table's body rows (`│ a ┆ b │`), trimmed.
fn body_cells(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('│') && l.contains('┆'))
        .map(|l| {
            l.trim_matches('│')
                .split('┆')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_and_trace_at_80_columns_keep_ids_times_and_hops_whole() {
    let s = session();
    // Faults, so every list has ids: an object copied (duplicates), one dropped (missing),
    // items deleted behind the relay's back (orders whose lake row disagrees).
    let (clients, bucket, keys) = crate::common::relayed_lake(&s).await;
    let settings = s.settings();
    assert!(keys.len() >= 2, "{keys:?}");
    crate::common::copy_object_beside(&clients, &bucket, &keys[0]).await;
    crate::common::delete_object(&clients, &bucket, &keys[1]).await;
    let items = clients
        .dynamodb
        .scan()
        .table_name(&settings.table)
        .send()
        .await
        .unwrap();
    for item in items.items().iter().take(3) {
        clients
            .dynamodb
            .delete_item()
            .table_name(&settings.table)
            .key("order_id", item["order_id"].clone())
            .send()
            .await
            .unwrap();
    }

    let (code, json, stderr) = run(s
        .salesctl()
        .args(["reconcile", "-o", "json", "--show", "5"]));
    assert_eq!(code, 1, "{stderr}");
    let stages: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["first_missing"].is_array())
        .collect();
    let named = |stage: &str, finding: &str| -> Vec<(String, String)> {
        stages.iter().find(|v| v["stage"] == stage).unwrap()[finding]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["change_id"].as_str().unwrap().to_string(),
                    f["order_id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let missing = named("kinesis", "first_missing");
    let duplicated = named("lake", "first_duplicated");
    assert!(!missing.is_empty() && !duplicated.is_empty(), "{json}");

    // reconcile: every named change and order whole on its line, the disagreeing orders
    // whole with their times to the millisecond, nothing cut.
    let (code, shown) = in_terminal_with_code(&s, 80, "reconcile");
    assert_eq!(code, 1, "{shown}");
    assert!(widest(&shown) <= 80, "{shown}");
    assert!(!shown.contains('…'), "nothing is cut:\n{shown}");
    for (change, order) in missing.iter().chain(&duplicated) {
        assert!(
            shown
                .lines()
                .any(|l| l.contains(change.as_str()) && l.contains(order.as_str())),
            "{change} ({order}) whole on one line:\n{shown}"
        );
    }
    let order_id = regex::Regex::new(r"^o-[0-9a-z]+-\d{8}$").unwrap();
    let time = regex::Regex::new(r"\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}").unwrap();
    let disagreeing: Vec<Vec<String>> = body_cells(&shown)
        .into_iter()
        .filter(|cells| cells.len() == 3 && order_id.is_match(&cells[0]))
        .collect();
    assert_eq!(disagreeing.len(), 5, "the first five orders:\n{shown}");
    let ids: std::collections::BTreeSet<&str> = disagreeing.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(
        ids.len(),
        5,
        "five different orders, not one prefix:\n{shown}"
    );
    assert!(ids.iter().all(|id| order_id.is_match(id)), "{shown}");
    assert!(time.is_match(&shown), "times to the millisecond:\n{shown}");

    // trace of an order with a duplicated lake object: its change id whole, times with
    // seconds, every hop non-negative, the copy measured from Kinesis, not from its twin.
    let (change, order) = &duplicated[0];
    let (code, shown) = in_terminal_with_code(&s, 80, &format!("trace {order}"));
    assert!(code == 0 || code == 1, "{shown}");
    assert!(widest(&shown) <= 80, "{shown}");
    assert!(shown.contains(change.as_str()), "{shown}");
    assert!(shown.contains("lake copy 2"), "{shown}");
    let seconds = regex::Regex::new(r"^\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{3})?$").unwrap();
    let hop = regex::Regex::new(r"^(\d+|≤ \d+|\d+–\d+)?$").unwrap();
    let rows: Vec<Vec<String>> = body_cells(&shown)
        .into_iter()
        .filter(|c| c.len() == 4 && c[0] != "stage")
        .collect();
    assert!(rows.len() >= 4, "{shown}");
    for row in &rows {
        assert!(
            seconds.is_match(&row[1]),
            "a time with seconds: {row:?}\n{shown}"
        );
        assert!(
            hop.is_match(&row[2]),
            "a non-negative hop: {row:?}\n{shown}"
        );
    }
    let (_, json, _) = run(s.salesctl().args(["trace", order, "-o", "json"]));
    for line in json.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        if let (Some(least), Some(most)) = (row["hop_ms"].as_i64(), row["hop_ms_max"].as_i64()) {
            assert!(0 <= least && least <= most, "{line}");
        }
    }
    // A change lost after Kinesis: the verdict names it whole, wrapped between words.
    let (change, order) = &missing[0];
    let (code, shown) = in_terminal_with_code(&s, 80, &format!("trace {order}"));
    assert_eq!(code, 1, "{shown}");
    assert!(widest(&shown) <= 80, "{shown}");
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("missing: ") && l.contains(change.as_str())),
        "{shown}"
    );
}

#[test]
fn policy_as_a_table_keeps_every_action_and_resource_whole_at_80_and_160_columns() {
    let s = session();
    let (code, _, stderr) = run(s.salesctl().args(["up", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, json, stderr) = run(s.salesctl().args(["policy", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let policy: serde_json::Value = serde_json::from_str(&json).unwrap();
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().unwrap().to_string())
                .collect(),
            other => vec![other.as_str().unwrap().to_string()],
        }
    };
    let statements = policy["Statement"].as_array().unwrap();
    for columns in [80usize, 160] {
        let shown = in_terminal(&s, columns as u16, "policy -o table");
        assert!(widest(&shown) <= columns, "at {columns}:\n{shown}");
        assert!(
            !shown.contains('…'),
            "nothing is cut at {columns}:\n{shown}"
        );
        let words: std::collections::BTreeSet<&str> = shown.split_whitespace().collect();
        // A resource longer than a line continues on the next after `↳ `.
        let joined = shown
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n")
            .replace("\n↳ ", "");
        let lines: std::collections::BTreeSet<&str> = joined.lines().collect();
        for statement in statements {
            let sid = statement["Sid"].as_str().unwrap();
            assert!(words.contains(sid), "{sid} at {columns}:\n{shown}");
            for action in list(&statement["Action"]) {
                assert!(
                    words.contains(action.as_str()),
                    "{action} whole at {columns}:\n{shown}"
                );
            }
            for resource in list(&statement["Resource"]) {
                assert!(
                    lines.contains(resource.as_str()),
                    "{resource} whole at {columns}:\n{shown}"
                );
            }
        }
    }
}

/// What a full-screen program left on a `columns` × `rows` terminal: its output replayed
/// (text at the cursor, cursor moves, clears; colours and modes skipped), a string a row.
fn replay_screen(raw: &str, columns: usize, rows: usize) -> Vec<String> {
    let blank = || vec![vec![' '; columns]; rows];
    let mut grid = blank();
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => {
                    let mut params = String::new();
                    let mut end = None;
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            end = Some(c);
                            break;
                        }
                        params.push(c);
                    }
                    match end {
                        Some('H' | 'f') => {
                            let mut at = params
                                .split(';')
                                .map(|p| p.parse::<usize>().unwrap_or(1).max(1));
                            row = (at.next().unwrap_or(1) - 1).min(rows - 1);
                            col = at.next().unwrap_or(1) - 1;
                        }
                        Some('J') if params == "2" => grid = blank(),
                        _ => {}
                    }
                }
                Some(']') => {
                    for c in chars.by_ref() {
                        if c == '\u{7}' {
                            break;
                        }
                    }
                }
                Some('(' | ')') => {
                    chars.next();
                }
                _ => {}
            },
            '\r' => col = 0,
            '\n' => row = (row + 1).min(rows - 1),
            c if c.is_control() => {}
            c => {
                if col < columns {
                    grid[row][col] = c;
                }
                col += 1;
            }
        }
    }
    grid.into_iter()
        .map(|r| r.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}

#[test]
fn watch_at_80_columns_shows_the_read_lag_and_amounts_with_two_decimals() {
    use crate::common::{Capture, READY_WITHIN, wait_until};
    let s = session();
    let (code, _, stderr) = run(s.salesctl().args(["up", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let (columns, rows): (u16, u16) = (80, 40);
    // --samples bounds the run should the test fail before it presses q.
    let mut script =
        crate::common::in_pty(&s, columns, rows, "watch --interval 300ms --samples 400");
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux script");
    let output = Capture::start(child.stdout.take().unwrap());
    wait_until("the first watch screen", READY_WITHIN, || {
        let text = output.so_far();
        if text.contains("newest") {
            Ok(())
        } else {
            Err(format!("{text:?}"))
        }
    });
    // Changes through every stage while it watches.
    crate::common::generate_changes(&s, "30");
    let (code, _, stderr) =
        run(s
            .salesctl()
            .args(["relay", "--drain", "--buffer-interval", "1s", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let lag = regex::Regex::new(r"Kinesis read lag (\d+\.\ds|\d+m \d{2}s|\d+h \d{2}m)").unwrap();
    let lake_row = regex::Regex::new(
        r"^│\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{3})? (INSERT|MODIFY|REMOVE) +o-[0-9a-z]+-\d{8} +(\S+) [A-Z]{3}\b",
    )
    .unwrap();
    let screen = wait_until(
        "a read lag and lake rows on the screen",
        READY_WITHIN,
        || {
            let screen = replay_screen(&output.so_far(), columns.into(), rows.into());
            let rows = screen.iter().filter(|l| lake_row.is_match(l)).count();
            if rows > 0 && screen.iter().any(|l| lag.is_match(l)) {
                Ok(screen)
            } else {
                Err(screen.join("\n"))
            }
        },
    );
    use std::io::Write as _;
    child.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "watch did not quit on q"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = screen.join("\n");
    let amount = regex::Regex::new(r"^\d+\.\d{2}$").unwrap();
    for line in screen.iter().filter(|l| lake_row.is_match(l)) {
        let total = &lake_row.captures(line).unwrap()[3];
        assert!(amount.is_match(total), "two decimals: {line}\n{text}");
    }
}
