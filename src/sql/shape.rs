//! SQL's shape, checked before either engine sees it: how deeply its expressions nest.
//!
//! `SELECT 1+1+…` with 20,000 terms parses into a tree 20,000 levels deep; planning, optimising
//! and even dropping it recurse once per level, which overflowed the stack (an abort, exit 134)
//! or took tens of seconds at 5,000 terms. A person's query nests a few dozen levels, so a
//! bound far above that refuses only what no engine should plan, in microseconds.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::usage_error;

/// The deepest expression accepted: parentheses plus chained operators at one level.
pub const MAX_NESTING: usize = 256;

/// Refuses SQL whose expressions nest deeper than [`MAX_NESTING`], with the depth found and
/// the fix; SQL that does not tokenize is left for the engine to explain.
pub fn check_nesting(sql: &str) -> anyhow::Result<()> {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return Ok(());
    };
    // One chain counter per open parenthesis: an operator deepens the tree by one at its
    // level, a comma or a keyword that starts a new clause starts a new expression.
    let mut chains: Vec<usize> = vec![0];
    let mut deepest = 0;
    for token in &tokens {
        match token {
            Token::LParen => chains.push(0),
            Token::RParen => {
                if chains.len() > 1 {
                    chains.pop();
                }
            }
            Token::Comma => {
                if let Some(chain) = chains.last_mut() {
                    *chain = 0;
                }
            }
            token if is_operator(token) => {
                if let Some(chain) = chains.last_mut() {
                    *chain += 1;
                }
            }
            _ => continue,
        }
        let depth = chains.len() - 1 + chains.last().copied().unwrap_or(0);
        deepest = deepest.max(depth);
        if deepest > MAX_NESTING {
            return Err(usage_error(format!(
                "the SQL nests deeper than {MAX_NESTING} levels (parentheses and chained operators in one expression): split the expression, or sum a column instead of writing out its terms"
            )));
        }
    }
    Ok(())
}

fn is_operator(token: &Token) -> bool {
    match token {
        Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::Mod
        // A comparison binds tighter than AND/OR and takes two operands, so a chain of
        // `a = 1 AND b = 2 …` is as deep as its ANDs; only chaining operators count.
        | Token::StringConcat => true,
        Token::Word(word) => {
            word.quote_style.is_none()
                && matches!(word.value.to_ascii_uppercase().as_str(), "AND" | "OR" | "NOT")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_queries_pass() {
        for sql in [
            "SELECT product_name, sum(total) FROM orders_cdc WHERE dt = '2026-11-28' AND hour >= '08' GROUP BY 1",
            "SELECT status, count(*) FROM orders_current GROUP BY 1 ORDER BY 2 DESC",
            "SELECT * FROM orders_cdc WHERE order_id IN ('a', 'b', 'c', 'd')",
            "not sql at all ' unterminated",
        ] {
            check_nesting(sql).unwrap();
        }
        let long_in_list = format!(
            "SELECT 1 WHERE 1 IN ({})",
            (0..5000)
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        check_nesting(&long_in_list).expect("a long list is wide, not deep");
    }

    #[test]
    fn deep_chains_and_parentheses_are_refused_at_once() {
        let chain = format!("SELECT 1{}", "+1".repeat(20_000));
        let started = std::time::Instant::now();
        let message = check_nesting(&chain).unwrap_err().to_string();
        assert!(message.contains("nests deeper than 256"), "{message}");
        assert!(message.contains("split the expression"), "{message}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let parens = format!("SELECT {}1{}", "(".repeat(300), ")".repeat(300));
        assert!(check_nesting(&parens).is_err());
        let and_chain = |n| format!("SELECT 1 WHERE {}", vec!["a = 1"; n].join(" AND "));
        assert!(
            check_nesting(&and_chain(200)).is_ok(),
            "200 conditions are wide enough"
        );
        assert!(check_nesting(&and_chain(300)).is_err(), "300 are not");
    }

    proptest! {
        #[test]
        fn up_to_the_bound_passes_and_beyond_it_is_refused(terms in 1usize..600) {
            let sql = format!("SELECT 1{}", "+1".repeat(terms));
            prop_assert_eq!(check_nesting(&sql).is_ok(), terms <= MAX_NESTING);
        }
    }
}
