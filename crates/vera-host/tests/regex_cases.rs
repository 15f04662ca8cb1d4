//! vera-rt's regex port against Python's `re`, on the cases
//! `scripts/regex_cases.py` generates from a seed and records with the
//! Python of Vera 0.2.3 (fixtures/regex_cases.json, rewritten by
//! `scripts/regen-fixtures`): every import's answer, `Err` text included.
//! The one known class of difference (a repeated group that can match
//! empty, `Translated::empty_iteration`) is allowed in at most 1 case in
//! 200; any other difference fails.
#![cfg(feature = "regex")]

use vera_families::regex::{answer, translate, Answer, Op};

#[test]
fn regex_port_answers_as_python_re() {
    let path = &std::env::var("REGEX_CASES")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/regex_cases.json").to_owned());
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let repl = doc["replacement"].as_str().unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 1000, "{} cases", cases.len());
    let mut failures = Vec::new();
    // Differences in the one known class (see `Translated::empty_iteration`).
    let mut known = Vec::new();
    for case in cases {
        let pattern = case["pattern"].as_str().unwrap();
        let subject = case["subject"].as_str().unwrap();
        let expected: Vec<(Op, Result<Answer, String>)> = match case.get("error") {
            Some(e) => [Op::Match, Op::Find, Op::FindAll, Op::Replace]
                .into_iter()
                .map(|op| (op, Err(e.as_str().unwrap().to_owned())))
                .collect(),
            None => vec![
                (Op::Match, Ok(Answer::Match(case["match"].as_bool().unwrap()))),
                (Op::Find, Ok(Answer::Find(case["find"].as_str().map(str::to_owned)))),
                (
                    Op::FindAll,
                    Ok(Answer::FindAll(
                        case["find_all"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|m| m.as_str().unwrap().to_owned())
                            .collect(),
                    )),
                ),
                (
                    Op::Replace,
                    Ok(Answer::Replace(case["replace"].as_str().unwrap().to_owned())),
                ),
            ],
        };
        for (op, want) in expected {
            let got = answer(op, subject, pattern, repl, vera_host::families::Meter::unbounded())
                .map_err(|e| format!("trap: {e}"));
            if got.as_ref().ok() != Some(&want) {
                let line = format!("{op:?} {pattern:?} on {subject:?}: want {want:?}, got {got:?}");
                if translate(pattern).is_ok_and(|t| t.empty_iteration) {
                    known.push(line);
                } else {
                    failures.push(line);
                }
                break;
            }
        }
    }
    // A few, not a pattern of failures.
    assert!(
        known.len() * 200 <= cases.len(),
        "{} cases differ in a known class:\n{}",
        known.len(),
        known.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Python's re:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
