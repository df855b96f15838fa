//! The attribute's arguments: `worker_threads = N`, `start_paused = bool`,
//! `crate = "path"`.

use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprLit, Lit, LitStr, Path};

/// What the attribute asked for.
#[derive(Default)]
pub(crate) struct Args {
    /// `None`: the builder's default.
    pub(crate) worker_threads: Option<usize>,
    /// `None`: `::weft`.
    pub(crate) krate: Option<Path>,
    /// `None`: not given (a running clock).
    pub(crate) start_paused: Option<bool>,
}

impl Args {
    /// Parses one `key = value` pair (the callback of `syn::meta::parser`).
    pub(crate) fn parse_one(&mut self, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("worker_threads") {
            if self.worker_threads.is_some() {
                return Err(meta.error("`worker_threads` is given twice"));
            }
            let value: Expr = meta.value()?.parse()?;
            self.worker_threads = Some(positive_int(&value)?);
            Ok(())
        } else if meta.path.is_ident("start_paused") {
            if self.start_paused.is_some() {
                return Err(meta.error("`start_paused` is given twice"));
            }
            let value: Expr = meta.value()?.parse()?;
            let Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) = &value else {
                return Err(syn::Error::new_spanned(
                    &value,
                    "`start_paused` takes `true` or `false`, e.g. `start_paused = true`",
                ));
            };
            self.start_paused = Some(b.value);
            Ok(())
        } else if meta.path.is_ident("crate") {
            if self.krate.is_some() {
                return Err(meta.error("`crate` is given twice"));
            }
            let value: LitStr = meta.value()?.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`crate` takes a string literal with a path, e.g. `crate = \"my_weft\"`",
                )
            })?;
            self.krate = Some(value.parse().map_err(|_| {
                syn::Error::new_spanned(&value, "`crate` must name a path, e.g. `crate = \"my_weft\"`")
            })?);
            Ok(())
        } else {
            let name = quote::ToTokens::to_token_stream(&meta.path).to_string().replace(' ', "");
            Err(meta.error(format!(
                "unknown attribute key `{name}`; the keys are `worker_threads = N`, `start_paused = bool` and `crate = \"path\"`"
            )))
        }
    }
}

/// `worker_threads`' value: an integer literal greater than zero.
fn positive_int(value: &Expr) -> syn::Result<usize> {
    const WANT: &str = "`worker_threads` must be a positive integer literal, e.g. `worker_threads = 4`";
    let Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) = value else {
        return Err(syn::Error::new_spanned(value, WANT));
    };
    match lit.base10_parse::<usize>() {
        Ok(0) => Err(syn::Error::new_spanned(lit, "`worker_threads` must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(syn::Error::new_spanned(lit, WANT)),
    }
}
