//! Messages to a person on stderr that never panic: `eprintln!` aborts the process when
//! stderr is closed (`2>&-`, a dead terminal), and a note is never worth a crash.

/// `eprintln!` that ignores a closed or failing stderr.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr().lock(), $($arg)*);
    }};
}
