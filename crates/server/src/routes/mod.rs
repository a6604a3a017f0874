pub mod accounts;
pub mod family;
pub mod ops;
pub mod scheduling;
