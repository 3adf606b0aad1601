//! The posted forms, read from URL-encoded bodies as the handlers read them
//! (`serde_urlencoded` into the real input types), then their fields judged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payhook::url_field::judge;
use payhook::domain::{EmailAddress, MerchantCode, Role};
use payhook::routes::account::PasswordForm;
use payhook::routes::admin::merchants::NewMerchant;
use payhook::routes::admin::users::NewUser;
use payhook::routes::integration::KeyInput;
use payhook::routes::test_notification::TestInput;
use payhook::routes::settings::ConfigureInput;
use payhook::domain::Environment;
use payhook::url_policy::UrlPolicy;
use payhook_fuzz::block_on;

fuzz_target!(|body: &[u8]| {
    if let Ok(form) = serde_urlencoded::from_bytes::<ConfigureInput>(body) {
        let policy = UrlPolicy::default();
        block_on(async {
            for (input, env) in [
                (&form.sandbox_url, Environment::Sandbox),
                (&form.production_url, Environment::Production),
            ] {
                let verdict = judge(input, env, &policy, None).await;
                assert!(verdict.url.is_none() || verdict.errors.is_empty());
                if input.trim().is_empty() {
                    assert!(verdict.url.is_none() && verdict.errors.is_empty());
                }
            }
        });
        let _ = form.and_test.as_deref().map(str::parse::<Environment>);
    }
    if let Ok(form) = serde_urlencoded::from_bytes::<NewUser>(body) {
        let _ = EmailAddress::parse(&form.email);
        let _ = form.role.parse::<Role>();
        let _ = MerchantCode::parse(&form.merchant);
    }
    if let Ok(form) = serde_urlencoded::from_bytes::<NewMerchant>(body) {
        let _ = MerchantCode::parse(&form.code);
    }
    if let Ok(form) = serde_urlencoded::from_bytes::<KeyInput>(body) {
        let _ = form.environment.parse::<Environment>();
    }
    if let Ok(form) = serde_urlencoded::from_bytes::<TestInput>(body) {
        let _ = form.environment.parse::<Environment>();
    }
    let _ = serde_urlencoded::from_bytes::<PasswordForm>(body);
});
