//! Expressions and templates, evaluated with minijinja in a sandbox.
//!
//! Upstream Blueprints write Go-template-like `{{ .config.x == 'y' }}`; the
//! leading dot is accepted and dropped. Templates have no loader (no file
//! system), no access to the environment or network, strict undefined
//! variables and bounded fuel, so a hostile Blueprint cannot hang a build.

use std::collections::HashSet;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde_json::Value as Json;

/// The `application` variables of `when`, `values` and templates (docs/inputs.md): built in one
/// place so that expressions and templates see the same values. `environment` is the
/// Environment's name (`acme-prod`), which is also the namespace the Application runs in.
pub fn application_variables(name: &str, org: &str, environment: &str, env_type: crate::model::EnvType) -> Json {
    serde_json::json!({"name": name, "org": org, "environment": environment, "envType": env_type.as_str(), "namespace": environment})
}

/// The `sovereign` variables of `when`, `values` and templates, which are also the values a
/// configSchema property takes with `x-catalyst-sovereign` (see [`SOVEREIGN_VALUES`]): the
/// FQDN, the DNS zone it is served from, the regions and the hosts of the platform.
pub fn sovereign_variables(sovereign: &crate::model::Sovereign) -> Json {
    let fqdn = &sovereign.spec.fqdn;
    let hosts: serde_json::Map<String, Json> = crate::check::releases::HOSTS
        .iter()
        .map(|(label, _)| (label.to_string(), crate::check::releases::sovereign_host(fqdn, label).into()))
        .collect();
    serde_json::json!({
        "fqdn": fqdn,
        "name": sovereign.name,
        "provider": sovereign.spec.provider,
        "zone": fqdn,
        "regions": sovereign.spec.regions,
        "hosts": hosts,
    })
}

/// Every value [`sovereign_variables`] holds, as `x-catalyst-sovereign` names it.
pub const SOVEREIGN_VALUES: [&str; 10] =
    ["fqdn", "name", "provider", "zone", "regions", "hosts.gitea", "hosts.auth", "hosts.console", "hosts.api", "hosts.bao"];

/// The values of an Organization a configSchema property takes with `x-catalyst-organization`
/// (see [`ORGANIZATION_VALUES`]): its slug, its realm and the realm's OIDC issuer, which
/// depends on where the Sovereign runs the realm (`keycloakTopology`).
pub fn organization_variables(sovereign: &crate::model::Sovereign, slug: &str) -> Json {
    let auth = match sovereign.spec.keycloak_topology.as_str() {
        "per-organization" => crate::check::releases::sovereign_host(&sovereign.spec.fqdn, &format!("auth.{slug}")),
        _ => crate::check::releases::sovereign_host(&sovereign.spec.fqdn, "auth"),
    };
    serde_json::json!({"slug": slug, "realm": slug, "issuer": format!("https://{auth}/realms/{slug}")})
}

/// Every value [`organization_variables`] holds.
pub const ORGANIZATION_VALUES: [&str; 3] = ["slug", "realm", "issuer"];

/// Instructions one expression or template may execute.
pub const FUEL: u64 = 200_000;

/// Operators one `{{ … }}` or `{% … %}` may hold. minijinja's parser recurses
/// once per prefix operator (`not not …`, `- - …`) without a depth guard, so a
/// long chain overflows the stack; no real expression comes near this.
pub const MAX_OPERATORS_PER_TAG: usize = 500;

/// Brackets one `{{ … }}` or `{% … %}` may nest. The parser descends its whole
/// precedence chain for each `(`, so a hundred levels outgrow a 2 MiB thread
/// stack in a debug build; real expressions nest a few levels.
pub const MAX_NESTING_PER_TAG: usize = 32;

/// Refuses sources whose tags hold more operators than [`MAX_OPERATORS_PER_TAG`]
/// or nest brackets deeper than [`MAX_NESTING_PER_TAG`].
fn check_complexity(source: &str) -> Result<(), ExprError> {
    // Outside `{{ }}` a bare `when` string is one expression: count it whole.
    let mut tags: Vec<&str> = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("{{").into_iter().chain(rest.find("{%")).min() {
        let body = &rest[start + 2..];
        let end = body.find("}}").into_iter().chain(body.find("%}")).min().unwrap_or(body.len());
        tags.push(&body[..end]);
        rest = &body[end..];
    }
    if tags.is_empty() {
        tags.push(source);
    }
    for tag in tags {
        let words = tag.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| *w == "not").count();
        let symbols = tag.chars().filter(|c| matches!(c, '|' | '-' | '+' | '.' | '(' | '[' | '~' | '*' | '!')).count();
        if words + symbols > MAX_OPERATORS_PER_TAG {
            return Err(ExprError(format!(
                "an expression with {} operators; the limit is {MAX_OPERATORS_PER_TAG} per `{{{{ }}}}` or `{{% %}}`",
                words + symbols
            )));
        }
        let deepest = tag
            .chars()
            .scan(0usize, |depth, c| {
                match c {
                    '(' | '[' | '{' => *depth += 1,
                    ')' | ']' | '}' => *depth = depth.saturating_sub(1),
                    _ => {}
                }
                Some(*depth)
            })
            .max()
            .unwrap_or(0);
        if deepest > MAX_NESTING_PER_TAG {
            return Err(ExprError(format!(
                "brackets nested {deepest} levels deep; the limit is {MAX_NESTING_PER_TAG} per `{{{{ }}}}` or `{{% %}}`"
            )));
        }
    }
    Ok(())
}

/// A sandboxed minijinja environment with the project's settings.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_recursion_limit(64);
    // Block tags on lines of their own leave no blank lines in the YAML they produce.
    if let Ok(syntax) = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build() {
        env.set_syntax(syntax);
    }
    // Expressions make values, not markup: no HTML escaping.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// The environment templates render in. Their output is YAML, and what a value prints there is
/// a YAML value and nothing more (see [`crate::support::yaml::flow_value`]): a name prints as itself, any
/// other string as one double-quoted scalar whose every character but letters, digits, spaces and
/// `._/-` is escaped, a number or boolean as itself, a list or map as flow YAML. So a
/// configuration value can never add, remove or retype a key, wherever the template puts it.
/// `tojson` prints the same; `safe` prints a string as it is, for the template's own text.
pub fn template_environment() -> Environment<'static> {
    let mut env = environment();
    env.set_formatter(|out, _state, value| {
        let text = if value.is_safe() { value.as_str().unwrap_or_default().to_string() } else { printed(value)? };
        out.write_str(&text).map_err(minijinja::Error::from)
    });
    env.add_filter("tojson", |value: Value| printed(&value).map(Value::from_safe_string));
    env
}

fn printed(value: &Value) -> Result<String, minijinja::Error> {
    let json = serde_json::to_value(value).map_err(|e| minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string()))?;
    Ok(crate::support::yaml::flow_value(&json))
}

/// Failure of an expression, with the message minijinja gave.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError(pub String);

impl From<minijinja::Error> for ExprError {
    fn from(e: minijinja::Error) -> Self {
        let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
        ExprError(format!("{}{detail}", e.kind()))
    }
}

/// Evaluates a `when` condition. Without `{{ }}` the whole string is the expression.
pub fn condition(env: &Environment<'_>, source: &str, context: &Json) -> Result<bool, ExprError> {
    check_complexity(source)?;
    let inner = sole_expression(source).unwrap_or(source);
    let expression = env.compile_expression_owned(strip_leading_dots(inner))?;
    let value = expression.eval(Value::from(Serde(context)))?;
    // A misspelt key must not silently read as false.
    if value.is_undefined() {
        return Err(ExprError(format!("`{}` is undefined", inner.trim())));
    }
    Ok(value.is_true())
}

/// Renders every string inside `values`. A string that is exactly one
/// `{{ … }}` keeps the expression's type; other strings render as text.
pub fn render_values(env: &Environment<'_>, values: &Json, context: &Json) -> Result<Json, ExprError> {
    Ok(match values {
        Json::String(s) if s.contains("{{") || s.contains("{%") => match sole_expression(s) {
            Some(inner) => {
                check_complexity(s)?;
                let expression = env.compile_expression_owned(strip_leading_dots(inner))?;
                let value = expression.eval(Value::from(Serde(context)))?;
                serde_json::to_value(&value).map_err(|e| ExprError(e.to_string()))?
            }
            None => Json::String(render_text(env, s, context)?),
        },
        Json::Array(items) => Json::Array(items.iter().map(|v| render_values(env, v, context)).collect::<Result<_, _>>()?),
        Json::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| Ok((k.clone(), render_values(env, v, context)?))).collect::<Result<_, ExprError>>()?)
        }
        other => other.clone(),
    })
}

/// Renders a template text (leading-dot references accepted inside `{{ }}`).
pub fn render_text(env: &Environment<'_>, source: &str, context: &Json) -> Result<String, ExprError> {
    check_complexity(source)?;
    Ok(env.render_str(&strip_leading_dots_in_tags(source), Value::from(Serde(context)))?)
}

/// The variables (dotted paths such as `config.db.mode`) a `when` condition reads, or why it does not parse.
pub fn expression_variables(env: &Environment<'_>, source: &str) -> Result<HashSet<String>, minijinja::Error> {
    check_complexity(source).map_err(|e| minijinja::Error::new(minijinja::ErrorKind::SyntaxError, e.0))?;
    let inner = sole_expression(source).unwrap_or(source);
    Ok(env.compile_expression_owned(strip_leading_dots(inner))?.undeclared_variables(true))
}

/// The variables a `values` string or a template file reads, or why it does not parse.
pub fn template_variables(env: &Environment<'_>, source: &str) -> Result<HashSet<String>, minijinja::Error> {
    check_complexity(source).map_err(|e| minijinja::Error::new(minijinja::ErrorKind::SyntaxError, e.0))?;
    if let Some(inner) = sole_expression(source) {
        return Ok(env.compile_expression_owned(strip_leading_dots(inner))?.undeclared_variables(true));
    }
    Ok(env.template_from_str(&strip_leading_dots_in_tags(source))?.undeclared_variables(true))
}

/// `{{ expr }}` → `expr` when the string is one expression and nothing else.
fn sole_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

/// Drops the Go-template leading dot of variable references outside string literals:
/// `.config.a == 'x.y'` → `config.a == 'x.y'`. A dot after an identifier, `)` or `]`
/// is attribute access and stays.
pub fn strip_leading_dots(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => {
                let starts_reference = c == '.'
                    && chars.peek().is_some_and(|n| n.is_ascii_alphabetic() || *n == '_')
                    && !(previous.is_alphanumeric() || matches!(previous, '_' | ')' | ']' | '.'));
                if !starts_reference {
                    if c == '\'' || c == '"' {
                        quote = Some(c);
                    }
                    out.push(c);
                }
            }
        }
        if !c.is_whitespace() {
            previous = c;
        }
    }
    out
}

/// Applies [`strip_leading_dots`] to the inside of every `{{ … }}` and `{% … %}` tag.
fn strip_leading_dots_in_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find(['{']) {
        let (before, tail) = rest.split_at(start);
        out.push_str(before);
        let close = if tail.starts_with("{{") {
            "}}"
        } else if tail.starts_with("{%") {
            "%}"
        } else {
            out.push('{');
            rest = &tail[1..];
            continue;
        };
        match tail[2..].find(close) {
            Some(end) => {
                out.push_str(&tail[..2]);
                out.push_str(&strip_leading_dots(&tail[2..2 + end]));
                out.push_str(close);
                rest = &tail[2 + end + 2..];
            }
            None => {
                out.push_str(tail);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_sovereign_value_is_a_leaf_of_the_sovereign_variables() {
        let spec = json!({"fqdn": "acme.example.com", "provider": "hetzner", "catalogs": [], "regions": ["hz-fsn-rtz-prod"]});
        let sovereign = crate::model::Sovereign {
            name: "acme".into(),
            spec: serde_json::from_value(spec).expect("a Sovereign spec"),
            dir: Default::default(),
            origin: crate::support::source::Origin::new(crate::support::source::FileId(0), ""),
            organizations: Vec::new(),
        };
        let variables = sovereign_variables(&sovereign);
        let mut leaves = Vec::new();
        for (key, value) in variables.as_object().expect("an object") {
            match value.as_object() {
                Some(nested) => leaves.extend(nested.keys().map(|k| format!("{key}.{k}"))),
                None => leaves.push(key.clone()),
            }
        }
        leaves.sort();
        let mut listed: Vec<String> = SOVEREIGN_VALUES.iter().map(|v| v.to_string()).collect();
        listed.sort();
        assert_eq!(leaves, listed);
        assert_eq!(variables["hosts"]["console"], "console.acme.example.com");
        assert_eq!(variables["zone"], "acme.example.com");
    }

    #[test]
    fn go_template_dots_are_accepted() {
        assert_eq!(strip_leading_dots(".config.a == 'x.y' and f(.b).c"), "config.a == 'x.y' and f(b).c");
        let env = environment();
        let ctx = json!({"config": {"database": {"mode": "embedded"}}});
        assert!(condition(&env, "{{ .config.database.mode == 'embedded' }}", &ctx).unwrap());
        assert!(!condition(&env, "config.database.mode == 'external'", &ctx).unwrap());
        assert!(condition(&env, "{{ .config.nope }}", &ctx).is_err());
    }

    #[test]
    fn values_keep_expression_types() {
        let env = environment();
        let ctx = json!({"application": {"name": "shop"}, "config": {"n": 3}});
        let values = json!({"databases": ["{{ .application.name }}"], "n": "{{ config.n }}", "t": "db-{{ .application.name }}"});
        assert_eq!(render_values(&env, &values, &ctx).unwrap(), json!({"databases": ["shop"], "n": 3, "t": "db-shop"}));
    }

    #[test]
    fn deeply_nested_brackets_are_refused_before_parsing() {
        let env = environment();
        let nested = |depth: usize| format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(condition(&env, &format!("{} == 1", nested(MAX_NESTING_PER_TAG)), &json!({})).map_err(|e| e.0), Ok(true));
        let err = condition(&env, &format!("{} == 1", nested(MAX_NESTING_PER_TAG + 1)), &json!({})).unwrap_err();
        assert!(err.0.contains("nested 33 levels deep"), "{}", err.0);
        // Unclosed brackets count as well: the parser recurses before it finds them missing.
        let err = render_text(&env, &format!("{{{{ {} }}}}", "4+(".repeat(105)), &json!({})).unwrap_err();
        assert!(err.0.contains("nested 105 levels deep"), "{}", err.0);
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let env = environment();
        let err =
            render_text(&env, "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", &json!({})).unwrap_err();
        assert!(err.0.contains("fuel"), "{}", err.0);
    }
}
