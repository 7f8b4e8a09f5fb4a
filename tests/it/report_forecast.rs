//! History to forecast from, end to end on the emulator: `generate --backfill`, the relay,
//! then `report` with its seasonal forecast, backtest and charts, and `report --html` opened
//! in a real headless Chromium (the distribution's package).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Session, run, session};

fn ok(s: &Session, args: &[&str]) -> String {
    let (code, stdout, stderr) = run(s.salesctl().args(args));
    assert_eq!(code, 0, "{args:?}: {stderr}");
    stdout
}

/// Debian's chromium; scripts/test installs it.
fn chromium() -> PathBuf {
    let path = PathBuf::from(
        std::env::var("SALESCTL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    assert!(
        path.is_file(),
        "{} missing: install Debian's chromium (scripts/test does: apt-get install chromium)",
        path.display()
    );
    path
}

/// Runs headless Chromium the way this machine's closed network needs (no background
/// connections), with a fresh profile.
fn headless(page: &Path, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let (_, stdout, stderr) = run(Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display())));
    (stdout, stderr)
}

#[test]
fn backfilled_history_gets_a_seasonal_forecast_a_backtest_and_charts_that_render() {
    let s = session();
    ok(&s, &["up", "-o", "json"]);
    let summary = run(s.salesctl().args([
        "generate",
        "--backfill",
        "60d",
        "--orders-per-day",
        "30",
        "--seed",
        "7",
        "-o",
        "table",
    ]));
    assert_eq!(summary.0, 0, "{}", summary.2);
    ok(
        &s,
        &["relay", "--drain", "--buffer-interval", "1s", "-o", "json"],
    );

    // Every order time lies in the window; the report groups by it, not by arrival.
    let days = ok(&s, &["report", "-o", "json", "--section", "revenue_by_day"]);
    let distinct: std::collections::BTreeSet<String> = days
        .lines()
        .skip(1)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["day"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(distinct.len() >= 59, "{} days of history", distinct.len());

    let models = ok(&s, &["report", "-o", "json", "--section", "forecast_model"]);
    assert!(models.contains("Holt-Winters"), "{models}");
    let backtest = ok(&s, &["report", "-o", "json", "--section", "backtest"]);
    for method in ["seasonal naive", "linear trend"] {
        assert!(
            backtest.to_lowercase().contains(method),
            "{method}: {backtest}"
        );
    }
    // Per currency, the method shown as the forecast is the one with the lowest backtest
    // error: never a model that loses to its own baseline.
    let rows: Vec<serde_json::Value> = backtest
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let currencies: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|r| r["currency"].as_str()).collect();
    assert!(!currencies.is_empty(), "{backtest}");
    for currency in currencies {
        let of: Vec<&serde_json::Value> =
            rows.iter().filter(|r| r["currency"] == currency).collect();
        let chosen: Vec<&&serde_json::Value> = of
            .iter()
            .filter(|r| r["method"].as_str().unwrap().ends_with("(the forecast)"))
            .collect();
        assert_eq!(chosen.len(), 1, "{currency}: one forecast: {backtest}");
        let best = of
            .iter()
            .filter_map(|r| r["mae"].as_f64())
            .fold(f64::INFINITY, f64::min);
        assert_eq!(
            chosen[0]["mae"].as_f64(),
            Some(best),
            "{currency}: {backtest}"
        );
    }

    // The table view at 80 columns: the chart, the forecast, the backtest; nothing wider.
    let (code, text, stderr) = run(s
        .salesctl()
        .env("COLUMNS", "80")
        .args(["report", "-o", "table"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("with the forecast and its 95% band"),
        "{text}"
    );
    assert!(
        text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "a braille chart:\n{text}"
    );
    assert!(text.contains("How far to trust it"), "{text}");
    assert!(text.contains("others ("), "top-N with others:\n{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let (_, plain, _) =
        run(s
            .salesctl()
            .env("COLUMNS", "80")
            .args(["report", "-o", "table", "--no-chart"]));
    assert!(
        !plain
            .chars()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
    );

    // The HTML page renders in a real browser, with no console error, and shows the series.
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-html");
    std::fs::create_dir_all(&out_dir).unwrap();
    let page = out_dir.join("report.html");
    let (code, _, stderr) =
        run(s
            .salesctl()
            .args(["report", "--html", page.to_str().unwrap(), "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let (dom, log) = headless(&page, &["--dump-dom".to_string()]);
    assert!(
        dom.contains("data-rendered=\"yes\""),
        "the page's script ran:\n{log}"
    );
    let count = |attribute: &str| -> usize {
        let start = dom.find(&format!("{attribute}=\"")).expect(attribute) + attribute.len() + 2;
        dom[start..].split('"').next().unwrap().parse().unwrap()
    };
    assert!(count("data-series") >= 1, "series drawn");
    assert!(count("data-bars") >= 3, "bars drawn");
    for bad in ["Uncaught", "CONSOLE(", "ERR_FILE_NOT_FOUND", "Refused to"] {
        assert!(!log.contains(bad), "{bad} in the browser log:\n{log}");
    }
    let screenshot = out_dir.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    headless(
        &page,
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1200,1600".to_string(),
        ],
    );
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real picture"
    );
    eprintln!("screenshot kept at {}", screenshot.display());
}
