//! `check-vectors DIR...`: every `*.json` vector in the folders through the light client, one line per file
//! (`PASS <file>` or `FAIL <file> <why>`), then `N passed, M failed`. Exit status 0 only if none failed.

use std::{path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        eprintln!("usage: check-vectors DIR...");
        return ExitCode::from(2);
    }
    let mut files = Vec::new();
    for dir in &dirs {
        match std::fs::read_dir(dir) {
            Ok(entries) => files.extend(entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json"))),
            Err(e) => {
                eprintln!("cannot read {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        }
    }
    files.sort();
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let result = std::fs::read_to_string(file)
            .map_err(|e| format!("unreadable: {e}"))
            .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}")))
            .and_then(|v| icon_vectors::check(&v));
        match result {
            Ok(()) => {
                passed += 1;
                println!("PASS {name}");
            }
            Err(why) => {
                failed += 1;
                println!("FAIL {name} {why}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
