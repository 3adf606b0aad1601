//! Every answer names its request, and so does the log line of an error page.

use reqwest::StatusCode;

use payhook_testing::TestApp;
use payhook_testing::on_both_backends;
use payhook_testing::{capture_logs, logs};

on_both_backends!(app: an_error_page_and_its_log_line_name_the_same_request);

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .unwrap_or_else(|| {
            panic!(
                "every answer carries X-Request-Id: {:?}",
                response.headers()
            )
        })
        .to_str()
        .unwrap()
        .to_owned()
}

async fn an_error_page_and_its_log_line_name_the_same_request(app: TestApp) {
    capture_logs();
    app.sign_in_new_merchant("acme").await;
    let first = app.get("/settings/payment/va").await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = app.get("/login").await;
    let (first, second) = (request_id(&first), request_id(&second));
    assert_eq!(first.len(), 36, "a UUID: {first}");
    assert_ne!(first, second, "one id per request");

    // The store fails under the next page: its 500 and the error logged name one request.
    app.execute_sql("DROP TABLE channel_settings")
        .await
        .unwrap();
    let failed = app.get("/settings/payment/va").await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = request_id(&failed);
    let logs = logs();
    let line = logs
        .lines()
        .find(|line| line.contains("database error") && line.contains(&id))
        .unwrap_or_else(|| panic!("no error line names request {id}"));
    assert!(line.contains("/settings/payment/{section}"), "{line}");
}
