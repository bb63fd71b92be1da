//! The app's first page as one response: `index.html` with its style sheet and its ES
//! modules inlined, so that a visitor at a venue's door waits for one round trip, not two.
//!
//! Under Chromium's "Slow 3G" preset every request waits 2 s, so a page that loads its
//! script and style sheet afterwards shows its **Check in** button after two round trips
//! (about 5 s). Inlined, the button appears once the page itself has arrived.
//!
//! The modules stay separate files in the repository (the protocol tests import
//! `protocol.js` in Node, and the files are served as before); this joins them once, when
//! the page is first asked for. It is not a general bundler: it reads the forms of `import`
//! and `export` our own modules use, and refuses anything else (a unit test runs it on the
//! files compiled in, so a new form fails the build's tests, not a visitor's page):
//!
//! - `import * as name from "./file.js";` and `import { a, b } from "./file.js";`
//! - `export function`, `export async function`, `export const`, `export let`, `export class`
//!
//! Each imported module becomes a function scope that returns its exports, so names stay
//! private to their module as they were. The Content-Security-Policy allows exactly the
//! inlined script and style by their SHA-256 hashes: no `'unsafe-inline'`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// What went wrong joining the files: a form of `import`/`export` this does not read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: line {line}: {problem}")]
pub(crate) struct InlineError {
    file: String,
    line: usize,
    problem: &'static str,
}

/// The page to serve and the hashes its policy must allow.
pub(crate) struct InlinedPage {
    pub(crate) html: String,
    /// `'sha256-…'` of the inlined script.
    pub(crate) script_hash: String,
    /// `'sha256-…'` of the inlined style sheet.
    pub(crate) style_hash: String,
}

/// A source file by the name other files import it with (`"./protocol.js"`).
pub(crate) struct Source<'a> {
    pub(crate) name: &'a str,
    pub(crate) text: &'a str,
}

const STYLE_LINK: &str = r#"<link rel="stylesheet" href="/app/app.css">"#;

/// Builds the page: `html` with `<link rel="stylesheet" href="/app/app.css">` replaced by
/// `css` in a `<style>`, every `<link rel="modulepreload">` dropped, and
/// `<script type="module" src="/app/ENTRY"></script>` replaced by the joined modules.
pub(crate) fn inline_page(
    html: &str,
    css: &str,
    entry: &Source<'_>,
    modules: &[Source<'_>],
) -> Result<InlinedPage, InlineError> {
    let script = join_modules(entry, modules)?;
    let entry_tag = format!(
        r#"<script type="module" src="/app/{}"></script>"#,
        entry.name.trim_start_matches("./")
    );
    let missing = |problem| InlineError {
        file: "index.html".into(),
        line: 0,
        problem,
    };
    if !html.contains(&entry_tag) {
        return Err(missing(
            "no <script type=\"module\" src=…> for the entry module",
        ));
    }
    if !html.contains(STYLE_LINK) {
        return Err(missing("no <link rel=\"stylesheet\"> for app.css"));
    }
    let mut page = String::with_capacity(html.len() + css.len() + script.len());
    for line in html.lines() {
        if line
            .trim_start()
            .starts_with(r#"<link rel="modulepreload""#)
        {
            continue;
        }
        if line.trim() == STYLE_LINK {
            page.push_str("<style>");
            page.push_str(css);
            page.push_str("</style>\n");
        } else if line.trim() == entry_tag {
            page.push_str("<script type=\"module\">");
            page.push_str(&script);
            page.push_str("</script>\n");
        } else {
            page.push_str(line);
            page.push('\n');
        }
    }
    Ok(InlinedPage {
        html: page,
        script_hash: csp_hash(&script),
        style_hash: csp_hash(css),
    })
}

fn csp_hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The scope variable a module's exports are kept in.
fn scope_name(module: &str) -> String {
    let stem = module
        .trim_start_matches("./")
        .trim_end_matches(".js")
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    format!("__module_{stem}")
}

/// `modules` must come in an order where each one's imports precede it.
fn join_modules(entry: &Source<'_>, modules: &[Source<'_>]) -> Result<String, InlineError> {
    let mut script = String::new();
    let mut defined: Vec<&str> = Vec::new();
    for module in modules {
        let (body, exports) = rewrite(module, &defined)?;
        script.push_str(&format!(
            "const {} = (() => {{\n{body}return {{ {} }};\n}})();\n",
            scope_name(module.name),
            exports.join(", ")
        ));
        defined.push(module.name);
    }
    let (body, exports) = rewrite(entry, &defined)?;
    if !exports.is_empty() {
        return Err(InlineError {
            file: entry.name.into(),
            line: 0,
            problem: "the entry module exports nothing",
        });
    }
    // A block keeps the entry's names apart from the module scopes (top-level await stays
    // allowed: this is still a module script).
    script.push_str("{\n");
    script.push_str(&body);
    script.push_str("}\n");
    Ok(script)
}

/// The module's text with its imports turned into reads of earlier scopes and its
/// `export` keywords removed, and the names it exported.
fn rewrite(module: &Source<'_>, defined: &[&str]) -> Result<(String, Vec<String>), InlineError> {
    let mut body = String::with_capacity(module.text.len());
    let mut exports = Vec::new();
    for (index, line) in module.text.lines().enumerate() {
        let error = |problem| InlineError {
            file: module.name.into(),
            line: index + 1,
            problem,
        };
        if let Some(rest) = line.strip_prefix("import ") {
            let (what, from) = rest
                .strip_suffix(';')
                .and_then(|rest| rest.split_once(" from "))
                .ok_or_else(|| {
                    error("an import this does not read (one line, `… from \"./x.js\";`)")
                })?;
            let from = from.trim_matches('"');
            if !defined.contains(&from) {
                return Err(error("imports a module not inlined before it"));
            }
            let scope = scope_name(from);
            if let Some(name) = what.strip_prefix("* as ") {
                body.push_str(&format!("const {name} = {scope};\n"));
            } else if what.starts_with('{') && what.ends_with('}') && !what.contains(" as ") {
                body.push_str(&format!("const {what} = {scope};\n"));
            } else {
                return Err(error(
                    "an import this does not read (`* as x` or `{ a, b }`)",
                ));
            }
        } else if let Some(rest) = line.strip_prefix("export ") {
            let declaration = rest.strip_prefix("async ").unwrap_or(rest);
            let name = ["function* ", "function ", "const ", "let ", "class "]
                .iter()
                .find_map(|keyword| declaration.strip_prefix(keyword))
                .map(|tail| {
                    tail.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
                        .collect::<String>()
                })
                .filter(|name| !name.is_empty())
                .ok_or_else(|| error("an export this does not read (a declaration)"))?;
            exports.push(name);
            body.push_str(rest);
            body.push('\n');
        } else if line.starts_with("import(") || line.contains("import.meta") {
            return Err(error("dynamic import or import.meta"));
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    Ok((body, exports))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source<'a>(name: &'a str, text: &'a str) -> Source<'a> {
        Source { name, text }
    }

    #[test]
    fn modules_become_scopes_and_imports_read_them() {
        let messages = source(
            "./messages.js",
            "export const A = 1;\nconst hidden = 2;\nexport function f() { return hidden; }\n",
        );
        let storage = source(
            "./storage.js",
            "import { A } from \"./messages.js\";\nexport async function g() { return A; }\n",
        );
        let entry = source(
            "./app.js",
            "import * as m from \"./messages.js\";\nimport * as s from \"./storage.js\";\nawait s.g(m.f());\n",
        );
        let script = join_modules(&entry, &[messages, storage]).unwrap();
        assert!(script.contains("const __module_messages = (() => {\nconst A = 1;"));
        assert!(script.contains("return { A, f };"));
        assert!(script.contains("const { A } = __module_messages;\nasync function g()"));
        assert!(script.contains(
            "{\nconst m = __module_messages;\nconst s = __module_storage;\nawait s.g(m.f());\n}\n"
        ));
    }

    #[test]
    fn forms_it_does_not_read_are_refused_with_their_line() {
        let entry = source("./app.js", "");
        for text in [
            "export default 3;",
            "export { a };",
            "import x from \"./messages.js\";",
            "import { a as b } from \"./messages.js\";",
            "import {\n  a,\n} from \"./messages.js\";",
            "const url = import.meta.url;",
        ] {
            let module = source("./other.js", text);
            let messages = source("./messages.js", "");
            let error = join_modules(&entry, &[messages, module]).err();
            assert!(error.is_some(), "{text} must be refused");
        }
        let early = source("./storage.js", "import { A } from \"./messages.js\";");
        let error = join_modules(&entry, &[early]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "./storage.js: line 1: imports a module not inlined before it"
        );
    }

    #[test]
    fn the_page_keeps_everything_else_and_hashes_what_it_inlines() {
        let html = "<head>\n<link rel=\"stylesheet\" href=\"/app/app.css\">\n<link rel=\"modulepreload\" href=\"/app/x.js\">\n<script type=\"module\" src=\"/app/app.js\"></script>\n</head>\n<body>Hi</body>\n";
        let page = inline_page(html, "p{}", &source("./app.js", "go();"), &[]).unwrap();
        assert_eq!(
            page.html,
            "<head>\n<style>p{}</style>\n<script type=\"module\">{\ngo();\n}\n</script>\n</head>\n<body>Hi</body>\n"
        );
        // printf 'p{}' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            page.style_hash,
            "'sha256-gG2yISYereRMiG2lMXrbiUgi0Ubw9p7QCeWcroOvy9Y='"
        );
        assert!(inline_page("<body></body>", "", &source("./app.js", ""), &[]).is_err());
    }
}
