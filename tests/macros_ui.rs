//! Compile-fail tests of `#[weft::main]` / `#[weft::test]` misuse: each
//! file in tests/ui/ must fail to compile with the error in its `.stderr`
//! file (regenerate with `TRYBUILD=overwrite cargo test --test macros_ui`
//! after a deliberate change, and review the diff).
#![cfg(feature = "macros")]

#[test]
fn misuse_is_a_clear_compile_error() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
