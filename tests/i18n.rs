//! Every text exists in English and in Bahasa Indonesia, with the same placeholders.

use std::collections::BTreeSet;

use payhook::i18n::{ENGLISH, INDONESIAN, Table};
use payhook::url_policy::{ViolationCode, WarningCode};

fn keys(table: &Table) -> BTreeSet<&'static str> {
    table.keys().copied().collect()
}

#[test]
fn both_languages_have_exactly_the_same_keys() {
    let english = keys(&ENGLISH);
    let indonesian = keys(&INDONESIAN);
    let only_english: Vec<_> = english.difference(&indonesian).collect();
    let only_indonesian: Vec<_> = indonesian.difference(&english).collect();
    assert!(
        only_english.is_empty(),
        "missing in id.txt: {only_english:?}"
    );
    assert!(
        only_indonesian.is_empty(),
        "missing in en.txt: {only_indonesian:?}"
    );
    assert!(english.len() > 200, "the tables were read");
}

#[test]
fn every_text_is_filled_and_keeps_its_placeholders() {
    for (key, english) in ENGLISH.iter() {
        let indonesian = INDONESIAN.get(key).copied().unwrap_or_default();
        assert!(
            !english.is_empty() && !indonesian.is_empty(),
            "{key} is empty"
        );
        assert_eq!(
            english.matches("{}").count(),
            indonesian.matches("{}").count(),
            "placeholders of {key}"
        );
    }
}

#[test]
fn every_key_the_code_and_the_templates_use_exists() {
    let mut used = BTreeSet::new();
    for dir in ["src", "templates"] {
        collect_keys(std::path::Path::new(dir), &mut used);
    }
    assert!(used.len() > 150, "the scan found the keys ({})", used.len());
    for code in ViolationCode::ALL {
        used.insert(code.key());
    }
    for code in WarningCode::ALL {
        used.insert(code.key());
    }
    for action in payhook::store::AuditAction::ALL {
        used.insert(format!("action.{action}"));
    }
    for role in payhook::domain::Role::ALL {
        used.insert(role.label_key().to_owned());
    }
    for section in payhook::catalog::SECTIONS {
        used.insert(format!("section.{}", section.code));
    }
    let missing: Vec<_> = used
        .iter()
        .filter(|k| !ENGLISH.contains_key(k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "keys used but not translated: {missing:?}"
    );
}

/// Finds `t("key")`, `tf("key"` and `layout.t("key")` calls, also split over lines.
fn collect_keys(dir: &std::path::Path, used: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_keys(&path, used);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for call in ["t(", "tf("] {
            for (at, _) in text.match_indices(call) {
                let before = text[..at].chars().last().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' {
                    continue;
                }
                let rest = text[at + call.len()..].trim_start();
                let Some(literal) = rest.strip_prefix('"') else {
                    continue;
                };
                let key = literal.split('"').next().unwrap_or_default();
                if key.contains('.')
                    && key
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c))
                {
                    used.insert(key.to_owned());
                }
            }
        }
    }
}

#[test]
fn the_policy_speaks_english_on_the_command_line_from_the_same_table() {
    assert_eq!(
        ViolationCode::TunnelDomain.message(),
        "ngrok tunnels are not accepted as notification URLs; use a public domain you control."
    );
    assert!(INDONESIAN["violation.tunnel_domain"].starts_with("Tunnel ngrok tidak diterima"));
}

#[test]
fn every_email_text_is_written_in_both_languages() {
    let email_keys: Vec<&str> = ENGLISH
        .keys()
        .copied()
        .filter(|key| key.starts_with("email."))
        .collect();
    assert!(email_keys.len() >= 15, "the email texts were read");
    for key in email_keys {
        let indonesian = INDONESIAN.get(key).copied().unwrap_or_default();
        assert!(!indonesian.is_empty(), "{key} has no Indonesian text");
        if key != "email.signature" {
            assert_ne!(ENGLISH[key], indonesian, "{key} is not translated");
        }
    }
}
