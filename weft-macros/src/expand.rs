//! The expansion: check the function, then wrap its body in a runtime's
//! `block_on`.

use crate::args::Args;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

/// Which attribute is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[weft::main]",
            Kind::Test => "#[weft::test]",
        }
    }
}

/// Expands the attribute, or returns the errors as `compile_error!`s next to
/// a stub of the function (so that one mistake does not also produce
/// "`main` function not found" or errors from inside the body).
pub(crate) fn entry(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    let mut func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(e) => {
            let msg = format!("{} goes on an `async fn`", kind.name());
            let mut err = syn::Error::new(e.span(), msg);
            err.combine(e);
            let mut out = err.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let mut parsed = Args::default();
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    if let Err(e) = syn::meta::parser(|meta| parsed.parse_one(meta)).parse2(args) {
        push(e);
    }
    if let Err(e) = check(&func, kind) {
        push(e);
    }
    if let Some(errors) = errors {
        let mut out = errors.to_compile_error();
        out.extend(stub(func, kind));
        return out;
    }
    let krate = parsed.krate.map_or_else(|| quote!(::weft), |p| p.into_token_stream());
    let workers = parsed.worker_threads.map(|n| quote!(.worker_threads(#n)));
    let paused = parsed.start_paused.map(|b| quote!(.start_paused(#b)));
    let output = match &func.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.into_token_stream(),
    };
    let body = &func.block;
    let build_msg = format!("{}: failed to build the weft runtime", kind.name());
    // The body becomes an `async move` block whose output type is pinned to
    // the function's return type, so `?` in the body infers its error type.
    let new_body = quote_spanned! {body.span()=>
        {
            let body = async move #body;
            let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #output>> =
                ::core::pin::pin!(body);
            #krate::Runtime::builder()
                #workers
                #paused
                .build()
                .expect(#build_msg)
                .block_on(body)
        }
    };
    func.sig.asyncness = None;
    func.block = syn::parse2(new_body).expect("the wrapper is a block");
    let test_attr = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));
    quote! {
        #test_attr
        #func
    }
}

/// The mistakes the attribute reports itself.
fn check(func: &ItemFn, kind: Kind) -> syn::Result<()> {
    let sig = &func.sig;
    let mut errors: Vec<syn::Error> = Vec::new();
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        ));
    }
    if !sig.inputs.is_empty() {
        let msg = match kind {
            Kind::Main => "the main function cannot accept arguments",
            Kind::Test => "a #[weft::test] function cannot take parameters",
        };
        errors.push(syn::Error::new_spanned(&sig.inputs, msg));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let msg = format!("a {} function cannot be generic", kind.name());
        errors.push(syn::Error::new_spanned(&sig.generics, msg));
    }
    if kind == Kind::Test {
        if let Some(attr) = func.attrs.iter().find(|a| a.path().is_ident("test")) {
            errors.push(syn::Error::new_spanned(
                attr,
                "#[weft::test] already makes a test; remove this #[test]",
            ));
        }
    }
    let mut iter = errors.into_iter();
    match iter.next() {
        None => Ok(()),
        Some(mut first) => {
            iter.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// A plain function with the same name and return type whose body never
/// runs: emitted next to the errors so that they are the only ones.
fn stub(mut func: ItemFn, kind: Kind) -> TokenStream {
    func.sig.asyncness = None;
    func.sig.inputs.clear();
    func.sig.generics = Default::default();
    func.attrs.retain(|a| !a.path().is_ident("test"));
    func.block = syn::parse_quote!({ ::core::unreachable!() });
    let allow = (kind == Kind::Test).then(|| quote!(#[allow(dead_code)]));
    quote! {
        #allow
        #func
    }
}
