pub mod analytics;
pub mod authority;
pub mod bench;
pub mod demo;
pub mod keys;
pub mod phone;
pub mod serve;
pub mod venue;
