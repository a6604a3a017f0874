//! Bulk loads (a restore, generated data) as `COPY ... FROM STDIN` in its text format: the
//! server reads a stream of rows rather than parsing a statement of thousands of placeholders
//! and binding each one: a million-row restore 1.4 times as fast, seeding 1.2–1.3 times
//! (BENCHMARKS.md, "What was tuned").
//!
//! The values are written as PostgreSQL reads them back into the same columns a bound argument
//! fills, to the microsecond and across the years `AD 1` starts (before it, `BC`).

use std::io::Write;

use carenest_domain::time::Stamp;
use carenest_store_sql::Arg;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, SubsecRound, Timelike, Utc};
use sqlx::postgres::PgConnection;

/// Writes `values` (rows one after another, one value for each of `columns`) into `table`.
pub async fn copy_in(
    conn: &mut PgConnection,
    table: &str,
    columns: &[&str],
    values: Vec<Arg<'_>>,
) -> Result<u64, sqlx::Error> {
    if values.is_empty() {
        return Ok(0);
    }
    let data = rows(columns.len(), &values);
    let mut copy = conn.copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", columns.join(", "))).await?;
    copy.send(data).await?;
    copy.finish().await
}

/// The rows in COPY's text format: fields apart by tabs, rows ended by newlines.
fn rows(width: usize, values: &[Arg<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 16);
    for (index, value) in values.iter().enumerate() {
        field(&mut out, value);
        out.push(if (index + 1) % width == 0 { b'\n' } else { b'\t' });
    }
    out
}

/// One field: `\N` for NULL, else the value's text with COPY's escapes.
fn field(out: &mut Vec<u8>, value: &Arg<'_>) {
    const NULL: &[u8] = b"\\N";
    match value {
        Arg::Int(Some(number)) => out.extend_from_slice(number.to_string().as_bytes()),
        Arg::Bool(Some(flag)) => out.push(if *flag { b't' } else { b'f' }),
        Arg::Text(Some(text)) => escaped(out, text),
        Arg::Bytes(Some(bytes)) => {
            // bytea's hex form, `\x...`, its backslash escaped for COPY.
            out.extend_from_slice(b"\\\\x");
            for byte in *bytes {
                write!(out, "{byte:02x}").expect("writing to memory");
            }
        }
        Arg::Date(Some(day)) => date(out, *day),
        Arg::Time(Some(time)) => time_of_day(out, *time),
        Arg::Timestamp(Some(at)) => timestamp(out, *at),
        Arg::Json(json) => escaped(out, &json.to_string()),
        Arg::Texts(texts) => array(out, texts.iter().map(|text| quoted(text))),
        Arg::Ints(numbers) => array(out, numbers.iter().map(i64::to_string)),
        Arg::Dates(days) => array(out, days.iter().map(|day| text_of(|out| date(out, *day)))),
        Arg::Int(None)
        | Arg::Bool(None)
        | Arg::Text(None)
        | Arg::Bytes(None)
        | Arg::Date(None)
        | Arg::Time(None)
        | Arg::Timestamp(None) => out.extend_from_slice(NULL),
    }
}

/// `text` with the characters COPY's text format reads specially escaped.
fn escaped(out: &mut Vec<u8>, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(byte),
        }
    }
}

/// An array literal of elements already in their array form, escaped for COPY.
fn array(out: &mut Vec<u8>, elements: impl Iterator<Item = String>) {
    let literal = format!("{{{}}}", elements.collect::<Vec<_>>().join(","));
    escaped(out, &literal);
}

/// A text as an array element: always quoted, so that commas, braces, spaces, an empty text
/// and the word NULL stay text.
fn quoted(text: &str) -> String {
    let mut element = String::with_capacity(text.len() + 2);
    element.push('"');
    for character in text.chars() {
        if matches!(character, '"' | '\\') {
            element.push('\\');
        }
        element.push(character);
    }
    element.push('"');
    element
}

fn text_of(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    write(&mut out);
    String::from_utf8(out).expect("dates are written in ASCII")
}

/// `YYYY-MM-DD`, or for a year before AD 1 the year counted back with `BC` (there is no year
/// 0 in PostgreSQL's reading: the year 0 is 1 BC).
fn date(out: &mut Vec<u8>, day: NaiveDate) {
    match Stamp::date(day).filter(|_| day.year() >= 1) {
        Some(text) => out.extend_from_slice(text.as_str().as_bytes()),
        None => write!(out, "{:04}-{:02}-{:02}{}", era_year(day.year()), day.month(), day.day(), era(day.year()))
            .expect("writing to memory"),
    }
}

fn time_of_day(out: &mut Vec<u8>, time: NaiveTime) {
    match time.nanosecond() {
        0 => out.extend_from_slice(Stamp::time_of_day(time).as_str().as_bytes()),
        _ => write!(out, "{}", time.format("%H:%M:%S%.6f")).expect("writing to memory"),
    }
}

/// RFC 3339 in UTC, cut to the microsecond as a bound timestamp is (the server would round).
fn timestamp(out: &mut Vec<u8>, at: DateTime<Utc>) {
    let at = at.trunc_subsecs(6);
    match Stamp::timestamp(&at).filter(|_| at.year() >= 1) {
        Some(text) => out.extend_from_slice(text.as_str().as_bytes()),
        None => {
            let naive = at.naive_utc();
            write!(
                out,
                "{:04}-{:02}-{:02}T{}Z{}",
                era_year(naive.year()),
                naive.month(),
                naive.day(),
                naive.time().format("%H:%M:%S%.6f"),
                era(naive.year())
            )
            .expect("writing to memory");
        }
    }
}

fn era_year(year: i32) -> i32 {
    if year >= 1 {
        year
    } else {
        1 - year
    }
}

fn era(year: i32) -> &'static str {
    if year >= 1 {
        ""
    } else {
        " BC"
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde_json::json;

    use super::*;

    fn line(values: &[Arg<'_>]) -> String {
        String::from_utf8(rows(values.len(), values)).unwrap()
    }

    #[test]
    fn fields_are_apart_by_tabs_and_rows_end_with_a_newline() {
        let values = [Arg::Int(Some(1)), Arg::Bool(Some(true)), Arg::Int(Some(2)), Arg::Bool(Some(false))];
        assert_eq!(String::from_utf8(rows(2, &values)).unwrap(), "1\tt\n2\tf\n");
    }

    #[test]
    fn nulls_are_backslash_n_and_the_text_backslash_n_is_escaped() {
        assert_eq!(line(&[Arg::Text(None), Arg::Text(Some("\\N")), Arg::Timestamp(None)]), "\\N\t\\\\N\t\\N\n");
    }

    #[test]
    fn tabs_newlines_returns_and_backslashes_in_text_are_escaped() {
        assert_eq!(line(&[Arg::Text(Some("a\tb\nc\rd\\e ü"))]), "a\\tb\\nc\\rd\\\\e ü\n");
    }

    #[test]
    fn every_list_element_is_quoted_with_its_quotes_and_backslashes_escaped() {
        let texts = vec!["a,b".to_owned(), "say \"hi\"".to_owned(), "NULL".to_owned(), String::new(), "c:\\d".into()];
        assert_eq!(
            line(&[Arg::Texts(Cow::Owned(texts)), Arg::Texts(Cow::Owned(Vec::new()))]),
            "{\"a,b\",\"say \\\\\"hi\\\\\"\",\"NULL\",\"\",\"c:\\\\\\\\d\"}\t{}\n"
        );
    }

    #[test]
    fn json_is_its_text_with_copys_escapes() {
        let value = json!({"note": "line\nnext\ttab"});
        assert_eq!(line(&[Arg::Json(&value)]), "{\"note\":\"line\\\\nnext\\\\ttab\"}\n");
    }

    #[test]
    fn bytes_are_hex_after_an_escaped_backslash() {
        assert_eq!(line(&[Arg::Bytes(Some(&[0, 171, 255]))]), "\\\\x00abff\n");
    }

    #[test]
    fn times_are_cut_to_the_microsecond_and_years_before_ad_1_count_back_with_bc() {
        let at = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap().and_hms_nano_opt(14, 11, 56, 874_514_999).unwrap();
        let old = NaiveDate::from_ymd_opt(0, 2, 29).unwrap();
        assert_eq!(
            line(&[
                Arg::Timestamp(Some(at.and_utc())),
                Arg::Date(Some(at.date())),
                Arg::Time(Some(at.time())),
                Arg::Date(Some(old)),
                Arg::Timestamp(Some(old.and_hms_opt(8, 30, 0).unwrap().and_utc())),
                Arg::Time(Some(NaiveTime::from_hms_opt(9, 5, 0).unwrap())),
            ]),
            "2026-12-06T14:11:56.874514Z\t2026-12-06\t14:11:56.874514\t0001-02-29 BC\t0001-02-29T08:30:00.000000Z BC\t09:05:00\n"
        );
    }

    #[test]
    fn lists_of_numbers_and_dates_are_array_literals() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        assert_eq!(line(&[Arg::Ints(vec![1, -2]), Arg::Dates(vec![day, day])]), "{1,-2}\t{2026-01-02,2026-01-02}\n");
    }
}
