//! History to forecast from, end to end on the emulator: `generate --backfill`, the relay,
//! then `report` with its seasonal forecast, backtest and charts, and `report --html` opened
//! in a real headless Chromium (the distribution's package).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{Session, run, run_within, session};

/// One headless Chromium run: a page load, a DOM dump or a screenshot.
const CHROMIUM_DEADLINE: Duration = Duration::from_secs(60);

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
    let (_, stdout, stderr) = run_within(
        Command::new(chromium())
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
            .arg(format!("file://{}", page.display())),
        CHROMIUM_DEADLINE,
    );
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
    // One place per concept: no heading twice; the per-day table folded away.
    let headings: Vec<&str> = dom
        .split("<h2>")
        .skip(1)
        .map(|h| h.split("</h2>").next().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<&&str> = headings.iter().collect();
    assert_eq!(
        unique.len(),
        headings.len(),
        "a heading twice: {headings:?}"
    );
    assert!(
        dom.contains("<details><summary><h2>Revenue by day"),
        "{headings:?}"
    );

    // The rendered geometry at a desktop's and a phone's width: the page is framed at
    // exactly 1280 and 390 CSS px (headless Chromium's own window is never narrower than
    // 500) and measured by the browser's layout itself.
    let geometry = measure(&out_dir, &page, &[1280, 390]);
    for (width, view) in [1280, 390].into_iter().zip(&geometry) {
        let num = |v: &serde_json::Value, key: &str| v[key].as_f64().expect(key);
        let (inner, visible) = (num(view, "inner"), num(view, "client"));
        assert_eq!(inner, f64::from(width), "{view}");
        assert!(
            num(view, "scroll") <= visible && num(view, "scroll") <= inner,
            "{width} px: the page scrolls sideways: {view}"
        );
        let charts = view["charts"].as_array().unwrap();
        assert_eq!(charts.len(), count("data-series"), "{view}");
        for chart in charts {
            let pair = |key: &str| -> (f64, f64) {
                let p = chart[key].as_array().expect(key);
                (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())
            };
            // The last forecast day: its point and its date label, on screen, together.
            let end = num(chart, "forecastEnd");
            let label = pair("labelAt");
            assert!(
                (0.0..=visible).contains(&end) && label.0 >= 0.0 && label.1 <= visible,
                "{width} px: the last forecast day off screen: {chart}"
            );
            assert!((end - label.1).abs() < 2.0, "label at the end: {chart}");
            let last_day = chart["lastDay"].as_str().unwrap();
            let day = chrono::NaiveDate::parse_from_str(last_day, "%Y-%m-%d").unwrap();
            assert_eq!(
                chart["label"].as_str(),
                Some(day.format("%b %-d").to_string().as_str())
            );
            assert!(pair("plot").1 <= visible, "{chart}");
            assert_eq!(
                chart["legend"],
                serde_json::json!(["revenue per day", "forecast", "95% interval"])
            );
            // Several dates and round values, none over another.
            for (key, least) in [("xticks", if width < 600 { 4 } else { 6 }), ("yticks", 3)] {
                let mut spans: Vec<(f64, f64)> = chart[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                    .collect();
                assert!(spans.len() >= least, "{width} px: {key}: {chart}");
                spans.sort_by(|a, b| a.0.total_cmp(&b.0));
                for pair in spans.windows(2) {
                    assert!(
                        pair[0].1 <= pair[1].0 + 0.5,
                        "{width} px: {key} overlap: {chart}"
                    );
                }
            }
        }
        let height = num(view, "height");
        assert!(
            height < if width < 600 { 8000.0 } else { 5000.0 },
            "{width} px: the page is {height} px tall"
        );
        eprintln!(
            "{width} px: page {visible} px wide (scroll width {}), {height} px tall; last forecast day at x {}",
            num(view, "scroll"),
            charts
                .iter()
                .map(|c| format!("{:.0}", num(c, "forecastEnd")))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    for (width, height) in [(1280, 1000), (390, 900)] {
        let screenshot = out_dir.join(format!("report-{width}.png"));
        let _ = std::fs::remove_file(&screenshot);
        headless(
            &page,
            &[
                format!("--screenshot={}", screenshot.display()),
                format!("--window-size={width},{height}"),
            ],
        );
        let png = std::fs::read(&screenshot).expect("a screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "a real picture"
        );
        eprintln!("screenshot kept at {}", screenshot.display());
    }
}

/// Measures in the browser, for each of `widths`, the page framed at that width: its width
/// and scroll width, its height, and per chart the last forecast point's x, the last day's
/// label, the visible date and value ticks and the legend (JSON, one object per width).
fn measure(dir: &Path, page: &Path, widths: &[u32]) -> Vec<serde_json::Value> {
    const MEASURE: &str = r#"
function measure(frame){
 var w=frame.contentWindow,doc=w.document,root=doc.documentElement;
 var across=function(e){var r=e.getBoundingClientRect();return [r.left,r.right];};
 var down=function(e){var r=e.getBoundingClientRect();return [r.top,r.bottom];};
 var shown=function(e){return e.getClientRects().length>0;};
 var charts=[].map.call(doc.querySelectorAll('figure.chart'),function(f){
  var line=f.querySelector('polyline.forecast'),end=null;
  if(line){var p=line.points.getItem(line.points.numberOfItems-1),m=line.getScreenCTM();end=p.x*m.a+p.y*m.c+m.e;}
  var last=f.querySelector('.xtick.last');
  return {lastDay:f.dataset.lastDay,label:last&&last.textContent,labelAt:last&&across(last),
   forecastEnd:end,plot:across(f.querySelector('.plot svg')),
   xticks:[].filter.call(f.querySelectorAll('.xtick'),shown).map(across),
   yticks:[].filter.call(f.querySelectorAll('.ytick'),shown).map(down),
   legend:[].filter.call(f.querySelectorAll('.legend li'),shown).map(function(e){return e.textContent;})};
 });
 return {inner:w.innerWidth,client:root.clientWidth,scroll:root.scrollWidth,height:root.scrollHeight,charts:charts};
}
window.addEventListener('load',function(){
 document.getElementById('measure').textContent=JSON.stringify([].map.call(document.querySelectorAll('iframe'),measure));
});"#;
    let name = page.file_name().unwrap().to_str().unwrap();
    let frames: String = widths
        .iter()
        .map(|w| format!("<iframe src=\"{name}\" style=\"width:{w}px;height:900px\"></iframe>"))
        .collect();
    let wrapper = dir.join("measure.html");
    std::fs::write(
        &wrapper,
        format!(
            "<!DOCTYPE html><html><body><pre id=\"measure\"></pre>{frames}<script>{MEASURE}</script></body></html>"
        ),
    )
    .unwrap();
    let (dom, log) = headless(
        &wrapper,
        &[
            "--allow-file-access-from-files".to_string(),
            "--window-size=1800,1000".to_string(),
            "--dump-dom".to_string(),
        ],
    );
    let text = dom
        .split("<pre id=\"measure\">")
        .nth(1)
        .and_then(|t| t.split("</pre>").next())
        .unwrap_or_default()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let views: Vec<serde_json::Value> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("no measurements ({e}):\n{dom}\n{log}"));
    assert_eq!(views.len(), widths.len(), "{text}");
    views
}

/// The first run shows the best of it: `demo` on a new stack writes history first, so its
/// report has the chart, the forecast with its band and the backtest.
#[test]
fn the_demo_on_a_new_stack_ends_with_a_forecast() {
    let s = session();
    let (code, stdout, stderr) = run(s.salesctl().env("COLUMNS", "80").args(["demo"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("write past orders"), "{stderr}");
    for shown in [
        "with the forecast and its 95% band",
        "Forecast, next 7 days: point (95% interval)",
        "How far to trust it: backtest",
        "(the forecast)",
    ] {
        assert!(stdout.contains(shown), "{shown}:\n{stdout}");
    }
    assert!(!stdout.contains("none yet"), "{stdout}");
}
