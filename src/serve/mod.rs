pub mod settings;
pub mod yaml;
