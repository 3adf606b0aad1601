//! The sandbox payment API: creating payments with their notification targets, idempotency,
//! access, and notifications delivered, signed and retried on the schedule.

use std::time::{Duration, Instant};

use payhook::config::RetrySchedule;
use reqwest::StatusCode;
use serde_json::{Value, json};

use payhook_testing::on_both_backends;
use payhook_testing::{Backend, PASSWORD, TestApp, spawn_app_with};
use payhook_testing::{
    Receiver, Recorded, Reply, expected_non_snap_signature, expected_snap_signature, reveal_secret,
    sandbox_credentials,
};

on_both_backends!(
    the_configured_url_can_be_replaced_added_to_or_moved_per_payment,
    a_refused_header_url_is_named_by_header_item_and_rule_and_nothing_is_created,
    a_repeat_is_idempotent_a_changed_repeat_conflicts_and_a_payment_ends_once,
    credentials_decide_who_may_call_and_whose_payments_they_see,
    fields_are_checked_by_name_and_a_payment_needs_somewhere_to_notify,
    a_receiver_failing_twice_gets_three_attempts_on_the_schedule_with_one_request_id,
    a_receiver_that_always_fails_ends_failed_after_the_last_attempt,
    notifications_are_signed_for_their_target_path_in_both_formats,
    wrong_secrets_count_like_wrong_passwords_per_client_and_address,
);

const CONFIGURED: &str = "https://hooks.acme.co.id/notify";

/// An app whose notifications may go to receivers on 127.0.0.1, retried quickly.
pub async fn spawn(backend: Backend, schedule: &str) -> TestApp {
    let schedule = RetrySchedule::parse(schedule).unwrap();
    spawn_app_with(backend, |settings| {
        settings.url_policy.allow_private_targets = true;
        settings.notification_timeout = Duration::from_secs(5);
        settings.retry_schedule = schedule;
        settings.delivery_poll = Duration::from_millis(50);
    })
    .await
}

/// A merchant's API client: its sandbox Client-Id and secret.
pub struct Api<'a> {
    app: &'a TestApp,
    client_id: String,
    secret: String,
}

impl<'a> Api<'a> {
    /// Signs in a new merchant `code` on `app` and reads its sandbox credentials.
    pub async fn for_new_merchant(app: &'a TestApp, code: &str) -> Api<'a> {
        app.sign_in_new_merchant(code).await;
        Self::for_signed_in(app).await
    }

    pub async fn for_signed_in(app: &'a TestApp) -> Api<'a> {
        let (client_id, secret) = sandbox_credentials(app).await;
        Api {
            app,
            client_id,
            secret,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .request(method, self.app.url(path))
            .basic_auth(&self.client_id, Some(&self.secret))
    }

    pub async fn create(&self, body: Value, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut request = self.request(reqwest::Method::POST, "/api/v1/payments");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        json_answer(request.json(&body).send().await.unwrap()).await
    }

    pub async fn simulate(&self, id: &str, status: &str) -> (StatusCode, Value) {
        let path = format!("/api/v1/payments/{id}/simulate");
        let request = self.request(reqwest::Method::POST, &path);
        json_answer(
            request
                .json(&json!({ "status": status }))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn get(&self, id: &str) -> (StatusCode, Value) {
        let path = format!("/api/v1/payments/{id}");
        json_answer(
            self.request(reqwest::Method::GET, &path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The payment once every delivery is delivered or failed (waits at most 30 s).
    pub async fn settled(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, payment) = self.get(id).await;
            assert_eq!(status, StatusCode::OK, "{payment}");
            let deliveries = payment["deliveries"].as_array().unwrap();
            let done = !deliveries.is_empty()
                && deliveries
                    .iter()
                    .all(|d| matches!(d["status"].as_str(), Some("delivered" | "failed")));
            if done {
                return payment;
            }
            assert!(Instant::now() < deadline, "still not settled: {payment}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn json_answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    (status, response.json().await.unwrap())
}

pub fn order(invoice: &str) -> Value {
    json!({ "channel": "va/bca", "order": { "invoice_number": invoice, "amount": 150000 } })
}

fn urls(payment: &Value) -> Vec<&str> {
    payment["notification_urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect()
}

async fn payments_stored(app: &TestApp) -> i64 {
    match &app.db {
        payhook::store::Db::Sqlite(pools) => sqlx::query_scalar("SELECT COUNT(*) FROM payments")
            .fetch_one(&pools.write)
            .await
            .unwrap(),
        payhook::store::Db::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM payments")
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

async fn the_configured_url_can_be_replaced_added_to_or_moved_per_payment(backend: Backend) {
    let app = spawn(backend, "1s").await;
    let api = Api::for_new_merchant(&app, "acme").await;
    assert_eq!(
        app.save("va", "bca", CONFIGURED, "").await.status(),
        StatusCode::SEE_OTHER
    );

    let (status, plain) = api.create(order("INV-1"), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{plain}");
    assert_eq!(urls(&plain), [CONFIGURED]);
    assert_eq!(plain["status"], "PENDING");
    assert_eq!(plain["channel"], "va/bca");
    assert_eq!(
        plain["order"],
        json!({ "invoice_number": "INV-1", "amount": 150000 })
    );
    assert!(plain["id"].as_str().unwrap().starts_with("pay_"));
    assert!(plain["created_at"].as_str().unwrap().ends_with('Z'));

    let replace = (
        "X-Override-Notification",
        " https://a.acme.co.id/x , https://b.acme.co.id/y",
    );
    let (status, replaced) = api.create(order("INV-2"), &[replace]).await;
    assert_eq!(status, StatusCode::CREATED, "{replaced}");
    assert_eq!(
        urls(&replaced),
        ["https://a.acme.co.id/x", "https://b.acme.co.id/y"]
    );

    let add = (
        "X-Append-Notification",
        "https://a.acme.co.id/x,https://hooks.acme.co.id/notify",
    );
    let (status, appended) = api.create(order("INV-3"), &[add]).await;
    assert_eq!(status, StatusCode::CREATED, "{appended}");
    assert_eq!(
        urls(&appended),
        [CONFIGURED, "https://a.acme.co.id/x"],
        "configured first, duplicates once"
    );

    let both = [
        ("X-Override-Notification", "https://a.acme.co.id/x"),
        ("X-Append-Notification", "https://b.acme.co.id/y"),
    ];
    let (status, overridden) = api.create(order("INV-4"), &both).await;
    assert_eq!(status, StatusCode::CREATED, "{overridden}");
    assert_eq!(
        urls(&overridden),
        ["https://a.acme.co.id/x"],
        "override wins"
    );

    let mut moved = order("INV-5");
    moved["additional_info"] =
        json!({ "override_notification_url": "https://new.acme.co.id/notify" });
    let (status, payment) = api.create(moved, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    assert_eq!(urls(&payment), ["https://new.acme.co.id/notify"]);

    let mut elsewhere = order("INV-6");
    elsewhere["additional_info"] =
        json!({ "override_notification_url": "https://new.acme.co.id/other" });
    let (status, error) = api.create(elsewhere, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["code"], "override_path_mismatch");
    assert_eq!(error["error"]["expected_path"], "/notify");
    assert_eq!(
        payments_stored(&app).await,
        5,
        "the refused request created nothing"
    );
}

async fn a_refused_header_url_is_named_by_header_item_and_rule_and_nothing_is_created(
    backend: Backend,
) {
    let app = spawn(backend, "1s").await;
    let api = Api::for_new_merchant(&app, "acme").await;
    app.save("va", "bca", CONFIGURED, "").await;
    let four =
        "https://a.acme.co.id,https://b.acme.co.id,https://c.acme.co.id,https://d.acme.co.id";
    let cases = [
        ("X-Append-Notification", four, 4, "too_many_urls"),
        (
            "X-Override-Notification",
            "https://a.acme.co.id/x, ,https://c.acme.co.id/z",
            2,
            "empty",
        ),
        (
            "X-Append-Notification",
            "https://a.acme.co.id/x,https://shop.ngrok-free.app/hook",
            2,
            "tunnel_domain",
        ),
        (
            "X-Override-Notification",
            "https://user:secret@acme.co.id/hook",
            1,
            "credentials_in_url",
        ),
    ];
    for (header, value, item, rule) in cases {
        let (status, answer) = api.create(order("INV-1"), &[(header, value)]).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{header}: {value}: {answer}"
        );
        let error = &answer["error"];
        assert_eq!(error["code"], "invalid_notification_url", "{answer}");
        assert_eq!(error["header"], header, "{answer}");
        assert_eq!(error["item"], item, "{answer}");
        let rules: Vec<&str> = error["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert!(rules.contains(&rule), "{value}: {rules:?}");
    }
    assert_eq!(payments_stored(&app).await, 0, "nothing created on a 400");
    let (status, created) = api.create(order("INV-1"), &[]).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the invoice number is still free: {created}"
    );
}

async fn a_repeat_is_idempotent_a_changed_repeat_conflicts_and_a_payment_ends_once(
    backend: Backend,
) {
    let app = spawn(backend, "1s").await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let header = [("X-Override-Notification", target.as_str())];

    let (status, first) = api.create(order("INV-9"), &header).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = api.create(order("INV-9"), &header).await;
    assert_eq!(status, StatusCode::OK, "an identical repeat");
    assert_eq!(again["id"], first["id"]);

    let mut changed = order("INV-9");
    changed["order"]["amount"] = json!(99000);
    let (status, conflict) = api.create(changed, &header).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["error"]["code"], "invoice_number_taken");
    let (status, _) = api.create(order("INV-9"), &[]).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "other targets make another request"
    );
    assert_eq!(payments_stored(&app).await, 1);

    let id = first["id"].as_str().unwrap();
    let (status, paid) = api.simulate(id, "SUCCESS").await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["status"], "SUCCESS");
    assert_eq!(paid["deliveries"].as_array().unwrap().len(), 1);
    let (status, twice) = api.simulate(id, "EXPIRED").await;
    assert_eq!(status, StatusCode::CONFLICT, "{twice}");
    assert_eq!(twice["error"]["code"], "payment_final");
    let settled = api.settled(id).await;
    assert_eq!(
        settled["status"], "SUCCESS",
        "the second simulate changed nothing"
    );
    assert_eq!(receiver.requests().len(), 1, "one notification");

    let (status, wrong) = api.simulate(id, "PAID").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{wrong}");
}

async fn credentials_decide_who_may_call_and_whose_payments_they_see(backend: Backend) {
    let app = spawn(backend, "1s").await;
    let acme = Api::for_new_merchant(&app, "acme").await;
    app.save("va", "bca", CONFIGURED, "").await;
    let (_, payment) = acme.create(order("INV-1"), &[]).await;
    let id = payment["id"].as_str().unwrap();

    let other = app.create_merchant_user("globex").await;
    app.login(&other, PASSWORD).await;
    let globex = Api::for_signed_in(&app).await;
    assert_ne!(globex.client_id, acme.client_id);
    let (status, answer) = globex.get(id).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another merchant's payment: {answer}"
    );
    assert_eq!(answer["error"]["code"], "not_found");
    let (status, _) = globex.simulate(id, "SUCCESS").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, own) = acme.get(id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["id"], id);

    let wrong = Api {
        secret: "SK-wrong".into(),
        ..Api::for_signed_in(&app).await
    };
    let (status, answer) = wrong.get(id).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let anonymous = app
        .client
        .get(app.url(&format!("/api/v1/payments/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );

    let production_secret = reveal_secret(&app, "production").await;
    let page = app.get_text("/integration/api-keys").await;
    let production_id = page
        .split("class=\"client-id\">")
        .nth(2)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let production = Api {
        app: &app,
        client_id: production_id,
        secret: production_secret,
    };
    let (status, answer) = production.create(order("INV-2"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"]["code"], "sandbox_only");
}

async fn fields_are_checked_by_name_and_a_payment_needs_somewhere_to_notify(backend: Backend) {
    let app = spawn(backend, "1s").await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let cases = [
        (
            json!({ "channel": "va/nowhere", "order": { "invoice_number": "I", "amount": 1 } }),
            "channel",
        ),
        (
            json!({ "channel": "va/bca", "order": { "invoice_number": "INV 1", "amount": 1 } }),
            "order.invoice_number",
        ),
        (
            json!({ "channel": "va/bca", "order": { "invoice_number": "I", "amount": 0 } }),
            "order.amount",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = api.create(body, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_field");
        assert_eq!(answer["error"]["field"], field);
    }
    let (status, answer) = api
        .create(
            json!({ "channel": "va/bca", "order": { "amount": "lots" } }),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "invalid_json");
    let (status, answer) = api.create(order("INV-1"), &[]).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no URL configured"
    );
    assert_eq!(answer["error"]["code"], "no_notification_url");
    assert_eq!(payments_stored(&app).await, 0);

    let unknown = api
        .request(reqwest::Method::GET, "/api/v1/nothing")
        .send()
        .await
        .unwrap();
    let (status, answer) = json_answer(unknown).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["error"]["code"], "not_found");

    let document: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/payments",
        "/api/v1/payments/{id}",
        "/api/v1/payments/{id}/simulate",
    ] {
        assert!(document["paths"][path].is_object(), "{path} documented");
    }
    let create = &document["paths"]["/api/v1/payments"]["post"];
    let headers: Vec<&str> = create["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        headers,
        ["X-Override-Notification", "X-Append-Notification"]
    );
    assert!(document["components"]["schemas"]["PaymentBody"].is_object());
}

/// The time between the first request and each one after it.
fn spacing(requests: &[Recorded]) -> Vec<Duration> {
    requests[1..]
        .iter()
        .map(|r| r.at.duration_since(requests[0].at))
        .collect()
}

async fn a_receiver_failing_twice_gets_three_attempts_on_the_schedule_with_one_request_id(
    backend: Backend,
) {
    let app = spawn(backend, "1s,2s,3s").await;
    let receiver = Receiver::start(Reply::script(&[500, 500], 200)).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let (_, payment) = api
        .create(order("INV-1"), &[("X-Override-Notification", &target)])
        .await;
    let id = payment["id"].as_str().unwrap();
    api.simulate(id, "SUCCESS").await;

    let settled = api.settled(id).await;
    let delivery = &settled["deliveries"][0];
    assert_eq!(delivery["status"], "delivered", "{settled}");
    assert_eq!(delivery["url"], target);
    let statuses: Vec<i64> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["http_status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert!(
        delivery["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("500")
    );
    assert!(delivery["attempts"][2]["error"].is_null());

    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    let ids: Vec<&str> = requests.iter().map(|r| r.header("Request-Id")).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one request id: {ids:?}"
    );
    assert!(
        requests.iter().all(|r| r.body == requests[0].body),
        "the same body"
    );
    // The schedule counts from the start of the first attempt, as the attempts record it.
    let started: Vec<time::OffsetDateTime> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let at = a["at"].as_str().unwrap();
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap()
        })
        .collect();
    let after_first: Vec<time::Duration> = started[1..].iter().map(|t| *t - started[0]).collect();
    assert!(
        after_first[0] >= time::Duration::seconds(1)
            && after_first[1] >= time::Duration::seconds(2),
        "attempts 1 s and 2 s after the first: {after_first:?}"
    );
    let gaps = spacing(&requests);
    assert!(
        gaps[1] > gaps[0] + Duration::from_millis(500),
        "the receiver saw them spaced too: {gaps:?}"
    );
}

async fn a_receiver_that_always_fails_ends_failed_after_the_last_attempt(backend: Backend) {
    let app = spawn(backend, "1s,2s").await;
    let receiver = Receiver::start(Reply::script(&[], 503)).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let (_, payment) = api
        .create(order("INV-1"), &[("X-Override-Notification", &target)])
        .await;
    let id = payment["id"].as_str().unwrap();
    api.simulate(id, "FAILED").await;

    let settled = api.settled(id).await;
    let delivery = &settled["deliveries"][0];
    assert_eq!(delivery["status"], "failed", "{settled}");
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 3);
    assert!(delivery["next_attempt_at"].is_null());
    // Failed with no next attempt: the queue holds nothing more for it, so the three requests
    // the receiver got are all it will get.
    let depth = app.db.queue_depth(payhook::store::now_ms()).await.unwrap();
    assert_eq!(depth.due, 0, "the queue is idle");
    assert_eq!(
        receiver.requests().len(),
        3,
        "one request per recorded attempt"
    );
    let body: Value = serde_json::from_str(&receiver.requests()[0].body).unwrap();
    assert_eq!(body["transaction"]["status"], "FAILED");
}

async fn notifications_are_signed_for_their_target_path_in_both_formats(backend: Backend) {
    let app = spawn(backend, "1s").await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let base = format!("http://127.0.0.1:{}", receiver.port());
    let cases = [
        ("va_snap/bca", "/v1.1/transfer-va/payment"),
        ("ewallet/ovo", "/hooks/ovo"),
    ];
    for (n, (channel, path)) in cases.into_iter().enumerate() {
        let body = json!({
            "channel": channel,
            "order": { "invoice_number": format!("INV-{n}"), "amount": 275000 },
        });
        let target = format!("{base}{path}?merchant=acme");
        let (status, payment) = api
            .create(body, &[("X-Override-Notification", &target)])
            .await;
        assert_eq!(status, StatusCode::CREATED, "{payment}");
        let id = payment["id"].as_str().unwrap();
        api.simulate(id, "SUCCESS").await;
        assert_eq!(
            api.settled(id).await["deliveries"][0]["status"],
            "delivered"
        );
    }
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let snap = requests
        .iter()
        .find(|r| r.path.starts_with("/v1.1"))
        .unwrap();
    assert_eq!(
        snap.header("X-SIGNATURE"),
        expected_snap_signature(&api.secret, snap)
    );
    assert_eq!(snap.header("X-PARTNER-ID"), api.client_id);
    assert_eq!(snap.header("X-EXTERNAL-ID").len(), 20);
    let snap_body: Value = serde_json::from_str(&snap.body).unwrap();
    assert_eq!(snap_body["trxId"], "INV-0");
    assert_eq!(snap_body["paidAmount"]["value"], "275000.00");

    let non_snap = requests
        .iter()
        .find(|r| r.path.starts_with("/hooks"))
        .unwrap();
    assert_eq!(
        non_snap.header("Signature"),
        expected_non_snap_signature(&api.secret, non_snap)
    );
    assert_eq!(non_snap.header("Client-Id"), api.client_id);
    let body: Value = serde_json::from_str(&non_snap.body).unwrap();
    assert_eq!(
        body["order"],
        json!({ "invoice_number": "INV-1", "amount": 275000 })
    );
    assert_eq!(body["transaction"]["status"], "SUCCESS");
    assert_eq!(body["channel"]["id"], "EMONEY_OVO");
}

async fn wrong_secrets_count_like_wrong_passwords_per_client_and_address(backend: Backend) {
    let schedule = RetrySchedule::parse("1s").unwrap();
    let app = spawn_app_with(backend, |settings| {
        settings.trust_proxy = true;
        settings.retry_schedule = schedule;
    })
    .await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let from = |ip: &'static str, secret: &str| {
        app.client
            .get(app.url("/api/v1/payments/pay_none"))
            .basic_auth(&api.client_id, Some(secret))
            .header("X-Forwarded-For", ip)
            .send()
    };
    for _ in 0..10 {
        let guess = from("198.51.100.7", "SK-guess").await.unwrap();
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = from("198.51.100.7", &api.secret).await.unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right secret too, from the guessing address"
    );
    assert_eq!(refused.headers()["retry-after"], "900");
    let (_, answer) = json_answer(refused).await;
    assert_eq!(answer["error"]["code"], "too_many_attempts");
    let elsewhere = from("203.0.113.9", &api.secret).await.unwrap();
    assert_eq!(
        elsewhere.status(),
        StatusCode::NOT_FOUND,
        "authenticated from another address: the payment just does not exist"
    );
}
