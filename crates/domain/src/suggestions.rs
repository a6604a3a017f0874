//! Goal suggestions: an embedder that turns a family into a vector, locality-sensitive buckets
//! to find similar families without comparing with all of them, and the ranking of goal
//! templates. Everything here is pure; the stores persist embeddings and buckets, the server
//! gathers the inputs.

use std::collections::BTreeMap;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::family::{ChildProfile, NewParentProfile, ParentingGoal};
use crate::ids::{ParentProfileId, TemplateId};
use crate::StoreResult;

// ---- embedding --------------------------------------------------------------------------------

/// What an embedder reads: weighted free text (any language) and weighted categorical tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub texts: Vec<(f32, String)>,
    pub tokens: Vec<(f32, String)>,
}

/// A unit-length vector of `DIMENSIONS` components, quantised to one signed byte each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedding(Vec<i8>);

/// Turns documents into embeddings. The built-in [`HashedNgrams`] needs no network and no
/// model; another implementation (a sentence model, say) only has to fill the same vector.
pub trait Embedder: Send + Sync {
    /// Names the model in the stored text, so vectors of different models are never compared.
    fn model(&self) -> &'static str;
    fn embed(&self, document: &Document) -> Embedding;
}

pub const DIMENSIONS: usize = 256;

impl Embedding {
    /// Quantises a vector to unit length in signed bytes; a zero vector stays zero.
    pub fn from_floats(values: &[f32]) -> Self {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm == 0.0 {
            return Self(vec![0; values.len()]);
        }
        Self(values.iter().map(|v| (v / norm * 127.0).round().clamp(-127.0, 127.0) as i8).collect())
    }

    /// Cosine similarity, in -1..=1 (0 when either is zero).
    pub fn cosine(&self, other: &Embedding) -> f32 {
        let (mut dot, mut a, mut b) = (0i64, 0i64, 0i64);
        for (x, y) in self.0.iter().zip(&other.0) {
            let (x, y) = (i64::from(*x), i64::from(*y));
            dot += x * y;
            a += x * x;
            b += y * y;
        }
        if a == 0 || b == 0 {
            return 0.0;
        }
        (dot as f64 / ((a as f64).sqrt() * (b as f64).sqrt())) as f32
    }

    /// The stored text: `<model>:<dimensions>:<base64url of the signed bytes>`, for example
    /// `ngram-v1:256:AAH_...`.
    pub fn to_text(&self, model: &str) -> String {
        let bytes: Vec<u8> = self.0.iter().map(|v| *v as u8).collect();
        format!("{model}:{}:{}", self.0.len(), URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads the stored text back; `None` for another model or anything malformed.
    pub fn from_text(text: &str, model: &str) -> Option<Self> {
        let mut parts = text.splitn(3, ':');
        let (stored_model, dimensions, data) = (parts.next()?, parts.next()?, parts.next()?);
        if stored_model != model {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(data).ok()?;
        (dimensions.parse::<usize>().ok()? == bytes.len()).then(|| Self(bytes.into_iter().map(|b| b as i8).collect()))
    }

    /// Locality-sensitive buckets: for each of `BANDS` bands, the signs of the vector's
    /// projections on `BITS` fixed pseudo-random hyperplanes. Similar vectors share buckets.
    pub fn buckets(&self) -> Vec<i32> {
        (0..BANDS)
            .map(|band| {
                (0..BITS).fold(0i32, |bucket, bit| {
                    let projection: i64 = self
                        .0
                        .iter()
                        .enumerate()
                        .map(|(dimension, value)| {
                            let sign =
                                if hash(&[band as u8, bit as u8, (dimension >> 8) as u8, dimension as u8]) & 1 == 0 {
                                    1
                                } else {
                                    -1
                                };
                            i64::from(*value) * sign
                        })
                        .sum();
                    (bucket << 1) | i32::from(projection >= 0)
                })
            })
            .collect()
    }
}

/// Bands and bits of the locality-sensitive buckets. More bits make buckets smaller (fewer
/// candidates to compare); more bands make a near neighbour likelier to share one.
pub const BANDS: usize = 12;
pub const BITS: usize = 8;

/// FNV-1a, 64 bits, stable across processes and versions (unlike the standard hasher), then
/// the MurmurHash3 finaliser: FNV's low bits are weak (its lowest bit is merely the parity of
/// the input), and both the slots and the hyperplanes read low bits.
fn hash(bytes: &[u8]) -> u64 {
    let mut h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hashed word unigrams and bigrams and character trigrams of every word (so `slaap`,
/// `slapen` and `sleep` each find their own kind across Dutch and English text), plus the
/// categorical tokens, each added with its weight to a signed slot of a 256-wide vector.
#[derive(Debug, Clone, Copy, Default)]
pub struct HashedNgrams;

const WORD_WEIGHT: f32 = 1.0;
const BIGRAM_WEIGHT: f32 = 0.5;
/// A word's trigrams together weigh as much as the word (each `1/sqrt(n)`), so compounds
/// such as `slaapproblemen` still meet `slaap`.
const TRIGRAMS_WEIGHT: f32 = 1.0;

impl HashedNgrams {
    fn add(vector: &mut [f32], feature: &str, weight: f32) {
        let h = hash(feature.as_bytes());
        let slot = (h % DIMENSIONS as u64) as usize;
        vector[slot] += if h >> 63 == 0 { weight } else { -weight };
    }
}

impl Embedder for HashedNgrams {
    fn model(&self) -> &'static str {
        "ngram-v1"
    }

    fn embed(&self, document: &Document) -> Embedding {
        let mut vector = vec![0f32; DIMENSIONS];
        for (weight, text) in &document.texts {
            let words = words(text);
            for word in &words {
                Self::add(&mut vector, &format!("w:{word}"), weight * WORD_WEIGHT);
                let padded: Vec<char> = format!("^{word}$").chars().collect();
                let trigrams = (padded.len().saturating_sub(2).max(1) as f32).sqrt();
                for window in padded.windows(3) {
                    let trigram: String = window.iter().collect();
                    Self::add(&mut vector, &format!("c:{trigram}"), weight * TRIGRAMS_WEIGHT / trigrams);
                }
            }
            for pair in words.windows(2) {
                Self::add(&mut vector, &format!("b:{} {}", pair[0], pair[1]), weight * BIGRAM_WEIGHT);
            }
        }
        for (weight, token) in &document.tokens {
            Self::add(&mut vector, &format!("t:{token}"), *weight);
        }
        Embedding::from_floats(&vector)
    }
}

/// Lower-case words with common accents folded, so `één` and `een` are one word.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(char::to_lowercase).map(fold_accent).collect())
        .collect()
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' => 'a',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        other => other,
    }
}

/// Age bands shared by children and templates.
pub const AGE_BANDS: &[(i32, i32)] = &[(0, 1), (2, 3), (4, 5), (6, 8), (9, 12), (13, 17), (18, 25)];

fn age_band_token(age: i32) -> Option<String> {
    AGE_BANDS.iter().find(|(lo, hi)| (*lo..=*hi).contains(&age)).map(|(lo, hi)| format!("age:{lo}-{hi}"))
}

/// A family as the embedder reads it: concerns and children's needs weigh most, then ages,
/// then the free text.
pub fn family_document(profile: &NewParentProfile, children: &[ChildProfile]) -> Document {
    let mut document = Document::default();
    for concern in &profile.primary_concerns {
        document.texts.push((3.0, concern.clone()));
    }
    for support in &profile.support_network {
        document.texts.push((0.5, support.clone()));
    }
    if let Some(bio) = &profile.bio {
        document.texts.push((1.0, bio.clone()));
    }
    document.tokens.push((1.0, format!("stress:{}", profile.stress_level)));
    document.tokens.push((0.5, format!("experience:{}", profile.experience_level)));
    for child in children {
        for need in &child.special_needs {
            document.texts.push((3.0, need.clone()));
        }
        if let Some(notes) = &child.development_notes {
            document.texts.push((1.0, notes.clone()));
        }
        if let Some(band) = age_band_token(child.age) {
            document.tokens.push((2.0, band));
        }
    }
    document
}

// ---- templates --------------------------------------------------------------------------------

/// A goal template of the catalogue, in both languages, as the catalogue file spells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewGoalTemplate {
    /// A stable slug: how the seeder finds its own rows again.
    pub key: String,
    pub category: String,
    pub title: String,
    pub description: String,
    pub title_nl: String,
    pub description_nl: String,
    /// Words in either language, and tokens such as `stress:high`, matched against families.
    pub tags: Vec<String>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GoalTemplate {
    pub id: TemplateId,
    pub template: NewGoalTemplate,
}

/// A template as the embedder reads it: what it is about, not for which ages (age fit is a
/// ranking factor of its own, and counting it here too would favour any age-appropriate goal).
fn template_document(template: &NewGoalTemplate) -> Document {
    let mut document = Document::default();
    for title in [&template.title, &template.title_nl] {
        document.texts.push((1.5, title.clone()));
    }
    for description in [&template.description, &template.description_nl] {
        document.texts.push((0.4, description.clone()));
    }
    for tag in &template.tags {
        if tag.contains(':') {
            document.tokens.push((1.0, tag.clone()));
        } else {
            document.texts.push((3.0, tag.clone()));
        }
    }
    document.tokens.push((1.0, format!("category:{}", template.category)));
    document
}

// ---- ranking ----------------------------------------------------------------------------------

/// Families compared with this one for adoption, at most.
pub const NEIGHBOURS: usize = 25;
/// Candidate families read from the buckets, at most: plenty to find the nearest among, and
/// few enough that PostgreSQL fetches their embeddings by key rather than by scanning.
pub const CANDIDATES: i64 = 200;
/// A neighbour must be at least this similar to count.
pub const MIN_SIMILARITY: f32 = 0.3;
/// Adoption by fewer families than this is neither shown nor used: it could point at one.
pub const MIN_ADOPTION: i64 = 3;
/// Suggestions in an answer, at most.
pub const SUGGESTIONS: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub template_id: TemplateId,
    pub title: String,
    pub description: String,
    pub category: String,
    /// 0 to 1; higher fits better.
    pub score: f64,
    /// Why it is suggested, in the parent's language.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestions {
    pub generated_at: DateTime<Utc>,
    pub items: Vec<Suggestion>,
}

/// Everything the ranking reads about one family and its neighbourhood.
pub struct RankingInput<'a> {
    pub profile: &'a NewParentProfile,
    pub family: &'a Embedding,
    pub children: &'a [ChildProfile],
    pub goals: &'a [ParentingGoal],
    pub templates: &'a [GoalTemplate],
    /// How many of the nearest families adopted each template.
    pub adoption: &'a BTreeMap<TemplateId, i64>,
    /// How many nearest families there were.
    pub neighbours: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Language {
    English,
    Dutch,
}

impl Language {
    fn of(tag: &str) -> Self {
        if tag.split('-').next().is_some_and(|primary| primary.eq_ignore_ascii_case("nl")) {
            Self::Dutch
        } else {
            Self::English
        }
    }

    fn say(self, english: String, dutch: String) -> String {
        match self {
            Self::English => english,
            Self::Dutch => dutch,
        }
    }
}

/// Whether a family's phrase (a concern, a need) speaks of what a tag names: a shared word, or
/// words that share their first five letters (`slaap`/`slaapt`, `communicate`/`communication`).
fn phrase_matches_tag(phrase: &str, tag: &str) -> bool {
    let tag_words = words(tag);
    words(phrase).iter().any(|word| {
        tag_words.iter().any(|t| {
            word == t
                || (word.chars().count() >= 5 && t.chars().count() >= 5 && word.chars().take(5).eq(t.chars().take(5)))
        })
    })
}

/// Words, in both languages, that say a concern is about a whole category of goals.
const CATEGORY_WORDS: &[(&str, &[&str])] = &[
    ("sleep", &["sleep", "sleeping", "slaap", "slapen", "bedtime", "bedtijd"]),
    ("routines", &["routine", "routines", "structure", "structuur", "dagritme"]),
    ("behaviour", &["behaviour", "behavior", "gedrag", "tantrums", "driftbuien"]),
    ("communication", &["communication", "communicatie", "speech", "spraak", "language", "taal", "talking", "praten"]),
    ("sensory", &["sensory", "zintuiglijk", "prikkels", "overprikkeling"]),
    ("school", &["school", "learning", "leren", "homework", "huiswerk"]),
    ("play", &["play", "spelen", "social", "sociaal", "friends", "vrienden"]),
    ("self-care", &["independence", "zelfstandigheid", "zelfredzaamheid"]),
    ("wellbeing", &["wellbeing", "welzijn", "burnout", "overbelasting"]),
];

fn phrase_names_category(phrase: &str, category: &str) -> bool {
    CATEGORY_WORDS
        .iter()
        .filter(|(name, _)| *name == category)
        .flat_map(|(_, words)| words.iter())
        .any(|word| phrase_matches_tag(phrase, word))
}

/// Ranks the catalogue for one family: template fit to the family's embedding, age fit of the
/// children, and adoption by the nearest families; templates the family already has, and
/// templates for ages none of its children have, are left out.
pub fn rank(embedder: &dyn Embedder, input: &RankingInput<'_>, generated_at: DateTime<Utc>) -> Suggestions {
    let language = Language::of(&input.profile.preferred_language);
    let taken: Vec<String> = input.goals.iter().map(|g| g.title.to_lowercase()).collect();
    let taken_ids: Vec<TemplateId> = input.goals.iter().filter_map(|g| g.template_id).collect();
    let ages: Vec<i32> = input.children.iter().map(|c| c.age).collect();

    let mut scored = Vec::new();
    for template in input.templates {
        let t = &template.template;
        if taken_ids.contains(&template.id)
            || taken.contains(&t.title.to_lowercase())
            || taken.contains(&t.title_nl.to_lowercase())
        {
            continue;
        }
        let ranged = t.min_age.is_some() || t.max_age.is_some();
        let fitting_age =
            ages.iter().copied().find(|age| t.min_age.unwrap_or(0) <= *age && *age <= t.max_age.unwrap_or(25));
        if ranged && !ages.is_empty() && fitting_age.is_none() {
            continue;
        }
        let fit = embedder.embed(&template_document(t)).cosine(input.family).max(0.0);
        let age_fit = match (ranged, fitting_age) {
            (true, Some(_)) => 1.0,
            (false, _) => 0.5,
            (true, None) => 0.0,
        };
        let adopted = input.adoption.get(&template.id).copied().filter(|n| *n >= MIN_ADOPTION);
        let adoption = adopted.map_or(0.0, |n| n as f32 / input.neighbours.max(1) as f32);

        let mut reasons = Vec::new();
        let mut matched = 0usize;
        for concern in &input.profile.primary_concerns {
            if t.tags.iter().any(|tag| phrase_matches_tag(concern, tag)) {
                matched += 1;
                reasons.push(
                    language.say(format!("matches your concern: {concern}"), format!("past bij je zorg: {concern}")),
                );
            }
        }
        for need in input.children.iter().flat_map(|c| &c.special_needs) {
            if t.tags.iter().any(|tag| phrase_matches_tag(need, tag)) {
                let reason = language.say(
                    format!("matches your child's need: {need}"),
                    format!("past bij wat je kind nodig heeft: {need}"),
                );
                if !reasons.contains(&reason) {
                    matched += 1;
                    reasons.push(reason);
                }
            }
        }
        let phrases = input.profile.primary_concerns.iter().chain(input.children.iter().flat_map(|c| &c.special_needs));
        if phrases.clone().any(|phrase| phrase_names_category(phrase, &t.category)) {
            matched += 1;
        }
        // Two matches count fully: a goal rarely answers more at once.
        let matches = (matched as f32 / 2.0).min(1.0);
        if let (true, Some(age)) = (ranged, fitting_age) {
            let range = format!("{}–{}", t.min_age.unwrap_or(0), t.max_age.unwrap_or(25));
            reasons.push(language.say(
                format!("made for children aged {range}, like your {age}-year-old"),
                format!("bedoeld voor kinderen van {range} jaar, zoals je kind van {age}"),
            ));
        }
        if let Some(count) = adopted {
            reasons.push(language.say(
                format!("chosen by {count} families like yours"),
                format!("gekozen door {count} gezinnen zoals het jouwe"),
            ));
        }
        scored.push((template, fit, matches, age_fit, adoption, reasons));
    }
    // Fit is relative to the best-fitting template, so the weights mean the same for every
    // family however strong its text is.
    let best_fit = scored.iter().map(|(_, fit, ..)| *fit).fold(0.0f32, f32::max).max(f32::EPSILON);
    let mut items: Vec<Suggestion> = scored
        .into_iter()
        .map(|(template, fit, matches, age_fit, adoption, mut reasons)| {
            let t = &template.template;
            if reasons.is_empty() {
                reasons.push(language.say("fits your profile".to_owned(), "past bij je profiel".to_owned()));
            }
            let score = 0.4 * fit / best_fit + 0.3 * matches + 0.15 * age_fit + 0.15 * adoption;
            Suggestion {
                template_id: template.id,
                title: language.say(t.title.clone(), t.title_nl.clone()),
                description: language.say(t.description.clone(), t.description_nl.clone()),
                category: t.category.clone(),
                score: (f64::from(score) * 1000.0).round() / 1000.0,
                reasons,
            }
        })
        .collect();
    items.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.template_id.cmp(&b.template_id)));
    items.truncate(SUGGESTIONS);
    Suggestions { generated_at, items }
}

/// The nearest families among the candidates: most similar first, above `MIN_SIMILARITY`.
pub fn nearest(family: &Embedding, model: &str, candidates: &[(ParentProfileId, String)]) -> Vec<ParentProfileId> {
    let mut similar: Vec<(f32, ParentProfileId)> = candidates
        .iter()
        .filter_map(|(id, text)| Some((Embedding::from_text(text, model)?.cosine(family), *id)))
        .filter(|(similarity, _)| *similarity >= MIN_SIMILARITY)
        .collect();
    similar.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    similar.into_iter().take(NEIGHBOURS).map(|(_, id)| id).collect()
}

/// The store side of suggestions.
#[async_trait]
pub trait SuggestionStore {
    /// The embedder the store keeps embeddings with; rankings must use the same one.
    fn embedder(&self) -> &dyn Embedder;
    /// The catalogue, by id.
    async fn goal_templates(&self) -> StoreResult<Vec<GoalTemplate>>;
    /// Inserts templates, or updates those whose key exists; returns how many were new.
    async fn upsert_goal_templates(&self, templates: &[NewGoalTemplate]) -> StoreResult<usize>;
    /// Removes templates by key (goals made from them keep their text, unlinked).
    async fn delete_goal_templates(&self, keys: &[String]) -> StoreResult<()>;
    /// Other families sharing at least one bucket with `buckets`, with their stored embeddings,
    /// most shared buckets first.
    async fn neighbour_candidates(
        &self,
        profile: ParentProfileId,
        buckets: &[i32],
    ) -> StoreResult<Vec<(ParentProfileId, String)>>;
    /// For each template, how many of these families have a goal made from it (by link, or by
    /// its title in either language).
    async fn template_adoption(&self, families: &[ParentProfileId]) -> StoreResult<BTreeMap<TemplateId, i64>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embed(texts: &[(f32, &str)], tokens: &[(f32, &str)]) -> Embedding {
        HashedNgrams.embed(&Document {
            texts: texts.iter().map(|(w, t)| (*w, t.to_string())).collect(),
            tokens: tokens.iter().map(|(w, t)| (*w, t.to_string())).collect(),
        })
    }

    #[test]
    fn embeddings_are_unit_length_and_round_trip_through_their_text() {
        let e = embed(&[(1.0, "Slaapproblemen en driftbuien")], &[(1.0, "age:2-3")]);
        let norm: f32 = e.0.iter().map(|v| f32::from(*v) / 127.0).map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 0.02, "{norm}");
        let text = e.to_text("ngram-v1");
        assert!(text.starts_with("ngram-v1:256:"));
        assert_eq!(Embedding::from_text(&text, "ngram-v1"), Some(e.clone()));
        assert_eq!(Embedding::from_text(&text, "other-model"), None);
        assert_eq!(Embedding::from_text("ngram-v1:256:@@", "ngram-v1"), None);
        assert!((e.cosine(&e) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn similar_text_is_closer_than_unrelated_text_in_dutch_and_english() {
        let sleep_nl = embed(&[(3.0, "slaapproblemen")], &[]);
        let sleep_nl_2 = embed(&[(3.0, "slaapt slecht, slaap")], &[]);
        let speech = embed(&[(3.0, "spraakachterstand")], &[]);
        assert!(sleep_nl.cosine(&sleep_nl_2) > sleep_nl.cosine(&speech));
        let sleep_en = embed(&[(3.0, "sleep problems")], &[]);
        let sleep_en_2 = embed(&[(3.0, "trouble sleeping")], &[]);
        let tantrums = embed(&[(3.0, "tantrums")], &[]);
        assert!(sleep_en.cosine(&sleep_en_2) > sleep_en.cosine(&tantrums));
    }

    #[test]
    fn every_bucket_bit_is_its_own_hyperplane() {
        // Random directions must spread over the buckets of a band, not fall into a few.
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..400 {
            seen.insert(embed(&[(1.0, &format!("family {n} word{}", n * 7919))], &[]).buckets()[0]);
        }
        assert!(seen.len() > 120, "400 unrelated vectors fell into only {} of {} buckets", seen.len(), 1 << BITS);
    }

    #[test]
    fn similar_families_share_buckets_more_often_than_different_ones() {
        let a = embed(&[(3.0, "sleep bedtime night waking")], &[(2.0, "age:2-3")]);
        let b = embed(&[(3.0, "sleep bedtime night waking often")], &[(2.0, "age:2-3")]);
        let c = embed(&[(3.0, "homework school reading")], &[(2.0, "age:9-12")]);
        let shared =
            |x: &Embedding, y: &Embedding| x.buckets().iter().zip(y.buckets()).filter(|(p, q)| **p == *q).count();
        assert_eq!(a.buckets().len(), BANDS);
        assert!(a.buckets().iter().all(|b| (0..1 << BITS).contains(b)));
        assert!(shared(&a, &b) > shared(&a, &c), "{} vs {}", shared(&a, &b), shared(&a, &c));
    }

    #[test]
    fn words_fold_case_and_accents() {
        assert_eq!(words("Één Kind, twee-ÉÉN!"), ["een", "kind", "twee", "een"]);
        assert!(phrase_matches_tag("communicatie", "communication"));
        assert!(phrase_matches_tag("Slaap", "slaap"));
        assert!(!phrase_matches_tag("school", "sleep"));
    }
}
