//! Structural validation of input files against the JSON Schemas in `schemas/`.
//!
//! The schemas are compiled into the binary, so the compiler and editors
//! (through yaml-language-server) judge files by the same rules.

use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value as Json;

use crate::diagnostic::codes;
use crate::diagnostic::violation::{violations, Codes, Locate};
use crate::diagnostic::Diagnostic;
use crate::support::source::{FileId, Sources, Span};

/// The input kinds that have a schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Blueprint,
    Sovereign,
    Organization,
}

impl InputKind {
    fn schema_text(self) -> &'static str {
        match self {
            InputKind::Blueprint => include_str!("../../../../schemas/blueprint.schema.json"),
            InputKind::Sovereign => include_str!("../../../../schemas/sovereign.schema.json"),
            InputKind::Organization => include_str!("../../../../schemas/organization.schema.json"),
        }
    }

    fn schema(self) -> &'static (Json, Validator) {
        static SCHEMAS: [OnceLock<(Json, Validator)>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        SCHEMAS[self as usize].get_or_init(|| {
            // The schemas ship inside the binary and are tested; failing here is a build defect.
            let schema: Json = serde_json::from_str(self.schema_text()).expect("embedded schema is JSON");
            let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("embedded schema compiles");
            (schema, validator)
        })
    }
}

/// How input files report what their schema refuses.
const CODES: Codes = Codes {
    unknown_field: codes::SCHEMA_UNKNOWN_FIELD,
    missing_field: codes::SCHEMA_MISSING_FIELD,
    wrong_type: codes::SCHEMA_WRONG_TYPE,
    invalid_value: codes::SCHEMA_INVALID_VALUE,
    undescribed: "see the schema in schemas/ for the allowed values",
};

/// Labels in a parsed input file.
struct InFile<'a> {
    file: FileId,
    sources: &'a Sources,
}

impl Locate for InFile<'_> {
    fn value(&self, pointer: &str) -> Span {
        self.sources.span_at(self.file, pointer)
    }

    fn key(&self, pointer: &str) -> Span {
        self.sources.key_span_at(self.file, pointer)
    }
}

/// Validates a parsed file; every error points at the offending value or key.
pub fn check(kind: InputKind, file: FileId, value: &Json, sources: &Sources) -> Vec<Diagnostic> {
    let (schema, validator) = kind.schema();
    let at = InFile { file, sources };
    validator.iter_errors(value).flat_map(|error| violations(&error, schema)).map(|v| v.diagnostic(&CODES, &at)).collect()
}
