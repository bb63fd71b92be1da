//! The phone library through its generated Python bindings (UniFFI), as a native app uses
//! it through Kotlin or Swift: two phones meet, one reports with a code the authority
//! issued, the other is told its risk is high, against a real `openstopcovid serve`.
//!
//! The bindings are generated here, in-process, from the very `libphone` this test run
//! built (UniFFI's library mode reads the interface from the library's metadata), so the
//! workspace's one test build covers them: no second build of the library with other
//! features. The scenario is `crates/phone/tests/python/test_full_flow.py`; it needs
//! `python3` (3.8 or newer, standard library only).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary under test; `libphone` is built beside it (the workspace's cdylib).
const SERVER: &str = env!("CARGO_BIN_EXE_openstopcovid");

fn phone_library() -> PathBuf {
    let name = format!(
        "{}phone{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let dir = Path::new(SERVER)
        .parent()
        .expect("the binary is in a directory");
    // Cargo puts the library in `deps/` and copies it beside the binaries.
    [dir.join(&name), dir.join("deps").join(&name)]
        .into_iter()
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{name} was not built beside {SERVER}"))
}

#[test]
fn two_phones_through_the_python_bindings() {
    let work = tempfile::tempdir().unwrap();
    let bindings = work.path().join("bindings");
    let library = phone_library();
    let source = camino::Utf8PathBuf::from_path_buf(library.clone()).unwrap();
    let out_dir = camino::Utf8PathBuf::from_path_buf(bindings.clone()).unwrap();
    uniffi::generate(uniffi::GenerateOptions {
        languages: vec![uniffi::TargetLanguage::Python],
        source,
        out_dir,
        config_override: None,
        format: false,
        crate_filter: None,
        metadata_no_deps: true,
    })
    .expect("UniFFI generates the Python module from libphone");
    assert!(bindings.join("phone.py").exists(), "no phone.py generated");
    // The generated module loads the library from its own directory.
    std::fs::copy(&library, bindings.join(library.file_name().unwrap())).unwrap();

    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../phone/tests/python/test_full_flow.py");
    let output = Command::new("python3")
        .arg(&script)
        .env("PYTHONPATH", &bindings)
        .env("OPENSTOPCOVID_BIN", SERVER)
        .env("OPENSTOPCOVID_TEST_DIR", work.path())
        .output()
        .expect("python3 runs (the tests need Python 3.8+)");
    assert!(
        output.status.success(),
        "the Python flow failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
