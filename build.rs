//! Build details for `salesctl --version`: the git commit the binary was built from and the
//! target, so a bug report names exactly what ran.

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=SALESCTL_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=SALESCTL_TARGET={}",
        std::env::var("TARGET").unwrap_or_default()
    );
    println!(
        "cargo:rustc-env=SALESCTL_PROFILE={}",
        std::env::var("PROFILE").unwrap_or_default()
    );
    // A new commit or checkout moves HEAD or the branch it points at.
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Ok(head) = std::fs::read_to_string(".git/HEAD")
        && let Some(reference) = head.strip_prefix("ref: ")
    {
        println!("cargo:rerun-if-changed=.git/{}", reference.trim());
    }
    println!("cargo:rerun-if-changed=build.rs");
}
