//! The `auditor` binary: see `auditor --help`.

fn main() -> std::process::ExitCode {
    auditor::cli::main()
}
