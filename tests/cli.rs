//! The `payhook` binary's commands, run as a user would run them.

use payhook::domain::EmailAddress;
use payhook::store::{Actor, AuditAction, AuditRecord, ChainReport, Db};
use payhook_testing::{Backend, ScratchDatabase, TestApp, on_both_backends};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn payhook(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_payhook"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PAYHOOK_ALLOWED_PORTS")
        .env_remove("PAYHOOK_DNS_CHECK")
        .env_remove("PAYHOOK_ALLOW_PRIVATE_TARGETS")
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
        &[
            "check-url",
            "  HTTPS://Example.COM:443/notify  ",
            "--no-dns",
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).trim(), "https://example.com/notify");
}

#[test]
fn blank_switches_count_as_unset_and_values_may_carry_spaces() {
    let url = "http://127.0.0.1:9000/notify";
    let args = ["check-url", url, "--environment", "sandbox", "--no-dns"];
    let blank = payhook(&args, &[("PAYHOOK_ALLOW_PRIVATE_TARGETS", "")], "");
    assert_eq!(
        blank.status.code(),
        Some(1),
        "blank is off: a loopback URL is refused"
    );
    assert!(
        stdout(&blank).contains("non_public_address"),
        "{}",
        stdout(&blank)
    );
    let spaced = payhook(&args, &[("PAYHOOK_ALLOW_PRIVATE_TARGETS", " on ")], "");
    assert_eq!(spaced.status.code(), Some(0), "{}", stdout(&spaced));
    let nonsense = payhook(&args, &[("PAYHOOK_ALLOW_PRIVATE_TARGETS", "maybe")], "");
    assert_eq!(nonsense.status.code(), Some(2));
    let said = String::from_utf8_lossy(&nonsense.stderr);
    assert!(said.contains("PAYHOOK_ALLOW_PRIVATE_TARGETS"), "{said}");
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
        let db = Db::connect(&url).await.unwrap();
        let user = db
            .find_login_user(&EmailAddress::parse("owner@toko.co.id").unwrap())
            .await
            .unwrap()
            .expect("user stored lower-cased");
        let ok =
            payhook::password::verify("a long enough password".into(), Some(user.password_hash))
                .await;
        assert!(ok.unwrap());
    });
}

/// `check-url`'s logic for a production URL, with DNS checked through `resolver`.
async fn check_in_production(
    url: &str,
    resolver: &payhook::dns::Resolver,
) -> (std::process::ExitCode, String) {
    payhook::cli::check_url(
        url,
        payhook::domain::Environment::Production,
        &payhook::url_policy::UrlPolicy::default(),
        Some(resolver),
    )
    .await
}

#[tokio::test]
async fn check_url_resolves_the_host_unless_told_not_to() {
    use std::process::ExitCode;

    use payhook::dns::Resolver;
    use payhook_testing::StaticResolver;

    // No test may depend on outside DNS: the resolver is injected, so each answer is known.
    let url = "https://no-such-host.payhook-nowhere-7f3a.com/n";
    let private = "https://intranet.payhook-nowhere-7f3a.com/n";
    let public = "https://shop.payhook-nowhere-7f3a.com/n";
    let dns = StaticResolver::new([
        ("intranet.payhook-nowhere-7f3a.com", "192.168.1.10"),
        ("shop.payhook-nowhere-7f3a.com", "8.8.8.8"),
    ]);
    let resolver = Resolver::new(dns.clone()).with_timeout(std::time::Duration::from_millis(100));

    let (code, text) = check_in_production(url, &resolver).await;
    assert_eq!(code, ExitCode::FAILURE, "{text}");
    assert!(text.contains("refused (name_not_found)"), "{text}");

    dns.make_silent("no-such-host.payhook-nowhere-7f3a.com");
    let (code, text) = check_in_production(url, &resolver).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.starts_with(&format!("{url}\n")), "{text}");
    assert!(text.contains("(dns_unanswered)"), "{text}");

    let (code, text) = check_in_production(private, &resolver).await;
    assert_eq!(code, ExitCode::FAILURE, "{text}");
    assert!(
        text.contains("refused (resolves_to_non_public_address)"),
        "{text}"
    );

    let (code, text) = check_in_production(public, &resolver).await;
    assert_eq!(
        (code, text.as_str()),
        (
            ExitCode::SUCCESS,
            "https://shop.payhook-nowhere-7f3a.com/n\n"
        )
    );
    assert_eq!(dns.lookups(), 4, "every name was looked up once");

    let (code, text) = check_in_production("https://8.8.8.8/n", &resolver).await;
    assert_eq!(
        (code, text.as_str()),
        (ExitCode::SUCCESS, "https://8.8.8.8/n\n")
    );
    assert_eq!(dns.lookups(), 4, "an IP literal needs no lookup");

    // The real binary: `--no-dns` and `PAYHOOK_DNS_CHECK=off` skip the check, so a name that
    // does not exist passes without a warning.
    for (args, env) in [
        (vec!["check-url", url, "--no-dns"], vec![]),
        (vec!["check-url", url], vec![("PAYHOOK_DNS_CHECK", "off")]),
    ] {
        let skipped = payhook(&args, &env, "");
        assert_eq!(skipped.status.code(), Some(0), "{args:?} {env:?}");
        assert_eq!(stdout(&skipped).trim(), url);
    }
    let literal = payhook(&["check-url", "https://8.8.8.8/n"], &[], "");
    assert_eq!(
        literal.status.code(),
        Some(0),
        "an IP literal needs no lookup"
    );
    assert_eq!(stdout(&literal).trim(), "https://8.8.8.8/n");
}

#[test]
fn check_url_accepts_private_sandbox_targets_only_with_the_escape_hatch() {
    let url = "http://127.0.0.1:9000/n";
    let strict = payhook(&["check-url", url, "--environment", "sandbox"], &[], "");
    assert_eq!(strict.status.code(), Some(1));
    assert!(stdout(&strict).contains("non_public_address"));
    let hatch = [("PAYHOOK_ALLOW_PRIVATE_TARGETS", "1")];
    let relaxed = payhook(&["check-url", url, "--environment", "sandbox"], &hatch, "");
    assert_eq!(relaxed.status.code(), Some(0), "{}", stdout(&relaxed));
    let production = payhook(&["check-url", "https://127.0.0.1/n"], &hatch, "");
    assert_eq!(
        production.status.code(),
        Some(1),
        "production keeps every rule"
    );
}

/// `check-url`'s logic with an injected resolver, so rule 9 is tested without a network.
mod with_a_fixed_resolver {
    use std::process::ExitCode;

    use payhook::cli::check_url;
    use payhook::dns::Resolver;
    use payhook::domain::Environment;
    use payhook::url_policy::UrlPolicy;
    use payhook_testing::StaticResolver;

    fn dns() -> StaticResolver {
        StaticResolver::new([
            ("shop.acme.co.id", "203.0.114.10"),
            ("intranet.acme.co.id", "10.0.0.1"),
            ("loop.acme.co.id", "127.0.0.1"),
            ("dual.acme.co.id", "2606:4700::1111"),
            ("dual.acme.co.id", "fd00::1"),
        ])
    }

    async fn check(url: &str, resolver: &Resolver) -> (ExitCode, String) {
        check_url(
            url,
            Environment::Production,
            &UrlPolicy::default(),
            Some(resolver),
        )
        .await
    }

    #[tokio::test]
    async fn public_names_pass_and_private_or_missing_ones_are_refused() {
        let resolver = Resolver::new(dns());
        let (code, text) = check("https://shop.acme.co.id/n", &resolver).await;
        assert_eq!(
            (code, text.trim()),
            (ExitCode::SUCCESS, "https://shop.acme.co.id/n")
        );
        for host in ["intranet", "loop", "dual"] {
            let (code, text) = check(&format!("https://{host}.acme.co.id/n"), &resolver).await;
            assert_eq!(code, ExitCode::FAILURE, "{host}");
            assert!(
                text.contains("refused (resolves_to_non_public_address)"),
                "{host}: {text}"
            );
        }
        let (code, text) = check("https://gone.acme.co.id/n", &resolver).await;
        assert_eq!(code, ExitCode::FAILURE);
        assert!(text.contains("refused (name_not_found)"));
    }

    #[tokio::test]
    async fn a_resolver_that_does_not_answer_in_time_only_warns() {
        let dns = dns();
        dns.make_silent("shop.acme.co.id");
        let resolver = Resolver::new(dns).with_timeout(std::time::Duration::from_millis(50));
        let (code, text) = check("https://shop.acme.co.id/n", &resolver).await;
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(
            text.contains("warning: The domain name could not be checked"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_standard_time_limit_is_two_seconds() {
        let dns = dns();
        dns.make_silent("shop.acme.co.id");
        let started = std::time::Instant::now();
        let (code, _) = check("https://shop.acme.co.id/n", &Resolver::new(dns)).await;
        let waited = started.elapsed();
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(
            waited >= std::time::Duration::from_secs(2)
                && waited < std::time::Duration::from_secs(3),
            "{waited:?}"
        );
    }
}

#[test]
fn serving_on_postgres_needs_keys_shared_by_every_instance() {
    let postgres = [
        (
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        ("PAYHOOK_BIND", "127.0.0.1:0"),
    ];
    let output = payhook(&["serve"], &postgres, "");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PAYHOOK_SESSION_KEY must be set when DATABASE_URL is Postgres"),
        "{stderr}"
    );

    let session = "ab".repeat(64);
    let mut with_session = postgres.to_vec();
    with_session.push(("PAYHOOK_SESSION_KEY", &session));
    let output = payhook(&["serve"], &with_session, "");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PAYHOOK_SECRET_KEY must be set"),
        "{stderr}"
    );
}

/// Postgres sends a NOTICE for routine statements, such as `relation "_sqlx_migrations" already
/// exists, skipping` when the migrations' table is there: the connections ask for warnings and
/// up only, so the commands print none of them, however often they run.
#[tokio::test]
async fn commands_on_postgres_print_no_server_notices() {
    let database = ScratchDatabase::new(Backend::Postgres).await;
    let env = [
        ("DATABASE_URL", database.url.as_str()),
        ("RUST_LOG", "info"),
    ];
    let runs: [&[&str]; 4] = [
        &["migrate"],
        &["migrate"],
        &["audit", "verify"],
        &["audit", "verify"],
    ];
    for args in runs {
        let out = payhook(args, &env, "");
        let printed = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {printed}");
        assert!(
            !printed.contains("_sqlx_migrations") && !printed.contains("sqlx::postgres::notice"),
            "{args:?}: {printed}"
        );
    }
}

/// Only the NOTICEs go: the server's warnings still reach the log, and a URL that asks for
/// notices itself gets them.
#[tokio::test]
async fn postgres_warnings_still_come_through() {
    payhook_testing::capture_logs();
    let database = ScratchDatabase::new(Backend::Postgres).await;
    let Db::Postgres(pool) = Db::connect(&database.url).await.unwrap() else {
        panic!("a Postgres URL opens a Postgres pool");
    };
    let level: String = sqlx::query_scalar("SHOW client_min_messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(level, "warning");
    sqlx::query(
        "DO $$ BEGIN RAISE NOTICE 'payhook-cli-notice-7f3a'; \
         RAISE WARNING 'payhook-cli-warning-7f3a'; END $$",
    )
    .execute(&pool)
    .await
    .unwrap();
    // What sqlx logged of the server's messages (the statement itself is logged too).
    let logs = payhook_testing::logs();
    let notices: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("sqlx::postgres::notice"))
        .collect();
    assert!(
        notices
            .iter()
            .any(|line| line.contains("WARN") && line.contains("payhook-cli-warning-7f3a")),
        "{logs}"
    );
    assert!(
        !notices
            .iter()
            .any(|line| line.contains("payhook-cli-notice-7f3a")),
        "{logs}"
    );
    pool.close().await;

    let asked = format!("{}?options[client_min_messages]=notice", database.url);
    let Db::Postgres(pool) = Db::connect(&asked).await.unwrap() else {
        panic!("a Postgres URL opens a Postgres pool");
    };
    let level: String = sqlx::query_scalar("SHOW client_min_messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(level, "notice", "the URL's own setting is kept");
    pool.close().await;
}

on_both_backends!(app: verify_walks_the_chain_in_chunks_and_checks_across_them);

/// `audit verify` reads the chain a chunk at a time: the same report for every chunk size,
/// whether the chain is intact, edited inside a later chunk, or cut between two chunks.
async fn verify_walks_the_chain_in_chunks_and_checks_across_them(app: TestApp) {
    const SIZES: [u32; 8] = [1, 2, 3, 4, 6, 7, 8, Db::AUDIT_VERIFY_CHUNK];
    async fn every_size_reports(app: &TestApp, expected: &ChainReport) {
        for size in SIZES {
            let report = app.db.verify_audit_chain_in_chunks(size).await.unwrap();
            assert_eq!(&report, expected, "in chunks of {size}");
        }
        assert_eq!(&app.db.verify_audit_chain().await.unwrap(), expected);
    }

    every_size_reports(&app, &ChainReport::Intact { checked: 0 }).await;
    let actor = Actor {
        email: "ops@payhook.example.com".to_owned(),
        ..Actor::default()
    };
    let record = AuditRecord {
        section: Some("payments"),
        channel: Some("payment_notification"),
        field: Some("sandbox_url"),
        new_value: Some("https://example.co.id/n"),
        ..AuditRecord::of(AuditAction::SettingsChange)
    };
    let events: Vec<_> = (0..7)
        .map(|_| (payhook::store::now_ms(), actor.clone(), record.clone()))
        .collect();
    app.db.append_audit_batch(&events).await.unwrap();
    every_size_reports(&app, &ChainReport::Intact { checked: 7 }).await;
    assert_eq!(
        app.run_cli(&["audit", "verify"]),
        (0, "audit chain intact: 7 events checked\n".to_owned())
    );

    let drops: &[&str] = match app.backend {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
        ],
        Backend::Postgres => &["DROP TRIGGER audit_events_no_update_delete ON audit_events"],
    };
    for sql in drops {
        app.execute_sql(sql).await.unwrap();
    }
    // Event 6: in the second chunk of 3, the third of 2, the last of 6.
    let edit = "UPDATE audit_events SET new_value = 'https://attacker.example.com/n' WHERE id = 6";
    assert_eq!(app.execute_sql(edit).await.unwrap(), 1);
    let edited = ChainReport::Broken {
        event_id: 6,
        reason: "event 6 was modified after it was written".to_owned(),
        checked: 5,
    };
    every_size_reports(&app, &edited).await;
    let (code, output) = app.run_cli(&["audit", "verify"]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("broken at event 6: event 6 was modified")
            && output.contains("5 events before it verified"),
        "{output}"
    );
    let undo = "UPDATE audit_events SET new_value = 'https://example.co.id/n' WHERE id = 6";
    assert_eq!(app.execute_sql(undo).await.unwrap(), 1);
    every_size_reports(&app, &ChainReport::Intact { checked: 7 }).await;

    // Without event 4, chunks of 3 end at event 3 and the next starts at event 5: the link
    // between two chunks is checked as any other.
    app.execute_sql("DELETE FROM audit_events WHERE id = 4")
        .await
        .unwrap();
    let cut = ChainReport::Broken {
        event_id: 5,
        reason: "event 5 does not follow event 3: an event was removed, inserted or reordered"
            .to_owned(),
        checked: 3,
    };
    every_size_reports(&app, &cut).await;
    let (code, output) = app.run_cli(&["audit", "verify"]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("broken at event 5: event 5 does not follow event 3"),
        "{output}"
    );
}
