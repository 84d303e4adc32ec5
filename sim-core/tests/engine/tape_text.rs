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
        let tape = Tape::from_choices(choices);
        let parsed: Tape = tape.to_string().parse().unwrap();
        prop_assert_eq!(parsed, tape.trimmed());
    }

    #[test]
    fn identity_tapes_round_trip_through_text(items in prop::collection::vec((choice(), identity()), 0..20)) {
        let (choices, ids): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        let tape = Tape::with_identities(choices, ids);
        let text = tape.to_string();
        let parsed: Tape = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        prop_assert_eq!(parsed, tape.trimmed());
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
