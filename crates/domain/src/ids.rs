//! One newtype per id, so a child's id can never be passed where a session's is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }
    )*};
}

id_type!(
    /// A row of `users`.
    UserId,
    /// A row of `parent_profiles`.
    ParentProfileId,
    /// A row of `child_profiles`.
    ChildId,
    /// A row of `parenting_goals`.
    GoalId,
    /// A row of `goal_templates`.
    TemplateId,
    /// A row of `therapists`.
    TherapistId,
    /// A row of `sessions`.
    SessionId,
    /// A row of `time_off`.
    TimeOffId,
    /// A row of `closures`.
    ClosureId,
);
