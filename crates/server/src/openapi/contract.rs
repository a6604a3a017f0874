//! What the generated document can't say by annotations alone, added to it in one pass: the
//! error answers every operation shares, the rules every text field follows, that ids are
//! positive, and which fields a create needs. Schema-driven fuzzers (schemathesis) hold the
//! server to exactly this, so it must be as strict as the server and no stricter.

use serde_json::{json, Map, Value};

/// A text field's rule (`carenest_domain::validation`): no control characters but tab and
/// line breaks, and neither blank nor starting or ending with white space (Unicode's
/// `White_Space`, spelled out because regex dialects disagree on `\s`).
pub const TEXT_PATTERN: &str = concat!(
    "^[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]",
    "(?:[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*",
    "[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?$"
);

/// An e-mail address as the service checks it: a local part and a dotted domain, without
/// white space or control characters.
pub const EMAIL_PATTERN: &str = concat!(
    "^[^@\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+",
    "@[^@.\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+",
    "(?:\\.[^@.\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+)+$"
);

/// `HH:MM` or `HH:MM:SS`.
pub const TIME_PATTERN: &str = "^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$";

/// The fields a create needs, by operation and body schema; updates take any subset.
const CREATE_REQUIRES: &[(&str, &str, &[&str])] = &[
    ("/api/v1/parent-profile", "ParentProfileInput", &["name", "stressLevel", "experienceLevel"]),
    ("/api/v1/children", "ChildInput", &["name", "age"]),
    ("/api/v1/goals", "GoalInput", &["title"]),
    ("/api/v1/therapists", "TherapistInput", &["name"]),
    ("/api/v1/sessions", "SessionInput", &["date", "startTime", "endTime", "therapistIds"]),
];

/// Fields only a create takes, by body schema: an update names none of them.
const CREATE_ONLY: &[(&str, &[&str])] = &[("SessionInput", &["repeat"])];

/// Free JSON documents, by property name, and the kinds of JSON they may be.
const FREE_JSON: &[(&str, &[&str])] = &[("routines", &["object", "array"])];

/// Fields whose text is not a text field's: secrets are taken as typed.
const VERBATIM: &[&str] = &["password", "currentPassword", "username"];

pub fn refine(document: &mut Value) {
    free_json(document);
    require_on_create(document);
    for (schema, fields) in CREATE_ONLY {
        if let Some(Value::Object(properties)) =
            document.pointer_mut(&format!("/components/schemas/{schema}/properties"))
        {
            fields.iter().for_each(|field| drop(properties.remove(*field)));
        }
    }
    let request_schemas = request_schemas(document);
    if let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for (name, schema) in schemas.iter_mut() {
            if request_schemas.contains(name) {
                constrain_request_fields(schema);
            }
        }
    }
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for (_, operation) in item.as_object_mut().into_iter().flatten() {
                positive_ids(operation);
                shared_answers(path, operation);
            }
        }
    }
}

/// Wherever a schema has one, inline ones (list items) included.
fn free_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get_mut("properties") {
                for (name, kinds) in FREE_JSON {
                    if let Some(property) = properties.get_mut(*name) {
                        let mut types: Vec<Value> = kinds.iter().map(|k| json!(k)).collect();
                        if allows_type(property, "null") {
                            types.push(json!("null"));
                        }
                        property["type"] = Value::Array(types);
                    }
                }
            }
            map.values_mut().for_each(free_json);
        }
        Value::Array(items) => items.iter_mut().for_each(free_json),
        _ => {}
    }
}

/// A copy of each create's body schema that says which fields it needs (and that they may not
/// be `null`), used by the create only.
fn require_on_create(document: &mut Value) {
    for (path, schema, required) in CREATE_REQUIRES {
        let Some(mut copy) = document.pointer(&format!("/components/schemas/{schema}")).cloned() else {
            continue;
        };
        for field in *required {
            if let Some(property) = copy.pointer_mut(&format!("/properties/{field}")) {
                not_null(property);
            }
        }
        copy["required"] = json!(required);
        let name = format!("New{schema}");
        document["components"]["schemas"][&name] = copy;
        let body = format!("/paths/{}/post/requestBody/content/application~1json/schema", path.replace('/', "~1"));
        if let Some(reference) = document.pointer_mut(&body) {
            *reference = json!({"$ref": format!("#/components/schemas/{name}")});
        }
    }
}

fn not_null(property: &mut Value) {
    if let Some(types) = property.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            property["type"] = types[0].clone();
        }
    }
    if let Some(choices) = property.get_mut("oneOf").and_then(Value::as_array_mut) {
        choices.retain(|choice| choice.get("type") != Some(&json!("null")));
        if choices.len() == 1 {
            *property = choices.remove(0);
        }
    }
}

/// The names of the schemas request bodies use, with the schemas they refer to.
fn request_schemas(document: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for item in document["paths"].as_object().into_iter().flat_map(|paths| paths.values()) {
        for operation in item.as_object().into_iter().flat_map(|methods| methods.values()) {
            collect_refs(&operation["requestBody"], &mut pending);
        }
    }
    while let Some(name) = pending.pop() {
        if found.contains(&name) {
            continue;
        }
        collect_refs(&document["components"]["schemas"][&name], &mut pending);
        found.push(name);
    }
    found
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    into.push(name.to_owned());
                }
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// Text fields follow the text rule; e-mail addresses and times of day their own.
fn constrain_request_fields(schema: &mut Value) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else { return };
    for (name, property) in properties.iter_mut() {
        if VERBATIM.contains(&name.as_str()) || !allows_type(property, "string") {
            continue;
        }
        let constrained = property.as_object().is_some_and(|p| p.contains_key("pattern") || p.contains_key("format"));
        if constrained {
            continue;
        }
        let pattern = match name.as_str() {
            "email" => EMAIL_PATTERN,
            "startTime" | "endTime" => TIME_PATTERN,
            _ => TEXT_PATTERN,
        };
        property["pattern"] = json!(pattern);
        if let Some(Value::Object(items)) = property.get_mut("items") {
            items.insert("pattern".into(), json!(TEXT_PATTERN));
        }
    }
    for (name, property) in properties.iter_mut() {
        if allows_type(property, "array") && property["items"]["type"] == "string" {
            // Lists of short texts: each item a text field of its own.
            let items = &mut property["items"];
            items["pattern"] = json!(TEXT_PATTERN);
            items["maxLength"] = json!(carenest_domain::family::LIST_ITEM_MAX);
        }
        let is_id = name.ends_with("Id") || name.ends_with("Ids");
        if is_id && allows_type(property, "integer") {
            property["minimum"] = json!(1);
        }
        if is_id && allows_type(property, "array") && property["items"]["type"] == "integer" {
            property["items"]["minimum"] = json!(1);
            property["uniqueItems"] = json!(true);
        }
    }
}

fn allows_type(property: &Value, kind: &str) -> bool {
    match property.get("type") {
        Some(Value::String(t)) => t == kind,
        Some(Value::Array(types)) => types.iter().any(|t| t == kind),
        _ => false,
    }
}

/// Ids in paths are positive integers.
fn positive_ids(operation: &mut Value) {
    for parameter in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
        if parameter["in"] == "path" && parameter["schema"]["type"] == "integer" {
            parameter["schema"]["minimum"] = json!(1);
        }
    }
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

fn with_retry_after(mut answer: Value) -> Value {
    answer["headers"] = json!({"Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": true,
        "schema": {"type": "integer", "minimum": 1}
    }});
    answer
}

/// The error answers that any operation of a kind can give, where the operation does not
/// describe them itself.
fn shared_answers(path: &str, operation: &mut Value) {
    let secured = operation.get("security").is_some_and(|s| s.as_array().is_some_and(|s| !s.is_empty()));
    let has_body = operation.get("requestBody").is_some();
    let has_path_id = path.contains('{');
    let uses_database = path.starts_with("/api/v1/") || path.starts_with("/feeds/");
    let mut shared: Vec<(&str, Value)> = Vec::new();
    if path.starts_with("/api/v1/") {
        shared.push(("400", problem("A malformed path, query or body")));
    }
    if secured {
        shared.push(("401", problem("No valid bearer token")));
    }
    if has_path_id {
        shared.push(("404", problem("No such resource, or not one of yours")));
    }
    if has_body {
        shared.push(("408", problem("The body stopped arriving")));
        shared.push(("413", problem("The body is over 1 MiB")));
        shared.push(("415", problem("The body is not application/json")));
        shared.push(("422", problem("Fields break the rules; every one is listed")));
    }
    if uses_database {
        shared.push((
            "503",
            with_retry_after(problem("The database is not answering, or the server is too busy or too slow")),
        ));
    }
    let responses = operation["responses"].as_object_mut().expect("every operation has responses");
    for (status, answer) in shared {
        responses.entry(status).or_insert(answer);
    }
    if let Some(Value::Object(limited)) = responses.get_mut("429") {
        limited.entry("headers").or_insert_with(|| with_retry_after(Value::Object(Map::new()))["headers"].clone());
    }
}
