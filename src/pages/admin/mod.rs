//! Pages of the admin area, one file per admin route file.

pub mod audit;
pub mod merchants;
pub mod overview;
pub mod users;
