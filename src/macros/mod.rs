//! `select!`, `join!` and `try_join!`, and the items their expansions
//! name (`support`, hidden from the docs: not an API).
//!
//! The three are `macro_rules!` macros, always compiled: they need no
//! dependency and no proc-macro build, so unlike `#[weft::main]` and
//! `#[weft::test]` (the `macros` feature, which builds `weft-macros` and
//! its parser) they cost nothing to keep.
//!
//! How `select!` orders and disables its branches: the `select` module's
//! comments, and docs/design/select.md.

mod join;
mod select;
#[doc(hidden)]
pub mod support;
