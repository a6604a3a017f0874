//! `db seed synthetic`: a practice of any size, generated for benchmarks and trials.
//!
//! The rows are generated a page at a time and written through the store's bulk path (the one a
//! restore takes: one transaction, `COPY` on PostgreSQL and multi-row inserts on SQLite), so
//! memory stays flat and PostgreSQL takes them at tens of thousands of rows a second. Parents
//! come before what refers to them, so each page can be written as soon as it is made.

use std::collections::VecDeque;

use async_trait::async_trait;
use carenest_domain::accounts::Role;
use carenest_domain::backup::{SnapshotSource, TableSpec};
use carenest_domain::family::{ChildProfile, ExperienceLevel, GoalStatus, NewParentProfile, StressLevel};
use carenest_domain::ids::{ChildId, ParentProfileId};
use carenest_domain::scheduling::SessionStatus;
use carenest_domain::suggestions::{family_document, Embedder, HashedNgrams, NewGoalTemplate};
use carenest_domain::{Store, StoreError, StoreResult};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::progress::Progress;

/// How big a practice to generate.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub families: u64,
    pub therapists: u64,
    pub sessions: u64,
}

/// What was written.
#[derive(Debug)]
pub struct Seeded {
    pub rows: u64,
    pub children: u64,
    pub days: u64,
}

/// The hours a session may start at: a working day of 08:00–12:00 and 13:00–18:00 in hour
/// slots. A therapist is in at most one session per slot, and no session runs past its slot,
/// so no therapist is ever double-booked.
const SLOT_STARTS: [u32; 9] = [8, 9, 10, 11, 13, 14, 15, 16, 17];
const SESSION_MINUTES: [i64; 4] = [30, 45, 50, 60];
/// Families generated per round (their users, profiles, children, goals and buckets).
const FAMILIES_PER_ROUND: u64 = 500;
/// Sessions generated per round (with their therapist links).
const SESSIONS_PER_ROUND: u64 = 2_000;
/// Share of a slot's therapists that work in it: room is left for bookings and availability.
const SLOT_OCCUPANCY: f64 = 0.5;

const FIRST_NAMES: &[&str] = &[
    "Eva", "Daan", "Sanne", "Mohammed", "Lotte", "Jesse", "Fatima", "Thijs", "Emma", "Lucas", "Noor", "Sem", "Yara",
    "Milan", "Anouk", "Bram", "Aylin", "Ruben", "Iris", "Finn",
];
const LAST_NAMES: &[&str] = &[
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Yilmaz",
    "El Amrani",
    "de Boer",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
];
const CONCERNS: &[&str] =
    &["sleep", "tantrums", "screen time", "eating", "anxiety", "school", "siblings", "speech", "slaap", "driftbuien"];
const SUPPORT: &[&str] = &["partner", "grandparents", "friends", "daycare", "neighbours"];
const NEEDS: &[&str] = &["ADHD", "autism", "dyslexia", "speech delay", "sensory processing", "anxiety", "allergies"];

/// Rows for an empty database: goal templates, an admin, therapists with working hours and a
/// login each, families, and sessions over as many weekdays as the sessions need.
struct Generator {
    rng: StdRng,
    tables: Vec<TableSpec>,
    scale: Scale,
    password_hash: String,
    now: String,
    today: NaiveDate,
    pending: VecDeque<(String, Vec<Vec<Value>>)>,
    phase: Phase,
    families_done: u64,
    children: u64,
    goals: u64,
    buckets: u64,
    templates: u64,
    sessions_done: u64,
    links: u64,
    sessions_per_day: u64,
    /// Where the session generator stands: the day, the slot, and the sessions made in it.
    day: NaiveDate,
    slot: usize,
    made_in_slot: u64,
    rows: u64,
    progress: Progress,
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Practice,
    Families,
    Sessions,
    Done,
}

fn timestamp(at: chrono::DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn time_of(hours: u32, minutes: i64) -> String {
    let time = NaiveTime::from_hms_opt(hours, 0, 0).expect("a valid hour") + Duration::minutes(minutes);
    time.format("%H:%M:%S").to_string()
}

impl Generator {
    fn new(tables: Vec<TableSpec>, scale: Scale, password_hash: String, today: NaiveDate) -> Self {
        let sessions_per_slot = ((scale.therapists as f64 * SLOT_OCCUPANCY / 1.4).floor() as u64).max(1);
        let sessions_per_day = sessions_per_slot * SLOT_STARTS.len() as u64;
        let days = scale.sessions.div_ceil(sessions_per_day);
        // About a third of the sessions lie ahead, the rest in the past.
        let weeks_back = (days * 2 / 3).div_ceil(5) as i64;
        let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        let first_day = monday - Duration::weeks(weeks_back);
        Self {
            rng: StdRng::seed_from_u64(20_261_122),
            tables,
            scale,
            password_hash,
            now: timestamp(Utc::now()),
            today,
            pending: VecDeque::new(),
            phase: Phase::Practice,
            families_done: 0,
            children: 0,
            goals: 0,
            buckets: 0,
            templates: 0,
            sessions_done: 0,
            links: 0,
            sessions_per_day,
            day: first_day,
            slot: 0,
            made_in_slot: 0,
            rows: 0,
            progress: Progress::new("synthetic", scale.families + scale.sessions),
        }
    }

    fn days(&self) -> u64 {
        self.scale.sessions.div_ceil(self.sessions_per_day)
    }

    /// A row in its table's column order; a column the generator does not fill is null, and
    /// a non-null column it does not fill is a bug caught before anything is written.
    fn row(&self, table: &str, fields: Vec<(&str, Value)>) -> StoreResult<Vec<Value>> {
        let spec = self.tables.iter().find(|t| t.name == table).ok_or_else(|| unknown(table))?;
        spec.columns
            .iter()
            .map(|column| match fields.iter().find(|(name, _)| *name == column.name) {
                Some((_, value)) => Ok(value.clone()),
                None if column.nullable => Ok(Value::Null),
                None => Err(StoreError::invalid(
                    "synthetic",
                    "missing_column",
                    format!("the generator has no value for {table}.{}", column.name),
                )),
            })
            .collect()
    }

    fn push(&mut self, table: &str, rows: Vec<Vec<Value>>) {
        if !rows.is_empty() {
            self.rows += rows.len() as u64;
            self.pending.push_back((table.to_owned(), rows));
        }
    }

    fn user(&self, id: u64, username: &str, role: Role) -> StoreResult<Vec<Value>> {
        self.row(
            "users",
            vec![
                ("id", json!(id)),
                ("username", json!(username)),
                ("email", json!(format!("{username}@example.org"))),
                ("password", json!(self.password_hash)),
                ("role", json!(role.to_string())),
                ("created_at", json!(self.now)),
                ("updated_at", json!(self.now)),
                ("session_reminders", json!(true)),
            ],
        )
    }

    /// Goal templates, the admin (user 1), and the therapists (users 2..) with their hours.
    fn practice(&mut self) -> StoreResult<()> {
        let templates: Vec<NewGoalTemplate> = crate::seed::goal_template_catalogue();
        self.templates = templates.len() as u64;
        let rows = templates
            .iter()
            .enumerate()
            .map(|(index, t)| {
                self.row(
                    "goal_templates",
                    vec![
                        ("id", json!(index + 1)),
                        ("key", json!(t.key)),
                        ("title", json!(t.title)),
                        ("description", json!(t.description)),
                        ("title_nl", json!(t.title_nl)),
                        ("description_nl", json!(t.description_nl)),
                        ("category", json!(t.category)),
                        ("tags", json!(t.tags)),
                        ("min_age", json!(t.min_age)),
                        ("max_age", json!(t.max_age)),
                        ("created_at", json!(self.now)),
                        ("updated_at", json!(self.now)),
                    ],
                )
            })
            .collect::<StoreResult<_>>()?;
        self.push("goal_templates", rows);
        let mut users = vec![self.user(1, "admin", Role::Admin)?];
        let (mut therapists, mut hours) = (Vec::new(), Vec::new());
        for n in 1..=self.scale.therapists {
            users.push(self.user(1 + n, &format!("therapist.{n}"), Role::Therapist)?);
            let name = format!("{} {}", pick(&mut self.rng, FIRST_NAMES), pick(&mut self.rng, LAST_NAMES));
            therapists.push(self.row(
                "therapists",
                vec![
                    ("id", json!(n)),
                    ("name", json!(name)),
                    ("user_id", json!(1 + n)),
                    ("created_at", json!(self.now)),
                    ("updated_at", json!(self.now)),
                    ("working_hours_updated_at", json!(self.now)),
                ],
            )?);
            for weekday in 1..=5u64 {
                for (start, end) in [("08:00:00", "12:00:00"), ("13:00:00", "18:00:00")] {
                    let id = hours.len() + 1;
                    hours.push(self.row(
                        "working_hours",
                        vec![
                            ("id", json!(id)),
                            ("therapist_id", json!(n)),
                            ("weekday", json!(weekday)),
                            ("start_time", json!(start)),
                            ("end_time", json!(end)),
                            ("created_at", json!(self.now)),
                            ("updated_at", json!(self.now)),
                        ],
                    )?);
                }
            }
        }
        self.push("users", users);
        self.push("therapists", therapists);
        self.push("working_hours", hours);
        Ok(())
    }

    /// The next round of families: parents (users after the therapists), their profiles with
    /// embeddings and neighbour buckets, children and goals.
    fn families(&mut self) -> StoreResult<()> {
        let first = self.families_done + 1;
        let last = (self.families_done + FAMILIES_PER_ROUND).min(self.scale.families);
        let (mut users, mut profiles, mut children, mut goals, mut buckets) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for family in first..=last {
            let user_id = 1 + self.scale.therapists + family;
            let username = format!("parent.{family}");
            users.push(self.user(user_id, &username, Role::Parent)?);
            let rng = &mut self.rng;
            let name = format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES));
            let mut profile = NewParentProfile::new(
                &name,
                *[StressLevel::Low, StressLevel::Moderate, StressLevel::High, StressLevel::VeryHigh]
                    .choose(rng)
                    .expect("not empty"),
                *[ExperienceLevel::FirstTime, ExperienceLevel::Experienced, ExperienceLevel::MultipleChildren]
                    .choose(rng)
                    .expect("not empty"),
            );
            profile.primary_concerns = some_of(rng, CONCERNS, 1, 3);
            profile.support_network = some_of(rng, SUPPORT, 0, 2);
            profile.preferred_language = if rng.gen_bool(0.7) { "nl" } else { "en" }.to_owned();
            let completed = rng.gen_bool(0.85);
            let step = if completed { 4 } else { rng.gen_range(0..4) };

            let mut kids = Vec::new();
            for _ in 0..rng.gen_range(0..=4) {
                self.children += 1;
                let rng = &mut self.rng;
                kids.push(ChildProfile {
                    id: ChildId(self.children as i64),
                    parent_profile_id: ParentProfileId(family as i64),
                    name: pick(rng, FIRST_NAMES).to_owned(),
                    age: rng.gen_range(0..=17),
                    special_needs: some_of(rng, NEEDS, 0, 2),
                    routines: json!({}),
                    development_notes: rng.gen_bool(0.3).then(|| "Synthetic development notes.".to_owned()),
                    last_assessment: None,
                    created_at: Utc::now(),
                    updated_at: Utc::now(),
                });
            }
            let embedding = HashedNgrams.embed(&family_document(&profile, &kids));
            profiles.push(self.row(
                "parent_profiles",
                vec![
                    ("id", json!(family)),
                    ("user_id", json!(user_id)),
                    ("name", json!(profile.name)),
                    ("email", json!(format!("{username}@example.org"))),
                    ("stress_level", json!(profile.stress_level.to_string())),
                    ("experience_level", json!(profile.experience_level.to_string())),
                    ("primary_concerns", json!(profile.primary_concerns)),
                    ("support_network", json!(profile.support_network)),
                    ("preferred_language", json!(profile.preferred_language)),
                    ("completed_onboarding", json!(completed)),
                    ("current_onboarding_step", json!(step)),
                    ("onboarding_data", json!({ "source": "synthetic" })),
                    ("profile_embedding", json!(embedding.to_text(HashedNgrams.model()))),
                    ("created_at", json!(self.now)),
                    ("updated_at", json!(self.now)),
                ],
            )?);
            for (band, bucket) in embedding.buckets().into_iter().enumerate() {
                self.buckets += 1;
                buckets.push(self.row(
                    "profile_neighbour_buckets",
                    vec![
                        ("id", json!(self.buckets)),
                        ("parent_profile_id", json!(family)),
                        ("band", json!(band)),
                        ("bucket", json!(bucket)),
                        ("created_at", json!(self.now)),
                        ("updated_at", json!(self.now)),
                    ],
                )?);
            }
            for kid in &kids {
                children.push(self.row(
                    "child_profiles",
                    vec![
                        ("id", json!(kid.id.0)),
                        ("parent_profile_id", json!(family)),
                        ("name", json!(kid.name)),
                        ("age", json!(kid.age)),
                        ("special_needs", json!(kid.special_needs)),
                        ("routines", json!({})),
                        ("development_notes", json!(kid.development_notes)),
                        ("created_at", json!(self.now)),
                        ("updated_at", json!(self.now)),
                    ],
                )?);
            }
            for _ in 0..self.rng.gen_range(0..=8) {
                self.goals += 1;
                let template = self.rng.gen_range(1..=self.templates.max(1));
                let child = (!kids.is_empty() && self.rng.gen_bool(0.6)).then(|| kids[0].id.0);
                let status = *[GoalStatus::Active, GoalStatus::Active, GoalStatus::Paused, GoalStatus::Completed]
                    .choose(&mut self.rng)
                    .expect("not empty");
                let progress = if status == GoalStatus::Completed { 100 } else { self.rng.gen_range(0..100) };
                let target = self.today + Duration::days(self.rng.gen_range(14..365));
                goals.push(self.row(
                    "parenting_goals",
                    vec![
                        ("id", json!(self.goals)),
                        ("parent_profile_id", json!(family)),
                        ("child_profile_id", json!(child)),
                        ("title", json!(format!("Goal {}", self.goals))),
                        ("description", json!("A synthetic goal.")),
                        ("category", json!("routines")),
                        ("status", json!(status.to_string())),
                        ("progress", json!(progress)),
                        ("target_date", json!(target.format("%Y-%m-%d").to_string())),
                        ("template_id", json!((self.templates > 0).then_some(template))),
                        ("created_at", json!(self.now)),
                        ("updated_at", json!(self.now)),
                    ],
                )?);
            }
        }
        self.families_done = last;
        self.push("users", users);
        self.push("parent_profiles", profiles);
        self.push("profile_neighbour_buckets", buckets);
        self.push("child_profiles", children);
        self.push("parenting_goals", goals);
        Ok(())
    }

    /// The next round of sessions with their therapist links. Each slot of a weekday gets its
    /// share of sessions; each session takes one to three therapists no other session of the
    /// slot has.
    fn sessions(&mut self) -> StoreResult<()> {
        let round_end = (self.sessions_done + SESSIONS_PER_ROUND).min(self.scale.sessions);
        let per_slot = self.sessions_per_day / SLOT_STARTS.len() as u64;
        let therapists: Vec<u64> = (1..=self.scale.therapists).collect();
        let (mut sessions, mut links) = (Vec::new(), Vec::new());
        while self.sessions_done < round_end {
            if matches!(self.day.weekday(), Weekday::Sat | Weekday::Sun) {
                self.day += Duration::days(1);
                continue;
            }
            let mut free = therapists.clone();
            free.shuffle(&mut self.rng);
            let start = SLOT_STARTS[self.slot];
            while self.made_in_slot < per_slot && self.sessions_done < round_end && !free.is_empty() {
                let wanted = match self.rng.gen_range(0..10) {
                    0..=6 => 1,
                    7..=8 => 2,
                    _ => 3,
                };
                let team: Vec<u64> = free.drain(..wanted.min(free.len())).collect();
                self.sessions_done += 1;
                self.made_in_slot += 1;
                let id = self.sessions_done;
                let minutes = *SESSION_MINUTES.choose(&mut self.rng).expect("not empty");
                let past = self.day < self.today;
                let roll = self.rng.gen_range(0..100);
                let status = match (past, roll) {
                    (_, 0..=6) => SessionStatus::Cancelled,
                    (true, 7..=9) => SessionStatus::NoShow,
                    (true, _) => SessionStatus::Completed,
                    (false, _) => SessionStatus::Scheduled,
                };
                let child =
                    (self.children > 0 && self.rng.gen_bool(0.75)).then(|| self.rng.gen_range(1..=self.children));
                let notes = (child.is_some() && self.rng.gen_bool(0.5)).then_some("Synthetic session notes.");
                let date = self.day.format("%Y-%m-%d").to_string();
                sessions.push(self.row(
                    "sessions",
                    vec![
                        ("id", json!(id)),
                        ("date", json!(date)),
                        ("start_time", json!(time_of(start, 0))),
                        ("end_time", json!(time_of(start, minutes))),
                        ("notes", json!(notes)),
                        ("status", json!(status.to_string())),
                        ("child_profile_id", json!(child)),
                        ("created_at", json!(self.now)),
                        ("updated_at", json!(self.now)),
                        ("version", json!(0)),
                    ],
                )?);
                for therapist in team {
                    self.links += 1;
                    links.push(self.row(
                        "session_therapists",
                        vec![
                            ("id", json!(self.links)),
                            ("session_id", json!(id)),
                            ("therapist_id", json!(therapist)),
                            ("date", json!(date)),
                            ("created_at", json!(self.now)),
                            ("updated_at", json!(self.now)),
                        ],
                    )?);
                }
            }
            if self.made_in_slot >= per_slot || free.is_empty() {
                self.made_in_slot = 0;
                self.slot += 1;
                if self.slot == SLOT_STARTS.len() {
                    self.slot = 0;
                    self.day += Duration::days(1);
                }
            }
        }
        self.push("sessions", sessions);
        self.push("session_therapists", links);
        Ok(())
    }

    fn seeders(&mut self) -> StoreResult<()> {
        let rows = ["goal-templates", "synthetic"]
            .iter()
            .enumerate()
            .map(|(index, name)| {
                self.row(
                    "seeders",
                    vec![
                        ("id", json!(index + 1)),
                        ("name", json!(name)),
                        ("created_at", json!(self.now)),
                        ("updated_at", json!(self.now)),
                    ],
                )
            })
            .collect::<StoreResult<_>>()?;
        self.push("seeders", rows);
        Ok(())
    }
}

/// A page of rows for one table.
type Page = (String, Vec<Vec<Value>>);

impl Generator {
    fn next_page(&mut self) -> StoreResult<Option<Page>> {
        while self.pending.is_empty() && self.phase != Phase::Done {
            match self.phase {
                Phase::Practice => {
                    self.practice()?;
                    self.phase = Phase::Families;
                }
                Phase::Families if self.families_done < self.scale.families => self.families()?,
                Phase::Families => self.phase = Phase::Sessions,
                Phase::Sessions if self.sessions_done < self.scale.sessions => self.sessions()?,
                Phase::Sessions => {
                    self.seeders()?;
                    self.phase = Phase::Done;
                }
                Phase::Done => {}
            }
        }
        let next = self.pending.pop_front();
        if let Some((table, _)) = &next {
            self.progress.at(self.families_done + self.sessions_done, &format!("{} rows; {table}", self.rows));
        }
        Ok(next)
    }
}

/// The generator's pages as they come from its own thread: generating and writing overlap,
/// and the bounded channel keeps memory flat.
struct Pages(tokio::sync::mpsc::Receiver<StoreResult<Page>>);

#[async_trait]
impl SnapshotSource for Pages {
    async fn next_rows(&mut self) -> StoreResult<Option<Page>> {
        self.0.recv().await.transpose()
    }
}

fn unknown(table: &str) -> StoreError {
    StoreError::invalid("synthetic", "unknown_table", format!("the schema has no table {table}"))
}

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from.choose(rng).expect("the word lists are not empty")
}

fn some_of(rng: &mut StdRng, from: &[&str], least: usize, most: usize) -> Vec<String> {
    let count = rng.gen_range(least..=most);
    from.choose_multiple(rng, count).map(|s| (*s).to_owned()).collect()
}

/// The most of anything generated: ids stay far inside 64 bits, and a run ends in hours, not years.
const MAX_GENERATED: u64 = 100_000_000;

/// The tables the generator fills, in the order they are written.
const FILLED: &[&str] = &[
    "goal_templates",
    "users",
    "therapists",
    "working_hours",
    "parent_profiles",
    "profile_neighbour_buckets",
    "child_profiles",
    "parenting_goals",
    "sessions",
    "session_therapists",
    "seeders",
];

/// Fills an empty, migrated database with a generated practice in one transaction; every
/// generated user (`admin`, `therapist.N`, `parent.N`) logs in with the password whose hash
/// is given. Refuses a database that holds any row.
pub async fn seed(store: &dyn Store, scale: Scale, password_hash: String) -> StoreResult<Seeded> {
    if scale.sessions > 0 && scale.therapists == 0 {
        return Err(StoreError::invalid("therapists", "required", "sessions need at least one therapist"));
    }
    if [scale.families, scale.therapists, scale.sessions].iter().any(|n| *n > MAX_GENERATED) {
        return Err(StoreError::invalid(
            "scale",
            "too_large",
            format!("at most {MAX_GENERATED} families, therapists or sessions are generated"),
        ));
    }
    if !store.is_empty().await? {
        return Err(StoreError::conflict(
            "database_not_empty",
            "synthetic data goes into an empty database (`carenest db reset` makes one)",
        ));
    }
    let tables: Vec<TableSpec> =
        store.backup_tables().into_iter().filter(|t| FILLED.contains(&t.name.as_str())).collect();
    if tables.len() != FILLED.len() {
        let missing = FILLED.iter().find(|name| !tables.iter().any(|t| t.name == **name)).copied().unwrap_or("?");
        return Err(unknown(missing));
    }
    let mut generator = Generator::new(tables.clone(), scale, password_hash, Utc::now().date_naive());
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let generating = tokio::task::spawn_blocking(move || {
        loop {
            let page = generator.next_page().transpose();
            let last = !matches!(page, Some(Ok(_)));
            // A closed channel means the load failed; its error is the one reported.
            if page.is_none_or(|page| sender.blocking_send(page).is_err()) || last {
                break;
            }
        }
        generator.progress.finish();
        (generator.children, generator.days())
    });
    let rows = store.import_snapshot(&tables, &mut Pages(receiver)).await;
    let (children, days) =
        generating.await.map_err(|e| StoreError::invalid("synthetic", "generator", e.to_string()))?;
    Ok(Seeded { rows: rows?, children, days })
}
