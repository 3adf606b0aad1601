//! A stop asked with SIGTERM: the request and the delivery attempt in flight finish and are
//! recorded, a delivery claimed but not attempted is due again, and the process exits 0.

use std::time::{Duration, Instant};

use payhook::cli::{RoleArg, add_user};
use payhook::secrets::SecretBox;
use payhook::store::{Db, now_ms};
use reqwest::StatusCode;

use crate::{STARTUP_LIMIT, Server, address};
use payhook_testing::queue::queue_on;
use payhook_testing::{Backend, Browser, PASSWORD, Probe, ScratchDatabase, code};
use payhook_testing::{Receiver, Reply, element_text};

payhook_testing::on_both_backends!(
    sigterm_finishes_the_work_in_flight_gives_back_claims_and_exits_0
);

/// How long the receiver takes to answer: the stop comes while it waits.
const RECEIVER_DELAY: Duration = Duration::from_secs(3);

async fn sigterm_finishes_the_work_in_flight_gives_back_claims_and_exits_0(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = ScratchDatabase::new(backend).await;
    let db = Db::connect(&database.url).await.unwrap();
    db.migrate().await.unwrap();
    let secret_key = payhook::random::random_bytes::<32>();
    let receiver = Receiver::start(Reply::Slow(RECEIVER_DELAY)).await;
    let url = format!("http://127.0.0.1:{}/notify", receiver.port());
    let secrets = SecretBox::new(secret_key);
    let paid = queue_on(&db, Some(&secrets), "acme", std::slice::from_ref(&url)).await;
    // A merchant with no signing key yet: its delivery is claimed and cannot be attempted.
    let unsigned = ["https://hooks.nokey.co.id/notify".to_owned()];
    let stuck = queue_on(&db, None, "nokey", &unsigned).await;
    let email = "ops@acme.example.com";
    add_user(&db, email, RoleArg::Owner, Some("acme"), PASSWORD.into())
        .await
        .unwrap();

    let env = [
        ("PAYHOOK_SECRET_KEY", hex::encode(secret_key)),
        ("PAYHOOK_SESSION_KEY", hex::encode([7u8; 64])),
        ("PAYHOOK_ALLOW_PRIVATE_TARGETS", "1".to_owned()),
        ("PAYHOOK_SHUTDOWN_TIMEOUT", "20s".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = Server::start(dir.path(), &database.url, "shutdown", &env);
    let base = address(&server.output_until_listening(STARTUP_LIMIT));
    let listening = base.trim_start_matches("http://").to_owned();
    let browser = Browser::new(base);
    assert_eq!(
        browser.login(email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let saved = browser.save("va", "bca", &url, "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let page = "/settings/payment/va/bca";
    let slow_request = tokio::spawn(async move {
        let form = [("environment", "sandbox")];
        let response = browser.submit(page, &format!("{page}/test"), &form).await;
        (response.status(), response.text().await.unwrap())
    });

    // The delivery and the test notification both wait for the receiver; the unsigned
    // delivery is claimed (its next attempt moved to the end of its lease).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (claimed, _) = db.payment_deliveries(&stuck).await.unwrap();
        let leased = claimed[0]
            .next_attempt_at
            .is_some_and(|at| at > now_ms() + 30_000);
        if receiver.requests().len() == 2 && leased {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "work in flight: {:?}",
            receiver.requests()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    // New connections are refused at once, while the work in flight goes on.
    let deadline = Instant::now() + RECEIVER_DELAY;
    while tokio::net::TcpStream::connect(&listening).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting after the stop signal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "refused while draining"
    );

    let (status, html) = slow_request.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        element_text(&html, "test-outcome").as_deref(),
        Some("Delivered")
    );
    let deadline = Instant::now() + Duration::from_secs(25);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "still running:\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(exit.code(), Some(0), "{}", server.stderr());
    assert_eq!(
        receiver.requests().len(),
        2,
        "nothing sent twice or after the stop"
    );

    let (deliveries, attempts) = db.payment_deliveries(&paid).await.unwrap();
    assert_eq!(
        (deliveries[0].status.as_str(), deliveries[0].attempts),
        ("delivered", 1)
    );
    assert_eq!(attempts.len(), 1);
    let acme = db.find_merchant(&code("acme")).await.unwrap().unwrap();
    let kinds: Vec<String> = db
        .deliveries(acme.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.kind)
        .collect();
    assert_eq!(
        kinds,
        ["test", "payment"],
        "the test notification was recorded"
    );
    let (released, _) = db.payment_deliveries(&stuck).await.unwrap();
    let due = released[0].next_attempt_at.expect("still queued");
    assert!(due <= now_ms(), "the claim was given back: due at {due}");
    assert_eq!(
        (released[0].status.as_str(), released[0].attempts),
        ("pending", 0)
    );
    db.close().await;
}
