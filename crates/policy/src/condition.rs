//! The `Condition` element: operators, set qualifiers, `IfExists`, and their evaluation.
//!
//! Semantics (AWS IAM User Guide, "Condition operators" and "Conditions with multiple context
//! keys or values"):
//! - several operators in a block, and several keys under one operator: AND;
//! - several values for one key: OR; for a negated operator (`StringNotEquals`, `NotIpAddress`,
//!   ...): NOR (the context value matches none of them);
//! - a key absent from the request context: false, except negated operators (true), `...IfExists`
//!   (true), `ForAllValues:` (true: vacuously every value matches) and `Null`;
//! - a policy value holding a variable with no value (key absent or multi-valued, no default) is
//!   "effectively null. There is no equal or like value" ("Policy variables with no value"): it
//!   matches no context value, so a positive operator finds no match in it and a negated one holds
//!   against it; the other values of the list, `...IfExists` and the set operators apply as usual;
//! - a multi-valued context key without a set qualifier: a positive operator holds when any
//!   context value matches, a negated one when no context value matches;
//! - `ForAnyValue:` holds when at least one context value satisfies the operator, `ForAllValues:`
//!   when every one does;
//! - condition key names are case-insensitive, values are compared as the operator says.

use std::net::IpAddr;

use base64::Engine as _;
use ipnet::IpNet;
use serde_json::Value;

use crate::arn_pattern::ArnPattern;
use crate::context::{parse_number, Context, ContextValue, Key};
use crate::date::{self, Instant};
use crate::pattern::{matched, ArnMode, Pattern, Syntax};

/// Why a condition could not be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undecided {
    /// A value could not be read as the operator's type (a policy value, or a context value such
    /// as an `aws:SourceIp` that is no IP address). Decided fail-closed by the statement's effect.
    Malformed,
}

/// The operator families that IAM defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    String,
    StringIgnoreCase,
    StringLike,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

/// An operator name taken apart: `ForAnyValue:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operator {
    family: Family,
    rel: Rel,
    negated: bool,
    qualifier: Qualifier,
    if_exists: bool,
}

impl Operator {
    /// Read an operator name; `None` for names IAM does not define.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Qualifier::ForAnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Qualifier::ForAllValues, r)
        } else {
            (Qualifier::None, name)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(b) => (true, b),
            None => (false, rest),
        };
        use Family as F;
        use Rel as R;
        let (family, rel, negated) = match base {
            "StringEquals" => (F::String, R::Eq, false),
            "StringNotEquals" => (F::String, R::Eq, true),
            "StringEqualsIgnoreCase" => (F::StringIgnoreCase, R::Eq, false),
            "StringNotEqualsIgnoreCase" => (F::StringIgnoreCase, R::Eq, true),
            "StringLike" => (F::StringLike, R::Eq, false),
            "StringNotLike" => (F::StringLike, R::Eq, true),
            "NumericEquals" => (F::Numeric, R::Eq, false),
            "NumericNotEquals" => (F::Numeric, R::Eq, true),
            "NumericLessThan" => (F::Numeric, R::Lt, false),
            "NumericLessThanEquals" => (F::Numeric, R::Le, false),
            "NumericGreaterThan" => (F::Numeric, R::Gt, false),
            "NumericGreaterThanEquals" => (F::Numeric, R::Ge, false),
            "DateEquals" => (F::Date, R::Eq, false),
            "DateNotEquals" => (F::Date, R::Eq, true),
            "DateLessThan" => (F::Date, R::Lt, false),
            "DateLessThanEquals" => (F::Date, R::Le, false),
            "DateGreaterThan" => (F::Date, R::Gt, false),
            "DateGreaterThanEquals" => (F::Date, R::Ge, false),
            "Bool" => (F::Bool, R::Eq, false),
            "BinaryEquals" => (F::Binary, R::Eq, false),
            "IpAddress" => (F::Ip, R::Eq, false),
            "NotIpAddress" => (F::Ip, R::Eq, true),
            "ArnEquals" | "ArnLike" => (F::Arn, R::Eq, false),
            "ArnNotEquals" | "ArnNotLike" => (F::Arn, R::Eq, true),
            "Null" => (F::Null, R::Eq, false),
            _ => return None,
        };
        Some(Operator {
            family,
            rel,
            negated,
            qualifier,
            if_exists,
        })
    }

    pub(crate) fn family(&self) -> Family {
        self.family
    }

    pub(crate) fn is_for_all_values(&self) -> bool {
        self.qualifier == Qualifier::ForAllValues
    }

    pub(crate) fn is_negated(&self) -> bool {
        self.negated
    }
}

/// The compiled policy values of one clause.
#[derive(Debug, Clone)]
enum Values {
    Str(Box<[Pattern]>),
    Num(Box<[Option<f64>]>),
    Date(Box<[Option<Instant>]>),
    Bool(Box<[Option<bool>]>),
    Binary(Box<[Option<Vec<u8>>]>),
    Ip(Box<[Option<IpNet>]>),
    Arn(Box<[ArnPattern]>),
    Null(Box<[Option<bool>]>),
}

/// One `operator: { key: values }` pair.
#[derive(Debug, Clone)]
struct Clause {
    op: Operator,
    /// The condition key.
    key: Key,
    values: Values,
}

/// A whole `Condition` element: every clause must hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConditionBlock {
    clauses: Box<[Clause]>,
}

/// A policy value as text: IAM accepts JSON strings, booleans and numbers.
pub(crate) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The values of a key, whether written as one value or a list.
pub(crate) fn value_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(value_text).collect(),
        other => value_text(other).into_iter().collect(),
    }
}

impl ConditionBlock {
    /// Compile a validated `Condition` object. Operators IAM does not know only validate with an
    /// empty block and are dropped.
    pub(crate) fn compile(cond: &serde_json::Map<String, Value>, variables: bool) -> Self {
        let mut clauses = Vec::new();
        for (op_name, keys) in cond {
            let Some(op) = Operator::parse(op_name) else {
                continue;
            };
            let Some(keys) = keys.as_object() else {
                continue;
            };
            for (key, raw) in keys {
                let texts = value_list(raw);
                clauses.push(Clause {
                    op,
                    key: Key::new(key),
                    values: compile_values(op.family, &texts, variables),
                });
            }
        }
        ConditionBlock {
            clauses: clauses.into_boxed_slice(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Some clause tests this (lower-cased) key with a positive, non-`IfExists` operator, so the
    /// statement can only apply when the key has a matching value.
    pub(crate) fn tests_positively(&self, lower_key: &str) -> bool {
        let key = Key::new(lower_key);
        self.clauses.iter().any(|c| {
            c.key == key
                && !c.op.negated
                && !c.op.if_exists
                && c.op.qualifier == Qualifier::None
                && c.op.family != Family::Null
        })
    }

    pub(crate) fn has_vars(&self) -> bool {
        self.clauses.iter().any(|c| match &c.values {
            Values::Str(p) => p.iter().any(Pattern::has_vars),
            Values::Arn(p) => p.iter().any(ArnPattern::has_vars),
            _ => false,
        })
    }

    /// Every clause holds.
    pub(crate) fn eval(&self, ctx: &Context) -> Result<bool, Undecided> {
        for clause in self.clauses.iter() {
            if !clause.eval(ctx)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn compile_values(family: Family, texts: &[String], variables: bool) -> Values {
    let string_syntax = |wildcards, ignore_case| Syntax {
        wildcards,
        variables,
        ignore_case,
        arn: ArnMode::Off,
    };
    match family {
        Family::String => Values::Str(
            texts
                .iter()
                .map(|t| Pattern::compile(t, string_syntax(false, false)))
                .collect(),
        ),
        Family::StringIgnoreCase => Values::Str(
            texts
                .iter()
                .map(|t| Pattern::compile(t, string_syntax(false, true)))
                .collect(),
        ),
        Family::StringLike => Values::Str(
            texts
                .iter()
                .map(|t| Pattern::compile(t, string_syntax(true, false)))
                .collect(),
        ),
        Family::Arn => Values::Arn(
            texts
                .iter()
                .map(|t| {
                    ArnPattern::compile(
                        t,
                        Syntax {
                            arn: ArnMode::Condition,
                            ..string_syntax(true, false)
                        },
                    )
                })
                .collect(),
        ),
        Family::Numeric => Values::Num(texts.iter().map(|t| parse_number(t)).collect()),
        Family::Date => Values::Date(texts.iter().map(|t| date::parse(t)).collect()),
        Family::Bool => Values::Bool(texts.iter().map(|t| parse_bool(t)).collect()),
        Family::Null => Values::Null(texts.iter().map(|t| parse_bool(t)).collect()),
        Family::Binary => Values::Binary(texts.iter().map(|t| parse_binary(t)).collect()),
        Family::Ip => Values::Ip(texts.iter().map(|t| parse_net(t)).collect()),
    }
}

fn parse_bool(t: &str) -> Option<bool> {
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_binary(t: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(t).ok()
}

/// `203.0.113.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128).
pub(crate) fn parse_net(t: &str) -> Option<IpNet> {
    let t = t.trim();
    t.parse::<IpNet>()
        .ok()
        .or_else(|| t.parse::<IpAddr>().ok().map(IpNet::from))
}

impl Clause {
    fn eval(&self, ctx: &Context) -> Result<bool, Undecided> {
        let present = ctx.values(&self.key);
        if let Values::Null(expect_absent) = &self.values {
            let absent = present.is_none();
            let mut any = false;
            for want in expect_absent.iter() {
                any |= (*want).ok_or(Undecided::Malformed)? == absent;
            }
            return Ok(any);
        }
        let Some(ctx_values) = present else {
            return Ok(match self.op.qualifier {
                _ if self.op.if_exists => true,
                Qualifier::ForAllValues => true,
                Qualifier::ForAnyValue => false,
                Qualifier::None => self.op.negated,
            });
        };
        match self.op.qualifier {
            Qualifier::ForAllValues => {
                for v in ctx_values {
                    if !self.holds_for(v, ctx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Qualifier::ForAnyValue => {
                for v in ctx_values {
                    if self.holds_for(v, ctx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Qualifier::None if self.op.negated => {
                // No context value may match any policy value.
                for v in ctx_values {
                    if self.any_positive(v, ctx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Qualifier::None => {
                for v in ctx_values {
                    if self.any_positive(v, ctx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    /// The operator holds for one context value.
    fn holds_for(&self, v: &ContextValue, ctx: &Context) -> Result<bool, Undecided> {
        let positive = self.any_positive(v, ctx)?;
        Ok(positive != self.op.negated)
    }

    /// Some policy value matches the context value under the (un-negated) relation.
    fn any_positive(&self, cv: &ContextValue, ctx: &Context) -> Result<bool, Undecided> {
        let rel = self.op.rel;
        let v = cv.text();
        match &self.values {
            Values::Str(patterns) => {
                for p in patterns.iter() {
                    if matched(p.matches_any_case(v, ctx)) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Values::Arn(patterns) => {
                for p in patterns.iter() {
                    if matched(p.matches(v, ctx)) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Values::Num(policy) => {
                let x = cv.number().ok_or(Undecided::Malformed)?;
                any_rel(policy, rel, |p| x.partial_cmp(&p))
            }
            Values::Date(policy) => {
                let x = cv.date().ok_or(Undecided::Malformed)?;
                any_rel(policy, rel, |p| Some(x.cmp(&p)))
            }
            Values::Bool(policy) => {
                let x = parse_bool(v).ok_or(Undecided::Malformed)?;
                any_rel(policy, Rel::Eq, |p| Some(x.cmp(&p)))
            }
            Values::Binary(policy) => {
                let x = parse_binary(v).ok_or(Undecided::Malformed)?;
                for p in policy.iter() {
                    if *p.as_ref().ok_or(Undecided::Malformed)? == x {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Values::Ip(policy) => {
                let ip = cv.ip().ok_or(Undecided::Malformed)?;
                for net in policy.iter() {
                    if net.ok_or(Undecided::Malformed)?.contains(&ip) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Values::Null(_) => Err(Undecided::Malformed),
        }
    }
}

/// Some policy value `p` satisfies `context REL p`.
fn any_rel<T: Copy>(
    policy: &[Option<T>],
    rel: Rel,
    cmp: impl Fn(T) -> Option<std::cmp::Ordering>,
) -> Result<bool, Undecided> {
    use std::cmp::Ordering as O;
    for p in policy {
        let ord = cmp(p.ok_or(Undecided::Malformed)?).ok_or(Undecided::Malformed)?;
        let holds = match rel {
            Rel::Eq => ord == O::Equal,
            Rel::Lt => ord == O::Less,
            Rel::Le => ord != O::Greater,
            Rel::Gt => ord == O::Greater,
            Rel::Ge => ord != O::Less,
        };
        if holds {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(cond: Value, ctx: &Context) -> Result<bool, Undecided> {
        let map = cond.as_object().cloned().unwrap_or_default();
        ConditionBlock::compile(&map, true).eval(ctx)
    }

    #[test]
    fn missing_keys() {
        let ctx = Context::new();
        assert_eq!(eval(json!({"StringEquals": {"k": "v"}}), &ctx), Ok(false));
        assert_eq!(eval(json!({"StringNotEquals": {"k": "v"}}), &ctx), Ok(true));
        assert_eq!(
            eval(json!({"StringEqualsIfExists": {"k": "v"}}), &ctx),
            Ok(true)
        );
        assert_eq!(
            eval(json!({"ForAllValues:StringEquals": {"k": "v"}}), &ctx),
            Ok(true)
        );
        assert_eq!(
            eval(json!({"ForAnyValue:StringEquals": {"k": "v"}}), &ctx),
            Ok(false)
        );
        assert_eq!(eval(json!({"Null": {"k": "true"}}), &ctx), Ok(true));
        assert_eq!(eval(json!({"Null": {"k": false}}), &ctx), Ok(false));
    }

    /// IAM User Guide, "Policy variables with no value": the value is effectively null, "There is
    /// no equal or like value": positive operators do not match, negated ones do; `...IfExists`
    /// and the set operators follow from that with their usual rules.
    #[test]
    fn variables_with_no_value() {
        let mut ctx = Context::new();
        ctx.insert("s3:ExistingObjectTag/team", "red");
        ctx.insert_multi("aws:TagKeys", ["red", "blue"]);
        ctx.insert("aws:PrincipalArn", "arn:aws:iam::1:user/alice");
        let v = "${aws:PrincipalTag/team}";
        let arn = "arn:aws:iam::1:role/${aws:PrincipalTag/team}";
        let key = "s3:ExistingObjectTag/team";
        let table = [
            ("StringEquals", key, v, false),
            ("StringNotEquals", key, v, true),
            ("StringEqualsIgnoreCase", key, v, false),
            ("StringNotEqualsIgnoreCase", key, v, true),
            ("StringLike", key, "${aws:PrincipalTag/team}*", false),
            ("StringNotLike", key, "${aws:PrincipalTag/team}*", true),
            ("ArnEquals", "aws:PrincipalArn", arn, false),
            ("ArnLike", "aws:PrincipalArn", arn, false),
            ("ArnNotEquals", "aws:PrincipalArn", arn, true),
            ("ArnNotLike", "aws:PrincipalArn", arn, true),
            ("StringEqualsIfExists", key, v, false),
            ("StringNotEqualsIfExists", key, v, true),
            ("StringEqualsIfExists", "absent", v, true),
            ("StringNotEquals", "absent", v, true),
            ("ForAnyValue:StringEquals", "aws:TagKeys", v, false),
            ("ForAnyValue:StringNotEquals", "aws:TagKeys", v, true),
            ("ForAnyValue:StringNotEquals", "absent", v, false),
            ("ForAllValues:StringEquals", "aws:TagKeys", v, false),
            ("ForAllValues:StringNotEquals", "aws:TagKeys", v, true),
            ("ForAllValues:StringEquals", "absent", v, true),
        ];
        for (op, k, value, want) in table {
            let mut inner = serde_json::Map::new();
            inner.insert(k.to_owned(), json!(value));
            let mut cond = serde_json::Map::new();
            cond.insert(op.to_owned(), Value::Object(inner));
            assert_eq!(
                eval(Value::Object(cond), &ctx),
                Ok(want),
                "{op} {k} {value}"
            );
        }
        // The null value matches nothing; the other values of the list still count.
        let c = json!({"StringNotEquals": {"s3:ExistingObjectTag/team": [v, "red"]}});
        assert_eq!(eval(c, &ctx), Ok(false));
        let c = json!({"StringEquals": {"s3:ExistingObjectTag/team": [v, "red"]}});
        assert_eq!(eval(c, &ctx), Ok(true));
        // A multivalued key has no value as a variable.
        let c = json!({"StringNotEquals": {"s3:ExistingObjectTag/team": "${aws:TagKeys}"}});
        assert_eq!(eval(c, &ctx), Ok(true));
        // A default gives the variable a value.
        let c = json!({"StringNotEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team, 'red'}"}});
        assert_eq!(eval(c, &ctx), Ok(false));
    }

    #[test]
    fn negated_multi_values_are_nor() {
        let mut ctx = Context::new();
        ctx.insert("aws:PrincipalTag/role", "audit");
        let c = json!({"StringNotEquals": {"aws:principaltag/role": ["audit", "security"]}});
        assert_eq!(eval(c, &ctx), Ok(false));
        ctx.insert("aws:PrincipalTag/role", "dev");
        let c = json!({"StringNotEquals": {"aws:principaltag/role": ["audit", "security"]}});
        assert_eq!(eval(c, &ctx), Ok(true));
    }

    #[test]
    fn ip_and_malformed() {
        let mut ctx = Context::new();
        ctx.insert("aws:SourceIp", "2001:db8::1");
        assert_eq!(
            eval(
                json!({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}),
                &ctx
            ),
            Ok(true)
        );
        assert_eq!(
            eval(json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), &ctx),
            Ok(false)
        );
        ctx.insert("aws:SourceIp", "not-an-ip");
        assert_eq!(
            eval(
                json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                &ctx
            ),
            Err(Undecided::Malformed)
        );
    }
}
