//! A ready-to-paste `curl` command that repeats a notification exactly.

/// Quotes `value` for a POSIX shell: single quotes, with each `'` written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `curl` sending `body` with `headers` to `url` by POST.
pub fn command(url: &str, headers: &[(String, String)], body: &str) -> String {
    let mut parts = vec![format!("curl -sS -i -X POST {}", shell_quote(url))];
    parts.extend(
        headers
            .iter()
            .map(|(name, value)| format!("  -H {}", shell_quote(&format!("{name}: {value}")))),
    );
    parts.push(format!("  --data-raw {}", shell_quote(body)));
    parts.join(" \\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_a_shell_round_trip() {
        let tricky = r#"it's "$HOME" `id` \n"#;
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote(tricky)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(output.stdout).unwrap(), tricky);
    }

    #[test]
    fn the_command_names_every_header_and_the_body() {
        let headers = vec![("Client-Id".to_owned(), "MCH-1".to_owned())];
        let cmd = command("https://shop.com/n", &headers, "{\"a\":1}");
        assert!(cmd.starts_with("curl -sS -i -X POST 'https://shop.com/n'"));
        assert!(cmd.contains("-H 'Client-Id: MCH-1'"));
        assert!(cmd.ends_with("--data-raw '{\"a\":1}'"));
    }
}
