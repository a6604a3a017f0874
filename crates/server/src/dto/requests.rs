//! Request bodies. Every field is a [`Field`]: a value of the wrong JSON type is kept as an
//! error instead of failing the whole body, so that a 422 lists it together with every rule
//! the other fields break (as Zod's `safeParse` reports all issues).

use carenest_domain::time::{IsoDate, Rfc3339};
use carenest_domain::validation::FieldError;
use carenest_domain::{accounts, availability, family, scheduling};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::ToSchema;

use super::enums;
use crate::error::ApiError;

/// One field of a request body as sent.
#[derive(Debug, Default)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Value(T),
    /// A value of the wrong JSON type: where inside it (`[2]`, `count`, or empty) and why.
    Wrong {
        path: String,
        message: String,
    },
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        if value.is_null() {
            return Ok(Self::Null);
        }
        integral_floats_as_integers(&mut value);
        Ok(match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(value) => Self::Value(value),
            Err(error) => {
                let path = error.path().to_string();
                let message = error.into_inner().to_string();
                Self::Wrong { path: if path == "." { String::new() } else { path }, message }
            }
        })
    }
}

/// JSON has one number type: `35.0` is the integer 35, as JSON Schema counts it, though serde
/// would refuse it for an integer field.
fn integral_floats_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64()) {
                // Every whole f64 in i64's range converts exactly; 2^63 and beyond stay floats.
                const TWO_TO_THE_63: f64 = 9_223_372_036_854_775_808.0;
                if float.fract() == 0.0 && (-TWO_TO_THE_63..TWO_TO_THE_63).contains(&float) {
                    *value = Value::from(float as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// Reads fields, collecting the type errors.
#[derive(Default)]
struct Reader(Vec<FieldError>);

impl Reader {
    fn wrong<T>(&mut self, name: &str, path: String, message: String) -> Option<T> {
        let field = match path.chars().next() {
            None => name.to_owned(),
            Some('[') => format!("{name}{path}"),
            Some(_) => format!("{name}.{path}"),
        };
        self.0.push(FieldError::new(field.clone(), "type", format!("{field}: {message}")));
        None
    }

    /// A field that `null` leaves as it is, like an absent one.
    fn value<T>(&mut self, name: &str, field: Field<T>) -> Option<T> {
        match field {
            Field::Absent | Field::Null => None,
            Field::Value(value) => Some(value),
            Field::Wrong { path, message } => self.wrong(name, path, message),
        }
    }

    /// A field that `null` clears (`Some(None)`); absent leaves it as it is (`None`).
    fn nullable<T>(&mut self, name: &str, field: Field<T>) -> Option<Option<T>> {
        match field {
            Field::Absent => None,
            Field::Null => Some(None),
            Field::Value(value) => Some(Some(value)),
            Field::Wrong { path, message } => self.wrong(name, path, message).map(Some),
        }
    }
}

/// A request body that reads into a domain input.
pub trait Body {
    type Input;
    /// The domain input, and the fields whose JSON type was wrong.
    fn read(self) -> (Self::Input, Vec<FieldError>);
}

/// Reads a body. When a field had the wrong JSON type, the answer is a 422 listing it with every
/// rule the other fields break, as `validate` finds them; otherwise the input goes on to be
/// validated where it is used.
pub fn read<B: Body>(body: B, validate: impl FnOnce(&B::Input) -> Vec<FieldError>) -> Result<B::Input, ApiError> {
    let (input, mut errors) = body.read();
    if errors.is_empty() {
        return Ok(input);
    }
    let others: Vec<_> = validate(&input).into_iter().filter(|e| !errors.iter().any(|t| t.field == e.field)).collect();
    errors.extend(others);
    Err(ApiError::Validation(errors))
}

/// The errors of a validation, none when it passes.
pub fn failures<T>(validation: Result<T, Vec<FieldError>>) -> Vec<FieldError> {
    validation.err().unwrap_or_default()
}

/// `POST /auth/register`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Registration {
    /// 3–32 letters, digits, `_`, `.` or `-`; unique regardless of case.
    #[schema(value_type = String, required = true, min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]+$")]
    #[serde(default)]
    pub username: Field<String>,
    #[schema(value_type = String, required = true, max_length = 254)]
    #[serde(default)]
    pub email: Field<String>,
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password: Field<String>,
    #[schema(value_type = Option<String>, max_length = 2048)]
    #[serde(default)]
    pub profile_picture: Field<String>,
}

impl Body for Registration {
    type Input = accounts::Registration;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = accounts::Registration {
            username: r.value("username", self.username),
            email: r.value("email", self.email),
            password: r.value("password", self.password),
            profile_picture: r.value("profilePicture", self.profile_picture),
        };
        (input, r.0)
    }
}

/// `PATCH /me`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountChanges {
    #[schema(value_type = Option<String>, max_length = 254)]
    #[serde(default)]
    pub email: Field<String>,
    /// `null` removes the picture.
    #[schema(value_type = Option<String>, max_length = 2048)]
    #[serde(default)]
    pub profile_picture: Field<String>,
    /// A new password; needs `currentPassword`. Every other token is revoked.
    #[schema(value_type = Option<String>, min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password: Field<String>,
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub current_password: Field<String>,
}

impl Body for AccountChanges {
    type Input = carenest_app::AccountUpdate;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = carenest_app::AccountUpdate {
            email: r.value("email", self.email),
            profile_picture: r.nullable("profilePicture", self.profile_picture),
            password: r.value("password", self.password),
            current_password: r.value("currentPassword", self.current_password),
        };
        (input, r.0)
    }
}

/// The fields of a parent profile a client writes. On create, `name`, `stressLevel` and
/// `experienceLevel` are required; on update every field is optional and `null` clears an
/// optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParentProfileInput {
    #[schema(value_type = Option<String>, max_length = 100)]
    #[serde(default)]
    pub name: Field<String>,
    #[schema(value_type = Option<String>, max_length = 254)]
    #[serde(default)]
    pub email: Field<String>,
    #[schema(value_type = Option<enums::StressLevel>)]
    #[serde(default)]
    pub stress_level: Field<String>,
    #[schema(value_type = Option<enums::ExperienceLevel>)]
    #[serde(default)]
    pub experience_level: Field<String>,
    /// At most 50 items of at most 200 characters.
    #[schema(value_type = Option<Vec<String>>, max_items = 50)]
    #[serde(default)]
    pub primary_concerns: Field<Vec<String>>,
    /// At most 50 items of at most 200 characters.
    #[schema(value_type = Option<Vec<String>>, max_items = 50)]
    #[serde(default)]
    pub support_network: Field<Vec<String>>,
    #[schema(value_type = Option<String>, max_length = 5000)]
    #[serde(default)]
    pub bio: Field<String>,
    /// A language tag such as `nl` or `en-GB`; default `nl`.
    #[schema(value_type = Option<String>, max_length = 35, pattern = "^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")]
    #[serde(default)]
    pub preferred_language: Field<String>,
    #[schema(value_type = Option<String>, max_length = 100)]
    #[serde(default)]
    pub communication_preference: Field<String>,
}

impl Body for ParentProfileInput {
    type Input = family::ParentProfileInput;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = family::ParentProfileInput {
            name: r.value("name", self.name),
            email: r.nullable("email", self.email),
            stress_level: r.value("stressLevel", self.stress_level),
            experience_level: r.value("experienceLevel", self.experience_level),
            primary_concerns: r.value("primaryConcerns", self.primary_concerns),
            support_network: r.value("supportNetwork", self.support_network),
            bio: r.nullable("bio", self.bio),
            preferred_language: r.value("preferredLanguage", self.preferred_language),
            communication_preference: r.nullable("communicationPreference", self.communication_preference),
        };
        (input, r.0)
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnboardingInput {
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1000)]
    #[serde(default)]
    pub current_onboarding_step: Field<i64>,
    /// Merged key by key into the stored object: keys given replace theirs, others stay. The
    /// merged object may hold at most 64 KiB of JSON.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub onboarding_data: Field<Value>,
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub completed_onboarding: Field<bool>,
}

impl Body for OnboardingInput {
    type Input = family::OnboardingInput;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = family::OnboardingInput {
            current_onboarding_step: r.value("currentOnboardingStep", self.current_onboarding_step),
            onboarding_data: r.value("onboardingData", self.onboarding_data),
            completed_onboarding: r.value("completedOnboarding", self.completed_onboarding),
        };
        (input, r.0)
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChildInput {
    #[schema(value_type = Option<String>, max_length = 100)]
    #[serde(default)]
    pub name: Field<String>,
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 25)]
    #[serde(default)]
    pub age: Field<i64>,
    #[schema(value_type = Option<Vec<String>>, max_items = 50)]
    #[serde(default)]
    pub special_needs: Field<Vec<String>>,
    /// A JSON object or array.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub routines: Field<Value>,
    #[schema(value_type = Option<String>, max_length = 10000)]
    #[serde(default)]
    pub development_notes: Field<String>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    #[serde(default)]
    pub last_assessment: Field<Rfc3339>,
}

impl Body for ChildInput {
    type Input = family::ChildInput;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = family::ChildInput {
            name: r.value("name", self.name),
            age: r.value("age", self.age),
            special_needs: r.value("specialNeeds", self.special_needs),
            routines: r.value("routines", self.routines),
            development_notes: r.nullable("developmentNotes", self.development_notes),
            last_assessment: r.nullable("lastAssessment", self.last_assessment).map(|t| t.map(|t| t.0)),
        };
        (input, r.0)
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GoalInput {
    #[schema(value_type = Option<String>, max_length = 200)]
    #[serde(default)]
    pub title: Field<String>,
    #[schema(value_type = Option<String>, max_length = 5000)]
    #[serde(default)]
    pub description: Field<String>,
    #[schema(value_type = Option<String>, max_length = 50)]
    #[serde(default)]
    pub category: Field<String>,
    /// One of the user's own children, or `null`.
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub child_profile_id: Field<i64>,
    #[schema(value_type = Option<enums::GoalStatus>)]
    #[serde(default)]
    pub status: Field<String>,
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 100)]
    #[serde(default)]
    pub progress: Field<i64>,
    #[schema(value_type = Option<NaiveDate>)]
    #[serde(default)]
    pub target_date: Field<IsoDate>,
    /// The suggestion this goal adopts (`templateId` of `GET /suggestions`), or `null`.
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub template_id: Field<i64>,
}

impl Body for GoalInput {
    type Input = family::GoalInput;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = family::GoalInput {
            title: r.value("title", self.title),
            description: r.nullable("description", self.description),
            category: r.nullable("category", self.category),
            child_profile_id: r.nullable("childProfileId", self.child_profile_id),
            status: r.value("status", self.status),
            progress: r.value("progress", self.progress),
            target_date: r.nullable("targetDate", self.target_date).map(|d| d.map(|d| d.0)),
            template_id: r.nullable("templateId", self.template_id),
        };
        (input, r.0)
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TherapistInput {
    #[schema(value_type = Option<String>, max_length = 100)]
    #[serde(default)]
    pub name: Field<String>,
    /// Links a user account, which becomes a `therapist`; `null` unlinks.
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub user_id: Field<i64>,
}

impl Body for TherapistInput {
    type Input = scheduling::TherapistInput;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = scheduling::TherapistInput {
            name: r.value("name", self.name),
            user_id: r.nullable("userId", self.user_id),
        };
        (input, r.0)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepeatInput {
    #[schema(value_type = enums::RepeatEvery)]
    pub every: String,
    #[schema(minimum = 2, maximum = 52)]
    pub count: i64,
}

/// The body of `POST /sessions` and `PATCH /sessions/{id}`; on create `date`, `startTime`,
/// `endTime` and `therapistIds` are required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionInput {
    #[schema(value_type = Option<NaiveDate>)]
    #[serde(default)]
    pub date: Field<IsoDate>,
    /// `HH:MM` or `HH:MM:SS`.
    #[schema(value_type = Option<String>, example = "09:30")]
    #[serde(default)]
    pub start_time: Field<String>,
    #[schema(value_type = Option<String>, example = "10:15")]
    #[serde(default)]
    pub end_time: Field<String>,
    #[schema(value_type = Option<String>, max_length = 10000)]
    #[serde(default)]
    pub notes: Field<String>,
    #[schema(value_type = Option<enums::SessionStatus>)]
    #[serde(default)]
    pub status: Field<String>,
    /// Each id once; on update the set replaces the current one.
    #[schema(value_type = Option<Vec<i64>>, min_items = 1, max_items = 20)]
    #[serde(default)]
    pub therapist_ids: Field<Vec<i64>>,
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub child_profile_id: Field<i64>,
    /// Create only: book the same slot on every occurrence.
    #[schema(value_type = Option<RepeatInput>)]
    #[serde(default)]
    pub repeat: Field<RepeatInput>,
    /// Admins: book outside the therapists' working hours on purpose (time off, closures and
    /// overlaps are never overridden).
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub outside_working_hours: Field<bool>,
}

impl Body for SessionInput {
    type Input = scheduling::SessionInput;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = scheduling::SessionInput {
            date: r.value("date", self.date).map(|d| d.0),
            start_time: r.value("startTime", self.start_time),
            end_time: r.value("endTime", self.end_time),
            notes: r.nullable("notes", self.notes),
            status: r.value("status", self.status),
            therapist_ids: r.value("therapistIds", self.therapist_ids),
            child_profile_id: r.nullable("childProfileId", self.child_profile_id),
            repeat: r.value("repeat", self.repeat).map(|r| scheduling::RepeatInput { every: r.every, count: r.count }),
            outside_working_hours: r.value("outsideWorkingHours", self.outside_working_hours),
        };
        (input, r.0)
    }
}

/// `PUT /therapists/{id}/working-hours`: the whole weekly pattern.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingHoursInput {
    /// Several intervals a day (the gaps are breaks), none overlapping; at most 70.
    #[schema(value_type = Vec<WeeklyIntervalInput>, required = true)]
    #[serde(default)]
    pub weekly: Field<Vec<WeeklyIntervalInput>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeeklyIntervalInput {
    /// 1 = Monday ... 7 = Sunday (ISO 8601).
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: i64,
    /// `HH:MM` or `HH:MM:SS`.
    #[schema(example = "09:00")]
    pub start_time: String,
    #[schema(example = "12:30")]
    pub end_time: String,
}

impl Body for WorkingHoursInput {
    type Input = Option<Vec<availability::WeeklyIntervalInput>>;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let weekly = r.value("weekly", self.weekly).map(|weekly| {
            weekly
                .into_iter()
                .map(|w| availability::WeeklyIntervalInput {
                    weekday: w.weekday,
                    start_time: w.start_time,
                    end_time: w.end_time,
                })
                .collect()
        });
        (weekly, r.0)
    }
}

/// A whole day or days off (no times), or part of one day (`startTime` and `endTime`, with
/// `endDate` equal to `startDate`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimeOffInput {
    #[schema(value_type = NaiveDate, required = true)]
    #[serde(default)]
    pub start_date: Field<IsoDate>,
    #[schema(value_type = NaiveDate, required = true)]
    #[serde(default)]
    pub end_date: Field<IsoDate>,
    #[schema(value_type = Option<String>, example = "13:00")]
    #[serde(default)]
    pub start_time: Field<String>,
    #[schema(value_type = Option<String>, example = "17:00")]
    #[serde(default)]
    pub end_time: Field<String>,
    /// Seen by staff only.
    #[schema(value_type = Option<String>, max_length = 500)]
    #[serde(default)]
    pub reason: Field<String>,
}

impl Body for TimeOffInput {
    type Input = availability::TimeOffInput;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = availability::TimeOffInput {
            start_date: r.value("startDate", self.start_date).map(|d| d.0),
            end_date: r.value("endDate", self.end_date).map(|d| d.0),
            start_time: r.value("startTime", self.start_time),
            end_time: r.value("endTime", self.end_time),
            reason: r.value("reason", self.reason),
        };
        (input, r.0)
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClosureInput {
    #[schema(value_type = NaiveDate, required = true)]
    #[serde(default)]
    pub start_date: Field<IsoDate>,
    #[schema(value_type = NaiveDate, required = true)]
    #[serde(default)]
    pub end_date: Field<IsoDate>,
    #[schema(value_type = String, required = true, max_length = 200)]
    #[serde(default)]
    pub name: Field<String>,
}

impl Body for ClosureInput {
    type Input = availability::ClosureInput;
    fn read(self) -> (Self::Input, Vec<FieldError>) {
        let mut r = Reader::default();
        let input = availability::ClosureInput {
            start_date: r.value("startDate", self.start_date).map(|d| d.0),
            end_date: r.value("endDate", self.end_date).map(|d| d.0),
            name: r.value("name", self.name),
        };
        (input, r.0)
    }
}
