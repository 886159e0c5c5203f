//! actix handlers: parse, authenticate, call one use case, render. Nothing else.

pub mod error;
pub mod xml;
