//! The pages' languages: Dutch (the default) and English, in Fluent files compiled into the
//! binary. Which one a request gets: the signed-in parent's `preferredLanguage`, else the
//! `lang` cookie, else the browser's `Accept-Language`, else Dutch.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "nl",
        // Isolation marks around arguments would reach the page as invisible characters.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static DUTCH: LazyLock<LanguageIdentifier> = LazyLock::new(|| "nl".parse().expect("nl is a language tag"));
static ENGLISH: LazyLock<LanguageIdentifier> = LazyLock::new(|| "en".parse().expect("en is a language tag"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Nl,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Nl, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    /// A language tag as a profile or a cookie holds it (`nl`, `en-GB`), if it is one of ours.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first of our languages an `Accept-Language` header asks for, by its weights.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut asked: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::from_tag(pieces.next()?.trim())?;
                let weight = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (weight > 0.0).then_some((weight, lang))
            })
            .collect();
        asked.sort_by(|a, b| b.0.total_cmp(&a.0));
        asked.first().map(|(_, lang)| *lang)
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Lang::Nl => &DUTCH,
            Lang::En => &ENGLISH,
        }
    }

    /// The text of `key`. A missing key shows itself rather than failing the page (a test
    /// holds both files to the same keys).
    pub fn text(self, key: &str) -> String {
        LOCALES.try_lookup(self.id(), key).unwrap_or_else(|| key.to_owned())
    }

    /// The text of `key` with its arguments.
    pub fn text_with(self, key: &str, args: &[(&'static str, String)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> =
            args.iter().map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.clone()))).collect();
        LOCALES.try_lookup_with_args(self.id(), key, &args).unwrap_or_else(|| key.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(file: &str) -> Vec<String> {
        let mut keys: Vec<String> = file
            .lines()
            .filter_map(|line| line.split_once(" = ").map(|(key, _)| key.trim().to_owned()))
            .filter(|key| !key.is_empty() && !key.starts_with(['#', ' ']))
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn every_key_exists_in_both_languages() {
        let dutch = keys(include_str!("../../locales/nl/main.ftl"));
        let english = keys(include_str!("../../locales/en/main.ftl"));
        assert!(!dutch.is_empty());
        assert_eq!(dutch, english);
        // Each key renders, given the arguments its Dutch text names.
        let source = include_str!("../../locales/nl/main.ftl");
        for key in &dutch {
            let line = source.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap();
            let args: Vec<(&'static str, String)> =
                ["name", "age", "title", "minutes", "date", "time", "count", "first", "step", "steps"]
                    .into_iter()
                    .filter(|name| line.contains(&format!("${name}")))
                    .map(|name| (name, "x".to_owned()))
                    .collect();
            for lang in Lang::ALL {
                assert_ne!(lang.text_with(key, &args), *key, "{key} has no {} text", lang.code());
            }
        }
    }

    #[test]
    fn the_browser_language_is_read_by_weight_and_others_are_ignored() {
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9,nl;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de-DE,nl;q=0.5,en;q=0.7"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language("en;q=0, nl;q=0.1"), Some(Lang::Nl));
    }

    #[test]
    fn arguments_fill_in_without_invisible_marks() {
        let text = Lang::En.text_with("home-welcome", &[("name", "Anna".to_owned())]);
        assert_eq!(text, "Welcome, Anna");
    }
}
