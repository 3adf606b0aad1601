//! The notification URL policy on arbitrary input: it never panics, and whatever it accepts
//! it accepts again unchanged, in both environments and under both policies.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payhook::domain::Environment;
use payhook::url_policy::{NotificationUrl, UrlPolicy};

fuzz_target!(|input: &str| {
    let relaxed = UrlPolicy {
        extra_ports: vec![8443],
        allow_private_targets: true,
    };
    for policy in [UrlPolicy::default(), relaxed] {
        for env in Environment::ALL {
            match NotificationUrl::parse(input, env, &policy) {
                Ok((url, _)) => {
                    let again = NotificationUrl::parse(url.as_str(), env, &policy);
                    let (again, _) = again.expect("a normalised URL is accepted again");
                    assert_eq!(
                        again.as_str(),
                        url.as_str(),
                        "normalisation is a fixed point"
                    );
                    assert!(url.path().starts_with('/'));
                    assert!(!url.host().is_empty());
                }
                Err(violations) => assert!(!violations.is_empty()),
            }
        }
    }
});
