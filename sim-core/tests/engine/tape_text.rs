//! The tape's text form, under generated tapes and generated garbage: it round-trips,
//! and bad text is a typed error, never a panic.

use proptest::prelude::*;
use sim_core::tooling::identity::{EventIdentity, IdentityKind};
use sim_core::{Choice, Tape};

fn choice() -> impl Strategy<Value = Choice> {
    (2u32..9)
        .prop_flat_map(|options| (Just(options), 0..options))
        .prop_map(|(options, index)| Choice { options, index })
}

/// A tape's text written item by item (`options.index`, then `@identity` on a `t2:` tape),
/// without the `*count` runs the tape's own text uses.
fn text(prefix: &str, choices: &[Choice], ids: Option<&[EventIdentity]>) -> String {
    let items: Vec<String> = choices
        .iter()
        .enumerate()
        .map(|(i, c)| match ids {
            Some(ids) => format!("{}.{}@{}", c.options, c.index, ids[i]),
            None => format!("{}.{}", c.options, c.index),
        })
        .collect();
    format!("{prefix}{}", items.join(","))
}

/// `choices` without its trailing canonical choices.
fn trimmed(choices: &[Choice]) -> &[Choice] {
    let end = choices.iter().rposition(|c| c.index != 0).map_or(0, |i| i + 1);
    &choices[..end]
}

fn identity() -> impl Strategy<Value = EventIdentity> {
    let kind = prop_oneof![
        Just(IdentityKind::Poll),
        Just(IdentityKind::Timer),
        Just(IdentityKind::Deliver),
        Just(IdentityKind::Select),
        Just(IdentityKind::User),
    ];
    (kind, "\\PC{0,12}", 0u32..4, 0u32..1000).prop_map(|(kind, name, instance, seq)| EventIdentity {
        kind,
        name,
        instance,
        seq,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn positional_tapes_round_trip_through_text(choices in prop::collection::vec(choice(), 0..40)) {
        let tape: Tape = text("t1:", &choices, None).parse().unwrap();
        prop_assert_eq!(tape.choices(), &choices[..]);
        let parsed: Tape = tape.to_string().parse().unwrap();
        // The text leaves trailing canonical choices out: a shorter tape continues canonically.
        prop_assert_eq!(parsed.choices(), trimmed(&choices));
    }

    #[test]
    fn identity_tapes_round_trip_through_text(items in prop::collection::vec((choice(), identity()), 0..20)) {
        let (choices, ids): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        let tape: Tape = text("t2:", &choices, Some(&ids)).parse().unwrap();
        prop_assert_eq!(tape.choices(), &choices[..]);
        let printed = tape.to_string();
        let parsed: Tape = printed.parse().unwrap_or_else(|e| panic!("{printed}: {e}"));
        prop_assert_eq!(parsed.choices(), trimmed(&choices));
        let again = text("t2:", trimmed(&choices), Some(&ids[..trimmed(&choices).len()]));
        prop_assert_eq!(parsed, again.parse::<Tape>().unwrap(), "the identities round-trip too");
    }

    #[test]
    fn identities_with_any_name_round_trip(id in identity()) {
        let text = id.to_string();
        prop_assert!(!text.contains(',') && !text.contains('@'), "separators are escaped: {}", text);
        prop_assert_eq!(text.parse::<EventIdentity>().unwrap(), id);
    }

    #[test]
    fn arbitrary_text_is_a_tape_or_a_typed_error(text in "(t1:|t2:)?[0-9.,*@:#%a-z\\[\\]]{0,40}") {
        if let Err(e) = text.parse::<Tape>() {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
