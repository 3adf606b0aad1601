//! RFC 4180 CSV cells, defused so that a spreadsheet never runs a cell as a formula, and the
//! streamed download the exports answer with.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use tokio::sync::mpsc::Receiver;

use crate::error::AppError;

/// A CSV attachment named `filename` whose body is what arrives on `chunks`, sent as it comes.
pub fn download(filename: &str, chunks: Receiver<Result<Bytes, AppError>>) -> HttpResponse {
    let body = futures_util::stream::unfold(chunks, |mut chunks| async move {
        chunks.recv().await.map(|item| (item, chunks))
    });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body)
}

/// Appends one cell: quoted when it holds a comma, quote or line break, and prefixed with `'`
/// when it starts with `=`, `+`, `-`, `@`, tab or carriage return.
pub fn push_cell(out: &mut String, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if !formula && !value.contains([',', '"', '\n', '\r']) {
        out.push_str(value);
        return;
    }
    out.push('"');
    if formula {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// Appends a row of cells, ending it with CRLF.
pub fn push_row<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, cell);
    }
    out.push_str("\r\n");
}

/// An export's filters as the audit log keeps them: with the zone their dates were read in,
/// when they have dates, since another reader may read in another zone.
pub fn with_zone(filters: &str, dates: &[&Option<String>]) -> String {
    let dated = dates
        .iter()
        .any(|date| date.as_deref().is_some_and(|d| !d.trim().is_empty()));
    if dated {
        format!("{filters}&zone={}", crate::i18n::zone())
    } else {
        filters.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> String {
        let mut out = String::new();
        push_row(&mut out, cells.iter().copied());
        out
    }

    #[test]
    fn plain_cells_stay_plain_and_special_ones_are_quoted() {
        assert_eq!(row(&["a", "b c"]), "a,b c\r\n");
        assert_eq!(
            row(&["x,y", "say \"hi\"", "l1\nl2"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"l1\nl2\"\r\n"
        );
        assert_eq!(row(&[""]), "\r\n");
    }

    #[test]
    fn formula_cells_are_defused() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            let out = row(&[cell]);
            assert!(out.starts_with("\"'"), "{cell:?} -> {out:?}");
        }
        assert_eq!(
            row(&["=HYPERLINK(\"x\")"]),
            "\"'=HYPERLINK(\"\"x\"\")\"\r\n"
        );
    }
}
