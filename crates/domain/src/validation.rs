//! Field-level validation that reports every failing field at once.

/// One failing field: a JSON-pointer-like path (`therapistIds[2]`), a stable machine code, and a
/// sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }
}

/// Collects field errors while a request is turned into a domain input.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing failed, else every collected error.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }

    /// Keeps `Some(value)` when `check` passes; records its error otherwise.
    pub fn check<T>(&mut self, field: &str, result: Result<T, (&'static str, String)>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err((code, message)) => {
                self.add(field, code, message);
                None
            }
        }
    }

    /// A required text field: not blank, no longer than `max` characters. Surrounding white space
    /// is an error rather than something silently trimmed.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> Option<String> {
        self.check(field, check_text(field, value, max))
    }

    /// An optional text field; `None` stays `None`.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<Option<String>> {
        match value {
            None => Some(None),
            Some(value) => self.text(field, value, max).map(Some),
        }
    }

    /// A list of short strings: at most `max_items`, each a valid text of at most `max_len`.
    pub fn text_list(
        &mut self,
        field: &str,
        values: &[String],
        max_items: usize,
        max_len: usize,
    ) -> Option<Vec<String>> {
        if values.len() > max_items {
            self.add(field, "too_many", format!("{field} may hold at most {max_items} items"));
            return None;
        }
        let before = self.0.len();
        for (index, value) in values.iter().enumerate() {
            self.text(&format!("{field}[{index}]"), value, max_len);
        }
        (self.0.len() == before).then(|| values.to_vec())
    }

    /// An integer within `min..=max`.
    pub fn range(&mut self, field: &str, value: i64, min: i64, max: i64) -> Option<i64> {
        if (min..=max).contains(&value) {
            Some(value)
        } else {
            self.add(field, "out_of_range", format!("{field} must be between {min} and {max}"));
            None
        }
    }

    /// A JSON document of bounded size and nesting depth.
    pub fn json(&mut self, field: &str, value: &serde_json::Value, limits: JsonLimits) -> Option<serde_json::Value> {
        let depth = json_depth(value);
        if depth > limits.max_depth {
            self.add(field, "too_deep", format!("{field} may nest at most {} levels deep", limits.max_depth));
            return None;
        }
        let size = value.to_string().len();
        if size > limits.max_bytes {
            self.add(field, "too_large", format!("{field} may be at most {} bytes of JSON", limits.max_bytes));
            return None;
        }
        if holds_nul(value) {
            // PostgreSQL can't store it, so no backend takes it.
            self.add(field, "nul_character", format!("{field} must not contain NUL characters (\\u0000)"));
            return None;
        }
        Some(value.clone())
    }

    /// A date both backends store and compare alike: years 1 to 9999, four digits each (as
    /// JSON Schema's `date` format has them).
    pub fn date(&mut self, field: &str, date: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
        use chrono::Datelike;
        if (MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
            Some(date)
        } else {
            self.add(field, "date_range", format!("{field} must fall in the years {MIN_YEAR} to {MAX_YEAR}"));
            None
        }
    }

    /// A timestamp within the same years.
    pub fn timestamp(
        &mut self,
        field: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.date(field, at.date_naive()).map(|_| at)
    }

    /// An enum given as text: one of `T`'s spellings.
    pub fn choice<T: Choice>(&mut self, field: &str, value: &str) -> Option<T> {
        match T::parse(value) {
            Some(choice) => Some(choice),
            None => {
                self.add(field, "one_of", format!("{field} must be one of: {}", T::ALL.join(", ")));
                None
            }
        }
    }
}

/// An enum with a fixed set of text spellings, shared by the API, the pages, the database
/// checks and the OpenAPI document.
pub trait Choice: Sized + Copy + 'static {
    const ALL: &'static [&'static str];
    fn as_str(self) -> &'static str;
    fn parse(text: &str) -> Option<Self>;
}

/// Declares a text enum with its spellings, `Choice` and serde support.
#[macro_export]
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $crate::validation::Choice for $name {
            const ALL: &'static [&'static str] = &[$($text),+];
            fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                <Self as $crate::validation::Choice>::as_str(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                <Self as $crate::validation::Choice>::parse(text).ok_or_else(|| {
                    format!("expected one of: {}", <Self as $crate::validation::Choice>::ALL.join(", "))
                })
            }
        }
    };
}

/// The years a date may fall in: SQLite's date functions handle four-digit years only.
pub const MIN_YEAR: i32 = 1;
pub const MAX_YEAR: i32 = 9999;

#[derive(Debug, Clone, Copy)]
pub struct JsonLimits {
    pub max_depth: usize,
    pub max_bytes: usize,
}

/// Whether a JSON value holds a NUL character in any string or key.
pub fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map.iter().any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

fn json_depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<String, (&'static str, String)> {
    if value.trim().is_empty() {
        return Err(("blank", format!("{field} must not be blank")));
    }
    if value.trim() != value {
        return Err(("surrounding_space", format!("{field} must not start or end with white space")));
    }
    if value.chars().count() > max {
        return Err(("too_long", format!("{field} must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(("control_character", format!("{field} must not contain control characters")));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failing_field_is_reported_not_only_the_first() {
        let mut errors = Errors::new();
        errors.text("name", " ", 10);
        errors.range("age", 30, 0, 25);
        errors.text_list("tags", &["ok".into(), "".into(), "x".repeat(20)], 5, 10);
        let fields: Vec<_> = errors.finish(()).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "age", "tags[1]", "tags[2]"]);
    }

    #[test]
    fn json_nesting_and_size_are_bounded() {
        let limits = JsonLimits { max_depth: 2, max_bytes: 20 };
        let mut errors = Errors::new();
        assert!(errors.json("a", &serde_json::json!({"x": [1]}), limits).is_some());
        assert!(errors.json("b", &serde_json::json!({"x": [[1]]}), limits).is_none());
        assert!(errors.json("c", &serde_json::json!({"x": "a long string value"}), limits).is_none());
        let codes: Vec<_> = errors.finish(()).unwrap_err().into_iter().map(|e| e.code).collect();
        assert_eq!(codes, ["too_deep", "too_large"]);
    }

    #[test]
    fn json_with_a_nul_character_anywhere_is_refused() {
        let limits = JsonLimits { max_depth: 5, max_bytes: 1000 };
        let mut errors = Errors::new();
        assert!(errors.json("a", &serde_json::json!({"x": ["fine"]}), limits).is_some());
        assert!(errors.json("b", &serde_json::json!({"x": ["no\u{0}"]}), limits).is_none());
        assert!(errors.json("c", &serde_json::json!({"k\u{0}": 1}), limits).is_none());
        let codes: Vec<_> = errors.finish(()).unwrap_err().into_iter().map(|e| e.code).collect();
        assert_eq!(codes, ["nul_character", "nul_character"]);
    }
}
