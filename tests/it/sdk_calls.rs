//! Least privilege that works: every AWS SDK call salesctl's source makes, found by reading
//! `src/` (not listed by hand), is allowed by the policy `salesctl policy` prints.
//!
//! The calls: `.operation()` on an SDK client (a `Clients` field such as `aws.s3`, or a
//! binding typed `aws_sdk_x::Client` in the same file), where `operation` is one the client's
//! crate defines (read from the crate's own `src/operation/`, with the API's name). Each maps
//! to the IAM actions it needs (`ListObjectsV2` is `s3:ListBucket`, a DynamoDB Streams call is
//! a `dynamodb:` action, ...) on the resource it touches, named after the stack; an action is
//! allowed when an Allow statement without a condition names it and a resource matching that
//! ARN. What the emulator alone sees is listed in [`EMULATOR_ONLY`] with the check that keeps
//! it there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use salesctl::stack::policy::{Effect, PolicyDocument};

use crate::common::{project_root, run, session};

/// Calls only made against the emulator: (file, operation, why, a text that must stay in
/// `gate_file` for that to hold, and how many lines before the call it must be, if it is in
/// the same place).
struct EmulatorOnly {
    file: &'static str,
    operation: &'static str,
    why: &'static str,
    gate_file: &'static str,
    gate: &'static str,
    lines_before: Option<usize>,
}

const EMULATOR_ONLY: &[EmulatorOnly] = &[
    EmulatorOnly {
        file: "src/relay/kinesis_put.rs",
        operation: "put_records",
        why: "the relay stands in for the Pipe on the emulator; on AWS `relay` refuses without --force",
        gate_file: "src/commands/relay.rs",
        gate: "if !args.force && !ctx.targets_emulator()",
        lines_before: None,
    },
    EmulatorOnly {
        file: "src/commands/engine.rs",
        operation: "list_work_groups",
        why: "asked only when the endpoint is the emulator, to explain that it runs no SQL",
        gate_file: "src/commands/engine.rs",
        gate: "if aws.targets_emulator() {",
        lines_before: Some(3),
    },
];

/// The SDK crate (`s3`, `dynamodbstreams`) -> its operations, snake_case -> API name.
type Catalogue = BTreeMap<String, BTreeMap<String, String>>;

/// The `aws-sdk-*` crates salesctl depends on, with their operations as the crates define them.
fn sdk_catalogue() -> Catalogue {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(project_root().join("Cargo.toml")).unwrap())
            .unwrap();
    let wanted: BTreeSet<String> = manifest["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("aws-sdk-"))
        .cloned()
        .collect();
    assert!(wanted.contains("aws-sdk-s3"), "{wanted:?}");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // This machine's platform only: offline, the lock file names crates for other targets
    // (wasm) that a build here never downloads.
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc names its host");
    let output = Command::new(cargo)
        .current_dir(project_root())
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .args(["--filter-platform", &host])
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let api_name = Regex::new(r#"Metadata::new\(\s*"(\w+)""#).unwrap();
    let mut catalogue = Catalogue::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        if !wanted.contains(name) {
            continue;
        }
        let manifest_path = PathBuf::from(package["manifest_path"].as_str().unwrap());
        let operations = manifest_path.parent().unwrap().join("src/operation");
        let short = name.trim_start_matches("aws-sdk-").to_string();
        let entry = catalogue.entry(short).or_default();
        for file in std::fs::read_dir(&operations)
            .unwrap_or_else(|e| panic!("{}: {e}", operations.display()))
        {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let snake = path.file_stem().unwrap().to_str().unwrap().to_string();
            let source = std::fs::read_to_string(&path).unwrap();
            let api = api_name
                .captures(&source)
                .map(|c| c[1].to_string())
                .unwrap_or_else(|| panic!("no API name in {}", path.display()));
            entry.insert(snake, api);
        }
    }
    let found: BTreeSet<String> = catalogue.keys().map(|k| format!("aws-sdk-{k}")).collect();
    assert_eq!(found, wanted, "every SDK crate's operations are read");
    catalogue
}

/// One call in the source.
#[derive(Debug, Clone)]
struct Call {
    file: String,
    line: usize,
    krate: String,
    operation: String,
    api: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every SDK operation called in `src/`, and what could not be told apart (an operation's
/// name called on something that is not a known client).
fn sdk_calls(catalogue: &Catalogue) -> (Vec<Call>, Vec<String>) {
    let root = project_root();
    let field = Regex::new(r"pub\s+(\w+)\s*:\s*aws_sdk_(\w+)::Client\b").unwrap();
    let clients_fields: BTreeMap<String, String> = field
        .captures_iter(&std::fs::read_to_string(root.join("src/aws.rs")).unwrap())
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    assert!(clients_fields.contains_key("s3"), "{clients_fields:?}");
    let binding =
        Regex::new(r"\b(\w+)\s*:\s*&?\s*(?:'\w+\s+)?(?:mut\s+)?aws_sdk_(\w+)::Client\b").unwrap();
    let constructed = Regex::new(r"aws_sdk_(\w+)::Client::(?:new|from_conf)\([^()]*\)$").unwrap();
    let call = Regex::new(r"\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)").unwrap();
    let ident = Regex::new(r"([A-Za-z_][A-Za-z0-9_]*)$").unwrap();
    let all_operations: BTreeSet<&str> = catalogue
        .values()
        .flat_map(|ops| ops.keys().map(String::as_str))
        .collect();

    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    // salesctl's own methods named like an operation (a stream source's `list_shards`): a
    // call on something that is not a client is one of those, whose bodies are searched too.
    let own_fn = Regex::new(r"\bfn\s+([a-z][a-z0-9_]*)").unwrap();
    let own_methods: BTreeSet<String> = files
        .iter()
        .flat_map(|f| {
            let source = std::fs::read_to_string(f).unwrap();
            own_fn
                .captures_iter(&source)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let (mut calls, mut unresolved) = (Vec::new(), Vec::new());
    for path in files {
        let rel = path.strip_prefix(&root).unwrap().display().to_string();
        // Comments say what code does; only code calls.
        let source: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("//") {
                    ""
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let mut bound: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for c in binding.captures_iter(&source) {
            bound
                .entry(c[1].to_string())
                .or_default()
                .insert(c[2].to_string());
        }
        for m in call.captures_iter(&source) {
            let operation = m[1].to_string();
            if !all_operations.contains(operation.as_str()) {
                continue;
            }
            let start = m.get(0).unwrap().start();
            let line = source[..start].matches('\n').count() + 1;
            let before = source[..start].trim_end();
            let crates: BTreeSet<String> = if let Some(c) = constructed.captures(before) {
                [c[1].to_string()].into()
            } else if let Some(name) = ident.captures(before).map(|c| c[1].to_string()) {
                bound
                    .get(&name)
                    .cloned()
                    .or_else(|| clients_fields.get(&name).map(|k| [k.clone()].into()))
                    .unwrap_or_default()
            } else {
                BTreeSet::new()
            };
            let owners: Vec<&String> = crates
                .iter()
                .filter(|k| {
                    catalogue
                        .get(*k)
                        .is_some_and(|ops| ops.contains_key(&operation))
                })
                .collect();
            if owners.is_empty() && crates.is_empty() && own_methods.contains(&operation) {
                continue;
            }
            if owners.is_empty() {
                let tail: Vec<char> = before.chars().rev().take(40).collect();
                let shown: String = tail.into_iter().rev().collect();
                unresolved.push(format!("{rel}:{line}: …{shown}.{operation}()"));
            }
            for krate in owners {
                calls.push(Call {
                    file: rel.clone(),
                    line,
                    krate: krate.clone(),
                    api: catalogue[krate][&operation].clone(),
                    operation: operation.clone(),
                });
            }
        }
    }
    (calls, unresolved)
}

/// The IAM actions a call needs: the caller's own, and those a service then uses with the
/// caller's permissions (Athena reads Glue and S3, and writes its results to S3, as the caller).
fn iam_actions(call: &Call) -> Vec<String> {
    let service = match call.krate.as_str() {
        "dynamodb" | "dynamodbstreams" => "dynamodb",
        "cloudwatchlogs" => "logs",
        "eventbridge" => "events",
        "s3" | "kinesis" | "athena" | "cloudformation" | "sts" | "cloudwatch" | "pipes" | "sqs"
        | "lambda" | "firehose" | "glue" | "iam" => call.krate.as_str(),
        other => panic!("say which IAM service prefix aws-sdk-{other} calls need"),
    };
    let own = |names: &[&str]| -> Vec<String> {
        names.iter().map(|n| format!("{service}:{n}")).collect()
    };
    let athena_reads = [
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:GetPartitions",
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:GetObject",
    ];
    let athena_writes = [
        "s3:PutObject",
        "s3:ListBucketMultipartUploads",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
    ];
    match (service, call.api.as_str()) {
        ("sts", "GetCallerIdentity") => vec![], // needs no permission
        ("s3", "ListObjectsV2" | "ListObjects" | "HeadBucket") => own(&["ListBucket"]),
        ("s3", "HeadObject") => own(&["GetObject"]),
        ("s3", "ListObjectVersions") => own(&["ListBucketVersions"]),
        ("s3", "DeleteObjects") => own(&["DeleteObject", "DeleteObjectVersion"]),
        ("s3", "ListMultipartUploads") => own(&["ListBucketMultipartUploads"]),
        ("s3", "ListParts") => own(&["ListMultipartUploadParts"]),
        ("s3", "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload") => {
            own(&["PutObject"])
        }
        ("s3", "CopyObject") => own(&["GetObject", "PutObject"]),
        ("s3", "GetBucketEncryption") => own(&["GetEncryptionConfiguration"]),
        ("s3", "PutBucketEncryption") => own(&["PutEncryptionConfiguration"]),
        ("s3", "GetBucketLifecycleConfiguration") => own(&["GetLifecycleConfiguration"]),
        ("s3", "PutBucketLifecycleConfiguration") => own(&["PutLifecycleConfiguration"]),
        ("s3", "GetBucketCors") => own(&["GetBucketCORS"]),
        ("athena", "StartQueryExecution") => {
            let mut all = own(&["StartQueryExecution"]);
            all.extend(
                athena_reads
                    .iter()
                    .chain(&athena_writes)
                    .map(|a| a.to_string()),
            );
            all
        }
        ("athena", "GetQueryResults") => {
            vec!["athena:GetQueryResults".into(), "s3:GetObject".into()]
        }
        (_, api) => own(&[api]),
    }
}

/// The resources an action is asked on, named after the stack (`*`: one IAM cannot scope).
fn resources(action: &str, n: &Names) -> Vec<String> {
    let (service, name) = action.split_once(':').unwrap();
    let arn = |service: &str, rest: String| {
        format!("arn:aws:{service}:{}:{}:{rest}", n.region, n.account)
    };
    const S3_OBJECT: &[&str] = &[
        "GetObject",
        "PutObject",
        "DeleteObject",
        "DeleteObjectVersion",
        "AbortMultipartUpload",
        "ListMultipartUploadParts",
        "GetObjectAttributes",
    ];
    match service {
        "s3" if S3_OBJECT.contains(&name) => {
            vec![format!("arn:aws:s3:::{}/athena-results/q.csv", n.bucket)]
        }
        "s3" => vec![format!("arn:aws:s3:::{}", n.bucket)],
        "dynamodb" if ["DescribeStream", "GetRecords", "GetShardIterator"].contains(&name) => {
            vec![arn(
                "dynamodb",
                format!("table/{}/stream/2024-01-01T00:00:00.000", n.table),
            )]
        }
        "dynamodb" if name == "ListStreams" => vec!["*".into()],
        "dynamodb" => vec![arn("dynamodb", format!("table/{}", n.table))],
        "kinesis" => vec![arn("kinesis", format!("stream/{}", n.stream))],
        "cloudformation" => vec![arn(
            "cloudformation",
            format!("stack/{}/00000000-0000-0000-0000-000000000000", n.prefix),
        )],
        "athena" if name.starts_with("List") => vec!["*".into()],
        "athena" => vec![arn("athena", format!("workgroup/{}", n.workgroup))],
        "glue" => vec![
            arn("glue", "catalog".into()),
            arn("glue", format!("database/{}", n.glue_database)),
            arn("glue", format!("table/{}/orders_cdc", n.glue_database)),
        ],
        "sqs" => vec![arn("sqs", format!("{}-dlq", n.pipe))],
        "pipes" => vec![arn("pipes", format!("pipe/{}", n.pipe))],
        "lambda" => vec![arn("lambda", format!("function:{}", n.lambda))],
        "firehose" => vec![arn("firehose", format!("deliverystream/{}", n.firehose))],
        "logs" => vec![arn("logs", format!("log-group:/aws/lambda/{}:*", n.lambda))],
        // Metrics (GetMetricData, ListMetrics) have no resource-level permissions.
        "cloudwatch" => vec!["*".into()],
        _ => panic!("say which resource a {action} call is asked on"),
    }
}

struct Names {
    account: String,
    region: String,
    prefix: String,
    table: String,
    stream: String,
    bucket: String,
    pipe: String,
    firehose: String,
    lambda: String,
    glue_database: String,
    workgroup: String,
}

/// IAM's wildcards: `*` any run of characters, `?` one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether `policy` allows `action` on `resource` (no Deny matches, an unconditioned Allow does).
fn allows(policy: &PolicyDocument, action: &str, resource: &str) -> bool {
    let matches = |s: &salesctl::stack::policy::Statement| {
        s.action
            .iter()
            .any(|a| glob(&a.to_lowercase(), &action.to_lowercase()))
            && s.resource.iter().any(|r| glob(r, resource))
    };
    let denied = policy
        .statement
        .iter()
        .any(|s| s.effect == Effect::Deny && matches(s));
    let allowed = policy
        .statement
        .iter()
        .any(|s| s.effect == Effect::Allow && s.condition.is_none() && matches(s));
    allowed && !denied
}

#[test]
fn glob_matches_as_iam_does() {
    assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y"));
    assert!(!glob("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
    assert!(glob("*", "anything"));
    assert!(glob("a?c", "abc"));
    assert!(!glob("a?c", "ac"));
    assert!(glob("table/t/stream/*", "table/t/stream/2024"));
}

#[test]
fn every_sdk_call_salesctl_makes_is_allowed_by_the_policy_it_prints() {
    let catalogue = sdk_catalogue();
    let (calls, unresolved) = sdk_calls(&catalogue);
    assert!(
        unresolved.is_empty(),
        "an SDK operation's name called on something that is not a known client (bind the client with its aws_sdk_x::Client type, or use a Clients field):\n{}",
        unresolved.join("\n")
    );
    // The search finds what it should: a sample of calls known to be there.
    for (krate, operation) in [
        ("dynamodb", "scan"),
        ("dynamodbstreams", "get_records"),
        ("kinesis", "get_records"),
        ("s3", "list_objects_v2"),
        ("athena", "start_query_execution"),
        ("cloudformation", "create_change_set"),
        ("sts", "get_caller_identity"),
    ] {
        assert!(
            calls
                .iter()
                .any(|c| c.krate == krate && c.operation == operation),
            "{krate} {operation} not found among {calls:?}"
        );
    }

    let s = session();
    let (code, printed, stderr) = run(s.salesctl().arg("policy"));
    assert_eq!(code, 0, "{stderr}");
    let policy: PolicyDocument = serde_json::from_str(&printed).unwrap();
    let settings = s.settings();
    let (account, region) = ("123456789012", "us-east-1");
    assert!(
        printed.contains(&format!(":{region}:{account}:")),
        "{printed}"
    );
    let names = Names {
        account: account.into(),
        region: region.into(),
        bucket: settings.lake_bucket(account, region),
        prefix: settings.stack_prefix.clone(),
        table: settings.table.clone(),
        stream: settings.stream.clone(),
        pipe: settings.pipe.clone(),
        firehose: settings.firehose.clone(),
        lambda: settings.lambda.clone(),
        glue_database: settings.glue_database.clone(),
        workgroup: settings.workgroup.clone(),
    };

    let mut denied = Vec::new();
    let mut exempt_used = BTreeSet::new();
    let mut listing = BTreeMap::<String, BTreeSet<String>>::new();
    for call in &calls {
        let exempt = EMULATOR_ONLY
            .iter()
            .position(|e| e.file == call.file && e.operation == call.operation);
        for action in iam_actions(call) {
            let key = format!("{} {}", call.krate, call.api);
            listing.entry(key).or_default().insert(action.clone());
            for resource in resources(&action, &names) {
                if allows(&policy, &action, &resource) {
                    continue;
                }
                match exempt {
                    Some(i) => {
                        exempt_used.insert(i);
                    }
                    None => denied.push(format!(
                        "{}:{}: {}.{}() needs {action} on {resource}",
                        call.file, call.line, call.krate, call.operation
                    )),
                }
            }
        }
    }
    eprintln!(
        "{} SDK calls, by operation and the IAM actions they need:",
        calls.len()
    );
    for (operation, actions) in &listing {
        eprintln!(
            "  {operation}: {}",
            actions.iter().cloned().collect::<Vec<_>>().join(" ")
        );
    }
    assert!(
        denied.is_empty(),
        "salesctl calls what its policy does not allow (AccessDenied on AWS):\n{}",
        denied.join("\n")
    );

    // What is left out of the policy stays emulator-only, and no exemption is stale.
    let root = project_root();
    for (i, e) in EMULATOR_ONLY.iter().enumerate() {
        assert!(
            calls
                .iter()
                .any(|c| c.file == e.file && c.operation == e.operation),
            "stale exemption: no {} in {}",
            e.operation,
            e.file
        );
        assert!(
            exempt_used.contains(&i),
            "{} in {} is allowed now: drop its exemption",
            e.operation,
            e.file
        );
        let gate_source = std::fs::read_to_string(root.join(e.gate_file)).unwrap();
        let gate_line = gate_source
            .lines()
            .position(|l| l.contains(e.gate))
            .unwrap_or_else(|| {
                panic!(
                    "{} is left out of the policy because {}, but {} no longer says {:?}",
                    e.operation, e.why, e.gate_file, e.gate
                )
            });
        if let Some(within) = e.lines_before {
            let call_lines: Vec<usize> = calls
                .iter()
                .filter(|c| c.file == e.file && c.operation == e.operation)
                .map(|c| c.line - 1)
                .collect();
            assert!(
                call_lines
                    .iter()
                    .all(|l| *l > gate_line && *l - gate_line <= within),
                "{} in {} is no longer right under {:?} ({})",
                e.operation,
                e.file,
                e.gate,
                e.why
            );
        }
    }
}
