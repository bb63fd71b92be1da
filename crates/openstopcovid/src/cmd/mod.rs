pub mod keys;
pub mod venue;
