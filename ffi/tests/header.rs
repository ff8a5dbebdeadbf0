//! Checks that the checked-in `include/trimline.h` is what cbindgen generates
//! from this crate today.
//!
//! Run with `TRIMLINE_BLESS=1` to rewrite the header instead of failing.

use std::error::Error;
use std::path::{Path, PathBuf};

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// The crate directory (`ffi/`).
fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The checked-in header, `include/trimline.h` at the repository root.
fn header_path() -> PathBuf {
    crate_dir().join("../include/trimline.h")
}

/// The version macros, from the Cargo version this crate is built with.
fn version_macros() -> String {
    format!(
        "\n\
         /* The version of trimline this header belongs to; `tl_version()`\n \
         * returns the version of the library actually loaded. */\n\
         #define TL_VERSION_MAJOR {}\n\
         #define TL_VERSION_MINOR {}\n\
         #define TL_VERSION_PATCH {}\n\
         #define TL_VERSION \"{}\"\n\
         \n\
         /* Marks calls whose returned status must be read. */\n\
         #if defined(__GNUC__) || defined(__clang__)\n\
         #define TL_MUST_USE __attribute__((warn_unused_result))\n\
         #else\n\
         #define TL_MUST_USE\n\
         #endif",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    )
}

/// Generates the header text from `ffi/src` and `ffi/cbindgen.toml`.
fn generate(crate_dir: &Path) -> TestResult<String> {
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("ffi/cbindgen.toml: {e}"))?;
    config.after_includes = Some(version_macros());
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    Ok(String::from_utf8(out)?)
}

/// The first line (1-based) where `old` and `new` differ, with both versions
/// of it (`<end of file>` when one text is shorter).
fn first_difference<'a>(old: &'a str, new: &'a str) -> (usize, &'a str, &'a str) {
    let mut old_lines = old.lines();
    let mut new_lines = new.lines();
    let mut line = 1;
    loop {
        match (old_lines.next(), new_lines.next()) {
            (Some(o), Some(n)) if o == n => line += 1,
            (o, n) => {
                return (
                    line,
                    o.unwrap_or("<end of file>"),
                    n.unwrap_or("<end of file>"),
                );
            }
        }
    }
}

#[test]
fn header_is_up_to_date() -> TestResult {
    let generated = generate(&crate_dir())?;
    let path = header_path();

    if std::env::var_os("TRIMLINE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated)?;
        return Ok(());
    }

    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != generated {
        let (line, old, new) = first_difference(&checked_in, &generated);
        panic!(
            "include/trimline.h is out of date with ffi/src; first difference at line {line}:\n\
             \n  checked in: {old}\n  generated:  {new}\n\n\
             Regenerate it with\n\n    TRIMLINE_BLESS=1 cargo test -p trimline-ffi --test header\n\n\
             and commit the result.",
        );
    }
    Ok(())
}

#[test]
fn header_has_guards_and_version_macros() -> TestResult {
    let header = generate(&crate_dir())?;
    for needle in [
        "#ifndef TRIMLINE_H",
        "#define TRIMLINE_H",
        "extern \"C\" {",
        "GENERATED FILE, DO NOT EDIT",
        "const char *tl_version(void);",
    ] {
        assert!(header.contains(needle), "generated header lacks {needle:?}");
    }
    assert!(header.contains(&format!(
        "#define TL_VERSION_MAJOR {}",
        env!("CARGO_PKG_VERSION_MAJOR")
    )));
    Ok(())
}
