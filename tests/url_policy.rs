//! The URL policy's rules 1–8 (README): tables of refused and accepted URLs per rule, then properties; and
//! properties of the other parsers of outside input: the posted forms, the per-payment
//! notification headers and the payment API's JSON bodies.

use std::net::Ipv4Addr;

use payhook::domain::Environment;
use payhook::url_policy::ViolationCode::*;
use payhook::url_policy::*;
use proptest::prelude::*;

const SANDBOX: Environment = Environment::Sandbox;
const PRODUCTION: Environment = Environment::Production;

/// The normalised URL, or the codes of every broken rule.
type Verdict = Result<String, Vec<ViolationCode>>;

fn judge_with(input: &str, env: Environment, policy: &UrlPolicy) -> Verdict {
    NotificationUrl::parse(input, env, policy)
        .map(|(url, _)| url.to_string())
        .map_err(|violations| violations.into_iter().map(|v| v.code).collect())
}

fn judge(input: &str, env: Environment) -> Verdict {
    judge_with(input, env, &UrlPolicy::default())
}

fn accept(input: &str, env: Environment) -> (NotificationUrl, Vec<Warning>) {
    NotificationUrl::parse(input, env, &UrlPolicy::default()).expect("accepted")
}

/// `refused! { ENV; input => [Code, …], … }`: each input is refused with exactly these codes.
macro_rules! refused {
    ($env:expr; $($input:expr => [$($code:ident),+]),+ $(,)?) => {$(
        assert_eq!(judge(&$input, $env), Err(vec![$($code),+]), "input {:?} in {}", $input, $env);
    )+};
}

/// `accepted! { ENV; input => normalised, … }`: each input is accepted and stored as given.
macro_rules! accepted {
    ($env:expr; $($input:expr => $normalised:expr),+ $(,)?) => {$(
        assert_eq!(judge(&$input, $env), Ok($normalised.to_string()), "input {:?} in {}", $input, $env);
    )+};
}

#[test]
fn blank_overlong_garbled_or_relative_input_is_refused_with_only_its_first_problem() {
    let page = |len: usize| format!("https://shop.com/{}", "a".repeat(len - 17));
    refused! { PRODUCTION;
        "" => [Empty],
        " \t\r\n " => [Empty],
        page(2049) => [TooLong],
        format!("https://shop.com/{}", "é".repeat(1000)) => [TooLong], // 6017 bytes once encoded
        format!("http://localhost/{}#x", "a".repeat(3000)) => [TooLong],
        "https://shop.com/no\ttify" => [ControlCharacters],
        "https://shop.com/\nnotify" => [ControlCharacters],
        "https://shop.com/\u{0}" => [ControlCharacters],
        "https://shop.com/\u{7f}" => [ControlCharacters],
        "https://shop.com/\u{85}x" => [ControlCharacters],
        "ftp://user@localhost/\r#x" => [ControlCharacters],
        "shop.com/notify" => [NotAbsoluteUrl],
        "shop.com:443/notify" => [NotAbsoluteUrl],
        "//shop.com/notify" => [NotAbsoluteUrl],
        "/notify" => [NotAbsoluteUrl],
        "https://" => [NotAbsoluteUrl],
        "https://sh op.com/" => [NotAbsoluteUrl],
        "https://[::1/" => [NotAbsoluteUrl],
        "https://1.2.3.4.5/" => [NotAbsoluteUrl],
        "https://xn--a.com/" => [NotAbsoluteUrl],
        "mailto:pay@shop.com" => [NotAbsoluteUrl],
        "data:text/plain,hello" => [NotAbsoluteUrl],
        "file:///etc/passwd" => [NotAbsoluteUrl],
        "https://shop.com:99999/" => [PortNotAllowed],
    }
    accepted! { PRODUCTION;
        "  https://shop.com/notify \n" => "https://shop.com/notify",
        "\u{3000}https://shop.com/notify\u{a0}" => "https://shop.com/notify",
        page(2048) => page(2048),
        "HTTPS://Shop.COM" => "https://shop.com/",
        "https:shop.com/x" => "https://shop.com/x",
        "https://shop.com/a b?c=d e" => "https://shop.com/a%20b?c=d%20e",
    }
}

#[test]
fn production_requires_https_and_sandbox_accepts_http_with_a_warning() {
    refused! { PRODUCTION;
        "http://shop.com/notify" => [HttpsRequired],
        "HTTP://shop.com/" => [HttpsRequired],
    }
    accepted! { SANDBOX; "http://shop.com/notify" => "http://shop.com/notify" }
    let insecure = Warning {
        code: WarningCode::InsecureHttpSandbox,
    };
    assert_eq!(accept("http://shop.com/", SANDBOX).1, [insecure]);
    assert_eq!(accept("https://shop.com/", SANDBOX).1, []);
    assert_eq!(accept("https://shop.com/", PRODUCTION).1, []);
}

#[test]
fn schemes_other_than_http_and_https_are_refused_in_both_environments() {
    for &env in Environment::ALL {
        refused! { env;
            "ftp://files.shop.com/notify" => [UnsupportedScheme],
            "ws://shop.com/socket" => [UnsupportedScheme],
            "wss://shop.com/socket" => [UnsupportedScheme],
            "gopher://shop.com/" => [UnsupportedScheme],
            "javascript://shop.com/%0aalert(1)" => [UnsupportedScheme],
            "foo://10.0.0.1/" => [UnsupportedScheme, NonPublicAddress],
        }
    }
}

#[test]
fn user_names_and_passwords_in_the_url_are_refused() {
    refused! { PRODUCTION;
        "https://user@shop.com/" => [CredentialsInUrl],
        "https://:secret@shop.com/" => [CredentialsInUrl],
        "https://user:secret@shop.com/" => [CredentialsInUrl],
        "https://%40@shop.com/" => [CredentialsInUrl],
        "https://a@b@shop.com/" => [CredentialsInUrl],
    }
    accepted! { PRODUCTION;
        "https://@shop.com/" => "https://shop.com/",
        "https://shop.com/@user" => "https://shop.com/@user",
        "https://shop.com/?email=a@b.com" => "https://shop.com/?email=a@b.com",
    }
}

#[test]
fn local_test_and_single_label_names_are_refused() {
    refused! { PRODUCTION;
        "https://localhost/" => [ReservedDomain],
        "https://LOCALHOST.:443/" => [ReservedDomain],
        "https://api.localhost/" => [ReservedDomain],
        "https://printer.local/" => [ReservedDomain],
        "https://local/" => [ReservedDomain],
        "https://billing.internal/" => [ReservedDomain],
        "https://nas.lan/" => [ReservedDomain],
        "https://router.home.arpa/" => [ReservedDomain],
        "https://home.arpa/" => [ReservedDomain],
        "https://shop.test/" => [ReservedDomain],
        "https://shop.invalid/" => [ReservedDomain],
        "https://shop.example/" => [ReservedDomain],
        "https://ＬＯＣＡＬＨＯＳＴ/" => [ReservedDomain], // full-width letters fold to ASCII
        "https://localhost\u{3002}/" => [ReservedDomain], // ideographic full stop
        "https://intranet/" => [SingleLabelHost],
        "https://intranet./" => [SingleLabelHost],
        "https://com./" => [SingleLabelHost],
        "https://.com/" => [SingleLabelHost],
    }
    accepted! { PRODUCTION;
        "https://example.com/" => "https://example.com/",
        "https://local.shop.com/" => "https://local.shop.com/",
        "https://localhost.shop.com/" => "https://localhost.shop.com/",
        "https://testing.co.id/" => "https://testing.co.id/",
        "https://my-lan.id/" => "https://my-lan.id/",
        "https://shop.com./" => "https://shop.com./",
    }
}

#[test]
fn non_public_ip_literals_are_refused_in_any_spelling() {
    let hosts = "127.0.0.1 127.1 2130706433 0x7f000001 0177.0.0.1 0 10.1.2.3 100.64.0.1 \
        169.254.169.254 172.31.255.255 192.168.0.1 192.0.0.8 192.0.2.1 192.88.99.1 198.19.0.1 \
        198.51.100.7 203.0.113.9 224.0.0.1 239.255.255.250 240.0.0.1 255.255.255.255 \
        [::] [::1] [fc00::1] [fd12:3456::1] [fe80::1] [fec0::1] [ff02::1] [2001:db8::1] [100::1] \
        [2001::1] [3fff::1] [5f00::1] [4000::1] [::ffff:127.0.0.1] [::ffff:7f00:1] [::10.0.0.1] \
        [64:ff9b::10.0.0.1] [64:ff9b:1::8.8.8.8] [2002:c0a8:101::1]";
    for host in hosts.split_whitespace() {
        refused! { PRODUCTION; format!("https://{host}/notify") => [NonPublicAddress] }
    }
    accepted! { PRODUCTION;
        "https://8.8.8.8/" => "https://8.8.8.8/",
        "https://134744072/" => "https://8.8.8.8/",
        "https://100.63.255.255/" => "https://100.63.255.255/",
        "https://100.128.0.0/" => "https://100.128.0.0/",
        "https://172.32.0.1/" => "https://172.32.0.1/",
        "https://198.20.0.1/" => "https://198.20.0.1/",
        "https://223.255.255.255/" => "https://223.255.255.255/",
        "https://[2606:4700:4700::1111]/" => "https://[2606:4700:4700::1111]/",
        "https://[::ffff:8.8.8.8]/" => "https://[::ffff:808:808]/",
        "https://[64:ff9b::8.8.8.8]/" => "https://[64:ff9b::808:808]/",
        "https://[2002:808:808::1]/" => "https://[2002:808:808::1]/",
    }
}

#[test]
fn ngrok_tunnels_are_refused_with_a_suggestion() {
    refused! { PRODUCTION;
        "https://abc.ngrok.io/" => [TunnelDomain],
        "https://ngrok.io/" => [TunnelDomain],
        "https://NGROK.IO./notify" => [TunnelDomain],
        "https://a.b.ngrok.app/" => [TunnelDomain],
        "https://x.ngrok.dev/" => [TunnelDomain],
        "https://x.ngrok-free.app/" => [TunnelDomain],
        "https://x.ngrok-free.dev/" => [TunnelDomain],
        "https://x.ngrok.pizza/" => [TunnelDomain],
        "https://x.ngrok-free.pizza/" => [TunnelDomain],
    }
    accepted! { PRODUCTION;
        "https://notngrok.io/" => "https://notngrok.io/",
        "https://ngrok.com/" => "https://ngrok.com/",
        "https://ngrok.io.shop.com/" => "https://ngrok.io.shop.com/",
        "https://my-ngrok-free.app/" => "https://my-ngrok-free.app/",
    }
    assert_eq!(
        TunnelDomain.message(),
        "ngrok tunnels are not accepted as notification URLs; use a public domain you control."
    );
}

#[test]
fn explicit_ports_are_refused_unless_default_or_configured() {
    refused! { SANDBOX;
        "https://shop.com:8443/" => [PortNotAllowed],
        "https://shop.com:80/" => [PortNotAllowed],
        "http://shop.com:443/" => [PortNotAllowed],
        "https://shop.com:0/" => [PortNotAllowed],
        "https://shop.com:65535/" => [PortNotAllowed],
    }
    accepted! { SANDBOX;
        "https://shop.com:443/x" => "https://shop.com/x",
        "https://shop.com:0443/x" => "https://shop.com/x",
        "http://shop.com:80/" => "http://shop.com/",
        "https://shop.com:/" => "https://shop.com/",
    }
    let policy = UrlPolicy {
        extra_ports: vec![8443],
        ..UrlPolicy::default()
    };
    let judge = |input| judge_with(input, PRODUCTION, &policy);
    assert_eq!(
        judge("https://shop.com:8443/x"),
        Ok("https://shop.com:8443/x".into())
    );
    assert_eq!(judge("https://shop.com:8080/"), Err(vec![PortNotAllowed]));
}

#[test]
fn fragments_are_refused_even_when_empty() {
    refused! { PRODUCTION;
        "https://shop.com/#" => [FragmentNotAllowed],
        "https://shop.com/notify#top" => [FragmentNotAllowed],
        "https://shop.com/?a=1#b" => [FragmentNotAllowed],
    }
    accepted! { PRODUCTION; "https://shop.com/?a=1%23b" => "https://shop.com/?a=1%23b" }
}

#[test]
fn international_names_are_stored_as_punycode_and_expose_host_and_path() {
    accepted! { PRODUCTION;
        "https://bücher.de/x" => "https://xn--bcher-kva.de/x",
        "https://BÜCHER.de" => "https://xn--bcher-kva.de/",
        "https://пример.рф/оплата" => "https://xn--e1afmkfd.xn--p1ai/%D0%BE%D0%BF%D0%BB%D0%B0%D1%82%D0%B0",
        "https://例え.jp/" => "https://xn--r8jz45g.jp/",
    }
    let (url, _) = accept("https://bücher.de/pay/notify?x=1", PRODUCTION);
    assert_eq!(
        (url.host(), url.path()),
        ("xn--bcher-kva.de", "/pay/notify")
    );
    assert_eq!(
        accept("https://[2606:4700::1111]", PRODUCTION).0.host(),
        "2606:4700::1111"
    );
    assert_eq!(
        accept("https://0x08080808/", PRODUCTION).0.host(),
        "8.8.8.8"
    );
}

#[test]
fn every_broken_rule_is_reported_at_once_in_rule_order() {
    refused! { PRODUCTION;
        "http://user:pw@localhost:8080/#x" =>
            [HttpsRequired, CredentialsInUrl, ReservedDomain, PortNotAllowed, FragmentNotAllowed],
        "ftp://u@x.ngrok.io:2121/#" =>
            [UnsupportedScheme, CredentialsInUrl, TunnelDomain, PortNotAllowed, FragmentNotAllowed],
        "http://[::1]:81/" => [HttpsRequired, NonPublicAddress, PortNotAllowed],
    }
    let violations = NotificationUrl::parse("http://intranet#", PRODUCTION, &UrlPolicy::default());
    let violations = violations.unwrap_err();
    assert_eq!(violations[0].to_string(), HttpsRequired.message());
    let codes: Vec<&str> = violations.iter().map(|v| v.code.as_str()).collect();
    assert_eq!(
        codes.join(" "),
        "https_required single_label_host fragment_not_allowed"
    );
}

/// The refused IPv4 networks, restated independently of the implementation.
const REFUSED_V4: &str = "0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 \
    172.16.0.0/12 192.0.0.0/24 192.0.2.0/24 192.88.99.0/24 192.168.0.0/16 198.18.0.0/15 \
    198.51.100.0/24 203.0.113.0/24 224.0.0.0/4 240.0.0.0/4 255.255.255.255/32";

fn refused_networks() -> Vec<(u32, u32)> {
    let parse = |cidr: &str| {
        let (net, len) = cidr.split_once('/').unwrap();
        let net: Ipv4Addr = net.parse().unwrap();
        (net.into(), len.parse().unwrap())
    };
    REFUSED_V4.split_whitespace().map(parse).collect()
}

fn is_refused_v4(ip: Ipv4Addr) -> bool {
    let ip = u32::from(ip);
    refused_networks()
        .iter()
        .any(|&(net, len)| ip >> (32 - len) == net >> (32 - len))
}

/// A random address inside each refused network in turn.
fn refused_v4() -> impl Strategy<Value = Ipv4Addr> {
    (prop::sample::select(refused_networks()), any::<u32>())
        .prop_map(|((net, len), random)| Ipv4Addr::from(net | random.checked_shr(len).unwrap_or(0)))
}

fn public_v4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>()
        .prop_map(Ipv4Addr::from)
        .prop_filter("public", |ip| !is_refused_v4(*ip))
}

/// Host spellings of `ip` that all mean the same IPv4 address once parsed.
fn ipv4_spellings(ip: Ipv4Addr) -> [String; 5] {
    let (n, [a, b, c, d]) = (u32::from(ip), ip.octets());
    [
        ip.to_string(),
        n.to_string(),
        format!("{n:#x}"),
        format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}"),
        format!("{a}.{}", n & 0xff_ffff),
    ]
}

/// IPv6 literals that wrap `ip`: mapped, compatible, NAT64 and 6to4.
fn ipv6_wraps(ip: Ipv4Addr) -> [String; 4] {
    let n = u32::from(ip);
    [
        format!("[::ffff:{ip}]"),
        format!("[::{ip}]"),
        format!("[64:ff9b::{ip}]"),
        format!("[2002:{:x}:{:x}::1]", n >> 16, n & 0xffff),
    ]
}

/// Plausible merchant URLs: ASCII or international labels, default ports, odd paths and queries.
fn valid_looking_url() -> impl Strategy<Value = String> {
    let label = prop_oneof![
        3 => "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?",
        1 => prop::sample::select(vec!["bücher", "例え", "ПРИМЕР", "mañana", "Shop"]).prop_map(String::from),
    ];
    (
        prop::sample::select(vec!["https://", "HTTPS://", "http://", "https:"]),
        prop::collection::vec(label, 1..4),
        prop::sample::select(vec!["com", "co.id", "ORG", "id", "xn--p1ai", "com."]),
        any::<bool>(),
        "(/[a-zA-Z0-9._~!$&'()*+,;=:@%é ]{0,8}){0,4}",
        prop::option::of("[a-zA-Z0-9=&/?%é ]{0,16}"),
    )
        .prop_map(|(scheme, labels, tld, default_port, path, query)| {
            let port = match (default_port, scheme.starts_with("http:")) {
                (false, _) => "",
                (true, true) => ":80",
                (true, false) => ":443",
            };
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("{scheme}{}.{tld}{port}{path}{query}", labels.join("."))
        })
}

fn assert_idempotent(normalised: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(judge(normalised, SANDBOX), Ok(normalised.to_owned()));
    Ok(())
}

proptest! {
    #[test]
    fn parsing_never_panics_and_anything_accepted_is_a_fixed_point(
        input in prop_oneof![
            any::<String>(),
            "\\PC{0,40}",
            any::<String>().prop_map(|s| format!("https://{s}")),
            "https://[a-z0-9.:@\\[\\]%#?/\\\\-]{0,30}",
        ],
    ) {
        for &env in Environment::ALL {
            match NotificationUrl::parse(&input, env, &UrlPolicy::default()) {
                Ok((url, _)) => assert_idempotent(url.as_str())?,
                Err(violations) => prop_assert!(!violations.is_empty()),
            }
        }
    }

    #[test]
    fn valid_looking_urls_are_accepted_and_normalise_to_themselves(input in valid_looking_url()) {
        let normalised = judge(&input, SANDBOX);
        prop_assert!(normalised.is_ok(), "{input:?} refused: {normalised:?}");
        assert_idempotent(&normalised.unwrap())?;
    }

    #[test]
    fn every_address_of_a_refused_range_is_refused_in_every_spelling(ip in refused_v4()) {
        for host in ipv4_spellings(ip).into_iter().chain(ipv6_wraps(ip)) {
            let url = format!("https://{host}/notify");
            prop_assert_eq!(judge(&url, SANDBOX), Err(vec![NonPublicAddress]), "{}", url);
        }
    }

    #[test]
    fn public_addresses_are_accepted_in_every_spelling(ip in public_v4()) {
        for host in ipv4_spellings(ip) {
            let url = format!("https://{host}/notify");
            prop_assert_eq!(judge(&url, SANDBOX), Ok(format!("https://{ip}/notify")), "{}", url);
        }
        for host in ipv6_wraps(ip) {
            prop_assert!(judge(&format!("https://{host}/notify"), SANDBOX).is_ok(), "{}", host);
        }
    }
}

/// Rule 9 as a pure decision over what the resolver answered.
mod dns_rule {
    use payhook::domain::Environment;
    use payhook::url_policy::{
        Resolution, UrlPolicy, ViolationCode, WarningCode, judge_resolution,
    };

    fn addresses(list: &[&str]) -> Resolution {
        Resolution::Addresses(list.iter().map(|a| a.parse().unwrap()).collect())
    }

    fn code(
        resolution: &Resolution,
        env: Environment,
        policy: &UrlPolicy,
    ) -> Option<ViolationCode> {
        judge_resolution(resolution, env, policy)
            .err()
            .map(|v| v.code)
    }

    #[test]
    fn every_resolved_address_must_be_public() {
        let strict = UrlPolicy::default();
        for &env in Environment::ALL {
            assert_eq!(
                code(
                    &addresses(&["93.184.216.34", "2606:4700::1111"]),
                    env,
                    &strict
                ),
                None
            );
            for private in [
                &["10.0.0.1"][..],
                &["127.0.0.1"],
                &["8.8.8.8", "192.168.1.1"],
                &["::ffff:10.0.0.1"],
                &["fe80::1"],
            ] {
                assert_eq!(
                    code(&addresses(private), env, &strict),
                    Some(ViolationCode::ResolvesToNonPublic),
                    "{private:?}"
                );
            }
        }
    }

    #[test]
    fn missing_names_are_refused_and_silence_only_warns() {
        let policy = UrlPolicy::default();
        let env = Environment::Production;
        assert_eq!(
            code(&Resolution::NoSuchName, env, &policy),
            Some(ViolationCode::NameNotFound)
        );
        assert_eq!(
            code(&addresses(&[]), env, &policy),
            Some(ViolationCode::NameNotFound)
        );
        let warning = judge_resolution(&Resolution::Unanswered, env, &policy).unwrap();
        assert_eq!(warning.map(|w| w.code), Some(WarningCode::DnsUnanswered));
    }

    #[test]
    fn the_escape_hatch_opens_private_targets_and_ports_in_sandbox_only() {
        let hatch = UrlPolicy {
            allow_private_targets: true,
            ..UrlPolicy::default()
        };
        let private = addresses(&["127.0.0.1"]);
        assert_eq!(code(&private, Environment::Sandbox, &hatch), None);
        assert_eq!(
            code(&private, Environment::Production, &hatch),
            Some(ViolationCode::ResolvesToNonPublic)
        );
        assert_eq!(
            code(&Resolution::NoSuchName, Environment::Sandbox, &hatch),
            Some(ViolationCode::NameNotFound)
        );

        fn parse(url: &str, env: Environment, policy: &UrlPolicy) -> Result<String, ()> {
            payhook::url_policy::NotificationUrl::parse(url, env, policy)
                .map(|(u, _)| u.to_string())
                .map_err(drop)
        }
        assert_eq!(
            parse("http://127.0.0.1:9000/n", Environment::Sandbox, &hatch),
            Ok("http://127.0.0.1:9000/n".into())
        );
        assert!(parse("http://[::1]:8080/n", Environment::Sandbox, &hatch).is_ok());
        assert!(parse("https://10.0.0.1/n", Environment::Production, &hatch).is_err());
        assert!(
            parse(
                "http://127.0.0.1:9000/n",
                Environment::Sandbox,
                &UrlPolicy::default()
            )
            .is_err()
        );
        // Everything else still applies in sandbox.
        for refused in [
            "http://localhost:9000/n",
            "http://u:p@127.0.0.1/n",
            "http://127.0.0.1/n#x",
            "https://a.ngrok.io/n",
        ] {
            assert!(
                parse(refused, Environment::Sandbox, &hatch).is_err(),
                "{refused}"
            );
        }
    }
}

/// The posted forms, read as the handlers read them (`serde_urlencoded` into the real types).
mod forms {
    use payhook::routes::admin::users::NewUser;
    use payhook::routes::settings::ConfigureInput;
    use proptest::prelude::*;

    fn encode(fields: &[(&str, &str)]) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(fields);
        form.finish()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bodies_never_panic_the_form_readers(body in any::<Vec<u8>>()) {
            let _ = serde_urlencoded::from_bytes::<ConfigureInput>(&body);
            let _ = serde_urlencoded::from_bytes::<NewUser>(&body);
        }

        #[test]
        fn a_configure_form_reads_back_exactly_what_was_typed(
            sandbox in any::<String>(),
            production in any::<String>(),
            version in any::<i64>(),
            and_test in proptest::option::of("sandbox|production|\\PC{0,10}"),
        ) {
            let version_text = version.to_string();
            let mut fields = vec![
                ("sandbox_url", sandbox.as_str()),
                ("production_url", production.as_str()),
                ("version", version_text.as_str()),
                ("csrf_token", "t"),
            ];
            if let Some(env) = &and_test {
                fields.push(("and_test", env));
            }
            let form: ConfigureInput = serde_urlencoded::from_str(&encode(&fields)).unwrap();
            prop_assert_eq!(form.sandbox_url, sandbox);
            prop_assert_eq!(form.production_url, production);
            prop_assert_eq!(form.version, version);
            prop_assert_eq!(form.and_test, and_test);
        }

        #[test]
        fn a_form_without_its_text_fields_reads_them_as_empty(version in any::<i64>()) {
            let form: ConfigureInput =
                serde_urlencoded::from_str(&format!("version={version}")).unwrap();
            prop_assert!(form.sandbox_url.is_empty() && form.production_url.is_empty());
            prop_assert!(serde_urlencoded::from_str::<ConfigureInput>("sandbox_url=x").is_err());
        }
    }
}

/// Where a payment notifies (`X-Override-Notification`, `X-Append-Notification`, the body's
/// override): whatever the headers hold, every target passes the sandbox policy, a header adds
/// at most three, the override header wins, the configured URL comes first when appending.
mod notification_headers {
    use payhook::domain::Environment;
    use payhook::payments::targets::{MAX_HEADER_URLS, TOO_MANY_URLS, resolve};
    use payhook::payments::{TargetError, TargetRequest};
    use payhook::url_policy::{NotificationUrl, UrlPolicy};
    use proptest::prelude::*;

    const CONFIGURED: &str = "https://shop.co.id/notify";

    fn targets(request: TargetRequest<'_>) -> Result<Vec<String>, TargetError> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(resolve(request, &UrlPolicy::default(), None))
    }

    fn header_value() -> impl Strategy<Value = String> {
        let url = prop_oneof![
            "https://[a-z]{1,8}\\.co\\.id/[a-z]{0,6}",
            "http://[a-z]{1,8}\\.example\\.com/n",
            Just("https://a.ngrok.io/n".to_owned()),
            Just("http://127.0.0.1:9000/n".to_owned()),
            "\\PC{0,20}",
        ];
        proptest::collection::vec(url, 0..5).prop_map(|urls| urls.join(","))
    }

    fn good_urls() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(
            "https://[a-z]{1,8}\\.co\\.id/[a-z]{0,6}",
            1..=MAX_HEADER_URLS,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_header_values_give_policy_approved_targets_or_a_named_error(
            override_header in proptest::option::of(header_value()),
            append_header in proptest::option::of(header_value()),
            configured in proptest::option::of(Just(CONFIGURED)),
        ) {
            let request = TargetRequest {
                configured,
                body_override: None,
                override_header: override_header.as_deref(),
                append_header: append_header.as_deref(),
            };
            match targets(request) {
                Ok(urls) => {
                    prop_assert!(!urls.is_empty() && urls.len() <= MAX_HEADER_URLS + 1);
                    for url in &urls {
                        let judged = NotificationUrl::parse(url, Environment::Sandbox, &UrlPolicy::default())
                            .map(|(u, _)| u.to_string())
                            .ok();
                        prop_assert_eq!(judged.as_deref(), Some(url.as_str()));
                    }
                    if override_header.is_none() && configured.is_some() {
                        prop_assert_eq!(urls[0].as_str(), CONFIGURED, "the configured URL first");
                    }
                }
                Err(TargetError::Header { header, item, rules }) => {
                    let sent = if override_header.is_some() { &override_header } else { &append_header };
                    let items = sent.as_deref().unwrap().split(',').count();
                    prop_assert!(item >= 1 && item <= items.min(MAX_HEADER_URLS + 1));
                    prop_assert!(!rules.is_empty());
                    if items > MAX_HEADER_URLS {
                        prop_assert_eq!(item, MAX_HEADER_URLS + 1);
                        prop_assert_eq!(rules, vec![TOO_MANY_URLS]);
                    }
                    let expected = if override_header.is_some() {
                        "X-Override-Notification"
                    } else {
                        "X-Append-Notification"
                    };
                    prop_assert_eq!(header, expected);
                }
                Err(TargetError::NoTarget) => prop_assert!(configured.is_none() && override_header.is_none()),
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }

        #[test]
        fn the_override_header_wins_over_append_and_the_configured_url(
            overriding in good_urls(),
            appended in header_value(),
        ) {
            let header = overriding.join(", ");
            let alone = targets(TargetRequest {
                configured: Some(CONFIGURED),
                override_header: Some(&header),
                ..TargetRequest::default()
            });
            let both = targets(TargetRequest {
                configured: Some(CONFIGURED),
                override_header: Some(&header),
                append_header: Some(&appended),
                ..TargetRequest::default()
            });
            let mut expected = overriding.clone();
            let mut seen = std::collections::HashSet::new();
            expected.retain(|url| seen.insert(url.clone()));
            prop_assert_eq!(alone.clone(), Ok(expected));
            prop_assert_eq!(both, alone);
        }

        #[test]
        fn appended_urls_follow_the_configured_one_in_order(appended in good_urls()) {
            let urls = targets(TargetRequest {
                configured: Some(CONFIGURED),
                append_header: Some(&appended.join(",")),
                ..TargetRequest::default()
            })
            .unwrap();
            let mut expected = vec![CONFIGURED.to_owned()];
            for url in appended {
                if !expected.contains(&url) {
                    expected.push(url);
                }
            }
            prop_assert_eq!(urls, expected);
        }

        #[test]
        fn the_body_override_must_keep_the_configured_path(
            host in "[a-z]{1,8}",
            path in "/[a-z]{0,6}",
        ) {
            let url = format!("https://{host}.co.id{path}");
            let result = targets(TargetRequest {
                configured: Some(CONFIGURED),
                body_override: Some(&url),
                ..TargetRequest::default()
            });
            if path == "/notify" {
                prop_assert_eq!(result, Ok(vec![url]));
            } else {
                let is_other_path = matches!(result, Err(TargetError::OtherPath { .. }));
                prop_assert!(is_other_path);
            }
        }
    }
}

/// The payment API's JSON bodies, read as the handlers read them.
mod payment_json {
    use payhook::catalog::SECTIONS;
    use payhook::routes::api::body::{CreatePaymentBody, SimulateBody};
    use proptest::prelude::*;

    fn channel_code() -> impl Strategy<Value = String> {
        let codes: Vec<String> = SECTIONS
            .iter()
            .flat_map(|s| {
                s.channels
                    .iter()
                    .map(move |c| format!("{}/{}", s.code, c.code))
            })
            .collect();
        proptest::sample::select(codes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bodies_never_panic_the_readers(
            body in prop_oneof![
                any::<Vec<u8>>(),
                "\\{\"channel\": \"\\PC{0,12}\", \"order\": \\{\"invoice_number\": \"\\PC{0,70}\", \"amount\": -?[0-9]{1,22}\\}\\}"
                    .prop_map(String::into_bytes),
                "\\{\"status\": \"\\PC{0,10}\"\\}".prop_map(String::into_bytes),
            ],
        ) {
            let _ = CreatePaymentBody::read(&body);
            let _ = SimulateBody::read(&body);
        }

        #[test]
        fn a_well_formed_body_reads_back_its_values(
            channel in channel_code(),
            invoice in "[A-Za-z0-9_-]{1,64}",
            amount in 1..i64::MAX,
            with_override in any::<bool>(),
        ) {
            let mut body = serde_json::json!({
                "channel": channel,
                "order": {"invoice_number": invoice, "amount": amount},
            });
            if with_override {
                body["additional_info"] = serde_json::json!({"override_notification_url": "https://a.co.id/n"});
            }
            let request = CreatePaymentBody::read(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!(format!("{}/{}", request.target.section.code, request.target.channel.code), channel);
            prop_assert_eq!(request.invoice.as_str(), invoice);
            prop_assert_eq!(request.amount, amount);
            prop_assert_eq!(request.body_override.is_some(), with_override);
        }

        #[test]
        fn a_bad_field_is_named(
            channel in channel_code(),
            invoice in "[A-Za-z0-9_-]{65,80}|[^A-Za-z0-9_-]{1,5}",
            amount in i64::MIN..=0,
        ) {
            let read = |invoice: &str, amount: i64| {
                let body = serde_json::json!({
                    "channel": channel,
                    "order": {"invoice_number": invoice, "amount": amount},
                });
                let error = CreatePaymentBody::read(body.to_string().as_bytes()).unwrap_err();
                (error.code, error.details.get("field").cloned())
            };
            prop_assert_eq!(read(&invoice, 1), ("invalid_field", Some("order.invoice_number".into())));
            prop_assert_eq!(read("INV-1", amount), ("invalid_field", Some("order.amount".into())));
        }
    }
}
