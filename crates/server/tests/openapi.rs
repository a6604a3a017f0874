//! The OpenAPI document is valid OpenAPI 3.1, checked by an independent validator.

mod common;

#[test]
fn the_openapi_document_passes_an_openapi_3_1_validator() {
    let Some(python) = common::python_with("openapi_spec_validator") else { return };
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), carenest_server::openapi_json()).unwrap();
    let script = "import sys\nfrom openapi_spec_validator import validate\nfrom openapi_spec_validator.readers import read_from_filename\nspec, _ = read_from_filename(sys.argv[1])\nvalidate(spec)\n";
    let output = std::process::Command::new(python).args(["-c", script]).arg(file.path()).output().unwrap();
    assert!(output.status.success(), "invalid: {}", String::from_utf8_lossy(&output.stderr));
}
