//! The module structure holds: dependencies between the top-level modules only point down (no
//! cycle), no handler module imports another, and only `startup` knows the handlers.
//! Read from the source text, so a new cycle fails here before anyone has to draw it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its `//` comments, where paths are mentioned but not used.
fn code_of(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers that follow `prefix` in `code` (`crate::store::Db` gives `store`).
fn names_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    code.match_indices(prefix)
        .map(|(at, _)| {
            let rest = &code[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

struct Source {
    /// Path relative to `src/`, with `/` separators.
    relative: String,
    /// The top-level module the file belongs to (`store` for `src/store/audit/chain.rs`).
    module: String,
    code: String,
}

fn sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let first = relative.split('/').next().unwrap();
            let module = first.trim_end_matches(".rs").to_owned();
            Source {
                code: code_of(&path),
                relative,
                module,
            }
        })
        .collect()
}

/// Top-level module → the top-level modules its files name through `crate::`.
fn module_graph(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = sources.iter().map(|s| s.module.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources {
        if matches!(source.module.as_str(), "lib" | "main") {
            continue;
        }
        let targets = graph.entry(source.module.clone()).or_default();
        for name in names_after(&source.code, "crate::") {
            if modules.contains(name) && name != source.module {
                targets.insert(name.to_owned());
            }
        }
    }
    graph
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn dependencies_between_top_level_modules_only_point_down() {
    let graph = module_graph(&sources());
    assert!(graph.len() > 15, "the scan found the modules: {graph:?}");
    assert!(
        graph["routes"].contains("store"),
        "the scan follows crate:: paths"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_cycle_check_finds_a_cycle_when_there_is_one() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    graph.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn no_handler_module_imports_another_and_only_startup_knows_them() {
    let sources = sources();
    for source in &sources {
        let is_handler = source.module == "routes" && !source.relative.ends_with("mod.rs");
        if is_handler {
            assert!(
                !source.code.contains("super::"),
                "{} reaches into a sibling handler module",
                source.relative
            );
        }
        let names_routes = !names_after(&source.code, "crate::routes").is_empty()
            || source.code.contains("crate::routes::");
        let allowed = matches!(source.relative.as_str(), "startup.rs" | "lib.rs");
        assert!(
            !names_routes || allowed,
            "{} imports the handlers; only startup.rs may",
            source.relative
        );
    }
}

#[test]
fn every_page_file_sits_next_to_the_route_file_of_its_name() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let pages = src.join("pages");
    let mut files = Vec::new();
    rust_files(&pages, &mut files);
    assert!(files.len() > 8, "the scan found the pages: {files:?}");
    for file in files {
        let relative = file.strip_prefix(&pages).unwrap().to_path_buf();
        // The layout and helpers every page shares, and the error pages of every route.
        if relative == Path::new("mod.rs") || relative == Path::new("error.rs") {
            continue;
        }
        // Helpers of one page file live in its folder: `notifications/chart.rs` belongs to
        // `notifications.rs`.
        let owner = relative.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(owner) = owner
            && pages.join(owner).with_extension("rs").exists()
        {
            continue;
        }
        let route_file = src.join("routes").join(&relative);
        let route_folder = src.join("routes").join(relative.with_extension(""));
        assert!(
            route_file.exists() || route_folder.is_dir(),
            "src/pages/{} has no route file of its name in src/routes/",
            relative.display()
        );
    }
}
