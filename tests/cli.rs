//! The `payhook` binary's commands, run as a user would run them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn payhook(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_payhook"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PAYHOOK_ALLOWED_PORTS")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run payhook");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_url_prints_the_normalised_url_and_exits_0_when_accepted() {
    let out = payhook(
        &["check-url", "  HTTPS://Example.COM:443/notify  "],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).trim(), "https://example.com/notify");
}

#[test]
fn check_url_warns_about_http_in_sandbox_and_refuses_it_in_production() {
    let sandbox = payhook(
        &[
            "check-url",
            "http://example.com/n",
            "--environment",
            "sandbox",
            "--no-dns",
        ],
        &[],
        "",
    );
    assert_eq!(sandbox.status.code(), Some(0));
    assert!(stdout(&sandbox).contains("warning:"));
    let production = payhook(&["check-url", "http://example.com/n"], &[], "");
    assert_eq!(production.status.code(), Some(1));
    assert!(stdout(&production).contains("https_required"));
}

#[test]
fn check_url_names_every_broken_rule_and_exits_1() {
    let out = payhook(
        &["check-url", "ftp://user:pw@abc.ngrok.io:21/x#frag"],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    for code in [
        "credentials_in_url",
        "tunnel_domain",
        "fragment_not_allowed",
    ] {
        assert!(text.contains(code), "{code} in {text}");
    }
    let empty = payhook(&["check-url", ""], &[], "");
    assert_eq!(
        empty.status.code(),
        Some(1),
        "an empty URL is a refused URL"
    );
    let usage = payhook(
        &[
            "check-url",
            "https://example.com",
            "--environment",
            "staging",
        ],
        &[],
        "",
    );
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn merchants_and_users_are_created_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let env = [("DATABASE_URL", url.as_str())];
    assert_eq!(payhook(&["migrate"], &env, "").status.code(), Some(0));
    let merchant = payhook(
        &["merchant", "add", "--code", "toko", "--name", "Toko Maju"],
        &env,
        "",
    );
    assert_eq!(
        merchant.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&merchant.stderr)
    );
    let user = payhook(
        &[
            "user",
            "add",
            "--email",
            "Owner@Toko.co.id",
            "--role",
            "merchant",
            "--merchant",
            "toko",
            "--password-stdin",
        ],
        &env,
        "a long enough password\n",
    );
    assert_eq!(
        user.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&user.stderr)
    );
    let short = payhook(
        &[
            "user",
            "add",
            "--email",
            "a@toko.co.id",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &env,
        "short\n",
    );
    assert_ne!(short.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12"));
    let orphan = payhook(
        &[
            "user",
            "add",
            "--email",
            "b@toko.co.id",
            "--role",
            "merchant",
            "--password-stdin",
        ],
        &env,
        "a long enough password\n",
    );
    assert_ne!(
        orphan.status.code(),
        Some(0),
        "a merchant user needs its merchant"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db = payhook::store::Db::connect(&url).await.unwrap();
        let user = db
            .find_login_user("owner@toko.co.id")
            .await
            .unwrap()
            .expect("user stored lower-cased");
        let ok = payhook::auth::password::verify(
            "a long enough password".into(),
            Some(user.password_hash),
        )
        .await;
        assert!(ok.unwrap());
    });
}
