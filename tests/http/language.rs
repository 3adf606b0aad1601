//! English and Bahasa Indonesia: chosen by the header's switch, remembered, defaulting from
//! the browser's `Accept-Language`.

use reqwest::StatusCode;

use payhook_testing::on_both_backends;
use payhook_testing::{TestApp, location};

on_both_backends!(
    app:
    accept_language_picks_indonesian_and_the_switch_overrides_it,
    validation_messages_and_errors_follow_the_language,
);

async fn accept_language_picks_indonesian_and_the_switch_overrides_it(app: TestApp) {
    let indonesian = app
        .client
        .get(app.url("/login"))
        .header("accept-language", "id-ID,id;q=0.9,en;q=0.8")
        .send()
        .await
        .unwrap();
    assert!(
        indonesian.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("Accept-Language")
    );
    let page = indonesian.text().await.unwrap();
    assert!(
        page.contains("<html lang=\"id\">") && page.contains(">Masuk</h1>"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/language/en\""),
        "the switch offers English"
    );

    let english = app.get_text("/login").await;
    assert!(english.contains("<html lang=\"en\">") && english.contains(">Sign in</h1>"));

    let switch = app
        .client
        .get(app.url("/language/id"))
        .header("referer", format!("{}/login?next=x", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&switch), "/login?next=x", "back to the same page");
    let cookie = switch.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("lang=id;") && cookie.contains("Max-Age=31536000"),
        "{cookie}"
    );
    let remembered = app
        .client
        .get(app.url("/login"))
        .header("accept-language", "en-US")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        remembered.contains(">Masuk</h1>"),
        "the cookie wins over the header"
    );

    let elsewhere = app
        .client
        .get(app.url("/language/en"))
        .header("referer", "https://evil.example.com//evil.example.com/x")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&elsewhere), "/", "never a redirect off the site");
    assert_eq!(
        app.get("/language/fr").await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn validation_messages_and_errors_follow_the_language(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    app.get("/language/id").await;
    let response = app.save("va", "bca", "https://abc.ngrok.io/hook", "").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Tunnel ngrok tidak diterima sebagai URL notifikasi"),
        "{page}"
    );
    assert!(
        page.contains("Tidak ada yang disimpan"),
        "the form's summary too"
    );
    assert!(
        page.contains("value=\"https://abc.ngrok.io/hook\""),
        "input kept"
    );

    let saved = app.save("va", "bca", "https://acme.co.id/n", "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let section = app.get_text("/settings/payment/va").await;
    assert!(
        section
            .contains("URL notifikasi untuk BCA (Virtual Account (non-SNAP)) berhasil disimpan.")
    );
    assert!(section.contains("Hanya sandbox") && section.contains(">KONFIGURASI<"));
    assert!(
        section.contains("href=\"/settings/payment\" aria-current=page"),
        "the navigation marks where the reader is"
    );
    assert!(!section.contains("href=\"/account/password\" aria-current"));

    let missing = app.get("/settings/payment/nowhere").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        missing
            .text()
            .await
            .unwrap()
            .contains("Halaman ini tidak ada")
    );
}
