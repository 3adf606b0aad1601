//! English and Bahasa Indonesia. Every text a page shows lives in `en.txt` and `id.txt`
//! (`key = text`, one per line, `{}` where a value goes); a test fails when a key is missing in
//! either. The language of the current request is a task-local set by `negotiate_language`.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::{Display, Write as _};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use time::OffsetDateTime;

use crate::domain::TimeZone;

mod delivery_error;

/// The cookie remembering the language chosen with the switch in the header.
pub const COOKIE: &str = "lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Id,
}

/// A language's texts by key. Keys are this program's own, so a fast non-keyed hash is safe:
/// a page looks up a hundred texts or so.
pub type Table = HashMap<&'static str, &'static str, BuildHasherDefault<KeyHasher>>;

/// The Fx hash (as in the Rust compiler): a multiply and a rotate per word.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            self.add(word);
        }
        for &byte in words.remainder() {
            self.add(u64::from(byte));
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl KeyHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

pub static ENGLISH: LazyLock<Table> = LazyLock::new(|| parse(include_str!("en.txt")));
pub static INDONESIAN: LazyLock<Table> = LazyLock::new(|| parse(include_str!("id.txt")));

/// `key = text` lines; blank lines and `#` comments are skipped.
pub fn parse(source: &'static str) -> Table {
    source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, text)| (key.trim(), text.trim()))
        .collect()
}

tokio::task_local! {
    static CURRENT: Lang;
    static PATH: String;
    /// The signed-in reader's zone, set once their account is read ([`set_zone`]).
    static ZONE: Cell<TimeZone>;
}

/// The zone the request's times are shown in: the signed-in user's, else WIB.
pub fn zone() -> TimeZone {
    ZONE.try_with(Cell::get).unwrap_or_default()
}

/// Shows the rest of this request's times in `zone` (the signed-in user's choice).
pub fn set_zone(zone: TimeZone) {
    // Outside a request there is nothing to set: pages are only made inside one.
    let _ = ZONE.try_with(|current| current.set(zone));
}

/// The path of the request being served (empty outside a request), for marking the current
/// page in the navigation.
pub fn current_path() -> String {
    PATH.try_with(Clone::clone).unwrap_or_default()
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Id];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Id => "Bahasa Indonesia",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|lang| lang.code().eq_ignore_ascii_case(code))
    }

    /// The language of the request being served (English outside a request).
    pub fn current() -> Self {
        CURRENT.try_with(|lang| *lang).unwrap_or_default()
    }

    fn table(self) -> &'static Table {
        match self {
            Lang::En => &ENGLISH,
            Lang::Id => &INDONESIAN,
        }
    }

    /// The text of `key`; an unknown key shows "?" (and fails the completeness test).
    pub fn t(self, key: &str) -> &'static str {
        match self.table().get(key).or_else(|| ENGLISH.get(key)) {
            Some(text) => text,
            None => {
                debug_assert!(false, "missing translation key {key}");
                "?"
            }
        }
    }

    /// The text of `key` when there is one (keys made from stored codes).
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        self.table().get(key).or_else(|| ENGLISH.get(key)).copied()
    }

    /// The text of `key` with each `{}` replaced by the next value.
    pub fn tf(self, key: &str, values: &[&dyn Display]) -> String {
        let mut values = values.iter();
        let mut out = String::new();
        let mut parts = self.t(key).split("{}");
        if let Some(first) = parts.next() {
            out.push_str(first);
        }
        for part in parts {
            if let Some(value) = values.next() {
                out.push_str(&value.to_string());
            }
            out.push_str(part);
        }
        out
    }
}

/// The text of `key` in the current request's language.
pub fn t(key: &str) -> &'static str {
    Lang::current().t(key)
}

/// `t` with `{}` placeholders filled in order.
pub fn tf(key: &str, values: &[&dyn Display]) -> String {
    Lang::current().tf(key, values)
}

/// The English text of `key`, for the command line and the policy's own messages.
pub fn english(key: &str) -> &'static str {
    Lang::En.t(key)
}

/// The language for a request: the switch's cookie, else the browser's `Accept-Language`.
fn choose(request: &ServiceRequest) -> Lang {
    if let Some(lang) = request
        .cookie(COOKIE)
        .and_then(|c| Lang::from_code(c.value()))
    {
        return lang;
    }
    let header = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    header.map_or(Lang::En, from_accept_language)
}

/// The first supported language in an `Accept-Language` list, by quality then order.
pub fn from_accept_language(header: &str) -> Lang {
    let mut best: Option<(f32, Lang)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        if let Some(lang) = Lang::from_code(primary)
            && quality > 0.0
            && best.is_none_or(|(q, _)| quality > q)
        {
            best = Some((quality, lang));
        }
    }
    best.map_or(Lang::En, |(_, lang)| lang)
}

/// Middleware: serves the request with its language (and path) set for pages, messages and
/// errors.
pub async fn negotiate_language(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let lang = choose(&request);
    let path = request.path().to_owned();
    let serve = ZONE.scope(Cell::default(), next.call(request));
    let mut response = CURRENT.scope(lang, PATH.scope(path, serve)).await?;
    // Caches must not hand a page in one language to a reader of the other.
    response.headers_mut().append(
        header::VARY,
        header::HeaderValue::from_static("Accept-Language, Cookie"),
    );
    Ok(response)
}

/// The calendar fields of a time in ms shifted by `offset_ms`; `None` out of range.
fn fields(ms: i64, offset_ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(ms.checked_add(offset_ms)?.div_euclid(1000)).ok()
}

/// Writes `2026-12-06 12:14:05` digit by digit: a table shows two times a row, and the
/// formatting machinery showed in the profile.
fn write_seconds(
    out: &mut impl std::fmt::Write,
    t: OffsetDateTime,
    date_time_separator: char,
) -> std::fmt::Result {
    let year = t.year().clamp(0, 9999) as u32;
    push_digits(out, year / 100)?;
    push_digits(out, year % 100)?;
    out.write_char('-')?;
    push_digits(out, u32::from(u8::from(t.month())))?;
    out.write_char('-')?;
    push_digits(out, u32::from(t.day()))?;
    out.write_char(date_time_separator)?;
    push_digits(out, u32::from(t.hour()))?;
    out.write_char(':')?;
    push_digits(out, u32::from(t.minute()))?;
    out.write_char(':')?;
    push_digits(out, u32::from(t.second()))
}

/// Two digits of `n` (below 100).
fn push_digits(out: &mut impl std::fmt::Write, n: u32) -> std::fmt::Result {
    for digit in [n / 10, n % 10] {
        out.write_char(char::from_digit(digit, 10).unwrap_or('0'))?;
    }
    Ok(())
}

/// Stored milliseconds as the reader's zone shows them, labelled and to the second (a
/// notification and its next attempt can fall in one minute): `2026-12-06 12:14:05 WIB`.
pub fn format_time(ms: &i64) -> String {
    format_in(*ms, zone())
}

/// [`format_time`] in a given zone.
pub fn format_in(ms: i64, zone: TimeZone) -> String {
    let Some(t) = fields(ms, zone.offset_ms()) else {
        return String::new();
    };
    let mut out = String::with_capacity(24);
    let _ = write_seconds(&mut out, t, ' ');
    out.push(' ');
    out.push_str(zone.as_str());
    out
}

/// Stored milliseconds in UTC to the minute, `2026-11-28 08:40 UTC`: emails, which a reader
/// may forward across zones.
pub fn format_utc_minute(ms: &i64) -> String {
    let Some(t) = fields(*ms, 0) else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A shown time as HTML: the reader's zone in the text, the UTC value in its `title` and
/// machine-readable in `datetime`. Made only of digits and fixed words, so it needs no escaping;
/// written straight into the page, with no string of its own.
pub fn time_html(ms: &i64) -> TimeHtml {
    TimeHtml {
        ms: *ms,
        zone: zone(),
    }
}

/// A time as [`time_html`] writes it.
#[derive(Debug, Clone, Copy)]
pub struct TimeHtml {
    ms: i64,
    zone: TimeZone,
}

impl Display for TimeHtml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (Some(utc), Some(local)) = (fields(self.ms, 0), fields(self.ms, self.zone.offset_ms()))
        else {
            return Ok(());
        };
        f.write_str("<time datetime=\"")?;
        write_seconds(f, utc, 'T')?;
        f.write_str("Z\" title=\"")?;
        write_seconds(f, utc, ' ')?;
        f.write_str(" UTC\">")?;
        write_seconds(f, local, ' ')?;
        f.write_char(' ')?;
        f.write_str(self.zone.as_str())?;
        f.write_str("</time>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(from_accept_language("id-ID,id;q=0.9,en-US;q=0.8"), Lang::Id);
        assert_eq!(from_accept_language("en-US,en;q=0.9,id;q=0.8"), Lang::En);
        assert_eq!(from_accept_language("fr-FR,id;q=0.5"), Lang::Id);
        assert_eq!(from_accept_language("fr-FR, de"), Lang::En);
        assert_eq!(from_accept_language("id;q=0, en;q=0.1"), Lang::En);
        assert_eq!(from_accept_language(""), Lang::En);
    }

    #[test]
    fn times_are_shown_to_the_second_in_a_labelled_zone() {
        let at = 1_795_855_212_345;
        assert_eq!(format_in(at, TimeZone::Wib), "2026-11-28 15:40:12 WIB");
        assert_eq!(format_in(at, TimeZone::Wita), "2026-11-28 16:40:12 WITA");
        assert_eq!(format_in(at, TimeZone::Wit), "2026-11-28 17:40:12 WIT");
        assert_eq!(format_in(at, TimeZone::Utc), "2026-11-28 08:40:12 UTC");
        assert_eq!(format_in(-1, TimeZone::Utc), "1969-12-31 23:59:59 UTC");
        // Outside a request: WIB, the default.
        assert_eq!(format_time(&0), "1970-01-01 07:00:00 WIB");
        assert_eq!(
            time_html(&at).to_string(),
            "<time datetime=\"2026-11-28T08:40:12Z\" title=\"2026-11-28 08:40:12 UTC\">\
             2026-11-28 15:40:12 WIB</time>"
        );
    }

    #[test]
    fn emails_show_utc_to_the_minute() {
        assert_eq!(
            format_utc_minute(&1_795_855_212_345),
            "2026-11-28 08:40 UTC"
        );
        assert_eq!(format_utc_minute(&0), "1970-01-01 00:00 UTC");
    }

    #[test]
    fn placeholders_are_filled_in_order() {
        let text = Lang::En.tf("settings.saved", &[&"BCA", &"Virtual Account"]);
        assert_eq!(text, "Notification URLs for BCA (Virtual Account) saved.");
    }
}
