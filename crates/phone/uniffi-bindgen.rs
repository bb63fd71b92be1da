//! The UniFFI binding generator, built from the same uniffi version as the library so that
//! the generated Kotlin, Swift and Python code matches its scaffolding (bindings/README.md).

fn main() {
    uniffi::uniffi_bindgen_main()
}
