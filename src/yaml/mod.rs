//! YAML in and out: the one reader (`read`, whose items stand here as `yaml::parse`, `yaml::Node`, ...) and the one
//! canonical writer (`write`).

mod read;
pub mod write;

pub use read::*;
