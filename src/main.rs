use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// A request makes hundreds of small allocations on several threads; glibc's allocator spent
/// about an eighth of a page view's time on them (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn access_log() -> bool {
    std::env::var("PAYHOOK_ACCESS_LOG").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "on" | "yes"
        )
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // With PAYHOOK_ACCESS_LOG on, each request's span closing is a line of its own (route,
        // status, request id, time). Off by default: it costs a page view about a tenth of its
        // time, /metrics counts requests, and every other line names its request anyway.
        .with_span_events(if access_log() {
            FmtSpan::CLOSE
        } else {
            FmtSpan::NONE
        })
        .init();
    match payhook::cli::run(payhook::cli::Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
