//! The command line as a person and a script meet it, through the real binary: clap's own
//! errors, fast one-line network and config failures, no panics, widths, pipes, formats.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{run, session};

/// The binary with no emulator, no ambient AWS settings and no user config.
fn bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesctl"));
    for var in [
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "SALESCTL_LOCAL",
        "COLUMNS",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "XDG_CONFIG_HOME",
        std::env::temp_dir().join("salesctl-no-user-config"),
    )
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    .env("AWS_SECRET_ACCESS_KEY", "secret")
    .current_dir(std::env::temp_dir());
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
    let bin = env!("CARGO_BIN_EXE_salesctl");
    let inner = format!("stty cols {columns} rows 50; exec {bin} --local {args}");
    let mut script = Command::new("script");
    script.args(["-q", "-e", "-c", &inner, "/dev/null"]);
    for (k, v) in s.salesctl().get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let (code, stdout, stderr) = run(&mut script);
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
