//! The way back in for an admin who lost the authenticator and the recovery codes: the
//! operator's `payhook user reset-two-factor`, beside a running `payhook serve` with the same
//! environment.

use std::time::{Duration, Instant};

use payhook::cli::{RoleArg, add_user};
use payhook::store::Db;
use reqwest::StatusCode;

use crate::{STARTUP_LIMIT, Server, address};
use payhook_testing::{Backend, Browser, PASSWORD, Probe, ScratchDatabase, enrol, location};

payhook_testing::on_both_backends!(
    an_operator_turns_off_a_lost_authenticator_from_the_command_line
);

async fn an_operator_turns_off_a_lost_authenticator_from_the_command_line(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = ScratchDatabase::new(backend).await;
    let db = Db::connect(&database.url).await.unwrap();
    db.migrate().await.unwrap();
    let admin = "root@payhook.example.com";
    add_user(&db, admin, RoleArg::Admin, None, PASSWORD.into())
        .await
        .unwrap();
    let env = [
        ("PAYHOOK_SECRET_KEY", payhook::random::random_token()),
        ("PAYHOOK_SESSION_KEY", hex::encode([7u8; 64])),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(dir.path(), &database.url, "reset-two-factor", &env);
    let browser = Browser::new(address(&server.output_until_listening(STARTUP_LIMIT)));

    // Admins must use two-factor by default: the first sign-in leads to setting it up.
    let first = browser.login(admin, PASSWORD).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&browser.get("/admin").await),
        "/account/two-factor"
    );
    enrol(&browser).await;
    assert_eq!(browser.get("/admin").await.status(), StatusCode::OK);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_payhook"))
        .args(["user", "reset-two-factor", "--email", admin])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &database.url)
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .output()
        .expect("run payhook user reset-two-factor");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("is off"), "{stdout}");

    // Their sessions ended; the password alone signs in, and leads to setting it up again.
    assert_eq!(
        location(&browser.get("/admin").await),
        "/login?next=%2Fadmin"
    );
    let again = Browser::new(browser.address.clone());
    let signed_in = again.login(admin, PASSWORD).await;
    assert_eq!(location(&signed_in), "/admin");
    assert_eq!(location(&again.get("/admin").await), "/account/two-factor");

    // Audited as the command line's, and the notice the command queued, sealed with the
    // shared key, is opened and sent (here: logged) by the server.
    let resets = db.audit_events_by_action("two_factor_reset").await.unwrap();
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0].actor_email.as_deref(), Some("command line"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server
        .stderr()
        .contains("Two-factor sign-in was reset for your payhook account")
    {
        assert!(Instant::now() < deadline, "{}", server.stderr());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    db.close().await;
}
