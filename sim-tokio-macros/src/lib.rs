//! # sim-tokio-macros: tokio's macros for the Lockstep simulator
//!
//! Used through `sim-tokio` under `--cfg lockstep`, never directly: `sim-tokio`
//! re-exports `#[main]` and `#[test]`, and its `select!`, `join!` and `try_join!` are
//! `macro_rules!` wrappers that hand their own crate path (`$crate`) to the
//! `*_impl` macros here, so the expansions name `sim-tokio` however a user renamed it.
//!
//! - `select!`: tokio's syntax (patterns, refutable ones disabling their branch,
//!   `, if` preconditions, `else`, `biased;`). Without `biased;` the branch polled
//!   first is a recorded choice (`sim_core::choose(k)`) among the `k` branches still
//!   enabled, made only when `k > 1`: a seed or a tape replays it.
//! - `join!` / `try_join!`: poll every unfinished future on each poll, starting one
//!   further on each poll (as tokio's; in order with `biased;`).
//! - `#[main]`: one simulation (`Runtime::block_on`).
//! - `#[test]`: a `#[test]` that runs the body over many seeds (`seeds = N`).
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{braced, parenthesized, Expr, Ident, ItemFn, Lit, Pat, Token};

// ---- select! ----

struct Branch {
    pat: Pat,
    fut: Expr,
    cond: Option<Expr>,
    handler: Expr,
}

struct Select {
    krate: TokenStream2,
    biased: bool,
    branches: Vec<Branch>,
    otherwise: Option<Expr>,
}

/// Parses the crate path `( $crate )` that the `macro_rules!` wrapper passes first.
fn parse_krate(input: ParseStream<'_>) -> syn::Result<TokenStream2> {
    let content;
    parenthesized!(content in input);
    content.parse()
}

/// Parses `biased;` if it comes next.
fn parse_biased(input: ParseStream<'_>) -> syn::Result<bool> {
    if input.peek(Ident) && input.peek2(Token![;]) {
        let fork = input.fork();
        let ident: Ident = fork.parse()?;
        if ident == "biased" {
            input.parse::<Ident>()?;
            input.parse::<Token![;]>()?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Parses a branch handler: a block (comma optional) or an expression (comma
/// required unless it is the last).
fn parse_handler(input: ParseStream<'_>) -> syn::Result<Expr> {
    if input.peek(syn::token::Brace) {
        let content;
        let brace = braced!(content in input);
        let stmts = content.call(syn::Block::parse_within)?;
        let block = syn::Block { brace_token: brace, stmts };
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        return Ok(Expr::Block(syn::ExprBlock { attrs: Vec::new(), label: None, block }));
    }
    let expr: Expr = input.parse()?;
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
    }
    Ok(expr)
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate = parse_krate(input)?;
        let biased = parse_biased(input)?;
        let mut branches = Vec::new();
        let mut otherwise = None;
        while !input.is_empty() {
            if input.peek(Token![else]) {
                let token: Token![else] = input.parse()?;
                if otherwise.is_some() {
                    return Err(syn::Error::new(token.span, "select!: more than one `else` branch"));
                }
                input.parse::<Token![=>]>()?;
                otherwise = Some(parse_handler(input)?);
                continue;
            }
            let pat = Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            let fut: Expr = input.parse()?;
            let cond = if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                Some(input.parse()?)
            } else {
                None
            };
            input.parse::<Token![=>]>()?;
            let handler = parse_handler(input)?;
            branches.push(Branch { pat, fut, cond, handler });
        }
        if branches.is_empty() && otherwise.is_none() {
            return Err(syn::Error::new(
                Span::call_site(),
                "select!: at least one branch `pattern = future => handler` or an `else` branch is required",
            ));
        }
        if branches.len() > 64 {
            return Err(syn::Error::new(Span::call_site(), "select!: at most 64 branches are supported"));
        }
        Ok(Select { krate, biased, branches, otherwise })
    }
}

/// `select!` (see the crate docs); called by `sim_tokio::select!`.
#[proc_macro]
pub fn select_impl(input: TokenStream) -> TokenStream {
    let select = syn::parse_macro_input!(input as Select);
    let krate = &select.krate;
    let n = select.branches.len();
    if n == 0 {
        // `select! { else => e }`: no future to wait on, the value is `e` (as tokio's).
        let otherwise = select.otherwise.as_ref().expect("parse requires a branch or `else`");
        return quote! {{ #otherwise }}.into();
    }
    let biased = select.biased;
    let types: Vec<Ident> = (0..n).map(|i| format_ident!("__T{}", i)).collect();
    let variants: Vec<Ident> = (0..n).map(|i| format_ident!("__B{}", i)).collect();
    // As tokio's: the smallest mask that holds a bit per branch.
    let mask = match n {
        0..=8 => quote! { u8 },
        9..=16 => quote! { u16 },
        17..=32 => quote! { u32 },
        _ => quote! { u64 },
    };
    let conds = select
        .branches
        .iter()
        .enumerate()
        .map(|(i, b)| b.cond.as_ref().map(|c| quote! { if !(#c) { __lockstep_disabled |= (1 as #mask) << #i; } }));
    // The futures are first evaluated into one tuple bound by `let`, so that a borrowed
    // temporary (`() = &mut std::future::ready(())`) lives as long as the `select!`
    // (temporary lifetime extension), as in tokio's expansion. They are then moved into
    // one list pinned in place (see `Cons`): the future holds one place per branch and
    // the closure one pointer, as tokio's does.
    let fut_exprs = select.branches.iter().map(|b| {
        let fut = &b.fut;
        quote_spanned! {fut.span()=> #fut }
    });
    let list = pinned_list(
        krate,
        (0..n).map(|i| {
            let index = syn::Index::from(i);
            quote! { ::core::future::IntoFuture::into_future(__lockstep_futs.#index) }
        }),
    );
    let makes = quote! {
        let __lockstep_futs = ( #(#fut_exprs,)* );
        let mut __lockstep_futs = ::core::pin::pin!(#list);
    };
    let polls = select.branches.iter().enumerate().map(|(i, b)| {
        let f = element(i);
        let v = &variants[i];
        let pat = clean_pattern(b.pat.clone());
        quote! {
            #i => {
                let __lockstep_value = match ::core::future::Future::poll(__lockstep_futs.as_mut() #f, __lockstep_cx) {
                    ::core::task::Poll::Ready(value) => value,
                    ::core::task::Poll::Pending => {
                        __lockstep_pending = true;
                        continue;
                    }
                };
                #[allow(unused_variables, unused_mut, unreachable_patterns, clippy::match_single_binding)]
                match &__lockstep_value {
                    #pat => {}
                    _ => {
                        __lockstep_disabled |= (1 as #mask) << #i;
                        continue;
                    }
                }
                return ::core::task::Poll::Ready(__LockstepSelectOut::#v(__lockstep_value));
            }
        }
    });
    let arms = select.branches.iter().zip(&variants).map(|(b, v)| {
        let pat = &b.pat;
        let handler = &b.handler;
        quote! { __LockstepSelectOut::#v(#pat) => #handler, }
    });
    let otherwise = match &select.otherwise {
        Some(e) => quote! { #e },
        None => quote! { ::core::panic!("all branches are disabled and there is no else branch") },
    };
    quote! {{
        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        enum __LockstepSelectOut<#(#types),*> {
            #(#variants(#types),)*
            __Disabled,
        }
        let mut __lockstep_disabled: #mask = 0;
        #(#conds)*
        // `mut`: a handler's pattern may bind by `ref mut` into the value.
        #[allow(unused_mut)]
        let mut __lockstep_out = {
            #makes
            ::core::future::poll_fn(move |__lockstep_cx| {
                // As tokio's: a task whose cooperative budget is spent yields here.
                ::core::task::ready!(#krate::__private::poll_budget_available(__lockstep_cx));
                let ::core::option::Option::Some(__lockstep_start) =
                    #krate::__private::select_start(#n, u64::from(__lockstep_disabled), #biased)
                else {
                    return ::core::task::Poll::Ready(__LockstepSelectOut::__Disabled);
                };
                let mut __lockstep_pending = false;
                for __lockstep_j in 0..#n {
                    #[allow(clippy::modulo_one)]
                    let __lockstep_i = (__lockstep_start + __lockstep_j) % #n;
                    if __lockstep_disabled & ((1 as #mask) << __lockstep_i) != 0 {
                        continue;
                    }
                    match __lockstep_i {
                        #(#polls)*
                        _ => ::core::unreachable!(),
                    }
                }
                if __lockstep_pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(__LockstepSelectOut::__Disabled)
                }
            })
            .await
        };
        #[allow(unreachable_patterns, unused_variables, clippy::match_single_binding)]
        match __lockstep_out {
            #(#arms)*
            __LockstepSelectOut::__Disabled => #otherwise,
            _ => ::core::unreachable!("select!: the branch's pattern matched when it was polled"),
        }
    }}
    .into()
}

/// The pattern as matched against a reference to the branch's value, to test whether
/// it matches before the value is moved into the handler: binding modes (`mut x`,
/// `ref x`, `ref mut x`) and `&mut` patterns are dropped, since the test match only
/// borrows (`Some(mut foo)` against `&Option<String>` would move out of the borrow).
fn clean_pattern(pat: Pat) -> Pat {
    match pat {
        Pat::Ident(mut ident) => {
            ident.by_ref = None;
            ident.mutability = None;
            if let Some((at, sub)) = ident.subpat.take() {
                ident.subpat = Some((at, Box::new(clean_pattern(*sub))));
            }
            Pat::Ident(ident)
        }
        Pat::Reference(mut reference) => {
            reference.mutability = None;
            reference.pat = Box::new(clean_pattern(*reference.pat));
            Pat::Reference(reference)
        }
        Pat::Or(mut or) => {
            or.cases = or.cases.into_iter().map(clean_pattern).collect();
            Pat::Or(or)
        }
        Pat::Paren(mut paren) => {
            paren.pat = Box::new(clean_pattern(*paren.pat));
            Pat::Paren(paren)
        }
        Pat::Slice(mut slice) => {
            slice.elems = slice.elems.into_iter().map(clean_pattern).collect();
            Pat::Slice(slice)
        }
        Pat::Struct(mut st) => {
            for field in st.fields.iter_mut() {
                let inner = std::mem::replace(&mut *field.pat, Pat::Verbatim(TokenStream2::new()));
                *field.pat = clean_pattern(inner);
            }
            Pat::Struct(st)
        }
        Pat::Tuple(mut tuple) => {
            tuple.elems = tuple.elems.into_iter().map(clean_pattern).collect();
            Pat::Tuple(tuple)
        }
        Pat::TupleStruct(mut ts) => {
            ts.elems = ts.elems.into_iter().map(clean_pattern).collect();
            Pat::TupleStruct(ts)
        }
        Pat::Type(mut ty) => {
            ty.pat = Box::new(clean_pattern(*ty.pat));
            Pat::Type(ty)
        }
        other => other,
    }
}

// ---- join! / try_join! ----

/// `Cons { head: e0, tail: Cons { head: e1, tail: Nil } }` (see sim-tokio's `Cons`).
fn pinned_list(krate: &TokenStream2, items: impl DoubleEndedIterator<Item = TokenStream2>) -> TokenStream2 {
    items.rev().fold(quote! { #krate::__private::Nil }, |tail, head| {
        quote! { #krate::__private::Cons { head: #head, tail: #tail } }
    })
}

/// The method calls that reach element `i` of a pinned `Cons` list.
fn element(i: usize) -> TokenStream2 {
    let tails = (0..i).map(|_| quote! { .tail() });
    quote! { #(#tails)* .head() }
}

struct Join {
    krate: TokenStream2,
    biased: bool,
    futs: Vec<Expr>,
}

impl Parse for Join {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate = parse_krate(input)?;
        let biased = parse_biased(input)?;
        let futs = syn::punctuated::Punctuated::<Expr, Token![,]>::parse_terminated(input)?;
        Ok(Join { krate, biased, futs: futs.into_iter().collect() })
    }
}

/// What `join!` and `try_join!` share, as tokio's expansion: the futures (each in a
/// `MaybeDone`) in one list pinned in place, and, unless `biased;`, the index of the
/// future polled first, which moves on by one on each poll (tokio's fairness: no
/// future starves those after it; deterministic, as it counts polls). Returns the
/// setup statements, the start statement for the poll closure, and the elements.
fn join_setup(join: &Join) -> (TokenStream2, TokenStream2, Vec<TokenStream2>) {
    let krate = &join.krate;
    let n = join.futs.len();
    let count = n as u32;
    let list = pinned_list(
        krate,
        join.futs.iter().map(|e| {
            quote_spanned! {e.span()=>
                #krate::__private::maybe_done(::core::future::IntoFuture::into_future(#e))
            }
        }),
    );
    let (rotator, start) = if join.biased {
        (quote! {}, quote! { let __lockstep_start: u32 = 0; })
    } else {
        (
            quote! { let mut __lockstep_next: u32 = 0; },
            quote! { let __lockstep_start = #krate::__private::join_start(&mut __lockstep_next, #count); },
        )
    };
    let setup = quote! {
        let mut __lockstep_futs = ::core::pin::pin!(#list);
        #rotator
    };
    (setup, start, (0..n).map(element).collect())
}

/// `join!`: awaits every future; each poll polls the unfinished ones starting one
/// further than the last poll did (in order with `biased;`). Called by `sim_tokio::join!`.
#[proc_macro]
pub fn join_impl(input: TokenStream) -> TokenStream {
    let join = syn::parse_macro_input!(input as Join);
    if join.futs.is_empty() {
        return quote! { async {}.await }.into();
    }
    let n = join.futs.len() as u32;
    let (setup, start, elements) = join_setup(&join);
    let indices = 0..n;
    quote! {{
        #setup
        ::core::future::poll_fn(move |__lockstep_cx| {
            #start
            let mut __lockstep_pending = false;
            for __lockstep_j in 0..#n {
                #[allow(clippy::modulo_one)]
                let __lockstep_i = (__lockstep_start + __lockstep_j) % #n;
                let __lockstep_ready = match __lockstep_i {
                    #( #indices => ::core::future::Future::poll(__lockstep_futs.as_mut() #elements, __lockstep_cx).is_ready(), )*
                    _ => ::core::unreachable!(),
                };
                __lockstep_pending |= !__lockstep_ready;
            }
            if __lockstep_pending {
                ::core::task::Poll::Pending
            } else {
                ::core::task::Poll::Ready((#(
                    __lockstep_futs.as_mut() #elements .take_output().expect("join!: output taken once"),
                )*))
            }
        })
        .await
    }}
    .into()
}

/// `try_join!`: awaits every future, stopping at the first `Err`, polling as
/// [`join_impl`] does; called by `sim_tokio::try_join!`.
#[proc_macro]
pub fn try_join_impl(input: TokenStream) -> TokenStream {
    let join = syn::parse_macro_input!(input as Join);
    if join.futs.is_empty() {
        return quote! { async { ::core::result::Result::Ok(()) }.await }.into();
    }
    let n = join.futs.len() as u32;
    let (setup, start, elements) = join_setup(&join);
    let polls = elements.iter().enumerate().map(|(i, el)| {
        let i = i as u32;
        quote! {
            #i => {
                if ::core::future::Future::poll(__lockstep_futs.as_mut() #el, __lockstep_cx).is_ready() {
                    if __lockstep_futs.as_mut() #el .output_mut().is_some_and(|r| r.is_err()) {
                        let __lockstep_err = __lockstep_futs.as_mut() #el .take_output().and_then(|r| r.err());
                        return ::core::task::Poll::Ready(::core::result::Result::Err(
                            __lockstep_err.expect("try_join!: an error output"),
                        ));
                    }
                } else {
                    __lockstep_pending = true;
                }
            }
        }
    });
    quote! {{
        #setup
        ::core::future::poll_fn(move |__lockstep_cx| {
            #start
            let mut __lockstep_pending = false;
            for __lockstep_j in 0..#n {
                #[allow(clippy::modulo_one)]
                let __lockstep_i = (__lockstep_start + __lockstep_j) % #n;
                match __lockstep_i {
                    #(#polls)*
                    _ => ::core::unreachable!(),
                }
            }
            if __lockstep_pending {
                ::core::task::Poll::Pending
            } else {
                ::core::task::Poll::Ready(::core::result::Result::Ok((#(
                    __lockstep_futs.as_mut() #elements .take_output().and_then(|r| r.ok()).expect("try_join!: an ok output"),
                )*)))
            }
        })
        .await
    }}
    .into()
}

// ---- #[main] / #[test] ----

/// The arguments of `#[tokio::main]` / `#[tokio::test]`.
struct Args {
    krate: TokenStream2,
    seeds: Option<syn::LitInt>,
    /// `flavor`, if given.
    flavor: Option<String>,
    /// `start_paused = …`, and where it was written.
    start_paused: Option<(bool, Span)>,
    /// `strategy = "random" | "pct" | "exhaustive"`.
    strategy: Option<syn::LitStr>,
    /// `depth = D` of `strategy = "pct"`.
    depth: Option<syn::LitInt>,
}

impl Args {
    /// The flavor (`default` unless given) and `start_paused`; tokio's error when a
    /// multi-thread runtime sets `start_paused`.
    fn clock(&self, default: &'static str, what: &str) -> syn::Result<(String, bool)> {
        let flavor = self.flavor.clone().unwrap_or_else(|| default.to_string());
        match self.start_paused {
            Some((_, span)) if flavor == "multi_thread" => Err(syn::Error::new(
                span,
                format!(
                    "The `start_paused` option requires the `current_thread` runtime flavor. \
                     Use `#[{what}(flavor = \"current_thread\")]`"
                ),
            )),
            Some((paused, _)) => Ok((flavor, paused)),
            None => Ok((flavor, false)),
        }
    }
}

fn parse_args(attr: TokenStream, test: bool) -> syn::Result<Args> {
    let mut args =
        Args { krate: quote! { tokio }, seeds: None, flavor: None, start_paused: None, strategy: None, depth: None };
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        while !input.is_empty() {
            let name = input.call(Ident::parse_any)?;
            input.parse::<Token![=]>()?;
            let value: Lit = input.parse()?;
            match (name.to_string().as_str(), &value) {
                ("crate", Lit::Str(s)) => {
                    let path: syn::Path = s.parse()?;
                    args.krate = quote! { #path };
                }
                ("seeds", Lit::Int(n)) if test => {
                    n.base10_parse::<u64>()?;
                    args.seeds = Some(n.clone());
                }
                ("seeds", _) if test => {
                    return Err(syn::Error::new(value.span(), "`seeds` takes a number, as in `seeds = 200`"))
                }
                ("strategy", Lit::Str(s)) if test => {
                    if !matches!(s.value().as_str(), "random" | "pct" | "exhaustive") {
                        return Err(syn::Error::new(
                            s.span(),
                            "`strategy` is `random` (the default), `pct` or `exhaustive`",
                        ));
                    }
                    args.strategy = Some(s.clone());
                }
                ("strategy", _) if test => {
                    return Err(syn::Error::new(value.span(), "`strategy` takes a string, as in `strategy = \"pct\"`"))
                }
                ("depth", Lit::Int(n)) if test => {
                    if n.base10_parse::<u32>()? == 0 {
                        return Err(syn::Error::new(n.span(), "`depth` is at least 1"));
                    }
                    args.depth = Some(n.clone());
                }
                ("depth", _) if test => {
                    return Err(syn::Error::new(value.span(), "`depth` takes a number, as in `depth = 3`"))
                }
                ("flavor", Lit::Str(s)) => {
                    if !matches!(s.value().as_str(), "current_thread" | "multi_thread" | "local") {
                        return Err(syn::Error::new(
                            s.span(),
                            "`flavor` is `current_thread`, `multi_thread` or `local` (each runs as one simulation)",
                        ));
                    }
                    args.flavor = Some(s.value());
                }
                ("start_paused", Lit::Bool(b)) => args.start_paused = Some((b.value, b.span())),
                ("worker_threads", Lit::Int(_)) | ("unhandled_panic", Lit::Str(_)) => {}
                ("crate" | "flavor", _) => {
                    return Err(syn::Error::new(value.span(), format!("`{name}` takes a string")))
                }
                _ => {
                    let extra = if test { ", `seeds`, `strategy`, `depth`" } else { "" };
                    return Err(syn::Error::new(
                        name.span(),
                        format!(
                            "unknown argument `{name}`: expected `flavor`, `worker_threads`, `start_paused`, \
                             `unhandled_panic`, `crate`{extra}"
                        ),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(())
    };
    syn::parse::Parser::parse(parser, attr)?;
    Ok(args)
}

fn require_async(item: &ItemFn, what: &str) -> syn::Result<()> {
    if item.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            item.sig.fn_token.span,
            format!("the `async` keyword is missing from the function declaration of `#[{what}]`"),
        ));
    }
    Ok(())
}

/// `#[tokio::main]`: the body runs as one simulation, in the canonical order unless
/// `LOCKSTEP_SEED` or `LOCKSTEP_TAPE` say otherwise.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as ItemFn);
    let result = parse_args(attr, false).and_then(|args| require_async(&item, "tokio::main").map(|()| args));
    let args = match result {
        Ok(args) => args,
        Err(e) => return e.to_compile_error().into(),
    };
    let krate = &args.krate;
    // tokio's default flavors: `multi_thread` for `main`, `current_thread` for `test`.
    let (flavor, start_paused) = match args.clock("multi_thread", "tokio::main") {
        Ok(clock) => clock,
        Err(e) => return e.to_compile_error().into(),
    };
    let ItemFn { attrs, vis, mut sig, block } = item;
    sig.asyncness = None;
    let name = sig.ident.to_string();
    quote! {
        #(#attrs)*
        #vis #sig {
            let __lockstep_body = async move #block;
            #krate::__private::block_on_main(
                #krate::__private::Entry {
                    module: ::core::module_path!(),
                    name: #name,
                    package: ::core::env!("CARGO_PKG_NAME"),
                    integration: ::core::option_env!("CARGO_TARGET_TMPDIR").is_some(),
                    crate_name: ::core::env!("CARGO_CRATE_NAME"),
                    bin: ::core::option_env!("CARGO_BIN_NAME"),
                    seeds: ::core::option::Option::None,
                    flavor: #flavor,
                    start_paused: #start_paused,
                    strategy: "random",
                    depth: ::core::option::Option::None,
                },
                __lockstep_body,
            )
        }
    }
    .into()
}

/// `#[tokio::test]`: a `#[test]` that runs the body as a simulation over a seed
/// range (`seeds = N`, `LOCKSTEP_SEEDS`; default 1,000) through sim-core's one check
/// runner and fails with the lowest failing seed's report and its replay command.
/// `strategy = "pct"` (with `depth = D`, default 3) runs PCT seeds instead, and
/// `strategy = "exhaustive"` every class of orders (`seeds` then bounds the runs).
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as ItemFn);
    let result = parse_args(attr, true).and_then(|args| require_async(&item, "tokio::test").map(|()| args));
    let args = match result {
        Ok(args) => args,
        Err(e) => return e.to_compile_error().into(),
    };
    if let (Some(depth), false) = (&args.depth, args.strategy.as_ref().is_some_and(|s| s.value() == "pct")) {
        return syn::Error::new(depth.span(), "`depth` goes with `strategy = \"pct\"`").to_compile_error().into();
    }
    if !item.sig.inputs.is_empty() {
        return syn::Error::new(item.sig.inputs.span(), "a `#[tokio::test]` function takes no arguments")
            .to_compile_error()
            .into();
    }
    let krate = &args.krate;
    let (flavor, start_paused) = match args.clock("current_thread", "tokio::test") {
        Ok(clock) => clock,
        Err(e) => return e.to_compile_error().into(),
    };
    let seeds = match &args.seeds {
        Some(n) => quote! { ::core::option::Option::Some(#n) },
        None => quote! { ::core::option::Option::None },
    };
    let strategy = match &args.strategy {
        Some(s) => quote! { #s },
        None => quote! { "random" },
    };
    let depth = match &args.depth {
        Some(n) => quote! { ::core::option::Option::Some(#n) },
        None => quote! { ::core::option::Option::None },
    };
    let ItemFn { attrs, vis, sig, block } = item;
    let ident = &sig.ident;
    let name = ident.to_string();
    let output = &sig.output;
    quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #ident() {
            async fn __lockstep_test_body() #output #block
            #krate::__private::run_test(
                #krate::__private::Entry {
                    module: ::core::module_path!(),
                    name: #name,
                    package: ::core::env!("CARGO_PKG_NAME"),
                    integration: ::core::option_env!("CARGO_TARGET_TMPDIR").is_some(),
                    crate_name: ::core::env!("CARGO_CRATE_NAME"),
                    bin: ::core::option_env!("CARGO_BIN_NAME"),
                    seeds: #seeds,
                    flavor: #flavor,
                    start_paused: #start_paused,
                    strategy: #strategy,
                    depth: #depth,
                },
                __lockstep_test_body,
            )
        }
    }
    .into()
}
