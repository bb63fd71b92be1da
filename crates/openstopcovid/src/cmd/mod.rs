pub mod authority;
pub mod demo;
pub mod keys;
pub mod phone;
pub mod venue;
pub mod serve;
