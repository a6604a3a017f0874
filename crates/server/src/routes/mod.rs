pub mod accounts;
pub mod audit;
pub mod availability;
pub mod family;
pub mod ops;
pub mod scheduling;
