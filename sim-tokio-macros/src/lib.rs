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

/// Which attribute is expanded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Attr {
    Main,
    Test,
}

impl Attr {
    /// The name tokio's messages give it.
    fn macro_name(self) -> &'static str {
        match self {
            Attr::Main => "tokio::main",
            Attr::Test => "tokio::test",
        }
    }
}

/// A runtime flavor (each runs as one simulation; the flavor decides what tokio forbids).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flavor {
    CurrentThread,
    MultiThread,
    Local,
}

impl Flavor {
    /// The flavor named `s`, or tokio's message for a name it rejects.
    fn parse(s: &str, span: Span) -> syn::Result<Flavor> {
        let msg = match s {
            "current_thread" => return Ok(Flavor::CurrentThread),
            "multi_thread" => return Ok(Flavor::MultiThread),
            "local" => return Ok(Flavor::Local),
            "single_thread" => "The single threaded runtime flavor is called `current_thread`.".to_string(),
            "basic_scheduler" => {
                "The `basic_scheduler` runtime flavor has been renamed to `current_thread`.".to_string()
            }
            "threaded_scheduler" => {
                "The `threaded_scheduler` runtime flavor has been renamed to `multi_thread`.".to_string()
            }
            _ => format!(
                "No such runtime flavor `{s}`. The runtime flavors are `current_thread`, `local`, and `multi_thread`."
            ),
        };
        Err(syn::Error::new(span, msg))
    }

    fn name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current_thread",
            Flavor::MultiThread => "multi_thread",
            Flavor::Local => "local",
        }
    }
}

/// The arguments of `#[tokio::main]` / `#[tokio::test]` as written, each with where it
/// was written (for tokio's messages about combinations).
#[derive(Default)]
struct Args {
    krate: Option<syn::Path>,
    flavor: Option<(Flavor, Span)>,
    worker_threads: Option<Span>,
    start_paused: Option<(bool, Span)>,
    unhandled_panic: Option<Span>,
    name: Option<Span>,
    seeds: Option<syn::LitInt>,
    /// `strategy = "random" | "pct" | "exhaustive"`.
    strategy: Option<syn::LitStr>,
    /// `depth = D` of `strategy = "pct"`.
    depth: Option<syn::LitInt>,
}

/// What the expansion needs, once the arguments are checked.
struct Config {
    krate: TokenStream2,
    flavor: Flavor,
    start_paused: bool,
    seeds: Option<syn::LitInt>,
    strategy: Option<syn::LitStr>,
    depth: Option<syn::LitInt>,
}

impl Config {
    /// The configuration without arguments: what tokio expands a function to when its
    /// arguments are wrong, so that the error comes alone (no follow-on errors about a
    /// function that is not there).
    fn default_for(attr: Attr) -> Config {
        Config {
            krate: quote! { tokio },
            flavor: match attr {
                Attr::Main => Flavor::MultiThread,
                Attr::Test => Flavor::CurrentThread,
            },
            start_paused: false,
            seeds: None,
            strategy: None,
            depth: None,
        }
    }
}

/// The names accepted, for the message about an unknown one: tokio's, then ours.
fn known_names(attr: Attr) -> &'static str {
    match attr {
        Attr::Main => "`flavor`, `worker_threads`, `start_paused`, `crate`, `unhandled_panic`, `name`",
        Attr::Test => {
            "`flavor`, `worker_threads`, `start_paused`, `crate`, `unhandled_panic`, `name`, `seeds`, `strategy`, \
             `depth`"
        }
    }
}

/// tokio's message for an argument given twice.
fn once<T>(slot: &Option<T>, name: &str, span: Span) -> syn::Result<()> {
    match slot {
        Some(_) => Err(syn::Error::new(span, format!("`{name}` set multiple times."))),
        None => Ok(()),
    }
}

fn lit_str(lit: &Lit, field: &str) -> syn::Result<String> {
    match lit {
        Lit::Str(s) => Ok(s.value()),
        _ => Err(syn::Error::new(lit.span(), format!("Failed to parse value of `{field}` as string."))),
    }
}

/// Parses and checks the arguments the way tokio does (the same rules, the same
/// messages), plus Lockstep's own (`seeds`, `strategy`, `depth`) on `#[test]`.
fn parse_config(attr: Attr, tokens: TokenStream2) -> syn::Result<Config> {
    use syn::punctuated::Punctuated;
    let metas = syn::parse::Parser::parse2(Punctuated::<syn::Meta, Token![,]>::parse_terminated, tokens)?;
    let test = attr == Attr::Test;
    let mut args = Args::default();
    for meta in metas {
        let nv = match meta {
            syn::Meta::NameValue(nv) => nv,
            syn::Meta::Path(path) => {
                let name = path
                    .get_ident()
                    .ok_or_else(|| syn::Error::new_spanned(&path, "Must have specified ident"))?
                    .to_string()
                    .to_lowercase();
                let macro_name = attr.macro_name();
                let msg = match name.as_str() {
                    "threaded_scheduler" | "multi_thread" => {
                        format!("Set the runtime flavor with #[{macro_name}(flavor = \"multi_thread\")].")
                    }
                    "basic_scheduler" | "current_thread" | "single_threaded" => {
                        format!("Set the runtime flavor with #[{macro_name}(flavor = \"current_thread\")].")
                    }
                    "flavor" | "worker_threads" | "start_paused" | "crate" | "unhandled_panic" | "name" => {
                        format!("The `{name}` attribute requires an argument.")
                    }
                    "seeds" | "strategy" | "depth" if test => format!("The `{name}` attribute requires an argument."),
                    _ => format!("Unknown attribute {name} is specified; expected one of: {}.", known_names(attr)),
                };
                return Err(syn::Error::new_spanned(path, msg));
            }
            other @ syn::Meta::List(_) => {
                return Err(syn::Error::new_spanned(other, "Unknown attribute inside the macro"));
            }
        };
        let name = nv
            .path
            .get_ident()
            .ok_or_else(|| syn::Error::new_spanned(&nv, "Must have specified ident"))?
            .to_string()
            .to_lowercase();
        let lit = match &nv.value {
            Expr::Lit(syn::ExprLit { lit, .. }) => lit.clone(),
            expr => return Err(syn::Error::new_spanned(expr, "Must be a literal")),
        };
        let span = lit.span();
        match name.as_str() {
            "worker_threads" => {
                once(&args.worker_threads, "worker_threads", span)?;
                let n = match &lit {
                    Lit::Int(n) => n.base10_parse::<usize>().map_err(|e| {
                        syn::Error::new(span, format!("Failed to parse value of `worker_threads` as integer: {e}"))
                    })?,
                    _ => return Err(syn::Error::new(span, "Failed to parse value of `worker_threads` as integer.")),
                };
                if n == 0 {
                    return Err(syn::Error::new(span, "`worker_threads` may not be 0."));
                }
                args.worker_threads = Some(span);
            }
            "flavor" => {
                once(&args.flavor, "flavor", span)?;
                args.flavor = Some((Flavor::parse(&lit_str(&lit, "flavor")?, span)?, span));
            }
            "start_paused" => {
                once(&args.start_paused, "start_paused", span)?;
                match &lit {
                    Lit::Bool(b) => args.start_paused = Some((b.value, span)),
                    _ => return Err(syn::Error::new(span, "Failed to parse value of `start_paused` as bool.")),
                }
            }
            "core_threads" => {
                return Err(syn::Error::new_spanned(nv, "Attribute `core_threads` is renamed to `worker_threads`"));
            }
            "crate" => {
                once(&args.krate, "crate", span)?;
                let Lit::Str(s) = &lit else {
                    return Err(syn::Error::new(span, "Failed to parse value of `crate` as path."));
                };
                let path = s.parse::<syn::Path>().map_err(|_| {
                    syn::Error::new(span, format!("Failed to parse value of `crate` as path: \"{}\"", s.value()))
                })?;
                args.krate = Some(path);
            }
            "unhandled_panic" => {
                once(&args.unhandled_panic, "unhandled_panic", span)?;
                let value = lit_str(&lit, "unhandled_panic")?;
                if !matches!(value.as_str(), "ignore" | "shutdown_runtime") {
                    return Err(syn::Error::new(
                        span,
                        format!(
                            "No such unhandled panic behavior `{value}`. The unhandled panic behaviors are `ignore` \
                             and `shutdown_runtime`."
                        ),
                    ));
                }
                args.unhandled_panic = Some(span);
            }
            "name" => {
                once(&args.name, "name", span)?;
                lit_str(&lit, "name")?;
                args.name = Some(span);
            }
            "seeds" if test => {
                once(&args.seeds, "seeds", span)?;
                let Lit::Int(n) = &lit else {
                    return Err(syn::Error::new(span, "`seeds` takes a number, as in `seeds = 200`"));
                };
                n.base10_parse::<u64>()?;
                args.seeds = Some(n.clone());
            }
            "strategy" if test => {
                once(&args.strategy, "strategy", span)?;
                let Lit::Str(s) = &lit else {
                    return Err(syn::Error::new(span, "`strategy` takes a string, as in `strategy = \"pct\"`"));
                };
                if !matches!(s.value().as_str(), "random" | "pct" | "exhaustive") {
                    return Err(syn::Error::new(span, "`strategy` is `random` (the default), `pct` or `exhaustive`"));
                }
                args.strategy = Some(s.clone());
            }
            "depth" if test => {
                once(&args.depth, "depth", span)?;
                let Lit::Int(n) = &lit else {
                    return Err(syn::Error::new(span, "`depth` takes a number, as in `depth = 3`"));
                };
                if n.base10_parse::<u32>()? == 0 {
                    return Err(syn::Error::new(span, "`depth` is at least 1"));
                }
                args.depth = Some(n.clone());
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    nv,
                    format!("Unknown attribute {name} is specified; expected one of: {}.", known_names(attr)),
                ));
            }
        }
    }
    build_config(attr, args)
}

/// tokio's rules for combinations of arguments, then Lockstep's.
fn build_config(attr: Attr, args: Args) -> syn::Result<Config> {
    let default = Config::default_for(attr);
    let flavor = args.flavor.map_or(default.flavor, |(f, _)| f);
    let macro_name = attr.macro_name();
    if let (Flavor::CurrentThread | Flavor::Local, Some(span)) = (flavor, args.worker_threads) {
        return Err(syn::Error::new(
            span,
            format!(
                "The `worker_threads` option requires the `multi_thread` runtime flavor. Use \
                 `#[{macro_name}(flavor = \"multi_thread\")]`"
            ),
        ));
    }
    if let (Flavor::MultiThread, Some((_, span))) = (flavor, args.start_paused) {
        return Err(syn::Error::new(
            span,
            format!(
                "The `start_paused` option requires the `current_thread` runtime flavor. Use \
                 `#[{macro_name}(flavor = \"current_thread\")]`"
            ),
        ));
    }
    if let (Flavor::MultiThread, Some(span)) = (flavor, args.unhandled_panic) {
        return Err(syn::Error::new(
            span,
            format!(
                "The `unhandled_panic` option requires the `current_thread` runtime flavor. Use \
                 `#[{macro_name}(flavor = \"current_thread\")]`"
            ),
        ));
    }
    if let (Some(depth), false) = (&args.depth, args.strategy.as_ref().is_some_and(|s| s.value() == "pct")) {
        return Err(syn::Error::new(depth.span(), "`depth` goes with `strategy = \"pct\"`"));
    }
    Ok(Config {
        krate: args.krate.map_or(default.krate, |p| quote! { #p }),
        flavor,
        start_paused: args.start_paused.is_some_and(|(paused, _)| paused),
        seeds: args.seeds,
        strategy: args.strategy,
        depth: args.depth,
    })
}

/// tokio's checks of the function itself.
fn check_item(attr: Attr, item: &ItemFn) -> syn::Result<()> {
    if item.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            item.sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        ));
    }
    match attr {
        Attr::Main if item.sig.ident == "main" && !item.sig.inputs.is_empty() => {
            Err(syn::Error::new_spanned(&item.sig.ident, "the main function cannot accept arguments"))
        }
        Attr::Test => match item.attrs.iter().find(|a| is_test_attribute(a)) {
            Some(a) => Err(syn::Error::new_spanned(
                a,
                "second test attribute is supplied, consider removing or changing the order of your test attributes",
            )),
            None => Ok(()),
        },
        Attr::Main => Ok(()),
    }
}

/// `#[test]`, `#[core::prelude::<edition>::test]` or `#[std::prelude::<edition>::test]`
/// (with or without a leading `::`): a second test attribute.
fn is_test_attribute(attr: &syn::Attribute) -> bool {
    let syn::Meta::Path(path) = &attr.meta else { return false };
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    if path.segments.iter().any(|s| !s.arguments.is_none()) {
        return false;
    }
    match segments.as_slice() {
        [test] => path.leading_colon.is_none() && test == "test",
        [root, prelude, _, test] => (root == "core" || root == "std") && prelude == "prelude" && test == "test",
        _ => false,
    }
}

/// Expands `#[tokio::main]` / `#[tokio::test]`. Wrong arguments give tokio's error,
/// next to the function expanded with no arguments (as tokio does), so that the error
/// comes without follow-on ones.
fn expand(attr: Attr, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let item: ItemFn = match syn::parse2(item) {
        Ok(item) => item,
        Err(e) => return e.to_compile_error(),
    };
    if attr == Attr::Test && !item.sig.inputs.is_empty() {
        return syn::Error::new(item.sig.inputs.span(), "a `#[tokio::test]` function takes no arguments")
            .to_compile_error();
    }
    let config = check_item(attr, &item).and_then(|()| parse_config(attr, args));
    match config {
        Ok(config) => expand_with(attr, &config, item),
        Err(e) => {
            let mut tokens = expand_with(attr, &Config::default_for(attr), item);
            tokens.extend(e.to_compile_error());
            tokens
        }
    }
}

fn expand_with(attr: Attr, config: &Config, item: ItemFn) -> TokenStream2 {
    let krate = &config.krate;
    let flavor = config.flavor.name();
    let start_paused = config.start_paused;
    let ItemFn { attrs, vis, mut sig, block } = item;
    let name = sig.ident.to_string();
    if attr == Attr::Main {
        sig.asyncness = None;
        return quote! {
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
        };
    }
    let seeds = match &config.seeds {
        Some(n) => quote! { ::core::option::Option::Some(#n) },
        None => quote! { ::core::option::Option::None },
    };
    let strategy = match &config.strategy {
        Some(s) => quote! { #s },
        None => quote! { "random" },
    };
    let depth = match &config.depth {
        Some(n) => quote! { ::core::option::Option::Some(#n) },
        None => quote! { ::core::option::Option::None },
    };
    let ident = &sig.ident;
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
}

/// `#[tokio::main]`: the body runs as one simulation, in the canonical order unless
/// `LOCKSTEP_SEED` or `LOCKSTEP_TAPE` say otherwise. Takes tokio's arguments, with
/// tokio's rules and messages (`worker_threads` needs `flavor = "multi_thread"`,
/// `start_paused` and `unhandled_panic` need a current-thread or local flavor).
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Attr::Main, attr.into(), item.into()).into()
}

/// `#[tokio::test]`: a `#[test]` that runs the body as a simulation over a seed
/// range (`seeds = N`, `LOCKSTEP_SEEDS`; default 1,000) through sim-core's one check
/// runner and fails with the lowest failing seed's report and its replay command.
/// `strategy = "pct"` (with `depth = D`, default 3) runs PCT seeds instead, and
/// `strategy = "exhaustive"` every class of orders (`seeds` then bounds the runs).
/// tokio's arguments are checked with tokio's rules and messages.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Attr::Test, attr.into(), item.into()).into()
}

#[cfg(test)]
mod tests {
    use super::{check_item, expand, parse_config, Attr, Flavor};

    /// The error `#[tokio::<attr>(<args>)]` gives, if any.
    fn error(attr: Attr, args: &str) -> Option<String> {
        parse_config(attr, args.parse().unwrap()).err().map(|e| e.to_string())
    }

    /// Combinations tokio rejects at compile time, each with tokio's own message.
    #[test]
    fn arguments_tokio_rejects_are_rejected_with_its_message() {
        let cases: &[(Attr, &str, &str)] = &[
            (
                Attr::Test,
                "worker_threads = 2",
                "The `worker_threads` option requires the `multi_thread` runtime flavor. Use \
                 `#[tokio::test(flavor = \"multi_thread\")]`",
            ),
            (
                Attr::Test,
                "flavor = \"current_thread\", worker_threads = 2",
                "The `worker_threads` option requires the `multi_thread` runtime flavor. Use \
                 `#[tokio::test(flavor = \"multi_thread\")]`",
            ),
            (
                Attr::Main,
                "flavor = \"local\", worker_threads = 1",
                "The `worker_threads` option requires the `multi_thread` runtime flavor. Use \
                 `#[tokio::main(flavor = \"multi_thread\")]`",
            ),
            (Attr::Main, "worker_threads = 0", "`worker_threads` may not be 0."),
            (
                Attr::Test,
                "flavor = \"multi_thread\", worker_threads = \"2\"",
                "Failed to parse value of `worker_threads` as integer.",
            ),
            (
                Attr::Main,
                "start_paused = true",
                "The `start_paused` option requires the `current_thread` runtime flavor. Use \
                 `#[tokio::main(flavor = \"current_thread\")]`",
            ),
            (
                Attr::Test,
                "flavor = \"multi_thread\", start_paused = true",
                "The `start_paused` option requires the `current_thread` runtime flavor. Use \
                 `#[tokio::test(flavor = \"current_thread\")]`",
            ),
            (Attr::Test, "start_paused = 1", "Failed to parse value of `start_paused` as bool."),
            (
                Attr::Main,
                "unhandled_panic = \"ignore\"",
                "The `unhandled_panic` option requires the `current_thread` runtime flavor. Use \
                 `#[tokio::main(flavor = \"current_thread\")]`",
            ),
            (
                Attr::Test,
                "unhandled_panic = \"abort\"",
                "No such unhandled panic behavior `abort`. The unhandled panic behaviors are `ignore` and \
                 `shutdown_runtime`.",
            ),
            (
                Attr::Test,
                "flavor = \"single_thread\"",
                "The single threaded runtime flavor is called `current_thread`.",
            ),
            (
                Attr::Test,
                "flavor = \"basic_scheduler\"",
                "The `basic_scheduler` runtime flavor has been renamed to `current_thread`.",
            ),
            (
                Attr::Main,
                "flavor = \"threaded_scheduler\"",
                "The `threaded_scheduler` runtime flavor has been renamed to `multi_thread`.",
            ),
            (
                Attr::Main,
                "flavor = \"fast\"",
                "No such runtime flavor `fast`. The runtime flavors are `current_thread`, `local`, and `multi_thread`.",
            ),
            (Attr::Test, "flavor = 1", "Failed to parse value of `flavor` as string."),
            (Attr::Test, "flavor = \"local\", flavor = \"local\"", "`flavor` set multiple times."),
            (
                Attr::Main,
                "flavor = \"multi_thread\", worker_threads = 1, worker_threads = 2",
                "`worker_threads` set multiple times.",
            ),
            (Attr::Test, "start_paused = true, start_paused = false", "`start_paused` set multiple times."),
            (Attr::Test, "crate = \"a\", crate = \"b\"", "`crate` set multiple times."),
            (Attr::Test, "crate = \"not a path\"", "Failed to parse value of `crate` as path: \"not a path\""),
            (Attr::Test, "name = \"a\", name = \"b\"", "`name` set multiple times."),
            (Attr::Test, "core_threads = 2", "Attribute `core_threads` is renamed to `worker_threads`"),
            (Attr::Test, "flavor = FLAVOR", "Must be a literal"),
            (Attr::Main, "multi_thread", "Set the runtime flavor with #[tokio::main(flavor = \"multi_thread\")]."),
            (Attr::Test, "current_thread", "Set the runtime flavor with #[tokio::test(flavor = \"current_thread\")]."),
            (Attr::Test, "start_paused", "The `start_paused` attribute requires an argument."),
            (Attr::Test, "flavor(local)", "Unknown attribute inside the macro"),
            (
                Attr::Main,
                "threads = 2",
                "Unknown attribute threads is specified; expected one of: `flavor`, `worker_threads`, \
                 `start_paused`, `crate`, `unhandled_panic`, `name`.",
            ),
            // Lockstep's own arguments exist on `#[tokio::test]` only.
            (
                Attr::Main,
                "seeds = 10",
                "Unknown attribute seeds is specified; expected one of: `flavor`, `worker_threads`, \
                 `start_paused`, `crate`, `unhandled_panic`, `name`.",
            ),
            (Attr::Test, "seeds = 1, seeds = 2", "`seeds` set multiple times."),
            (Attr::Test, "seeds = \"many\"", "`seeds` takes a number, as in `seeds = 200`"),
            (Attr::Test, "strategy = \"dfs\"", "`strategy` is `random` (the default), `pct` or `exhaustive`"),
            (Attr::Test, "depth = 2", "`depth` goes with `strategy = \"pct\"`"),
            (Attr::Test, "strategy = \"pct\", depth = 0", "`depth` is at least 1"),
        ];
        let mut wrong = Vec::new();
        for (attr, args, expected) in cases {
            let got = error(*attr, args);
            if got.as_deref() != Some(*expected) {
                wrong.push(format!("#[{}({args})]: expected {expected:?}, got {got:?}", attr.macro_name()));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// What tokio accepts is accepted, with the flavor and clock it means.
    #[test]
    fn arguments_tokio_accepts_are_accepted() {
        let cases: &[(Attr, &str, Flavor, bool)] = &[
            (Attr::Test, "", Flavor::CurrentThread, false),
            (Attr::Main, "", Flavor::MultiThread, false),
            (Attr::Test, "flavor = \"multi_thread\", worker_threads = 2", Flavor::MultiThread, false),
            (Attr::Main, "worker_threads = 4", Flavor::MultiThread, false),
            (Attr::Main, "flavor = \"current_thread\", start_paused = true", Flavor::CurrentThread, true),
            (Attr::Test, "start_paused = true", Flavor::CurrentThread, true),
            (Attr::Test, "flavor = \"local\", start_paused = true", Flavor::Local, true),
            (Attr::Test, "unhandled_panic = \"shutdown_runtime\"", Flavor::CurrentThread, false),
            (Attr::Main, "flavor = \"current_thread\", unhandled_panic = \"ignore\"", Flavor::CurrentThread, false),
            (Attr::Test, "crate = \"sim_tokio\", name = \"rt\"", Flavor::CurrentThread, false),
            // tokio reads argument names case-insensitively.
            (Attr::Test, "Flavor = \"multi_thread\", Worker_Threads = 1", Flavor::MultiThread, false),
            (Attr::Test, "flavor = \"multi_thread\", worker_threads = 2, seeds = 50", Flavor::MultiThread, false),
            (Attr::Test, "strategy = \"pct\", depth = 2, seeds = 20", Flavor::CurrentThread, false),
        ];
        for (attr, args, flavor, paused) in cases {
            match parse_config(*attr, args.parse().unwrap()) {
                Ok(config) => {
                    assert_eq!((config.flavor, config.start_paused), (*flavor, *paused), "#[{attr:?}({args})]")
                }
                Err(e) => panic!("#[{}({args})] was rejected: {e}", attr.macro_name()),
            }
        }
    }

    /// Checks of the function, with tokio's messages.
    #[test]
    fn functions_tokio_rejects_are_rejected_with_its_message() {
        let check =
            |attr: Attr, item: &str| check_item(attr, &syn::parse_str(item).unwrap()).err().map(|e| e.to_string());
        assert_eq!(
            check(Attr::Test, "fn t() {}").as_deref(),
            Some("the `async` keyword is missing from the function declaration")
        );
        assert_eq!(
            check(Attr::Main, "async fn main(n: u32) {}").as_deref(),
            Some("the main function cannot accept arguments")
        );
        let second =
            "second test attribute is supplied, consider removing or changing the order of your test attributes";
        for attribute in ["#[test]", "#[::core::prelude::v1::test]", "#[std::prelude::rust_2021::test]"] {
            assert_eq!(
                check(Attr::Test, &format!("{attribute} async fn t() {{}}")).as_deref(),
                Some(second),
                "{attribute}"
            );
        }
        assert_eq!(check(Attr::Test, "#[should_panic] async fn t() {}"), None);
        assert_eq!(check(Attr::Main, "async fn main() {}"), None);
    }

    /// A rejected attribute expands to the function (under the default configuration)
    /// and the error, as tokio's does: one error, no follow-on ones.
    #[test]
    fn a_rejected_attribute_expands_to_the_function_and_the_error() {
        let out = expand(Attr::Test, "worker_threads = 2".parse().unwrap(), "async fn my_test() {}".parse().unwrap())
            .to_string();
        assert!(out.contains("fn my_test"), "{out}");
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("requires the `multi_thread` runtime flavor"), "{out}");
        assert!(out.contains("\"current_thread\""), "expanded with the default flavor: {out}");
        let ok = expand(
            Attr::Test,
            "flavor = \"multi_thread\", worker_threads = 2".parse().unwrap(),
            "async fn t() {}".parse().unwrap(),
        )
        .to_string();
        assert!(!ok.contains("compile_error") && ok.contains("\"multi_thread\""), "{ok}");
    }
}
