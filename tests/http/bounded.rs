//! Bounded work for merchant requests: at most two test notifications on their way per
//! merchant, checked atomically, and at most four DNS lookups in flight per merchant.

use std::time::Duration;

use payhook_testing::StaticResolver;
use reqwest::StatusCode;

use payhook_testing::on_both_backends;
use payhook_testing::{Backend, csrf_token, hidden_value};
use payhook_testing::{Options, Receiver, Reply, send_test, spawn_with_dns};

on_both_backends!(
    twenty_test_notifications_sent_at_once_send_at_most_two,
    a_merchant_has_at_most_four_dns_lookups_in_flight,
);

async fn twenty_test_notifications_sent_at_once_send_at_most_two(backend: Backend) {
    let receiver = Receiver::start(Reply::Silent).await;
    let options = Options {
        timeout: Some(Duration::from_secs(3)),
        ..Options::private()
    };
    let app = spawn_with_dns(backend, &StaticResolver::default(), options).await;
    app.sign_in_new_merchant("acme").await;
    let url = format!("http://127.0.0.1:{}/n", receiver.port());
    app.save("ewallet", "ovo", &url, "").await;
    let page = "/settings/payment/ewallet/ovo";
    let token = csrf_token(&app.get_text(page).await);
    let action = format!("{page}/test");
    let form = [("environment", "sandbox"), ("csrf_token", token.as_str())];
    let sends = (0..20).map(|_| app.post(&action, &form));
    let answers = futures_util::future::join_all(sends).await;

    let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
    let sent = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(sent + refused, 20, "{statuses:?}");
    assert!((1..=2).contains(&sent), "{statuses:?}");
    assert!(
        receiver.requests().len() <= 2,
        "at most two reached the receiver: {}",
        receiver.requests().len()
    );
    for answer in answers {
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            let text = answer.text().await.unwrap();
            assert!(text.contains("At most 2 test notifications can be on their way at once"));
        }
    }
    assert_eq!(
        app.count_rows("test_notification_slots").await,
        0,
        "all given back"
    );
    assert_eq!(
        send_test(&app, "ewallet", "ovo", "sandbox").await.status(),
        StatusCode::OK,
        "once they are done, the next one goes"
    );
}

async fn a_merchant_has_at_most_four_dns_lookups_in_flight(backend: Backend) {
    let dns = StaticResolver::new([("slow.acme.co.id", "34.101.2.3")]);
    dns.make_silent("slow.acme.co.id");
    let options = Options {
        dns_timeout: Some(Duration::from_millis(800)),
        ..Options::strict()
    };
    let app = spawn_with_dns(backend, &dns, options).await;
    app.sign_in_new_merchant("acme").await;
    let page = "/settings/payment/va/bca";
    let form_page = app.get_text(page).await;
    let token = csrf_token(&form_page);
    let version = hidden_value(&form_page, "version");
    let slow = "https://slow.acme.co.id/n";
    let form = [
        ("sandbox_url", slow),
        ("production_url", slow),
        ("version", version.as_str()),
        ("csrf_token", token.as_str()),
    ];
    // Six saves of two silent names each: twelve lookups asked for at once.
    let saves = (0..6).map(|_| app.post(page, &form));
    let answers = futures_util::future::join_all(saves).await;
    for answer in &answers {
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::CONFLICT].contains(&answer.status()),
            "{}",
            answer.status()
        );
    }
    assert!(
        dns.lookups() >= 4,
        "the lookups were made: {}",
        dns.lookups()
    );
    assert!(
        dns.peak_in_flight() <= 4,
        "at most four in flight for one merchant, not {}",
        dns.peak_in_flight()
    );
}
