//! The admin area, one file per page: overview, merchants, the audit log, users.

pub mod audit;
pub mod merchants;
pub mod overview;
pub mod users;
