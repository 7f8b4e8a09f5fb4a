//! Building the transform Lambda: cross-compile the salesctl-lambda crate for provided.al2023
//! with cargo-zigbuild against glibc 2.34, zip it as `bootstrap`, and prove the glibc floor.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::config_error;

/// provided.al2023 ships glibc 2.34: a binary needing a newer symbol version fails to start.
pub const MAX_GLIBC: GlibcVersion = GlibcVersion(2, 34);
/// Lambda takes a zip of up to 50 MB directly; the transform should stay far below, and a
/// larger one means the wrong profile or features were built.
pub const MAX_ZIP_BYTES: u64 = 5 * 1024 * 1024;

/// The Lambda architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    /// The names Lambda (and `--arch`) use.
    pub const NAMES: [&'static str; 2] = ["x86_64", "arm64"];

    /// The architecture Lambda calls `name`.
    pub fn named(name: &str) -> Option<Arch> {
        match name {
            "x86_64" => Some(Arch::X86_64),
            "arm64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The zigbuild target: the Rust target with the glibc version to link against.
    pub fn zig_target(self) -> String {
        format!("{}.{}.{}", self.rust_target(), MAX_GLIBC.0, MAX_GLIBC.1)
    }

    /// The name Lambda uses.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => 62,
            Arch::Arm64 => 183,
        }
    }
}

/// A glibc symbol version, e.g. 2.34.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub u32, pub u32);

impl std::fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// Parses "GLIBC_2.34" (or "GLIBC_2.2.5", compared on its first two parts).
pub fn parse_glibc_tag(tag: &str) -> Option<GlibcVersion> {
    let rest = tag.strip_prefix("GLIBC_")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some(GlibcVersion(major, minor))
}

/// What an ELF file tells about itself: machine and the newest glibc version it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfFacts {
    pub machine: u16,
    pub newest_glibc: Option<GlibcVersion>,
}

/// Reads the ELF header and the version-needs section (.gnu.version_r, what `objdump -T`
/// shows as GLIBC_x.y) of a 64-bit binary with the `object` crate, without running any tool.
pub fn elf_facts(elf: &[u8]) -> Result<ElfFacts, String> {
    use object::read::elf::{ElfFile64, FileHeader as _};
    if elf.get(0..4) != Some(b"\x7fELF".as_slice()) {
        return Err("not an ELF binary".to_string());
    }
    let file = ElfFile64::<object::Endianness>::parse(elf)
        .map_err(|e| format!("not a 64-bit ELF binary ({e})"))?;
    let endian = file.endian();
    let machine = file.elf_header().e_machine(endian);
    let sections = file.elf_section_table();
    let mut newest: Option<GlibcVersion> = None;
    let bad = |e: object::read::Error| format!("bad version needs ({e})");
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, elf).map_err(bad)? {
        let strings = sections.strings(endian, elf, link).map_err(bad)?;
        while let Some((_, mut entries)) = needs.next().map_err(bad)? {
            while let Some(entry) = entries.next().map_err(bad)? {
                let name = entry.name(endian, strings).map_err(bad)?;
                if let Some(v) = std::str::from_utf8(name).ok().and_then(parse_glibc_tag) {
                    newest = newest.max(Some(v));
                }
            }
        }
    }
    Ok(ElfFacts {
        machine,
        newest_glibc: newest,
    })
}

/// Zips `binary` as the single entry `bootstrap`, executable (mode 0755), as Lambda's
/// custom runtimes require.
pub fn zip_bootstrap(binary: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

/// The `bootstrap` entry of a Lambda zip and its unix mode.
pub fn bootstrap_in_zip(zip: &[u8]) -> anyhow::Result<(Vec<u8>, Option<u32>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip))
        .map_err(|e| {
            config_error(format!(
                "the Lambda zip is not a valid zip file ({e}): pass the zip 'salesctl deploy-lambda' builds, or zip the binary as 'bootstrap' (zip -j bootstrap.zip bootstrap)"
            ))
        })?;
    let mut entry = archive.by_name("bootstrap").map_err(|_| {
        config_error(
            "the Lambda zip has no 'bootstrap' entry at its root: zip the binary as 'bootstrap'",
        )
    })?;
    let mode = entry.unix_mode();
    let mut out = Vec::new();
    entry.read_to_end(&mut out)?;
    Ok((out, mode))
}

/// What a build (or a given zip) delivered, for the report.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub zip: Vec<u8>,
    pub zip_path: Option<PathBuf>,
    pub binary_bytes: u64,
    /// None when the binary is not a dynamically linked ELF (e.g. a test stub).
    pub newest_glibc: Option<GlibcVersion>,
    pub is_elf: bool,
}

impl Artifact {
    /// Inspects a zip: its bootstrap entry, the glibc it needs, and refuses one whose
    /// bootstrap is not executable, needs a glibc newer than provided.al2023 has or is built
    /// for the other architecture.
    pub fn from_zip(
        zip: Vec<u8>,
        zip_path: Option<PathBuf>,
        arch: Arch,
    ) -> anyhow::Result<Artifact> {
        let (binary, mode) = bootstrap_in_zip(&zip)?;
        // Lambda keeps the zip's unix modes and runs `bootstrap` as a user that is not its
        // owner: without read and execute for everyone the function never starts
        // (Runtime.InvalidEntrypoint, permission denied), and every record fails.
        let runnable = |m: u32| m & 0o005 == 0o005;
        if !mode.is_some_and(runnable) {
            let mode = mode.map_or("no unix mode (zipped on Windows?)".to_string(), |m| {
                format!("mode {:04o}", m & 0o7777)
            });
            return Err(config_error(format!(
                "the bootstrap in the Lambda zip is not executable ({mode}) and Lambda could not start it: 'chmod 755 bootstrap' and zip it again on Linux or macOS ('zip -j lambda.zip bootstrap'), or let 'salesctl deploy-lambda' build it"
            )));
        }
        let facts = elf_facts(&binary).ok();
        if let Some(f) = &facts {
            if f.machine != arch.elf_machine() {
                return Err(config_error(format!(
                    "the bootstrap in the zip is not built for {} (ELF machine {}): rebuild it or pass the matching --arch",
                    arch.lambda_name(),
                    f.machine
                )));
            }
            if let Some(v) = f.newest_glibc.filter(|v| *v > MAX_GLIBC) {
                return Err(config_error(format!(
                    "the bootstrap needs glibc {v}, newer than the {MAX_GLIBC} of provided.al2023: build it with 'salesctl deploy-lambda' (cargo zigbuild --target {})",
                    arch.zig_target()
                )));
            }
        }
        Ok(Artifact {
            binary_bytes: binary.len() as u64,
            newest_glibc: facts.as_ref().and_then(|f| f.newest_glibc),
            is_elf: facts.is_some(),
            zip,
            zip_path,
        })
    }

    /// One line for people: size and glibc floor.
    pub fn summary(&self) -> String {
        let glibc = match (self.is_elf, self.newest_glibc) {
            (true, Some(v)) => format!("needs glibc {v} (limit {MAX_GLIBC})"),
            (true, None) => "needs no glibc symbol versions".to_string(),
            (false, _) => "bootstrap is not an ELF binary (not checked)".to_string(),
        };
        let warn = if self.zip.len() as u64 >= MAX_ZIP_BYTES {
            " — over the 5 MB budget"
        } else {
            ""
        };
        format!(
            "zip {} bytes{warn}, bootstrap {} bytes, {glibc}",
            self.zip.len(),
            self.binary_bytes
        )
    }
}

/// The salesctl source tree: the current directory or one above it holding salesctl's
/// Cargo.toml and the bootstrap source. Never the tree this binary was built from: a build
/// run elsewhere must not write into a checkout the user did not point at.
pub fn project_root() -> Option<PathBuf> {
    let is_root = |dir: &Path| {
        dir.join("crates/salesctl-lambda/src/main.rs").is_file()
            && std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|t| t.contains("name = \"salesctl\""))
    };
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().find(|d| is_root(d)).map(Path::to_path_buf)
}

/// What a build takes from the environment, handed down by the context (this module reads
/// no variable itself).
#[derive(Debug, Clone, Default)]
pub struct BuildEnv {
    /// `PATH`: where zig may be, and what the build's own PATH extends.
    pub path: Option<std::ffi::OsString>,
    /// `CARGO_TARGET_DIR`: where cargo leaves the build, else the checkout's `target/`.
    pub cargo_target_dir: Option<PathBuf>,
}

impl BuildEnv {
    fn target_dir(&self, root: &Path) -> PathBuf {
        self.cargo_target_dir
            .clone()
            .unwrap_or_else(|| root.join("target"))
    }

    fn path_dirs(&self) -> Vec<PathBuf> {
        self.path.iter().flat_map(std::env::split_paths).collect()
    }
}

/// Where a build leaves its zip, so `up` can reuse it.
pub fn artifact_path(root: &Path, arch: Arch, env: &BuildEnv) -> PathBuf {
    env.target_dir(root)
        .join("lambda")
        .join(arch.lambda_name())
        .join("bootstrap.zip")
}

fn tool_error(what: &str, fix: &str) -> anyhow::Error {
    config_error(format!("{what}: {fix}"))
}

fn runs(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a setup or build step with its output on stderr (stdout is the command's result).
fn run_step(cmd: &mut Command, what: &str, fix: &str) -> anyhow::Result<()> {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| tool_error(&format!("{what}: {e}"), fix))?;
    if !status.success() {
        return Err(tool_error(&format!("{what} failed ({status})"), fix));
    }
    Ok(())
}

/// Whether a build may install the tools it lacks (`--yes`), or must say what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installs {
    /// Install zig (PyPI `ziglang`, into the checkout's .local/zig-venv) and cargo-zigbuild.
    Allowed,
    /// Stop with the exact commands that install what is missing.
    Refused,
}

/// `zig` on PATH, or in the checkout's .local/zig-venv from an earlier `--yes` install.
fn find_zig(venv: &Path, env: &BuildEnv) -> Option<PathBuf> {
    let on_path = env
        .path_dirs()
        .into_iter()
        .map(|dir| dir.join("zig"))
        .find(|candidate| candidate.is_file());
    on_path.or_else(|| {
        let python = venv.join("bin/python");
        let locate =
            "import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))";
        Command::new(python)
            .args(["-c", locate])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .filter(|p| p.is_file())
    })
}

/// Checks the toolchain; with [`Installs::Allowed`] installs what a project-local install can
/// provide: the zig compiler (PyPI `ziglang`, in .local/zig-venv) and cargo-zigbuild
/// (`cargo install`). Returns the zig executable.
fn ensure_tools(
    root: &Path,
    arch: Arch,
    installs: Installs,
    env: &BuildEnv,
) -> anyhow::Result<PathBuf> {
    if !runs(Command::new("cargo").arg("--version")) {
        return Err(tool_error(
            "cargo not found",
            "install Rust from https://rustup.rs",
        ));
    }
    let target = arch.rust_target();
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out) if out.status.success() => {
            if !String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == target)
            {
                return Err(tool_error(
                    &format!("the Rust target {target} is not installed"),
                    &format!("run 'rustup target add {target}'"),
                ));
            }
        }
        // Without rustup (a distro toolchain) the build itself reports a missing target.
        _ => {
            tracing::warn!("rustup not found; assuming the {target} standard library is installed")
        }
    }
    let venv = root.join(".local/zig-venv");
    let python = venv.join("bin/python");
    let has_zigbuild = || runs(Command::new("cargo").args(["zigbuild", "--help"]));
    let zig = find_zig(&venv, env);
    // `cargo zigbuild --version` is refused (it forwards flags to cargo build); --help is not.
    let zigbuild = has_zigbuild();
    if installs == Installs::Refused && (zig.is_none() || !zigbuild) {
        let mut missing = Vec::new();
        let mut commands = Vec::new();
        if zig.is_none() {
            missing.push("the zig compiler");
            commands
                .push("python3 -m pip install --user ziglang (or a zig from ziglang.org on PATH)");
        }
        if !zigbuild {
            missing.push("cargo-zigbuild");
            commands.push("cargo install --locked cargo-zigbuild");
        }
        return Err(tool_error(
            &format!(
                "building the Lambda needs {}, which this machine lacks",
                missing.join(" and ")
            ),
            &format!(
                "run '{}', or pass --yes to let salesctl install them (zig into {}), or pass a built zip with --zip",
                commands.join("' and '"),
                venv.display()
            ),
        ));
    }
    let zig = match zig {
        Some(zig) => zig,
        None => {
            crate::say!(
                "salesctl: installing the zig compiler (PyPI ziglang) into {}",
                venv.display()
            );
            let fix = "install Python 3 with venv and pip, or put 'zig' on PATH yourself";
            if !python.is_file() {
                run_step(
                    Command::new("python3").args(["-m", "venv"]).arg(&venv),
                    "python3 -m venv",
                    fix,
                )?;
            }
            run_step(
                Command::new(&python).args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "ziglang",
                ]),
                "pip install ziglang",
                fix,
            )?;
            find_zig(&venv, env)
                .ok_or_else(|| tool_error("the ziglang package has no zig executable", fix))?
        }
    };
    if !zigbuild {
        crate::say!("salesctl: installing cargo-zigbuild (cargo install cargo-zigbuild)");
        run_step(
            Command::new("cargo").args(["install", "--locked", "cargo-zigbuild"]),
            "cargo install cargo-zigbuild",
            "install it yourself with 'cargo install cargo-zigbuild' and make sure ~/.cargo/bin is on PATH",
        )?;
    }
    Ok(zig)
}

/// Builds the bootstrap for `arch`, checks its glibc floor, zips it next to the build
/// output and returns the artifact.
pub fn build(arch: Arch, installs: Installs, env: &BuildEnv) -> anyhow::Result<Artifact> {
    let root = project_root().ok_or_else(|| {
        config_error(
            "building the Lambda needs the salesctl source tree: run from the checkout, or pass a built zip with --zip/--lambda-zip",
        )
    })?;
    let zig = ensure_tools(&root, arch, installs, env)?;
    let zig_dir = zig.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(root.join(".local/zig-venv/bin")).chain(env.path_dirs()),
    )?;
    crate::say!(
        "salesctl: building bootstrap for {} (cargo zigbuild --profile lambda)",
        arch.zig_target()
    );
    run_step(
        Command::new("cargo")
            .args([
                "zigbuild",
                "--profile",
                "lambda",
                "--package",
                "salesctl-lambda",
                "--bin",
                "bootstrap",
            ])
            .arg("--target")
            .arg(arch.zig_target())
            .current_dir(&root)
            .env("PATH", path)
            .env("CARGO_ZIGBUILD_ZIG_PATH", &zig)
            .env("ZIG_LIB_DIR", zig_dir.join("lib")),
        "cargo zigbuild",
        "see the compiler output above",
    )?;
    let binary_path = env
        .target_dir(&root)
        .join(arch.rust_target())
        .join("lambda")
        .join("bootstrap");
    let binary = std::fs::read(&binary_path)
        .map_err(|e| config_error(format!("the build left no {}: {e}", binary_path.display())))?;
    let zip = zip_bootstrap(&binary)?;
    let zip_path = artifact_path(&root, arch, env);
    if let Some(dir) = zip_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&zip_path, &zip)?;
    Artifact::from_zip(zip, Some(zip_path), arch)
}

/// Reads a zip the user built.
pub fn load_zip(path: &Path, arch: Arch) -> anyhow::Result<Artifact> {
    let zip = std::fs::read(path).map_err(|e| {
        config_error(format!(
            "cannot read the Lambda zip {}: {e}",
            path.display()
        ))
    })?;
    Artifact::from_zip(zip, Some(path.to_path_buf()), arch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_tags_parse_and_order() {
        assert_eq!(parse_glibc_tag("GLIBC_2.34"), Some(GlibcVersion(2, 34)));
        assert_eq!(parse_glibc_tag("GLIBC_2.2.5"), Some(GlibcVersion(2, 2)));
        assert_eq!(parse_glibc_tag("GCC_3.0"), None);
        assert_eq!(parse_glibc_tag("GLIBC_PRIVATE"), None);
        assert!(GlibcVersion(2, 36) > MAX_GLIBC);
        assert!(GlibcVersion(2, 9) < GlibcVersion(2, 34));
    }

    #[test]
    fn the_zip_holds_an_executable_bootstrap() {
        let zip = zip_bootstrap(b"#!/bin/sh\necho hi\n").unwrap();
        let (body, mode) = bootstrap_in_zip(&zip).unwrap();
        assert_eq!(body, b"#!/bin/sh\necho hi\n");
        assert_eq!(mode.map(|m| m & 0o777), Some(0o755));
        let a = Artifact::from_zip(zip, None, Arch::X86_64).unwrap();
        assert!(!a.is_elf);
    }

    #[test]
    fn a_bootstrap_that_is_not_executable_is_refused() {
        let zip_with = |options: zip::write::SimpleFileOptions| {
            let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
            writer.start_file("bootstrap", options).unwrap();
            writer.write_all(b"#!/bin/sh\n").unwrap();
            writer.finish().unwrap().into_inner()
        };
        let plain = zip::write::SimpleFileOptions::default();
        for mode in [0o644, 0o744, 0o750] {
            let err =
                Artifact::from_zip(zip_with(plain.unix_permissions(mode)), None, Arch::X86_64)
                    .unwrap_err()
                    .to_string();
            assert!(err.contains("not executable"), "{mode:o}: {err}");
            assert!(err.contains(&format!("{mode:04o}")), "{err}");
            assert!(err.contains("chmod 755"), "{err}");
        }
        assert!(
            Artifact::from_zip(zip_with(plain.unix_permissions(0o755)), None, Arch::X86_64).is_ok()
        );
    }

    #[test]
    fn a_zip_without_bootstrap_or_garbage_is_refused() {
        assert!(bootstrap_in_zip(b"not a zip").is_err());
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .start_file("main", zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(b"x").unwrap();
        let zip = writer.finish().unwrap().into_inner();
        let err = bootstrap_in_zip(&zip).unwrap_err().to_string();
        assert!(err.contains("no 'bootstrap' entry"), "{err}");
    }

    #[test]
    fn a_host_binary_reads_as_elf_with_glibc_needs() {
        // The test binary itself: dynamically linked against the host glibc on Linux.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let facts = elf_facts(&me).unwrap();
        if cfg!(all(
            target_os = "linux",
            target_arch = "x86_64",
            target_env = "gnu"
        )) {
            assert_eq!(facts.machine, 62);
            assert!(
                facts.newest_glibc.is_some_and(|v| v >= GlibcVersion(2, 2)),
                "{facts:?}"
            );
        }
    }

    #[test]
    fn broken_elf_input_is_an_error_not_a_panic() {
        assert!(elf_facts(b"").is_err());
        assert!(elf_facts(b"\x7fELF\x02\x01").is_err());
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        for cut in [16, 64, 200, me.len() / 2] {
            let _ = elf_facts(&me[..cut.min(me.len())]);
        }
        let mut garbage = me.clone();
        for b in garbage.iter_mut().skip(0x28).take(16) {
            *b = 0xff;
        }
        let _ = elf_facts(&garbage);
    }

    static HOST_BINARY: std::sync::LazyLock<Vec<u8>> =
        std::sync::LazyLock::new(|| std::fs::read(std::env::current_exe().unwrap()).unwrap());

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        // Corrupting any bytes of a real binary's headers yields Ok or Err, never a panic
        // or an endless walk.
        #[test]
        fn corrupted_elf_never_panics(
            edits in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 1..32)
        ) {
            let mut elf = HOST_BINARY.clone();
            let len = elf.len();
            for (at, byte) in edits {
                elf[at % len] = byte;
            }
            let _ = elf_facts(&elf);
        }
    }

    #[test]
    fn targets_carry_the_glibc_floor() {
        assert_eq!(Arch::X86_64.zig_target(), "x86_64-unknown-linux-gnu.2.34");
        assert_eq!(Arch::Arm64.zig_target(), "aarch64-unknown-linux-gnu.2.34");
    }
}
